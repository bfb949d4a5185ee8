"""The lattice's piece scorer: small MLPs on 16x16 crops that also know a "not a character" class.

Segmentation by recognition (:class:`~captchakit.classifiers.SegmentingRecognizer`) scores every piece of
an image's cut lattice with it; :func:`mlp_proba` is scikit-learn's forward pass without its checks.
"""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from captchakit._cluster import each

#: How many piece scorers, seeds 0 to SCORER_SEEDS - 1, the lattice averages.
SCORER_SEEDS = 5
#: The scorer's MLPs are fitted in worker processes (``n_jobs``) from this many crops on (captcha_images_v2's
#: 832 training images give tens of thousands; a small set's fits take less than starting the workers).
SCORER_WORKERS_FROM = 4000


class PieceScorer(ClassifierMixin, BaseEstimator):
    """The lattice's piece scorer: small MLPs on 16x16 crops, one per seed, their probabilities averaged.

    One MLP stopped after 40 passes learns differently from numbers rounded
    differently, so a machine's BLAS kernels alone moved one scorer's
    captcha_images_v2 reading by 4 points (72.1% with AVX-512 kernels, 76.0%
    without); five seeds averaged read 75.5% and 75.0% there.

    Examples
    --------
    >>> X = np.r_[np.zeros((150, 4)), np.ones((150, 4))]; y = ["a"] * 150 + ["b"] * 150
    >>> s = PieceScorer(n_seeds=2).fit(X, y)
    >>> s.classes_.tolist(), s.predict_proba(X[:1]).shape, len(s.members_)
    (['a', 'b'], (1, 2), 2)
    """

    def __init__(self, n_seeds=SCORER_SEEDS, n_jobs=None):
        self.n_seeds = n_seeds
        self.n_jobs = n_jobs

    def fit(self, X, y):
        """Fit one MLP per seed, here or in *n_jobs* worker processes (each is seeded: the same MLPs anywhere).

        Fewer than ``SCORER_WORKERS_FROM`` crops are fitted here: starting the workers would cost more."""
        n_jobs = self.n_jobs if len(X) >= SCORER_WORKERS_FROM else None
        self.members_ = list(each(_fit_member, ((X, y, k) for k in range(int(self.n_seeds))), n_jobs))
        self.classes_ = self.members_[0].classes_
        return self

    @classmethod
    def from_members(cls, members):
        """A fitted scorer from fitted MLPs with the same classes (a loaded bundle's)."""
        out = cls(len(members))
        out.members_ = list(members)
        out.classes_ = out.members_[0].classes_
        return out

    def predict_proba(self, X):
        """The members' class probabilities, averaged: ``(n, n_classes)``.

        A float array of the right width goes through :func:`mlp_proba` (checked once, not once per member);
        anything else through each member's own ``predict_proba``, which says what is wrong with it.
        """
        check_is_fitted(self, "members_")
        fast = (isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype in (np.float32, np.float64)
                and X.shape[1] == self.members_[0].n_features_in_)
        return np.mean([mlp_proba(m, X) if fast else m.predict_proba(X) for m in self.members_], axis=0)

    def predict(self, X):
        """The most probable class of each row."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def proba_each(scorer, blocks):
    """``scorer.predict_proba`` of each 2-D array of *blocks*, from one call over all of them (a list)."""
    if not blocks:
        return []
    proba = scorer.predict_proba(np.concatenate(blocks))
    return np.split(proba, np.cumsum([len(b) for b in blocks])[:-1])


def mlp_proba(mlp, X):
    """``mlp.predict_proba(X)`` of a fitted ``MLPClassifier``, without checking *X* again.

    The same products in the same order as scikit-learn's forward pass, so the same numbers. The lattice
    scores every image's pieces with five MLPs, and scikit-learn checked the same input in each call: an
    image's pieces of captcha_images_v2 took 1.74-2.35 ms to score that way, 0.83-0.98 ms this way.
    *X* must be a 2-D float array of the MLP's input width; an MLP with other activations than ReLU and
    softmax (two classes: logistic) goes through its own ``predict_proba``.

    Examples
    --------
    >>> X = np.r_[np.zeros((20, 2)), np.ones((20, 2)), 2 * np.ones((20, 2))]; y = [0] * 20 + [1] * 20 + [2] * 20
    >>> m = MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0).fit(X, y)
    >>> bool(np.array_equal(mlp_proba(m, X), m.predict_proba(X)))
    True
    """
    if mlp.activation != "relu" or mlp.out_activation_ != "softmax":
        return mlp.predict_proba(X)
    a = X
    for k, (w, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_)):
        a = a @ w
        a += b
        if k < len(mlp.coefs_) - 1:
            np.maximum(a, 0, out=a)
    a = np.exp(a - a.max(axis=1)[:, np.newaxis], out=a)
    a /= a.sum(axis=1)[:, np.newaxis]
    return a


def _fit_member(X, y, seed):
    """One piece-scorer MLP (its 40 passes are a time budget: no ConvergenceWarning, in whichever process).

    Batches of 128 pieces, or all of them when there are fewer: scikit-learn
    clips the batch the same way, but warns about it once per member. The
    BLAS runs in one thread wherever the MLP is fitted: a worker process
    has one, and the main process had as many as the machine's cores, whose
    sums round otherwise, so a fit changed with ``--jobs`` and the core count
    (svg-captcha served as JPEG: recognition read 56.2% of the probe's
    images with the scorer fitted in 2 workers, 60.6% with it fitted here).
    """
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(hidden_layer_sizes=(128,), alpha=1e-3, batch_size=min(128, len(X)),
                             learning_rate_init=2e-3,
                             max_iter=40, random_state=seed).fit(X, y)
