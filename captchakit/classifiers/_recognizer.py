"""The classic recognizer: preprocess, segment, classify each character."""

from collections import Counter

import cv2
import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted

from captchakit._errors import CaptchakitError, LabelError
from captchakit.classifiers._features import FEATURES, make_features
from captchakit.metrics import string_accuracy
from captchakit.preprocess import Preprocessor
from captchakit.segment import Segmenter

METHODS = ("svm", "knn")


def make_classifier(method="svm", **params):
    """A per-character classifier with sensible defaults.

    Defaults: SVM with an RBF kernel, C=10, gamma="scale"; KNN with k=3 and
    distance weighting.  ``captcha-cli train --search`` (or
    :func:`captchakit.classifiers._search.search_classifier`) cross-validates
    a wider grid of C/gamma or k on the training part only.
    """
    if method == "svm":
        return SVC(**{"C": 10.0, "gamma": "scale", "kernel": "rbf", **params})
    if method == "knn":
        return KNeighborsClassifier(**{"n_neighbors": 3, "weights": "distance", **params})
    raise CaptchakitError(f"--method must be one of svm, knn, cnn; got {method!r}")


def resize_to(image, shape):
    """Resize an image to ``(H, W)`` when it differs (INTER_AREA down, linear up)."""
    h, w = shape
    if image.shape[:2] == (h, w):
        return image
    interp = cv2.INTER_AREA if image.shape[0] * image.shape[1] > h * w else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(image), (w, h), interpolation=interp)


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class SegmentingRecognizer(BaseEstimator):
    """Read captchas by segmenting them and classifying each character.

    Parameters
    ----------
    preprocessor : Preprocessor, optional
        The cleaning chain; default ``Preprocessor()``.
    segmenter : Segmenter, optional
        The character splitter; default ``Segmenter()``.
    features : transformer or str
        Crop features: ``"hog"``, ``"pixels"``, ``"profile"``,
        ``"hog+profile"`` or a scikit-learn transformer.
    scale : bool
        Standardise the features before the classifier.
    n_components : int or None
        Reduce the features with PCA to this many components before the
        classifier (keeps an RBF SVM within its speed budget); None = off.
    classifier : estimator or str
        ``"svm"``, ``"knn"`` or a scikit-learn classifier.
    alphabet : str, optional
        Allowed characters; default: those seen in training.
    n_chars : int, optional
        Fixed label length; default: taken from the training labels when
        they all have one length.
    alt_windows : tuple of float
        Recognition-guided splitting: when an image had to be split to reach
        the expected count, the cut search is also tried with these windows
        and the split whose characters the classifier is surest of wins.
        Empty (the default): off; on the 4-digit set the SVM's uncalibrated
        scores made it worse (91.7% -> 89.8%), so it is opt-in.

    Attributes
    ----------
    pipeline_ : Pipeline
        Fitted features (+ scaler) and classifier.
    alphabet_, length_, image_shape_ : learned at fit.
    fit_summary_ : dict
        Images used, images left out by segmentation, natural rate.

    Images of another size than the training images are resized to the
    training size before preprocessing, so that filter sizes and speck areas
    keep their meaning.

    Examples
    --------
    >>> from captchakit.data import generate_captchas
    >>> X, y = generate_captchas(60, seed=0)
    >>> rec = SegmentingRecognizer(classifier="knn").fit(X, y)
    >>> len(rec.predict(X[:2])[0])
    4
    """

    def __init__(self, preprocessor=None, segmenter=None, features="hog", scale=False,
                 n_components=48, classifier="svm", alphabet=None, n_chars=None, alt_windows=()):
        self.preprocessor = preprocessor
        self.segmenter = segmenter
        self.features = features
        self.scale = scale
        self.n_components = n_components
        self.classifier = classifier
        self.alphabet = alphabet
        self.n_chars = n_chars
        self.alt_windows = alt_windows

    # ------------------------------------------------------------------
    def _parts(self):
        pre = self.preprocessor if self.preprocessor is not None else Preprocessor()
        seg = self.segmenter if self.segmenter is not None else Segmenter()
        if isinstance(pre, dict):
            pre = Preprocessor.from_dict(pre)
        if isinstance(seg, dict):
            seg = Segmenter.from_dict(seg)
        pre.validate()
        seg.validate()
        feats = make_features(self.features) if isinstance(self.features, str) else clone(self.features)
        clf = make_classifier(self.classifier) if isinstance(self.classifier, str) else clone(self.classifier)
        return pre, seg, feats, clf

    def _clean(self, image):
        """Resize to the training size and preprocess: the binary image segmentation sees."""
        return self._pre.transform_one(resize_to(np.asarray(image), self.image_shape_))

    def _segment_all(self, images, lengths, progress=None):
        crops, counts, natural = [], [], []
        pairs = list(zip(images, lengths))
        for im, n in (progress(pairs) if progress else pairs):
            s = self._seg.segment(self._clean(im), n)
            crops.append(s.crops)
            counts.append(len(s))
            natural.append(s.n_natural)
        return crops, counts, natural

    def fit(self, X, y, progress=None):
        """Fit on images *X* (list of arrays) and their string labels *y*.

        *progress*, if given, wraps the image loop (e.g. a progress bar).
        """
        X = list(X)
        y = [str(v) for v in y]
        if len(X) != len(y):
            raise CaptchakitError(f"{len(X)} images but {len(y)} labels")
        if not X:
            raise CaptchakitError("no training images")
        self._pre, self._seg, feats, clf = self._parts()
        alphabet = "".join(sorted(set(self.alphabet))) if self.alphabet else "".join(sorted(set("".join(y))))
        bad = [lab for lab in y if set(lab) - set(alphabet)]
        if bad:
            raise LabelError(f"label {bad[0]!r} has characters outside the alphabet {alphabet!r}")
        lengths = Counter(len(lab) for lab in y)
        if self.n_chars is not None:
            self.length_ = (int(self.n_chars), int(self.n_chars))
        else:
            self.length_ = (min(lengths), max(lengths))
        shapes = Counter(np.asarray(im).shape[:2] for im in X)
        self.image_shape_ = tuple(int(v) for v in shapes.most_common(1)[0][0])
        self.alphabet_ = alphabet
        crops, counts, natural = self._segment_all(X, [len(lab) for lab in y], progress)
        keep = [i for i, lab in enumerate(y) if counts[i] == len(lab)]
        if not keep:
            raise CaptchakitError(
                f"empty training set: none of the {len(X)} images segmented into as many pieces as "
                f"its label has characters; check the preprocessing and segmentation settings")
        Xc = np.concatenate([crops[i] for i in keep]).reshape(-1, self._seg.crop_size ** 2)
        yc = np.array([ch for i in keep for ch in y[i]])
        steps = [("features", feats)]
        if self.scale:
            steps.append(("scale", StandardScaler()))
        if self.n_components:
            n_comp = min(int(self.n_components), len(yc), Xc.shape[1])
            steps.append(("pca", PCA(n_comp, random_state=0)))
        steps.append(("classifier", clf))
        self.pipeline_ = Pipeline(steps).fit(Xc, yc)
        self.classes_ = self.pipeline_.classes_
        self.fit_summary_ = {
            "n_images": len(X),
            "n_used": len(keep),
            "n_left_out": len(X) - len(keep),
            "n_chars": int(len(yc)),
            "natural_rate": float(np.mean([n == len(lab) for n, lab in zip(natural, y)])),
            "image_shape": list(self.image_shape_),
            "label_lengths": {str(k): v for k, v in sorted(lengths.items())},
        }
        return self

    def _fixed_length(self):
        lo, hi = self.length_
        return lo if lo == hi else None

    def predict_details(self, X):
        """Predictions with per-character confidences and segmentation info.

        Returns
        -------
        list of dict
            ``text``, ``confidence`` (product of the characters'),
            ``char_confidences``, ``n_pieces``, ``n_natural``.
        """
        check_is_fitted(self, "pipeline_")
        if not hasattr(self, "_pre"):
            self._pre, self._seg, _, _ = self._parts()
        n = self._fixed_length()
        alt_segs = [clone(self._seg).set_params(split_window=w) for w in self.alt_windows or ()]
        # candidates[i]: list of crop arrays (first: the default split)
        candidates, natural = [], []
        for im in X:
            b = self._clean(im)
            s = self._seg.segment(b, n)
            cands = [s.crops]
            if n is not None and s.n_natural < n:
                for alt_seg in alt_segs:
                    alt = alt_seg.segment(b, n).crops
                    if len(alt) == len(s.crops) and not np.array_equal(alt, s.crops):
                        cands.append(alt)
            candidates.append(cands)
            natural.append(s.n_natural)
        flat = [c for cands in candidates for c in cands if len(c)]
        if flat:
            allc = np.concatenate(flat).reshape(-1, self._seg.crop_size ** 2)
            chars, conf = self._classify(allc)
        out, pos = [], 0
        for cands, nat in zip(candidates, natural):
            best = None
            for c in cands:
                k = len(c)
                cs, cf = chars[pos:pos + k], conf[pos:pos + k]
                pos += k
                score = float(np.sum(np.log(np.maximum(cf, 1e-9)))) if k else -np.inf
                if best is None or score > best[0]:
                    best = (score, cs, cf, k)
            _, cs, cf, k = best
            out.append({"text": "".join(cs), "confidence": float(np.prod(cf)) if k else 0.0,
                        "char_confidences": [float(v) for v in cf], "n_pieces": int(k),
                        "n_natural": int(nat)})
        return out

    def _classify(self, crops):
        pipe = self.pipeline_
        clf = pipe.steps[-1][1]
        feats = pipe[:-1].transform(crops)
        if hasattr(clf, "predict_proba"):
            proba = clf.predict_proba(feats)
        else:
            d = clf.decision_function(feats)
            if d.ndim == 1:
                d = np.stack([-d, d], axis=1)
            proba = _softmax(d)
        best = proba.argmax(axis=1)
        return list(clf.classes_[best]), proba[np.arange(len(best)), best]

    def predict(self, X, return_confidence=False):
        """Read each image; optionally also return per-character confidences."""
        det = self.predict_details(X)
        texts = [d["text"] for d in det]
        if return_confidence:
            return texts, [d["char_confidences"] for d in det]
        return texts

    def score(self, X, y):
        """Whole-string accuracy."""
        return string_accuracy([str(v) for v in y], self.predict(X))

    # ------------------------------------------------------------------ persistence
    def describe(self):
        """Everything needed to rebuild the recognizer, as JSON-ready data."""
        check_is_fitted(self, "pipeline_")
        pre, seg, _, _ = self._parts()
        feat = self.features if isinstance(self.features, str) else next(
            (k for k, v in FEATURES.items() if isinstance(self.features, v)), type(self.features).__name__)
        clf = self.pipeline_.steps[-1][1]
        return {
            "method": "svm" if isinstance(clf, SVC) else "knn" if isinstance(clf, KNeighborsClassifier)
            else type(clf).__name__,
            "alphabet": self.alphabet_,
            "length": list(self.length_),
            "image_shape": list(self.image_shape_),
            "preprocess": pre.to_dict(),
            "segment": seg.to_dict(),
            "features": {"name": feat, "params": self.pipeline_.named_steps["features"].get_params(),
                         "scale": bool(self.scale), "n_components": self.n_components},
            "classifier": {k: v for k, v in clf.get_params().items()
                           if isinstance(v, (int, float, str, bool, type(None)))},
            "training": self.fit_summary_,
        }

    def save(self, path, validation=None, data=None):
        """Save as a bundle folder (``model.json`` + ``classifier.skops``)."""
        from captchakit._bundle import library_versions, save_sklearn, write_bundle

        meta = self.describe()
        meta["versions"] = library_versions()
        meta["data"] = data or {}
        meta["validation"] = validation or {}
        return write_bundle(path, meta, lambda f: save_sklearn(self.pipeline_, f), "classifier.skops")

    @classmethod
    def load(cls, path):
        """Load a bundle saved by :meth:`save`; unsafe or foreign files are refused."""
        from captchakit._bundle import check_versions, load_sklearn, read_bundle_meta
        from captchakit._errors import ModelFileError

        meta, payload = read_bundle_meta(path)
        if meta.get("method") not in METHODS:
            raise ModelFileError(f"{path}: holds a {meta.get('method')!r} model, not a classic (svm/knn) one")
        try:
            pre = Preprocessor.from_dict(meta["preprocess"])
            seg = Segmenter.from_dict(meta["segment"])
            feats = meta["features"]
            rec = cls(preprocessor=pre, segmenter=seg, features=feats["name"], scale=feats["scale"],
                      n_components=feats.get("n_components"), classifier=meta["method"], alphabet=meta["alphabet"])
            rec.alphabet_ = meta["alphabet"]
            rec.length_ = tuple(meta["length"])
            rec.image_shape_ = tuple(meta["image_shape"])
            rec.fit_summary_ = meta.get("training", {})
        except (KeyError, TypeError, CaptchakitError) as exc:
            raise ModelFileError(f"{path}/model.json: incomplete or invalid model description ({exc})") from None
        rec.pipeline_ = load_sklearn(payload)
        rec.classes_ = rec.pipeline_.classes_
        rec.meta_ = meta
        rec.load_warnings_ = check_versions(meta)
        rec._pre, rec._seg = pre, seg
        return rec

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


def build_recognizer(method="svm", features="hog", preprocessor=None, segmenter=None, alphabet=None):
    """A :class:`SegmentingRecognizer` for ``method`` ``"svm"`` or ``"knn"``."""
    if method not in METHODS:
        raise CaptchakitError(f"method must be one of svm, knn (or cnn for the CNN); got {method!r}")
    make_features(features)
    return SegmentingRecognizer(preprocessor=preprocessor, segmenter=segmenter, features=features,
                                classifier=make_classifier(method), alphabet=alphabet)
