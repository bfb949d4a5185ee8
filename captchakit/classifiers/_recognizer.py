"""The classic recognizer: preprocess, segment, classify each character."""

from collections import Counter

import cv2
import numpy as np
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted

from captchakit import _bundle
from captchakit._base import Recognizer, detail
from captchakit._errors import CaptchakitError, LabelError
from captchakit.classifiers._features import (
    FEATURES, CombinedFeatures, HOGFeatures, PixelFeatures, ProfileFeatures, make_features,
)
from captchakit.data._alphabet import resolve_alphabet
from captchakit.preprocess import Preprocessor
from captchakit.segment import Segmenter

METHODS = ("svm", "knn")
_CLASSIFIERS = {"svm": SVC, "knn": KNeighborsClassifier}

#: Classes a classic bundle may contain; anything else is refused at load time.
TRUSTED_TYPES = tuple(_bundle.type_name(c) for c in (
    HOGFeatures, PixelFeatures, ProfileFeatures, CombinedFeatures, Pipeline, StandardScaler, PCA, SVC,
    KNeighborsClassifier)) + (
    "sklearn.svm._classes.LinearSVC", "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree", "sklearn.utils._bunch.Bunch")


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
    raise CaptchakitError(f"classifier must be one of svm, knn or a scikit-learn classifier; got {method!r}")


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


def _settings_json(obj):
    """A Preprocessor/Segmenter (or its dict, or None) as JSON-ready data."""
    if obj is None or isinstance(obj, dict):
        return obj
    return obj.to_dict()


def _estimator_json(obj, names):
    """A step given by name or as an estimator, as JSON-ready data (``{"name", "params"}``)."""
    if isinstance(obj, str):
        return obj
    for name, cls in names.items():
        if type(obj) is cls:
            return {"name": name, "params": {k: v for k, v in obj.get_params().items()
                                             if isinstance(v, (int, float, str, bool, type(None)))}}
    raise CaptchakitError(f"cannot save a {type(obj).__name__}: use one of {', '.join(names)}")


def _estimator_from_json(value, names):
    if isinstance(value, dict):
        return names[value["name"]](**value["params"])
    return value


class SegmentingRecognizer(Recognizer):
    """Read captchas by segmenting them and classifying each character.

    Parameters
    ----------
    preprocessor : Preprocessor or dict, optional
        The cleaning chain; default ``Preprocessor()``.  Settings left
        ``"auto"`` are measured from the training images at fit.
    segmenter : Segmenter or dict, optional
        The character splitter; default ``Segmenter()``.
    features : transformer or str
        Crop features: ``"hog"``, ``"pixels"``, ``"profile"``,
        ``"hog+profile"`` or one of those transformers.
    scale : bool
        Standardise the features before the classifier.
    n_components : int or None
        Reduce the features with PCA to this many components before the
        classifier (keeps an RBF SVM within its speed budget); None = off.
    classifier : estimator or str
        ``"svm"``, ``"knn"``, or an ``SVC`` / ``KNeighborsClassifier``.
    alphabet : str, optional
        Allowed characters, or an alphabet name (``digits``, ``alnum``...);
        default: those seen in training.
    n_chars : int, optional
        Fixed label length; default: taken from the training labels.
    alt_windows : tuple of float
        Recognition-guided splitting: when an image had to be split to reach
        the expected count, the cut search is also tried with these windows
        and the split whose characters the classifier is surest of wins.
        Empty (the default): off.

    Attributes
    ----------
    preprocessor_, segmenter_ : Preprocessor, Segmenter
        The fitted settings (``auto`` values resolved) used by predict and save.
    front_end_ : dict
        What was measured on (up to 300 of) the training images: background,
        polarity, ink channel, stroke width, frame, and the derived settings.
    pipeline_ : Pipeline
        Fitted features (+ scaler, PCA) and classifier.
    alphabet_, length_, image_shape_ : learned at fit.
    fit_summary_ : dict
        Images used, images left out by segmentation, natural rate.
    warnings_ : list of str

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

    METHODS = METHODS
    _payload_name = "classifier.skops"

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
    def _settings(self):
        pre = self.preprocessor if self.preprocessor is not None else Preprocessor()
        seg = self.segmenter if self.segmenter is not None else Segmenter()
        pre = Preprocessor.from_dict(pre) if isinstance(pre, dict) else clone(pre).validate()
        seg = Segmenter.from_dict(seg) if isinstance(seg, dict) else clone(seg).validate()
        return pre, seg

    def _steps(self):
        feats = make_features(self.features) if isinstance(self.features, str) else clone(self.features)
        clf = make_classifier(self.classifier) if isinstance(self.classifier, str) else clone(self.classifier)
        return feats, clf

    def _clean(self, image):
        """Resize to the training size and preprocess: the binary image segmentation sees."""
        return self.preprocessor_.transform_one(resize_to(np.asarray(image), self.image_shape_))

    def _segment_all(self, images, lengths, progress=None):
        crops, counts, natural = [], [], []
        pairs = list(zip(images, lengths))
        for im, n in (progress(pairs) if progress else pairs):
            s = self.segmenter_.segment(self._clean(im), n)
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
        pre, seg = self._settings()
        feats, clf = self._steps()
        alphabet = resolve_alphabet(self.alphabet) if self.alphabet else "".join(sorted(set("".join(y))))
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
        self.warnings_ = []
        sample = [resize_to(np.asarray(im), self.image_shape_) for im in X[:300]]
        self.preprocessor_, self.front_end_ = pre.resolve(sample)
        self.segmenter_ = seg.resolve(self.front_end_["stroke_width"])
        crops, counts, natural = self._segment_all(X, [len(lab) for lab in y], progress)
        keep = [i for i, lab in enumerate(y) if counts[i] == len(lab)]
        if not keep:
            raise CaptchakitError(
                f"empty training set: none of the {len(X)} images segmented into as many pieces as "
                f"its label has characters; check the preprocessing and segmentation settings")
        if len(keep) < 0.5 * len(X):
            self.warnings_.append(f"only {len(keep)} of {len(X)} training images segmented into as many "
                                  "pieces as their label has characters")
        Xc = np.concatenate([crops[i] for i in keep]).reshape(-1, self.segmenter_.crop_size ** 2)
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

    @property
    def input_shape(self):
        return getattr(self, "image_shape_", None)

    def training_note(self):
        s = self.fit_summary_
        return (f"trained on {s['n_used']} images ({s['n_chars']} characters); {s['n_left_out']} left out because "
                f"they did not segment into as many pieces as their label has characters")

    def _fixed_length(self):
        lo, hi = self.length_
        return lo if lo == hi else None

    def predict_details(self, X):
        """Predictions with per-character confidences and segmentation info.

        Returns
        -------
        list of dict
            ``text``, ``confidence`` (product of the characters'),
            ``char_confidences`` and ``extra``: ``n_pieces``, ``n_natural``.
            An image in which nothing segments reads as ``""`` with
            confidence 0.
        """
        check_is_fitted(self, "pipeline_")
        n = self._fixed_length()
        alt_segs = [clone(self.segmenter_).set_params(split_window=w) for w in self.alt_windows or ()]
        # candidates[i]: list of crop arrays (first: the default split)
        candidates, natural = [], []
        for im in X:
            b = self._clean(im)
            s = self.segmenter_.segment(b, n)
            cands = [s.crops]
            if n is not None and s.n_natural < n:
                for alt_seg in alt_segs:
                    alt = alt_seg.segment(b, n).crops
                    if len(alt) == len(s.crops) and not np.array_equal(alt, s.crops):
                        cands.append(alt)
            candidates.append(cands)
            natural.append(s.n_natural)
        flat = [c for cands in candidates for c in cands if len(c)]
        chars, conf = [], np.zeros(0)
        if flat:
            allc = np.concatenate(flat).reshape(-1, self.segmenter_.crop_size ** 2)
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
            out.append(detail("".join(cs), cf, n_pieces=int(k), n_natural=int(nat)))
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

    # ------------------------------------------------------------------ persistence
    def describe(self):
        """Everything needed to use the fitted recognizer, as JSON-ready data."""
        check_is_fitted(self, "pipeline_")
        clf = self.pipeline_.steps[-1][1]
        method = next((k for k, v in _CLASSIFIERS.items() if isinstance(clf, v)), type(clf).__name__)
        return {
            "method": method,
            "alphabet": self.alphabet_,
            "length": list(self.length_),
            "image_shape": list(self.image_shape_),
            "preprocess": self.preprocessor_.to_dict(),
            "segment": self.segmenter_.to_dict(),
            "front_end": self.front_end_,
            "features": {"name": type(self.pipeline_.named_steps["features"]).__name__,
                         "scale": bool(self.scale), "n_components": self.n_components},
            "classifier": {k: v for k, v in clf.get_params().items()
                           if isinstance(v, (int, float, str, bool, type(None)))},
            "training": self.fit_summary_,
        }

    def _params_to_json(self):
        p = super()._params_to_json()
        p["preprocessor"] = _settings_json(self.preprocessor)
        p["segmenter"] = _settings_json(self.segmenter)
        p["features"] = _estimator_json(self.features, FEATURES)
        p["classifier"] = _estimator_json(self.classifier, _CLASSIFIERS)
        return p

    @classmethod
    def _params_from_json(cls, params):
        p = dict(params)
        p["features"] = _estimator_from_json(p.get("features", "hog"), FEATURES)
        p["classifier"] = _estimator_from_json(p.get("classifier", "svm"), _CLASSIFIERS)
        p["alt_windows"] = tuple(p.get("alt_windows") or ())
        return p

    def _restore(self, meta):
        self.alphabet_ = meta["alphabet"]
        self.length_ = tuple(meta["length"])
        self.image_shape_ = tuple(meta["image_shape"])
        self.preprocessor_ = Preprocessor.from_dict(meta["preprocess"])
        self.segmenter_ = Segmenter.from_dict(meta["segment"])
        self.front_end_ = meta.get("front_end", {})
        self.fit_summary_ = meta.get("training", {})

    def _write_payload(self, file):
        _bundle.save_sklearn(self.pipeline_, file)

    def _read_payload(self, file):
        self.pipeline_ = _bundle.load_sklearn(file, TRUSTED_TYPES)
        self.classes_ = self.pipeline_.classes_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
