"""An RBF ``SVC``'s decision values from matrix products, and an ``SVC`` fitted once per distinct row.

libsvm evaluates its kernel one sample at a time; reading a batch of character crops computes it as one BLAS
product (:func:`svc_decision_function`, :class:`RBFDecision` in single precision).
"""

import numpy as np
from sklearn.svm import SVC

#: :func:`svc_decision_function` computes the kernel in blocks of at most this many values (128 MB).
KERNEL_BLOCK = 1 << 24
#: ... and the pairs' values in blocks of about this many (1 MB: they stay in the cache; :class:`RBFDecision`).
PAIRS_BLOCK = 1 << 17


def svc_once_per_row(X, y, transform=None):
    """``SVC(random_state=0).fit(transform(X), y)``, fitted once per distinct row of *X* and label.

    A row that comes *n* times with the same label is one sample weighted
    by *n* (its box constraint ``n * C``: the same optimum as its copies),
    and ``gamma="scale"`` is taken from every copy, so the SVM is the same
    to the solver's tolerance, fitted on fewer rows (about twice as fast
    on the count checker's pieces) and with fewer support vectors.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.repeat(rng.normal(size=(60, 4)), 3, axis=0); y = (X[:, 0] > 0).astype(int)
    >>> once, every = svc_once_per_row(X, y), SVC(random_state=0).fit(X, y)
    >>> len(once.support_) < len(every.support_), bool(np.isclose(once._gamma, every._gamma))
    (True, True)
    >>> bool(np.allclose(once.decision_function(X), every.decision_function(X), atol=1e-3))
    True
    """
    X, y = np.asarray(X), np.asarray(y)
    first = {}
    for i in range(len(X)):
        first.setdefault((X[i].tobytes(), y[i]), []).append(i)
    rows = np.array([v[0] for v in first.values()])
    counts = np.array([len(v) for v in first.values()], np.float64)
    feats = np.asarray(X[rows] if transform is None else transform(X[rows]))
    mean = counts @ feats.mean(axis=1, dtype=np.float64) / counts.sum()
    var = counts @ ((feats - mean) ** 2).mean(axis=1, dtype=np.float64) / counts.sum()
    return SVC(gamma=1.0 / (feats.shape[1] * var) if var else 1.0, random_state=0).fit(
        feats, y[rows], sample_weight=counts)


def svc_decision_function(clf, X):
    """``clf.decision_function(X)`` of a fitted RBF ``SVC``, computed with matrix products.

    libsvm evaluates the kernel one sample at a time; here the kernel between
    all samples and all support vectors is one BLAS product, which reads the
    crops of a batch several times faster (python-captcha 4 digits: about a
    third of the classic reading time went to libsvm).  The one-vs-one values
    are libsvm's, from one product per class; the one-vs-rest shape is
    scikit-learn's own transform (:func:`_ovr_from_pairs`); two classes (the
    count checker) take one product.  Any other
    classifier, kernel or shape goes to ``clf.decision_function``.  This is
    the double-precision reference; reading uses :class:`RBFDecision` in
    single precision, its support vectors prepared once per fit.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SVC().fit(X, y)
    >>> bool(np.allclose(svc_decision_function(clf, X), clf.decision_function(X)))
    True
    >>> two = SVC().fit(X, y == 2)  # two classes: one product with the support vectors' coefficients
    >>> bool(np.allclose(svc_decision_function(two, X), two.decision_function(X)))
    True
    """
    if _rbf_svc(clf) and len(clf.classes_) == 2:
        return _binary_rbf_decision(clf, X)
    if not RBFDecision.takes(clf):
        return clf.decision_function(X)
    return RBFDecision(clf)(X)


def svc_predict(clf, X):
    """``clf.predict(X)``: for a fitted multiclass RBF ``SVC``, libsvm's one-vs-one votes counted from decision
    values computed with matrix products (:class:`RBFDecision`, double precision), where libsvm evaluates the
    kernel one sample at a time (about 14 s of a flask-simple-captcha fit scored held-out characters so).

    The most votes wins, the first class of a tie, as in libsvm. A pair's value of exactly 0 votes for its
    first class here and for its second in libsvm; otherwise the classes are libsvm's. Any other classifier
    goes to ``clf.predict``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SVC(C=0.1).fit(X, y)
    >>> bool(np.array_equal(svc_predict(clf, X), clf.predict(X)))
    True
    """
    if not RBFDecision.takes(clf):
        return clf.predict(X)
    # the one-vs-rest values are the votes plus confidences squashed into (-1/3, 1/3): rounded, the votes
    votes = np.rint(RBFDecision(clf)(X))
    return clf.classes_[votes.argmax(axis=1)]


def _rbf_svc(clf):
    """Whether *clf* is a fitted RBF ``SVC`` (its kernel computed here: :func:`_rbf_kernel`)."""
    return type(clf) is SVC and clf.kernel == "rbf" and hasattr(clf, "_gamma") and hasattr(clf, "classes_")


def _binary_rbf_decision(clf, X):
    """A two-class RBF ``SVC``'s decision values: one product of the kernel with the support vectors'
    coefficients (scikit-learn's sign: positive for ``classes_[1]``), in blocks of the kernel."""
    X = np.asarray(X, np.float64)
    sv = clf.support_vectors_
    sv_m2, sv2 = -2 * sv.T, (sv * sv).sum(axis=1)[None, :]
    out = np.empty(len(X))
    step = max(1, KERNEL_BLOCK // max(len(sv), 1))
    for a in range(0, len(X), step):
        x = X[a:a + step]
        out[a:a + len(x)] = _rbf_kernel(x, sv_m2, sv2, -clf._gamma) @ clf.dual_coef_[0] + clf.intercept_[0]
    return out


def _rbf_kernel(x, sv_m2, sv2, neg_gamma):
    """The RBF kernel between the rows of *x* and the support vectors, from ``-2 * sv.T`` (*sv_m2*) and their
    squared norms (*sv2*, a row): the squared distances, then the kernel, in place (one block of values)."""
    K = x @ sv_m2
    K += (x * x).sum(axis=1)[:, None]
    K += sv2
    np.maximum(K, 0, out=K)
    K *= neg_gamma
    np.exp(K, out=K)
    return K


class RBFDecision:
    """The decision values of one fitted multiclass RBF ``SVC``, its support vectors prepared once.

    With ``dtype=np.float32`` the kernel (products, distances, exponentials)
    is computed in single precision: about 3 times faster than in double on
    these CPUs, the most costly step of reading a batch of crops. The values
    then differ from libsvm's in about the sixth digit; a reading differs only
    where two classes are that close.

    Parameters
    ----------
    clf : sklearn.svm.SVC
        Fitted, RBF kernel, at least 3 classes, ``decision_function_shape="ovr"``
        (see :meth:`takes`).
    dtype : numpy dtype
        ``np.float64`` (libsvm's values to rounding) or ``np.float32``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SVC().fit(X, y)
    >>> dec = RBFDecision(clf, np.float32)
    >>> bool(np.array_equal(dec(X).argmax(axis=1), clf.decision_function(X).argmax(axis=1)))
    True
    """

    def __init__(self, clf, dtype=np.float64):
        self.clf, self.dtype = clf, np.dtype(dtype)
        sv = np.asarray(clf.support_vectors_, self.dtype)
        self.n_classes = len(clf.classes_)
        self.sv2 = (sv * sv).sum(axis=1)[None, :]
        # scaling by 2 is exact: x @ sv_m2 is -2 (x @ sv.T) to the last bit
        self.sv_m2 = np.ascontiguousarray(-2 * sv.T)
        starts = np.concatenate([[0], np.cumsum(clf.n_support_)])
        self.parts = [(int(starts[c]), int(starts[c + 1]),
                       np.ascontiguousarray(clf.dual_coef_[:, starts[c]:starts[c + 1]].T, self.dtype))
                      for c in range(self.n_classes)]
        self.neg_gamma = self.dtype.type(-clf._gamma)
        # the pair (i, j), i < j, in libsvm's order: class i's part of its value uses coef[j - 1], class j's coef[i]
        self.pi, self.pj = np.triu_indices(self.n_classes, 1)
        # ... which :meth:`__call__` finds in one row of class products: class c's against coef[r] in column
        # c * (n_classes - 1) + r
        self.first = self.pi * (self.n_classes - 1) + self.pj - 1
        self.second = self.pj * (self.n_classes - 1) + self.pi
        self.order = _pair_order(self.pi, self.pj, self.n_classes)

    @staticmethod
    def takes(clf):
        """Whether *clf* is a classifier this class computes (otherwise use its ``decision_function``)."""
        return _rbf_svc(clf) and len(clf.classes_) >= 3 and clf.decision_function_shape == "ovr"

    def __call__(self, X):
        X = np.asarray(X, self.dtype)
        n = self.n_classes
        out = np.empty((len(X), n))
        step = max(1, KERNEL_BLOCK // max(self.sv_m2.shape[1], 1))
        for a in range(0, len(X), step):
            x = X[a:a + step]
            K = _rbf_kernel(x, self.sv_m2, self.sv2, self.neg_gamma)
            # class c's support vectors weighted by coef[r], for every r at once (one product per class instead
            # of two per pair: 630 pairs for 36 classes), side by side
            prod = np.empty((len(x), n * (n - 1)), self.dtype)
            for c, (s, e, coef) in enumerate(self.parts):
                np.matmul(K[:, s:e], coef, out=prod[:, c * (n - 1):(c + 1) * (n - 1)])
            # the pairs' values and their one-vs-rest values a few rows at a time, which stay in the cache
            # (chinese_4char: 7,021 pairs, 18 rows at a time; 0.5 ms an image less than over the whole block)
            rows = max(1, PAIRS_BLOCK // len(self.pi))
            for b in range(0, len(x), rows):
                p = prod[b:b + rows]
                dec = p[:, self.first] + p[:, self.second] + self.clf.intercept_
                out[a + b:a + b + len(p)] = _ovr_from_pairs(dec, self.pi, self.pj, n, self.order)
        return out


def _pair_order(pi, pj, n_classes):
    """Where each class's pairs lie, for :func:`_ovr_from_pairs`: the pairs must come in libsvm's order
    (``np.triu_indices``: by ``pi``, then ``pj``), so that each class's pairs as ``pi`` are one run; its
    pairs as ``pj`` are one run once reordered by ``pj`` (``by_j``)."""
    by_j = np.argsort(pj, kind="stable")
    return np.searchsorted(pi, np.arange(n_classes - 1)), by_j, np.searchsorted(pj[by_j], np.arange(1, n_classes))


def _ovr_from_pairs(dec, pi, pj, n_classes, order=None):
    """scikit-learn's one-vs-rest values from one-vs-one *dec* (pair ``k`` = classes ``pi[k] < pj[k]``,
    in libsvm's order).

    Each class gets its votes (a pair's negative value votes for ``pj``)
    plus its summed confidences squashed into (-1/3, 1/3), as
    ``sklearn.utils.multiclass._ovr_decision_function`` computes them, but
    summed over each class's runs of pairs (``np.add.reduceat``,
    :func:`_pair_order`) instead of a Python loop over the pairs. (Two
    matrix products over a pairs-by-classes table, a former way, cost pairs
    times classes operations: 7,021 x 119 for chinese_4char, about a
    millisecond an image.)

    Examples
    --------
    >>> pi, pj = np.triu_indices(3, 1)
    >>> _ovr_from_pairs(np.array([[1.0, 1.0, -1.0]]), pi, pj, 3).round(3).tolist()
    [[2.222, -0.222, 1.0]]
    """
    starts_i, by_j, starts_j = _pair_order(pi, pj, n_classes) if order is None else order
    dec = np.asarray(dec, float)
    as_j = dec[:, by_j]
    conf = np.zeros((len(dec), n_classes))
    conf[:, :-1] = np.add.reduceat(dec, starts_i, axis=1)
    conf[:, 1:] -= np.add.reduceat(as_j, starts_j, axis=1)
    # class c wins its pair with a higher class where the value is >= 0, with a lower one (c of them) where < 0
    votes = np.zeros((len(dec), n_classes))
    votes[:, :-1] = np.add.reduceat(dec >= 0, starts_i, axis=1, dtype=np.int32)
    votes[:, 1:] += np.arange(1, n_classes) - np.add.reduceat(as_j >= 0, starts_j, axis=1, dtype=np.int32)
    return votes + conf / (3 * (np.abs(conf) + 1))


def softmax(z):
    """Each row of decision values *z* as probabilities (``exp``, normalised to sum 1; the reader's confidences).

    Examples
    --------
    >>> softmax(np.array([[0.0, np.log(3.0)]])).round(3).tolist()
    [[0.25, 0.75]]
    """
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
