"""The classic recognizer: preprocess, segment, classify each character."""

import math
import time
from collections import Counter

import cv2
import numpy as np
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.validation import check_is_fitted

from captchakit import _bundle
from captchakit._base import Recognizer, detail
from captchakit._errors import CaptchakitError, LabelError
from captchakit.classifiers._front_end import (
    CLUSTERS_SIZED, DARKER, FEW_STRINGS, PALER, SPECKS, _score_front_end, cluster_settings, enlarged_settings,
    front_end_candidates, more_characters, pinned_settings, search_front_end, segmenter_for, shrink_factor,
    smaller_to_weigh,
)
from captchakit.classifiers._features import (
    FEATURES, CombinedFeatures, HOGFeatures, InkPairFeatures, PixelFeatures, ProfileFeatures, make_features,
)
from captchakit.classifiers._scorer import SCORER_SEEDS, PieceScorer, proba_each
from captchakit.classifiers._svm import RBFDecision, softmax, svc_decision_function, svc_once_per_row, svc_predict
from captchakit.data._alphabet import resolve_alphabet
from captchakit.data._labels import fold_alphabet
from captchakit.preprocess import Preprocessor
from captchakit.preprocess._settings import STRAIGHT_LENGTH_BEFORE, ink_stage
from captchakit.segment import Segmenter
from captchakit.segment._lattice import (
    PieceCropper, best_path, candidate_cuts, ink_range, lattice_pieces, skip_costs,
)

#: Reading by recognition scores the pieces of this many images in one call of the piece scorer (a lattice of
#: Gregwar/Captcha's has about 150 pieces: 256 floats each, 10 MB for 64 images).
READ_BATCH = 64
#: The scorer's "not a character" class.
REJECT = "<not a character>"
#: Side of the crops the lattice scorer reads (small: it scores dozens of pieces per image).
SCORER_SIZE = 16
#: Each aligned training image gives the scorer this many "not a character" pieces, drawn from its lattice
#: pieces that overlap every aligned piece by less than :data:`REJECT_IOU` (intersection over union of the
#: column ranges). Pieces that overlap a character by 0.5-0.7 (most of an "m" read as "n", a character and a
#: sliver of its neighbour) were neither positives nor rejects with the former 2 pieces below 0.5, and the
#: lattice read them as characters. SVM, no flags, seeded 80/20 splits (2026-12-03, the 2-core Intel Xeon):
#: chinese_4char 67.2 -> 75.6%, math_captcha 91.2 -> 92.3%, trek-captcha 67.0 -> 71.0%, captcha_images_v2
#: 78.85 -> 81.73% (split seed 1: 78.37 -> 80.29%), svg-captcha 83.25 -> 84.50%, gvcode 21.5 -> 21.2%; 10 pieces
#: read trek-captcha at 70.5%, 6 below 0.8 captcha_images_v2 at 79.3%.
REJECTS_PER_IMAGE = 6
REJECT_IOU = 0.7
#: Weight of the lattice's width prior (:func:`width_cost`). Was 0.5; 2 read better on every set tried
#: (2026-12-03, the 2-core Intel Xeon, SVM, no flags, the same fitted models read both ways): captcha_images_v2
#: 81.73 -> 82.69% (split seed 1: 80.29 -> 81.73%), trek-captcha 71.00 -> 71.75%, chinese_4char 75.55 -> 76.28%,
#: svg-captcha 84.50 -> 84.75%, math_captcha's evaluate/ 96.26% both; 0 and 0.25 read trek-captcha worse (69.25%,
#: 69.75%), 3 and 4 no better than 2.
WIDTH_PRIOR = 2.0
#: Each character's own width for that prior (:func:`class_widths`): the geometric mean of its aligned training
#: pieces with this many pieces of the median width besides, so that a character seen a few times keeps near the
#: median. An I or a 1 is narrower than the median and an M or a W wider: against one median for every character,
#: the prior made wide letters two pieces and narrow ones part of a neighbour. The same models read with either prior
#: (SVM, no flags, 2026-12-07): captcha_images_v2 84.62 -> 85.58%, captchaimage 76.75 -> 77.75%, trek-captcha 86.50 ->
#: 87.25%, ppfun-captcha 91.00 -> 91.75%, svg-captcha 87.75 -> 88.25%, wheezy.captcha 58.75 -> 59.00%, captchagen
#: 87.25 -> 87.50%, chinese_4char and math_captcha the same, django-simple-captcha 87.75 -> 87.25%,
#: flask-simple-captcha 86.00 -> 85.75%.
WIDTH_PSEUDO = 5
#: With segmentation by recognition, the per-character classifier reads the PCA components that keep this share
#: of the HOG's variance (223 and 238 of 900 values on captcha_images_v2 and chinese_4char): the SVM over all 900
#: was half the reading time (chinese_4char, 119 classes: 7.2 of 13.6 ms per image; now 4.0 of 10.9), with the same
#: readings within 1-4 test images either way (captcha_images_v2, trek-captcha, svg-captcha, chinese_4char).
RECOGNITION_VARIANCE = 0.95
SEGMENTATIONS = ("auto", "recognition", "forced")
#: With segmentation="auto": below this share of training images that fall apart naturally
#: into their characters, segmentation by recognition is used.
AUTO_NATURAL_RATE = 0.25
#: Forced split with label lengths that vary: training images and pieces the count checker learns from.
CHECK_IMAGES, CHECK_PIECES = 1500, 12000
#: With front_end_search="auto": the front-end search runs from this many training images on. On 100 training
#: images of ten schemes and 225 of twelve (SVM, the benchmark's test images) it read as well as the measured front end
#: or better, by 2-5 s of fitting: svg-captcha 14 -> 59% and 39 -> 77%, claptcha 2 -> 39% and 12 -> 71%,
#: trek-captcha 0 -> 29% and 0 -> 8%, easy-captcha's plain coloured letters 53 -> 96% and 55 -> 98% (the measured
#: saturation channel loses its grey letters); it had run from 300 on (docs/measurements.md, footnote 52).
SEARCH_MIN_IMAGES = 100
#: Text over 48 px at the working size is weighed at the next size smaller too (half size for the images as they
#: are; :func:`~captchakit.classifiers._front_end.smaller_to_weigh`): the search there and the choice at the working
#: size read again, both on a seeded sample of this many training images
#: (600, the search's own sample, made the whole search on captchagen's first 1,000 training images take 42 s: 19 s
#: as they are, 23 s at half size, on the 2-core AMD EPYC with AVX-512; issue 11 allows 60 s. With 300: 21 s, 11.5 s
#: as they are and 9.9 s at half size, with the same choices on eight sets, docs/measurements.md footnote 64).
SMALLER_IMAGES = 300
#: With segmentation by recognition, each aligned training character comes with copies of it cut 1-2 px off
#: (``n_copies``), and they lie nearest to each other: a KNN's 3 neighbours were mostly one character and its
#: copies. So its ``n_neighbors`` counts per character, copies included (9 with two copies each), where the
#: classifier is the default ``"knn"``; the held-out choice of features counts them without copies. KNN, no flags,
#: the benchmark's splits (docs/measurements.md footnote 65): captcha_images_v2 77.88 -> 84.13% (three other
#: splits: +1.0, +1.4 and -1.9 points), wheezy.captcha 45.00 -> 49.00%, svg-captcha 88.25 -> 87.50%.
KNN_PER_COPY = True
#: The smaller size is kept where its choice reads this many more whole strings by the proxy (not the search's
#: ``MARGIN``, 2 points, within one size): a size changes every measure and the segmentation after it, and the
#: forced-split proxy compares two sizes less well than two front ends at one. text-captcha served as JPEG (quality
#: 75; text 53 px) read 30.7% as it is and 33.0% at half size by the proxy: half size was kept and read 83.00%
#: (97.38% char, by recognition), where its front end as it is read 87.75% (97.91%; the PNGs 87.50%). Its first
#: 1,000 training images had misled the same way before the second rounds (35.2% at half size against 30.5%: 79.00%
#: read instead of 84.75%, docs/measurements.md footnote 64). Every size weighed in footnotes 64-66 was kept or
#: left by 10 points or more, or under ``FEW_STRINGS``.
SIZE_MARGIN = 0.05
#: With segmentation="auto": where the share of natural splits picked the forced split but the front-end search's
#: forced-split proxy read fewer than ``PROBE_BELOW`` of whole strings, the forced split is fitted on a seeded
#: ``1 - PROBE_SHARE`` of the training images and reads the rest; where it reads fewer than ``PROBE_ENOUGH`` of
#: them, recognition is fitted and read likewise, and kept if it reads ``PROBE_MARGIN`` more
#: (:meth:`SegmentingRecognizer._probe_segmentation`). The margin pays for recognition's 3-4x reading time
#: and the noise of a tenth of the images (claptcha, 120 of them: recognition +4.2 points there, -1.0 on the test
#: images); python-captcha 4-6 digits' forced split read 92.6% of its tenth (recognition 63.2%, a 330-s fit).
PROBE_BELOW, PROBE_SHARE, PROBE_ENOUGH, PROBE_MARGIN = 0.80, 0.10, 0.90, 0.05

METHODS = ("svm", "knn")
_CLASSIFIERS = {"svm": SVC, "knn": KNeighborsClassifier}

#: Classes a classic bundle may contain; anything else is refused at load time.
TRUSTED_TYPES = tuple(_bundle.type_name(c) for c in (
    HOGFeatures, PixelFeatures, ProfileFeatures, CombinedFeatures, InkPairFeatures, Pipeline, StandardScaler, PCA, SVC,
    KNeighborsClassifier)) + (
    "sklearn.svm._classes.LinearSVC", "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree", "sklearn.utils._bunch.Bunch",
    _bundle.type_name(MLPClassifier), "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.preprocessing._label.LabelBinarizer")


#: The scorer's crops may be cut to their central ink first (:func:`~captchakit.segment._segment.central_ink`):
#: each share is weighed by a scorer fitted on the aligned pieces of the other training images, reading a seeded
#: ``SCORER_TRIM_SHARE`` of them (at most ``SCORER_TRIM_READ``) by itself
#: (:meth:`SegmentingRecognizer._choose_scorer_trim`), from ``SCORER_TRIM_MIN_IMAGES`` aligned images on. The
#: scorer alone reads characters worse than the per-character SVM that reads the final path, so its held-out
#: gain overstates the SVM's, hence the 8-point margin (SVM, no flags, 2026-12-05, the 2-core AMD EPYC with
#: AVX-512; held-out gain of the 8% scorer -> test images): flask-simple-captcha +21 points -> 82.75 to 84.0%,
#: chinese_4char +13.5 -> 78.48 to 79.71%; svg-captcha +4.6 would have read 88.5 to 85.75%, trek-captcha's 3%
#: (+1.5) 75.5 to 74.0%; captcha_images_v2, django-simple-captcha, wheezy.captcha and math_captcha read 8% no
#: better. 3% passed no set's margin, so it is not weighed.
SCORER_TRIMS = (0.0, 0.08)
SCORER_TRIM_SHARE, SCORER_TRIM_READ, SCORER_TRIM_MIN_IMAGES, SCORER_TRIM_MARGIN = 0.2, 400, 200, 0.08
#: The scorers that weigh the shares average this many seeds (the final one :data:`SCORER_SEEDS`).
SCORER_TRIM_SEEDS = 2

#: The crops the piece scorer reads (``scorer_ink_``): since 2026-12-06 the soft crops of the ink channel
#: under each piece (:meth:`PieceCropper.ink_crops`, at 16x16), which keep the shades that cleaning loses, in
#: the lattice, the alignment and the scorer's training alike; bundles from before read binary crops. SVM, no
#: flags, the benchmark's splits, binary -> soft on one machine (the 2-core AMD EPYC without AVX-512):
#: django-simple-captcha 84.5 -> 87.75%, trek-captcha 85.25 -> 86.75%, claptcha 84.67 -> 85.33%, chinese_4char
#: 83.4 -> 83.86%, gvcode 22.25 -> 22.5%; captcha_images_v2 85.6 -> 84.6%, svg-captcha 88.25 -> 87.5%,
#: flask-simple-captcha 86.0 -> 85.5%, wheezy.captcha 56.67 -> 55.33% (per character 84.8 -> 85.6%).
SCORER_INK = "soft"
SCORER_INKS = ("binary", "soft")


def _ink_words(polarity):
    """A polarity in words: ``dark ink``, ``light ink``, ``dark or light ink, image by image``."""
    return "dark or light ink, image by image" if polarity == "each" else f"{polarity} ink"


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


def _span(values):
    """``"lo-hi"`` of a ``[lo, hi]`` pair, or ``"lo"`` where they are one."""
    lo, hi = values
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def _iou(a, b):
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def _natural_share(segs, y):
    """The share of images whose segmentation fell apart naturally into as many pieces as their label has
    characters."""
    return float(np.mean([sg.n_natural == len(lab) for sg, lab in zip(segs, y)]))


def _chosen_row(report):
    """The row of a search *report*'s ``candidates`` that it chose (its whole row: names, scores, folds)."""
    return next(r for r in report["candidates"] if r["name"] == report["chosen"])


def _final_choice(rounds):
    """The front end the search's *rounds* chose in the end, and how its proxy read it.

    Examples
    --------
    >>> r = {"chosen": "median 3", "candidates": [{"name": "measured", "cv_string_accuracy": 0.5,
    ...      "cv_char_accuracy": 0.8}, {"name": "median 3", "cv_string_accuracy": 0.6, "cv_char_accuracy": 0.9}]}
    >>> _final_choice([r])
    {'chosen': 'median 3', 'cv_string_accuracy': 0.6, 'cv_char_accuracy': 0.9}
    >>> _final_choice([])
    {'chosen': None, 'cv_string_accuracy': 0.0, 'cv_char_accuracy': 0.0}
    """
    if not rounds:
        return {"chosen": None, "cv_string_accuracy": 0.0, "cv_char_accuracy": 0.0}
    row = _chosen_row(rounds[-1])
    return {"chosen": row["name"], "cv_string_accuracy": row["cv_string_accuracy"],
            "cv_char_accuracy": row["cv_char_accuracy"]}


def reads_better(new, old):
    """Whether the proxy's reading *new* beats *old* (each with ``cv_string_accuracy`` and ``cv_char_accuracy``)
    clearly enough to change the working size: by ``SIZE_MARGIN`` of whole strings, or, where both read fewer than
    ``FEW_STRINGS`` of them, by ``CHAR_MARGIN`` of characters.

    Examples
    --------
    >>> reads_better({"cv_string_accuracy": 0.45, "cv_char_accuracy": 0.8},
    ...              {"cv_string_accuracy": 0.40, "cv_char_accuracy": 0.9})
    True
    >>> reads_better({"cv_string_accuracy": 0.33, "cv_char_accuracy": 0.835},
    ...              {"cv_string_accuracy": 0.307, "cv_char_accuracy": 0.776})
    False
    >>> reads_better({"cv_string_accuracy": 0.04, "cv_char_accuracy": 0.46},
    ...              {"cv_string_accuracy": 0.03, "cv_char_accuracy": 0.34})
    True
    >>> reads_better({"cv_string_accuracy": 0.31, "cv_char_accuracy": 0.9},
    ...              {"cv_string_accuracy": 0.30, "cv_char_accuracy": 0.7})
    False
    """
    if new["cv_string_accuracy"] >= old["cv_string_accuracy"] + SIZE_MARGIN - 1e-9:
        return True
    return max(new["cv_string_accuracy"], old["cv_string_accuracy"]) < FEW_STRINGS and more_characters(new, old)


def width_cost(widths, median, weight=WIDTH_PRIOR):
    """The lattice's cost of pieces of *widths* against the characters' *median* width: ``weight * ln(w / median)²``.

    It is subtracted from each piece's log-probability, so a piece twice or half the usual width costs
    as much as a character read at ``exp(-weight * ln(2)²)`` (0.38 with the default weight) instead of 1.

    Examples
    --------
    >>> [round(float(c), 3) for c in width_cost(np.array([10.0, 20.0, 5.0]), 10.0)]
    [0.0, 0.961, 0.961]
    """
    return weight * np.log(np.asarray(widths, float) / median) ** 2


def piece_scores(proba, widths, median, own=None):
    """Each lattice piece's score: the log-probability of its best character less the width prior
    (:func:`width_cost`), against the *median* width, or against each character's own width *own* (the
    characters' order of *proba*'s columns, :func:`class_widths`): then the best character is the one whose
    probability and width together score best.

    Examples
    --------
    >>> proba = np.array([[0.9, 0.1], [0.6, 0.4]])  # columns: a narrow "I", a wide "M"
    >>> [round(float(v), 2) for v in piece_scores(proba, np.array([10.0, 20.0]), 10.0)]
    [-0.11, -1.47]
    >>> [round(float(v), 2) for v in piece_scores(proba, np.array([10.0, 20.0]), 10.0, own=np.array([10.0, 20.0]))]
    [-0.11, -0.92]
    """
    if own is None:
        return np.log(np.maximum(proba.max(axis=1), 1e-6)) - width_cost(widths, median)
    return (np.log(np.maximum(proba, 1e-6)) - width_cost(np.asarray(widths, float)[:, None],
                                                         np.asarray(own, float)[None, :])).max(axis=1)


def class_widths(spans, labels, median, pseudo=WIDTH_PSEUDO):
    """Each character's typical piece width, from the aligned *spans* (per image, ``[(x0, x1), ...]``) of the
    *labels*: the geometric mean of its widths and *pseudo* more of the *median* width.

    Examples
    --------
    >>> w = class_widths([[(0, 4), (4, 24)], [(0, 4), (4, 24)]], ["IM", "IM"], 10.0, pseudo=2)
    >>> {c: round(v, 2) for c, v in w.items()}
    {'I': 6.32, 'M': 14.14}
    """
    logs = {}
    for sp, lab in zip(spans, labels):
        for (x0, x1), ch in zip(sp, lab):
            logs.setdefault(ch, []).append(math.log(max(x1 - x0, 1)))
    return {ch: float(math.exp((sum(v) + pseudo * math.log(median)) / (len(v) + pseudo)))
            for ch, v in sorted(logs.items())}


def reject_pieces(piece_spans, path, rng, n=REJECTS_PER_IMAGE, iou=REJECT_IOU):
    """Indices of up to *n* lattice pieces, drawn with *rng*, that the scorer learns as "not a character".

    A piece qualifies when it is not on the aligned *path* and overlaps each
    aligned piece by less than *iou* (intersection over union of the column
    ranges): half a character, most of one, or parts of two.

    Parameters
    ----------
    piece_spans : list of (int, int)
        Column range of every lattice piece.
    path : list of int
        Indices of the pieces aligned to the label.
    rng : numpy.random.Generator
    n : int
    iou : float

    Examples
    --------
    >>> spans = [(0, 10), (10, 20), (0, 6), (0, 20), (3, 10)]   # two aligned pieces, then three others
    >>> sorted(reject_pieces(spans, [0, 1], np.random.default_rng(0)))   # (3, 10) overlaps (0, 10) by 0.7
    [2, 3]
    """
    spans = np.asarray(piece_spans, np.int64).reshape(-1, 2)
    on_path = np.asarray(path, np.intp)
    aligned = spans[on_path]
    # every piece against every aligned one at once, the numbers of _iou (a lattice has hundreds of pieces:
    # one pair at a time cost a flask-simple-captcha fit some 7 million calls)
    x0, x1 = spans[:, :1], spans[:, 1:]
    inter = np.maximum(np.minimum(x1, aligned[:, 1]) - np.maximum(x0, aligned[:, 0]), 0)
    union = np.maximum(x1, aligned[:, 1]) - np.minimum(x0, aligned[:, 0])
    share = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    wrong = share.max(axis=1, initial=0.0) < iou
    wrong[on_path] = False
    return [int(p) for p in rng.permutation(np.flatnonzero(wrong).tolist())[:n]]


def _settings_json(obj):
    """A Preprocessor/Segmenter (or its dict, or None) as JSON-ready data."""
    if obj is None or isinstance(obj, dict):
        return obj
    return obj.to_dict()


def _json_params(est):
    """*est*'s parameters that JSON holds: numbers, strings, None, and tuples of numbers (HOG's several cell
    sizes), kept as lists (:func:`_estimator_from_json` makes them tuples again)."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in est.get_params().items()
            if isinstance(v, (int, float, str, bool, type(None)))
            or (isinstance(v, tuple) and all(isinstance(e, (int, float)) for e in v))}


def _estimator_json(obj, names):
    """A step given by name or as an estimator, as JSON-ready data (``{"name", "params"}``)."""
    if isinstance(obj, str):
        return obj
    for name, cls in names.items():
        if type(obj) is cls:
            return {"name": name, "params": _json_params(obj)}
    raise CaptchakitError(f"cannot save a {type(obj).__name__}: use one of {', '.join(names)}")


def _estimator_from_json(value, names):
    if isinstance(value, dict):
        return names[value["name"]](**{k: (tuple(v) if isinstance(v, list) else v)
                                       for k, v in value["params"].items()})
    return value


#: features="auto": HOG cell sizes weighed with the forced split (on 32-px crops: 4x4 and 5x5 cells, and both
#: concatenated).
HOG_CELLS = (8, 6, (8, 6))
#: The HOG cells of segmentation by recognition (``features="auto"``): coarse and fine together. Measured with
#: the SVM, no flags, against 8-px cells: captcha_images_v2 78.4% against 75.5%, math_captcha 91.6% against
#: 87.4%, svg-captcha 85.5% against 84.0%, chinese_4char 67.5% against 53.1%, gvcode 21.5% against 20.5%.
RECOGNITION_CELLS = (8, 6)


def _cells_name(cells):
    """``8`` -> ``"8-px cells"``, ``(8, 6)`` -> ``"8+6-px cells"``."""
    return ("+".join(str(c) for c in cells) if isinstance(cells, tuple) else str(cells)) + "-px cells"


def _features_name(feats):
    """``HOGFeatures(pixels_per_cell=6, pixels=16, trim=0.03)``
    -> ``"6-px cells and pixels 16x16 on crops trimmed 3%"``."""
    return (_cells_name(feats.pixels_per_cell) + (f" and pixels {feats.pixels}x{feats.pixels}" if feats.pixels else "")
            + (f" on crops trimmed {100 * feats.trim:g}%" if feats.trim else ""))


#: ... on the characters of at most this many training images, a quarter of them held out.
CELLS_IMAGES, CELLS_MARGIN = 2000, 0.003
#: The shares of ink trimmed off each side of the crops (``HOGFeatures(trim=...)``) that segmentation by
#: recognition weighs (``features="auto"``). On truth-aligned pieces (SVM refitted, test pieces' characters),
#: trimmed against not: flask-simple-captcha 94.2 -> 97.2% (8%), chinese_4char 92.9 -> 94.7% (3%),
#: wheezy.captcha 86.5 -> 87.6%, svg-captcha 96.5 -> 97.1%; django-simple-captcha (95.2 -> 94.5%), trek-captcha
#: and captcha_images_v2 read worse, hence a held-out choice. The forced split does not weigh them: python-captcha
#: and lzu_digits read the same with them, colour-lines half a point worse.
TRIMS = (0.03, 0.08)
#: Which crops the per-character classifier of segmentation by recognition reads (``crop_ink_``): the cleaned
#: binary ink, the soft crops of the ink channel under it (:meth:`PieceCropper.ink_crops`), or both side by side;
#: weighed on held-out characters (:func:`choose_hog_cells`) where ``features="auto"``.
CROP_INKS = ("binary", "soft", "both")


def choose_hog_cells(X, y, groups, classifier, n_components, crop_size, seed=0, cells=HOG_CELLS, trims=(),
                     soft=None):
    """HOG features with the cell size that reads held-out training characters best, with or without the
    crops' pixels beside them and their ink trimmed, and the evidence.

    The characters of a quarter of the training images (at most
    ``CELLS_IMAGES`` images, seeded) are held out; the classifier (after PCA
    to *n_components*, a number of components or a share of the variance, as
    in training) is fitted on the rest with each cell size of *cells*
    (by default ``HOG_CELLS``: 8 px, 6 px, and both concatenated) and scored
    on them. The best of the others wins where it beats the first by more
    than ``CELLS_MARGIN``. Then the chosen cells with the crops' pixels
    appended (``HOGFeatures(pixels=crop_size // 2)``) are weighed on the same
    characters, and win by the same margin. Last the choice so far with
    each share of *trims* (``HOGFeatures(trim=...)``, :func:`~captchakit.classifiers.trim_crops`):
    the best of them wins by the same margin. With *soft* (the same
    characters' soft crops, row for row with *X*), last the choice so far
    on the soft crops alone and on both crops side by side
    (:class:`~captchakit.classifiers.InkPairFeatures`): the better of them
    wins by the same margin, and ``report["ink"]`` says which crops
    (``binary``, ``soft`` or ``both``) the features read. Crops smaller than
    24 px keep the first of *cells*, without the pixels.

    Returns
    -------
    features : HOGFeatures or InkPairFeatures
    report : dict
        ``chosen``, ``held_out_char_accuracy`` per candidate, ``n_images``, ``seed``, ``ink``.
    """
    default = HOGFeatures(pixels_per_cell=cells[0])
    if crop_size < 24:
        return default, {"chosen": f"hog, {_features_name(default)}", "skipped": f"crops of {crop_size} px"}
    rng = np.random.default_rng(seed)
    images = np.unique(groups)
    images = rng.permutation(images)[:CELLS_IMAGES]
    held = np.isin(groups, images[: max(1, len(images) // 4)])
    fit_part = np.isin(groups, images) & ~held
    if len(np.unique(y[fit_part])) < 2 or not held.any():
        return default, {"chosen": f"hog, {_features_name(default)}", "skipped": "too few training images"}
    scores = {}

    def score(feats, data=X, name=None):
        steps = [("features", feats)]
        if n_components:
            steps.append(("pca", PCA(n_components if 0 < n_components < 1
                                     else min(int(n_components), int(fit_part.sum()),
                                              clone(feats).fit_transform(data[:1]).shape[1]), random_state=0)))
        steps.append(("classifier", clone(classifier)))
        model = Pipeline(steps).fit(data[fit_part], y[fit_part])
        # libsvm's predict, from matrix products rather than one character at a time (svc_predict)
        acc = scores[name or _features_name(feats)] = float(np.mean(
            svc_predict(model[-1], model[:-1].transform(data[held])) == y[held]))
        return acc

    # the best of the other cells, where it beats the default (the first) by more than the margin
    best, best_acc = default, score(default)
    for c in cells[1:]:
        f = HOGFeatures(pixels_per_cell=c)
        acc = score(f)
        if acc > best_acc + (CELLS_MARGIN if best is default else 0.0):
            best, best_acc = f, acc
    with_pixels = HOGFeatures(pixels_per_cell=best.pixels_per_cell, pixels=crop_size // 2)
    acc = score(with_pixels)
    if acc > best_acc + CELLS_MARGIN:
        best, best_acc = with_pixels, acc
    trimmed = [clone(best).set_params(trim=t) for t in trims]
    accs = [score(f) for f in trimmed]
    if accs and max(accs) > best_acc + CELLS_MARGIN:
        best, best_acc = trimmed[int(np.argmax(accs))], max(accs)
    ink, chosen = "binary", best
    if soft is not None:
        soft = np.asarray(soft, np.float32).reshape(len(X), -1)
        name = _features_name(best)
        accs = {"soft": score(best, soft, f"{name} on soft crops"),
                "both": score(InkPairFeatures(best), np.concatenate([X.reshape(len(X), -1), soft], axis=1),
                              f"{name} on binary and soft crops")}
        pick = max(accs, key=accs.get)
        if accs[pick] > best_acc + CELLS_MARGIN:
            ink, chosen = pick, (best if pick == "soft" else InkPairFeatures(best))
    report = {"chosen": f"hog, {_features_name(best)}" + {"binary": "", "soft": " on soft crops",
                                                          "both": " on binary and soft crops"}[ink],
              "n_images": int(len(images)), "seed": seed, "ink": ink,
              "held_out_char_accuracy": {k: round(v, 4) for k, v in scores.items()}}
    return chosen, report


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
        Crop features: ``"auto"``, ``"hog"``, ``"pixels"``, ``"profile"``,
        ``"hog+profile"`` or one of those transformers. Auto: HOG, with the
        forced split its cell size (8 or 6 px on 32-px crops) chosen on
        held-out characters of the training images (claptcha's rough glyphs
        read better with the finer cells, python-captcha's and lzu_digits'
        with the coarser ones); with segmentation by recognition, 8- and
        6-px cells together (``RECOGNITION_CELLS``). Either way the crops'
        pixels (shrunk to half their side) join the HOG where that reads
        the held-out characters better (``HOGFeatures(pixels=16)``;
        :func:`choose_hog_cells`); with segmentation by recognition, last
        the crops trimmed of the outer 3% or 8% of their ink (``TRIMS``: a
        line running off a character no longer shrinks it), and last the
        *soft crops*, alone or beside the binary ones: the ink channel's
        shades under each piece (:meth:`PieceCropper.ink_crops`), which keep
        what the threshold and line removal took (django-simple-captcha's
        small letters, trek-captcha's tops of ``n`` and ``m``; ``crop_ink_``).
        ``features_`` says which and why.
    scale : bool
        Standardise the features before the classifier.
    n_components : int, float, None or "auto"
        Reduce the features with PCA to this many components before the
        classifier (keeps an RBF SVM within its speed budget); None = off.
        A float between 0 and 1: as many components as keep that share of
        the variance. Auto: 48 with the forced split (python-captcha 4
        digits: 1.4 ms per image); with segmentation by recognition,
        :data:`RECOGNITION_VARIANCE` of the variance (48 components read
        captcha_images_v2 at 60% where the full HOG read 67%; 95% of the
        variance keeps about 220 of its 900 values and reads it within a
        point of the full HOG, its kernel products a quarter as long).
    classifier : estimator or str
        ``"svm"``, ``"knn"``, or an ``SVC`` / ``KNeighborsClassifier``.
    alphabet : str, optional
        Allowed characters, or an alphabet name (``digits``, ``alnum``...);
        default: those seen in training.
    n_chars : int, optional
        Fixed label length; default: taken from the training labels.
    alt_windows : tuple of float
        With ``segmentation="forced"``: when an image had to be split to
        reach the expected count, the cut search is also tried with these
        windows and the split whose characters the classifier is surest of
        wins.  Empty (the default): off.
    segmentation : {"auto", "recognition", "forced"}
        ``auto`` (default): ``recognition`` when fewer than 25% of the
        training images fall apart naturally into as many pieces as their
        label has characters (touching characters), else ``forced``; where
        the front-end search ran and its forced-split proxy read fewer than
        ``PROBE_BELOW`` (80%) of whole strings, both readers are also
        fitted on a seeded 90% of the training images, and recognition is
        kept if it reads at least 5 points more of the other 10% (not fitted
        where the forced split reads 90% of them:
        :meth:`_probe_segmentation`). The measured share, the probe and
        the choice are stored in the bundle.
        ``recognition``: segmentation by recognition.  Candidate
        cuts come from component gaps, projection minima, the forced split
        and an equal-width prior; a small scorer (:class:`PieceScorer`: five
        MLPs on 16x16 crops, seeds 0-4, averaged, that also know a "not a
        character" class, trained on the training images' aligned pieces and
        on deliberately wrong cuts of them) scores
        every piece between two cuts, and dynamic programming picks the
        best reading for the expected length (or length range).  Images
        whose natural pieces the scorer accepts skip the lattice.
        ``forced``: the segmenter's pieces, merged or split at the
        projection minimum to the expected count.  When label lengths vary,
        the image is split into every count of the length range seen in
        training and a *count checker* picks the split: an RBF SVM on the
        crops' features that learned, from the training images, pieces of
        the right split against those of splits into one character more or
        fewer (python-captcha 4-6 digits: 36% whole-string with the count
        from the ink width, 86% with the checker).  Bundles without a
        checker read the count from the ink width.
    fold : str, optional
        Read labels folded: ``"case"`` and/or look-alike groups such as
        ``"0O,1lI"`` (:func:`~captchakit.data._labels.parse_fold`).
    task : {"text", "arithmetic"}
        ``arithmetic``: readings are expressions; predictions carry their answer.
    front_end_search : bool or "auto"
        After measuring the front end, score a few alternatives around it
        (line removal kept or thicker, a median filter, the runner-up ink
        channel, colour clusters when the ink has several colours, straight-line
        removal when a third of the images have a long straight line across them, an
        adaptive threshold, the former fixed front end) by 2-fold
        cross-validation of a forced-split proxy on up to 600 training images,
        and keep the measured one unless another reads at least 2 points more
        (:func:`~captchakit.classifiers._front_end.search_front_end`).
        Settings the user gave are never changed.  ``auto`` (default): from
        100 training images on.  The table is stored in ``front_end_["search"]``.
    n_jobs : int, optional
        Worker processes (joblib's loky; None or 1: none, the fits run in this
        process) for the front-end search's fits and, with segmentation by
        recognition, the piece scorer's MLPs.  Every fit is seeded: the model
        is the same for any number.

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
    crop_ink_ : {"binary", "soft", "both"}
        The crops the per-character classifier reads (see *features*);
        ``binary`` with the forced split.
    scorer_, scorer_ink_, scorer_trim_, scorer_choice_ : segmentation by recognition
        The lattice's piece scorer (:class:`PieceScorer`); the crops it reads
        (``soft``: the ink channel's shades under each piece, see
        :data:`SCORER_INK`; ``binary`` in bundles from before them); the share
        of each piece's ink cut off its sides before the scorer reads it (0 or
        8%: the one whose scorer read the most held-out training images by
        itself; a line running off a character no longer shrinks it), and
        that choice's evidence (None where too few images aligned to weigh it).
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

    def __init__(self, preprocessor=None, segmenter=None, features="auto", scale=False,
                 n_components="auto", classifier="svm", alphabet=None, n_chars=None, alt_windows=(),
                 segmentation="auto", front_end_search="auto", fold=None, task="text", n_jobs=None):
        self.preprocessor = preprocessor
        self.segmenter = segmenter
        self.features = features
        self.scale = scale
        self.n_components = n_components
        self.classifier = classifier
        self.alphabet = alphabet
        self.n_chars = n_chars
        self.alt_windows = alt_windows
        self.segmentation = segmentation
        self.front_end_search = front_end_search
        self.fold = fold
        self.task = task
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------
    def _settings(self):
        pre = self.preprocessor if self.preprocessor is not None else Preprocessor()
        seg = self.segmenter if self.segmenter is not None else Segmenter()
        pre = Preprocessor.from_dict(pre) if isinstance(pre, dict) else clone(pre).validate()
        seg = Segmenter.from_dict(seg) if isinstance(seg, dict) else clone(seg).validate()
        return pre, seg

    def _steps(self):
        name = "hog" if self.features == "auto" else self.features
        feats = make_features(name) if isinstance(name, str) else clone(name)
        clf = make_classifier(self.classifier) if isinstance(self.classifier, str) else clone(self.classifier)
        return feats, clf

    def _clean(self, image):
        """Resize to the training size and preprocess: the binary image segmentation sees."""
        return self.preprocessor_.transform_one(resize_to(np.asarray(image), self.image_shape_))

    def _clean_ink(self, image):
        """:meth:`_clean`, and the ink channel the soft crops come from: ``(ink, binary)``."""
        return self.preprocessor_.ink_and_binary(resize_to(np.asarray(image), self.image_shape_))

    def _piece_crops(self, cropper, ink, spans):
        """The flattened crops the classifier reads for the pieces *spans*: binary, soft (from the ink channel
        *ink*) or both side by side, as ``crop_ink_`` says."""
        size = self.segmenter_.crop_size
        mode = getattr(self, "crop_ink_", "binary")
        if mode != "both":  # one kind: no crops of the other made for nothing
            return [c.ravel() for c in cropper.crops(spans, size, ink=ink if mode == "soft" else None)]
        binary, soft = cropper.crop_pairs(ink, spans, size)
        return [np.concatenate([b.ravel(), c.ravel()]) for b, c in zip(binary, soft)]

    def fit(self, X, y, progress=None):
        """Fit on images *X* (list of arrays) and their string labels *y*.

        *progress*, if given, wraps the image loop (e.g. a progress bar).
        """
        X = list(X)
        self._check_labels_settings()
        y = self.fold_labels(y)
        if len(X) != len(y):
            raise CaptchakitError(f"{len(X)} images but {len(y)} labels")
        if not X:
            raise CaptchakitError("no training images")
        pre, seg = self._settings()
        feats, clf = self._steps()
        alphabet = (fold_alphabet(resolve_alphabet(self.alphabet), self.fold) if self.alphabet
                    else "".join(sorted(set("".join(y)))))
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
        if self.segmentation not in SEGMENTATIONS:
            raise CaptchakitError(f"segmentation must be one of {', '.join(SEGMENTATIONS)}; "
                                  f"got {self.segmentation!r}")
        if self.front_end_search not in (True, False, "auto"):
            raise CaptchakitError(f"front_end_search must be True, False or 'auto'; got {self.front_end_search!r}")
        if pre.is_resolved and seg.min_area != "auto":
            # every setting given: nothing to measure
            self.preprocessor_, self.segmenter_ = pre, seg
            self.front_end_ = {"n_images": 0, "measured": False}
        else:
            self._measure_at(X, pre, seg, self.image_shape_)
            shrink = shrink_factor(self.front_end_, pinned_settings(pre))
            if shrink > 1:
                # tall text: read at a smaller size (the working size every image is resized to), measured again
                self._measure_at(X, pre, seg, self.image_shape_, shrink)
        binaries, segs, inks = self._segment_all(X, y, progress)
        self.segmentation_ = self.segmentation
        natural_rate = self._pick_reader(segs, y)
        search = self.front_end_search
        if search == "auto":
            search = len(X) >= SEARCH_MIN_IMAGES and self.front_end_.get("measured", True)
        rounds, sized = [], None
        if search:
            rounds, sized, (binaries, segs, inks) = self._search_rounds(X, y, pinned_settings(pre),
                                                                        (binaries, segs, inks), progress)
            factor = smaller_to_weigh(self.front_end_, pinned_settings(pre)) if rounds else 0
            if factor:
                smaller = self._search_smaller(X, y, pre, seg, rounds, sized, factor, progress)
                if smaller:  # the fit goes on at the smaller size, with the search's choice there
                    rounds, sized, (binaries, segs, inks) = smaller
            natural_rate = _natural_share(segs, y)
        if rounds:
            self.front_end_["search"] = rounds[0]
            if len(rounds) > 1:
                rounds[0]["second_round"] = rounds[1]
            if self.segmentation == "auto" and self.segmentation_ == "forced":
                # the forced split's proxy: the last round's chosen candidate, as the search read it
                proxy = _final_choice(rounds)["cv_string_accuracy"]
                if proxy < PROBE_BELOW:
                    self.front_end_["probe"] = self._probe_segmentation(sized, y, proxy, progress)
                    self.segmentation_ = self.front_end_["probe"]["chosen"]
        keep = [i for i, lab in enumerate(y) if len(segs[i]) == len(lab)]
        if not keep:
            raise CaptchakitError(
                f"empty training set: none of the {len(X)} images segmented into as many pieces as "
                f"its label has characters; check the preprocessing and segmentation settings")
        # ink columns per character: the forced split's count when label lengths vary
        spans = [(r[1] - r[0]) / len(lab) for b, lab in zip(binaries, y) if (r := ink_range(b)) is not None]
        self.char_span_ = float(np.median(spans)) if spans else None
        self.features_ = {"chosen": "hog" if self.features == "auto" else str(self.features)}
        self.crop_ink_ = "binary"
        if self.segmentation_ == "forced":
            Xc = np.concatenate([segs[i].crops for i in keep]).reshape(-1, self.segmenter_.crop_size ** 2)
            yc = np.array([ch for i in keep for ch in y[i]])
            used, n_copies = keep, 0
            if self.features == "auto":
                groups = np.repeat(np.arange(len(keep)), [len(y[i]) for i in keep])
                feats, self.features_ = choose_hog_cells(Xc, yc, groups, clf, 48 if self.n_components == "auto"
                                                         else self.n_components, self.segmenter_.crop_size)
        else:
            # the lattice reads pieces that were not forced to a count: its widths and first scorer are learnt
            # without the short pieces that forcing brings back (with them, math_captcha read 85.8%
            # instead of 88.5%)
            segs = [self.segmenter_.segment(b, len(lab), restore_short=False) for b, lab in zip(binaries, y)]
            keep = [i for i, lab in enumerate(y) if len(segs[i]) == len(lab)]
            choose = self.features == "auto" and self.segmenter_.crop_size >= 24
            Xc, yc, used, n_copies, Xsoft = self._fit_lattice(binaries, y, segs, keep, inks, soft=choose)
            if choose:
                # the cells are those of segmentation by recognition; the pixels beside them, the trimmed crops
                # and the soft crops are weighed on the aligned pieces (not their copies cut 1-2 px off), grouped
                # by image
                n_pos = len(yc) - n_copies
                groups = np.repeat(np.arange(len(used)), [len(y[i]) for i in used])
                feats, self.features_ = choose_hog_cells(
                    Xc[:n_pos], yc[:n_pos], groups, clf,
                    RECOGNITION_VARIANCE if self.n_components == "auto" else self.n_components,
                    self.segmenter_.crop_size, cells=(RECOGNITION_CELLS,), trims=TRIMS, soft=Xsoft[:n_pos])
                self.features_["why"] = "segmentation by recognition"
                self.crop_ink_ = self.features_["ink"]
                if self.crop_ink_ == "soft":
                    Xc = Xsoft
                elif self.crop_ink_ == "both":
                    Xc = np.concatenate([Xc, Xsoft], axis=1)
            del Xsoft
        if len(used) < 0.5 * len(X):
            self.warnings_.append(f"only {len(used)} of {len(X)} training images gave as many pieces as their "
                                  "label has characters")
        knn_neighbors = None
        if KNN_PER_COPY and n_copies and self.classifier == "knn":  # the default, not a KNN the user passed
            # each aligned character comes with its copies cut 1-2 px off, which lie nearest to each other: the
            # neighbours are counted per character, as the held-out choice above counted them (no copies)
            per = len(yc) / max(1, len(yc) - n_copies)
            clf.set_params(n_neighbors=int(round(clf.n_neighbors * per)))
            knn_neighbors = clf.n_neighbors
        steps = [("features", feats)]
        if self.scale:
            steps.append(("scale", StandardScaler()))
        n_components = self.n_components
        if n_components == "auto":
            n_components = 48 if self.segmentation_ == "forced" else RECOGNITION_VARIANCE
        if n_components:
            # a share of the variance (a float below 1) or a number of components
            n_comp = (float(n_components) if 0 < n_components < 1
                      else min(int(n_components), len(yc), Xc.shape[1]))
            steps.append(("pca", PCA(n_comp, random_state=0)))
        steps.append(("classifier", clf))
        self.pipeline_ = Pipeline(steps).fit(Xc, yc)
        if n_components:
            # PCA leaves its components as a transposed view; a saved and loaded model has them in C order, and
            # float32 products over the two layouts differ in the last bits: the same layout reads the same
            pca = self.pipeline_.named_steps["pca"]
            pca.components_ = np.ascontiguousarray(pca.components_)
            if isinstance(n_comp, float):
                self.features_["pca"] = {"variance": n_comp, "components": int(pca.n_components_),
                                         "of": int(pca.n_features_in_)}
        self.classes_ = self.pipeline_.classes_
        if self.segmentation_ == "forced" and self.length_[0] != self.length_[1]:
            self.count_checker_ = self._fit_count_checker(binaries, y, segs, keep)
        self.fit_summary_ = {
            "n_images": len(X),
            "n_used": len(used),
            "n_left_out": len(X) - len(used),
            "n_chars": int(len(yc)) - n_copies,
            "n_copies": n_copies,
            "knn_neighbors": knn_neighbors,
            "natural_rate": natural_rate,
            "image_shape": list(self.image_shape_),
            "label_lengths": {str(k): v for k, v in sorted(lengths.items())},
            "segmentation": self.segmentation_,
        }
        if len(shapes) > 1:  # every image is resized to one shape: the note says so
            (h, w), n = shapes.most_common(1)[0]
            hs, ws = zip(*shapes)
            self.fit_summary_["image_sizes"] = {
                "count": len(shapes), "commonest": [int(h), int(w)], "commonest_share": round(n / len(X), 4),
                "heights": [int(min(hs)), int(max(hs))], "widths": [int(min(ws)), int(max(ws))]}
        return self

    def _search_rounds(self, X, y, pinned, segmented, progress=None, lead=0.0, max_images=600):
        """The front-end search at the current working size: a first round, and a second around its choice
        where that changed how the images segment. Sets ``preprocessor_``, ``segmenter_`` and ``segmentation_``
        to the choice; returns the rounds' reports, the images at the working size (None where no round ran) and
        the training images *segmented* (binaries, segmentations, ink channels) under the choice.

        *lead*: the proxy's reading of a choice made elsewhere (at another working size) that this search must
        beat: the second round, the last, drops candidates far behind it too (:func:`search_front_end`).
        *max_images*: the training images each round weighs at most (a seeded sample)."""
        binaries, segs, inks = segmented
        rounds, sized, probed = [], None, None
        for _ in range(2):
            was = self.segmentation_
            cands = self._front_end_candidates(X, pinned, second_round=bool(rounds))
            if rounds:  # the second round: every candidate around the first round's choice (under segmentation by
                # recognition the first round weighed only those that can let characters come apart), or, where
                # recognition still reads the images, the 3-px median and the measured specks removed on top of it
                cands = [(rounds[-1]["chosen"], cands[0][1])] + cands[1:]
            if len(cands) < 2:
                if not rounds:
                    self.front_end_["search"] = {"skipped": "segmentation by recognition (the forced-split proxy "
                                                            "does not predict it)"}
                break
            if sized is None:  # once for both rounds
                sized = [resize_to(np.asarray(im), self.image_shape_) for im in X]
            probe = self._search_proxy()
            # a second round's first candidate is the first round's choice: where the proxy is the same (the
            # segmenter not rescaled for enlarged images), its score is the first round's, not fitted again
            known = None
            if rounds and self.segmenter_.get_params() == probed:
                known = _chosen_row(rounds[-1])
            probed = self.segmenter_.get_params()
            chosen, report = search_front_end(probe, sized, y, cands, progress=progress, n_jobs=self.n_jobs,
                                              known=known, lead=lead if rounds else 0.0, max_images=max_images)
            if rounds:
                if self.segmentation_ == "forced":
                    report["why"] = "the characters came apart"
                else:
                    tried = {"median 3": "the 3-px median", SPECKS: "the measured specks removed",
                             CLUSTERS_SIZED: "lines and specks as the strokes in the clusters"}
                    report["why"] = ("recognition still reads them: "
                                     + " or ".join(tried[c[0]] for c in cands[1:]) + " on top")
            rounds.append(report)
            if chosen is cands[0][1]:
                break
            self.preprocessor_ = chosen
            self.segmenter_ = segmenter_for(self.segmenter_, chosen)
            binaries, segs, inks = self._segment_all(X, y, progress)
            self._pick_reader(segs, y)
            if was == "forced" and self.segmentation_ == "forced":
                break
            # the chosen front end let the characters come apart: the candidates that the first round could not
            # weigh (segmentation by recognition) are tried around it (claptcha: straight lines removed, then the
            # images enlarged twice; wheezy.captcha: straight lines removed, then the thin lines kept). Where
            # recognition still reads them, the 3-px median is weighed on top of the choice (django-simple-captcha:
            # the darker threshold, then its specks and ragged edges smoothed)
        return rounds, sized, (binaries, segs, inks)

    def _pick_reader(self, segs, y):
        """The share of training images whose segmentation *segs* fell apart naturally into their label's count;
        with ``segmentation="auto"`` it sets ``segmentation_``: by recognition below ``AUTO_NATURAL_RATE``, else
        the forced split."""
        rate = _natural_share(segs, y)
        if self.segmentation == "auto":
            self.segmentation_ = "recognition" if rate < AUTO_NATURAL_RATE else "forced"
        return rate

    def _search_proxy(self):
        """The recognizer the search fits for each candidate: this one with the current segmenter and the default
        features (choosing them in every fold would multiply the search's cost)."""
        return clone(self).set_params(segmenter=self.segmenter_,
                                      features="hog" if self.features == "auto" else self.features)

    def _measure_at(self, X, pre, seg, shape, shrink=1, height=None):
        """Measure the front end (*pre*, *seg*) on the first 300 images *X* resized to *shape*, or to *shape* made
        *shrink* times smaller: the working size. Sets ``image_shape_``, ``preprocessor_``, ``front_end_`` (with
        ``shrunk`` where *shrink* > 1: *height*, the text's at *shape*, or as measured there last) and
        ``segmenter_``."""
        full = tuple(int(v) for v in shape)
        if shrink > 1:
            height = float(self.front_end_["ink_height"] if height is None else height)
            shape = (max(1, round(full[0] / shrink)), max(1, round(full[1] / shrink)))
        self.image_shape_ = tuple(int(v) for v in shape)
        self.preprocessor_, self.front_end_ = pre.resolve([resize_to(np.asarray(im), self.image_shape_)
                                                           for im in X[:300]])
        if shrink > 1:
            self.front_end_["shrunk"] = {"factor": int(shrink), "from": list(full), "ink_height": height}
        self.segmenter_ = seg.resolve(self.front_end_["stroke_width"])

    def _search_smaller(self, X, y, pre, seg, rounds, sized, factor, progress=None):
        """The front-end search again on the images *factor* times smaller than the original
        (:func:`smaller_to_weigh`), every setting measured again there.

        Both searches' choices are read by the proxy on the same seeded sample of ``SMALLER_IMAGES`` training
        images: the choice of *rounds* (the search at the working size, on *sized*) is fitted again there, and the
        search at the smaller size weighs that sample alone. Where the choice there reads better
        (:func:`reads_better`: ``SIZE_MARGIN`` more whole strings, or where both read few, ``CHAR_MARGIN`` more
        characters), the fit goes on at the smaller size: ``image_shape_`` and the measured state are those of that
        size, and this returns its search's ``(rounds, sized, segmented)`` as :meth:`_search_rounds` does.
        Otherwise the state is as it was and this returns None. Both choices and their readings are kept in
        ``front_end_["smaller"]``.
        """
        t0 = time.perf_counter()
        names = ("image_shape_", "preprocessor_", "front_end_", "segmenter_", "segmentation_")
        before = {k: getattr(self, k) for k in names}
        choice = [(_final_choice(rounds)["chosen"], self.preprocessor_)]
        _, again = search_front_end(self._search_proxy(), sized, y, choice, max_images=SMALLER_IMAGES,
                                    progress=progress, n_jobs=self.n_jobs)
        here = _final_choice([again])
        shrunk = self.front_end_.get("shrunk")
        # measured from the original images, as the first shrinking did (its text height is the original's)
        original, height = ((tuple(shrunk["from"]), shrunk["ink_height"]) if shrunk
                            else (self.image_shape_, self.front_end_["ink_height"]))
        self._measure_at(X, pre, seg, original, factor, height)
        segmented = self._segment_all(X, y, progress)
        self._pick_reader(segmented[1], y)
        there = self._search_rounds(X, y, pinned_settings(pre), segmented, progress,
                                    lead=here["cv_string_accuracy"], max_images=SMALLER_IMAGES)
        weighed = {"factor": int(factor), "from_factor": int(shrunk["factor"]) if shrunk else 1, "as_is": here,
                   "smaller": _final_choice(there[0]), "margin": SIZE_MARGIN, "n_images": again["n_images"],
                   "seconds": round(time.perf_counter() - t0, 1), "rounds_seconds": [r["seconds"] for r in there[0]]}
        kept = bool(there[0]) and reads_better(weighed["smaller"], weighed["as_is"])
        weighed["chosen"] = f"{factor}x smaller" if kept else "as it was"
        if not kept:
            for k, v in before.items():
                setattr(self, k, v)
        self.front_end_["smaller"] = weighed
        return there if kept else None

    def _probe_segmentation(self, X, y, proxy, progress=None, seed=0):
        """Fit both readers on most of the training images and read the rest: which one to keep.

        Where the images fall apart naturally but the forced split reads them
        badly (overlapping characters), segmentation by recognition can read
        many more (flask-simple-captcha: 56.75% forced, 70.75% recognition),
        but elsewhere fewer (claptcha: 84.33% and 83.33% with the same front
        end), and the share of natural splits does not tell which: it takes
        a fit of each.  Both are
        fitted with the chosen front end on a seeded ``1 - PROBE_SHARE`` of
        *X* and read the rest; recognition is kept if it reads at least
        ``PROBE_MARGIN`` more whole strings.  Where the forced split reads
        ``PROBE_ENOUGH`` of them, recognition is not fitted.
        """
        t0 = time.perf_counter()
        order = np.random.default_rng(seed).permutation(len(X))
        n_test = max(1, int(round(PROBE_SHARE * len(X))))
        test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
        base = clone(self).set_params(preprocessor=self.preprocessor_, segmenter=self.segmenter_,
                                      front_end_search=False, alphabet="chars:" + self.alphabet_,
                                      n_chars=self._fixed_length())
        scores = {}
        for name in ("forced", "recognition"):
            if name == "recognition" and scores["forced"]["string_accuracy"] >= PROBE_ENOUGH:
                break
            # a reader under which nothing segments into its label's count scores 0, as in the search
            acc = _score_front_end(clone(base).set_params(segmentation=name), [X[i] for i in train],
                                   [y[i] for i in train], [X[i] for i in test], [y[i] for i in test], progress)
            scores[name] = {"string_accuracy": round(float(acc[0]), 4), "char_accuracy": round(float(acc[1]), 4)}
        gain = (scores["recognition"]["string_accuracy"] - scores["forced"]["string_accuracy"]
                if "recognition" in scores else 0.0)
        return {"proxy": proxy, "below": PROBE_BELOW, "n_train": len(train), "n_test": len(test), "seed": seed,
                "scores": scores, "enough": PROBE_ENOUGH, "margin": PROBE_MARGIN,
                "seconds": round(time.perf_counter() - t0, 1),
                "chosen": "recognition" if gain >= PROBE_MARGIN - 1e-9 else "forced"}

    def _fit_count_checker(self, binaries, y, segs, keep, seed=0):
        """An SVM that tells the pieces of the right split from those of a split into a wrong count."""
        rng = np.random.default_rng(seed)
        lo, hi = self.length_
        crops, good = [], []
        for i in sorted(rng.permutation(keep)[:CHECK_IMAGES]):
            lab, b, s0 = y[i], binaries[i], segs[i]
            truth = [(int(x[0]), int(x[2])) for x in s0.boxes]
            crops.append(s0.crops)
            good += [1] * len(s0)
            ks = [k for k in range(max(1, lo - 1), hi + 2) if k != len(lab)]
            for k, s in zip(ks, self.segmenter_.segment_counts(b, ks)):
                if len(s) != k:
                    continue
                crops.append(s.crops)
                good += [int(max(_iou((int(x[0]), int(x[2])), t) for t in truth) >= 0.8) for x in s.boxes]
        good = np.array(good)
        X = np.concatenate(crops).reshape(len(good), -1)
        pick = np.sort(rng.permutation(len(good))[:CHECK_PIECES])
        if len(set(good[pick])) < 2:
            return None
        # a piece that a wrong count leaves as it was is the same crop in several splits: captchagen's proxy
        # fits kept 5,380 of 7,450 pieces
        return svc_once_per_row(X[pick], good[pick], self.pipeline_[:-1].transform)

    def _checked_splits(self, binaries):
        """Label lengths that vary: per image, the split (into a count of the length range) whose pieces
        the count checker likes best (the sum of its decision values), or None."""
        lo, hi = self.length_
        options, crops = [], []
        for b in binaries:
            opts = [s for s in self.segmenter_.segment_counts(b, list(range(lo, hi + 1))) if len(s) and
                    len(s) >= lo]
            options.append(opts)
            crops.extend(s.crops for s in opts)
        if not crops:
            return [None] * len(binaries)
        size = self.segmenter_.crop_size ** 2
        d = svc_decision_function(self.count_checker_,
                                  self.pipeline_[:-1].transform(np.concatenate(crops).reshape(-1, size)))
        out, pos = [], 0
        for opts in options:
            best, best_score = None, -np.inf
            for s in opts:
                score = float(d[pos:pos + len(s)].sum())
                pos += len(s)
                if score > best_score:
                    best, best_score = s, score
            out.append(best)
        return out

    def _varying_splits(self, binaries):
        """Label lengths that vary, forced split: each image's split, the count checker's choice (the count
        from the ink width where there is no checker or no split to choose from)."""
        checked = (self._checked_splits(binaries) if getattr(self, "count_checker_", None) is not None
                   else [None] * len(binaries))
        return [s if s is not None else self.segmenter_.segment(b, self._count(b)) for b, s in zip(binaries, checked)]

    def _count(self, binary):
        """How many characters an image holds, from its ink extent (label lengths that vary, forced split)."""
        span = getattr(self, "char_span_", None)
        r = ink_range(binary)
        if not span or r is None:
            return None
        lo, hi = self.length_
        return int(min(hi, max(lo, round((r[1] - r[0]) / span))))

    def _segment_all(self, X, y, progress=None):
        """The cleaned binary image, the segmentation and the ink channel (:meth:`_clean_ink`) of every training
        image."""
        binaries, segs, inks = [], [], []
        items = list(zip(X, y))
        for im, lab in (progress(items) if progress else items):
            ink, b = self._clean_ink(im)
            binaries.append(b)
            inks.append(ink)
            segs.append(self.segmenter_.segment(b, len(lab)))
        return binaries, segs, inks

    # ------------------------------------------------------------------ segmentation by recognition
    def _fit_lattice(self, binaries, y, segs, keep, inks, soft=False, max_align=3000, seed=0):
        """Train the lattice scorer; return the aligned training crops, their labels, the images used, how
        many of the crops (the last ones) are copies of aligned pieces cut 1-2 px off, and with *soft*, the same
        pieces' soft crops from the ink channels *inks* (:meth:`PieceCropper.ink_crops`; else None).

        1. Character widths and a first scorer from the images that segment
           into as many pieces as their label has characters.
        2. Every training image is aligned to its label: the lattice path
           that the first scorer reads as the label.  Its pieces are the
           positives; lattice pieces that overlap none of them well (half a
           character, most of one, two characters) are the "not a character"
           class (:data:`REJECTS_PER_IMAGE` per image).
        3. The final scorer learns both; the per-character classifier learns
           the aligned pieces, from every image that aligned, not only those
           that fell apart naturally.
        """
        size = self.segmenter_.crop_size
        self.scorer_ink_ = SCORER_INK
        widths = np.array([b[2] - b[0] for i in keep for b in segs[i].boxes], float)
        lo, hi = np.percentile(widths, [3, 97])
        self.widths_ = (max(2.0, 0.5 * float(lo)), 1.4 * float(hi))
        first = []
        for i in keep:
            c = PieceCropper(binaries[i], self.widths_[1])
            first.extend(c.crops([(int(b[0]), int(b[2])) for b in segs[i].boxes], SCORER_SIZE,
                                 ink=self._scorer_ink(inks[i])))
        first_y = [ch for i in keep for ch in y[i]]
        scorer = self._new_scorer().fit(np.asarray(first).reshape(len(first), -1), first_y)
        rng = np.random.default_rng(seed)
        order = sorted(rng.permutation(len(binaries))[:max_align])
        self.scorer_trim_, self.scorer_choice_ = 0.0, None  # the alignment's crops are not cut
        for round_ in range(2):  # align with the first scorer, then once more with the better one
            # (the soft crops of the last round only: its pieces are the ones kept)
            pos, pos16, pos_y, records = self._align(binaries, y, segs, order, scorer, rng, size, inks,
                                                     soft and round_ == 1)
            used = [r[0] for r in records]
            if not used:
                raise CaptchakitError("empty training set: no training image could be aligned to its label")
            w = np.array([x1 - x0 for r in records for x0, x1 in r[2]], float)
            lo, hi = np.percentile(w, [1, 99])
            self.widths_ = (max(2.0, 0.8 * float(lo)), 1.15 * float(hi))
            self.width_median_ = float(np.median(w))
            self.width_by_class_ = class_widths([r[2] for r in records], [y[r[0]] for r in records],
                                                self.width_median_)
            pos16, neg = pos16
            Xs = np.asarray(pos16 + neg).reshape(len(pos16) + len(neg), -1)
            labels = pos_y + [REJECT] * len(neg)
            if round_ == 1 and len(SCORER_TRIMS) > 1 and len(used) >= SCORER_TRIM_MIN_IMAGES:
                self.scorer_trim_ = self._choose_scorer_trim(binaries, y, records, inks, seed)
                if self.scorer_trim_:
                    Xs, labels = self._scorer_set(binaries, y, records, self.scorer_trim_, inks)
            scorer = self._new_scorer().fit(Xs, labels)
        self.scorer_ = scorer
        jit, jit_y, softs = self._jit
        del self._jit
        pos, pos_y = pos + jit, pos_y + jit_y
        softs = np.asarray(softs).reshape(len(pos), -1) if soft else None
        return np.asarray(pos).reshape(len(pos), -1), np.array(pos_y), used, len(jit_y), softs

    def _align(self, binaries, y, segs, order, scorer, rng, size, inks, keep_soft=False):
        """Align training images to their labels with *scorer*: positives, rejects, and per image used, its
        ``(index, the cropper's max_width, aligned spans, reject spans)``. With *keep_soft*, the soft crops (from the
        ink channels *inks*) of the positives and their copies cut 1-2 px off are kept too (in ``self._jit``)."""
        pos, pos16, pos_y, neg, records = [], [], [], [], []
        jit, jit_y, soft, soft_jit = [], [], [], []
        col = {c: k for k, c in enumerate(scorer.classes_)}
        for i in order:
            lab = y[i]
            lat = self._lattice(binaries[i], len(lab), segs[i].boxes, self.scorer_trim_,
                                ink=self._scorer_ink(inks[i]))
            if lat is None:
                continue
            cropper, cuts, pieces, uniq, index = lat
            proba = scorer.predict_proba(uniq.reshape(len(uniq), -1))[index]
            logp = np.log(np.maximum(proba, 1e-6))
            scores = np.stack([logp[:, col[ch]] if ch in col else np.full(len(pieces), np.log(1e-6))
                               for ch in lab], axis=1)
            start, end = skip_costs(binaries[i], cuts)
            path = best_path(len(cuts), pieces, scores, [len(lab)], start, end)
            if len(path) != len(lab):
                continue
            spans = [(cuts[pieces[p][0]], cuts[pieces[p][1]]) for p in path]
            pos16.extend(uniq[index[p]] for p in path)  # the lattice cropped these at the scorer's size already
            pos_y.extend(lab)
            # the per-character classifier also learns each aligned piece cut 1-2 px off (cuts are never exact)
            off = [((max(x0 + d0, 0), x1 + d1), ch) for (x0, x1), ch in zip(spans, lab)
                   for d0, d1 in ((-2, 1), (2, -1)) if (x1 + d1) - (x0 + d0) >= 3]
            cut = spans + [sp for sp, _ in off]
            if not keep_soft:
                crops = cropper.crops(cut, size)
            else:  # the soft crops from the same pass over the pieces
                crops, softs = cropper.crop_pairs(inks[i], cut, size)
                soft.extend(softs[:len(spans)])
                soft_jit.extend(softs[len(spans):])
            pos.extend(crops[:len(spans)])
            jit.extend(crops[len(spans):])
            jit_y.extend(ch for _, ch in off)
            piece_spans = [(cuts[i], cuts[j]) for i, j in pieces]
            rejects = reject_pieces(piece_spans, path, rng)
            neg.extend(uniq[index[p]] for p in rejects)
            # what the scorer learnt from this image, to cut out again (:meth:`_scorer_set`)
            records.append((i, cropper.max_width, spans, [piece_spans[p] for p in rejects]))
        # the scorer sees every piece the same way (a direct 16x16 crop), positives and rejects alike
        self._jit = (jit, jit_y, soft + soft_jit)
        return pos, (pos16, neg), pos_y, records

    def _scorer_set(self, binaries, y, records, trim, inks):
        """The scorer's training crops and labels from aligned images' *records* (:meth:`_align`), cut by *trim*:
        the positives of every image, then the rejects, as ``_fit_lattice`` orders them."""
        pos, neg = [], []
        for i, max_width, spans, rejects in records:
            crops = PieceCropper(binaries[i], max_width).crops(spans + rejects, SCORER_SIZE, trim,
                                                               self._scorer_ink(inks[i]))
            pos.extend(crops[:len(spans)])
            neg.extend(crops[len(spans):])
        labels = [ch for i, _, _, _ in records for ch in y[i]] + [REJECT] * len(neg)
        return np.asarray(pos + neg).reshape(len(labels), -1), labels

    def _choose_scorer_trim(self, binaries, y, records, inks, seed=0):
        """Which share of :data:`SCORER_TRIMS` the scorer's crops are cut by: the one whose scorer reads the most
        held-out training images.

        A seeded ``SCORER_TRIM_SHARE`` of the training images (at most ``SCORER_TRIM_READ``) is held out; for
        each share, a scorer is fitted on the other images' aligned pieces and reads the held-out ones through
        the lattice by itself (its own most probable character for each piece of the path). A share other than
        0 is kept only where it reads ``SCORER_TRIM_MARGIN`` more whole strings. The table goes to
        ``scorer_choice_`` (stored in the bundle, said by :meth:`training_note`).
        """
        t0 = time.perf_counter()
        rng = np.random.default_rng(seed)
        n_test = min(SCORER_TRIM_READ, max(1, int(round(SCORER_TRIM_SHARE * len(binaries)))))
        test = np.sort(rng.permutation(len(binaries))[:n_test])
        held = set(test.tolist())
        train = [r for r in records if r[0] not in held]
        lo, hi = self.length_
        lengths = list(range(lo, hi + 1))
        segs = [self.segmenter_.segment(binaries[i], lo if lo == hi else None, crops=False) for i in test]
        scores = []
        for trim in SCORER_TRIMS:
            scorer = self._new_scorer(SCORER_TRIM_SEEDS).fit(*self._scorer_set(binaries, y, train, trim, inks))
            chars = np.array([c != REJECT for c in scorer.classes_])
            # the held-out images read as _predict_lattice reads them
            inked = [(i, seg) for i, seg in zip(test, segs) if binaries[i].any()]
            got = self._read_pieces_many([(binaries[i], seg, inks[i]) for i, seg in inked], lengths, scorer, trim)
            read = []
            for (i, _), (cropper, spans) in zip(inked, got):
                if len(spans) == len(y[i]):
                    crops = np.asarray(cropper.crops(spans, SCORER_SIZE, trim, self._scorer_ink(inks[i])))
                    read.append((i, crops.reshape(len(spans), -1)))
            right = 0
            for (i, _), proba in zip(read, proba_each(scorer, [c for _, c in read])):
                right += "".join(scorer.classes_[chars][proba[:, chars].argmax(axis=1)]) == y[i]
            scores.append(right / len(test))
        best = 0
        for k in range(1, len(SCORER_TRIMS)):
            if scores[k] > scores[best] + 1e-9 and scores[k] >= scores[0] + SCORER_TRIM_MARGIN - 1e-9:
                best = k
        self.scorer_choice_ = {
            "n_train_images": len(train), "n_read": int(n_test), "seed": seed,
            "string_accuracy": {f"{t:g}": round(v, 4) for t, v in zip(SCORER_TRIMS, scores)},
            "margin": SCORER_TRIM_MARGIN, "chosen": SCORER_TRIMS[best],
            "seconds": round(time.perf_counter() - t0, 1)}
        return SCORER_TRIMS[best]

    def _scorer_ink(self, ink):
        """The ink channel *ink* where the piece scorer reads soft crops (``scorer_ink_``), else None."""
        return ink if getattr(self, "scorer_ink_", "binary") == "soft" else None

    def _new_scorer(self, n_seeds=None):
        return PieceScorer(SCORER_SEEDS if n_seeds is None else n_seeds, n_jobs=self.n_jobs)

    def _lattice(self, binary, n, boxes, trim, cropper=None, ink=None):
        """Cuts, pieces, the scorer's distinct crops of one image and each piece's index among them.

        *trim*: the share the scorer's crops are cut by; *ink*: the ink channel its soft crops come from (None:
        binary crops). ``None`` when there is nothing to cut."""
        cuts = candidate_cuts(binary, n, [(int(b[0]), int(b[2])) for b in boxes])
        if len(cuts) < 2:
            return None
        pieces = lattice_pieces(cuts, *self.widths_)
        if not pieces:
            return None
        cropper = cropper or PieceCropper(binary, self.widths_[1])
        uniq, index = cropper.unique_crops([(cuts[i], cuts[j]) for i, j in pieces], SCORER_SIZE, trim, ink)
        return cropper, cuts, pieces, uniq, index

    def _read_pieces(self, binary, seg, lengths, ink, scorer=None, trim=None):
        """The column ranges of the characters of one image, by recognition (with *scorer* and its *trim*:
        default the fitted ones; *ink*: the image's ink channel, read where the scorer reads soft crops)."""
        return self._read_pieces_many([(binary, seg, ink)], lengths, scorer, trim)[0]

    def _read_pieces_many(self, images, lengths, scorer=None, trim=None):
        """:meth:`_read_pieces` of each ``(binary, seg, ink)`` of *images*: ``(cropper, spans)`` for each.

        The scorer reads the pieces of :data:`READ_BATCH` images in one call (first the natural pieces, then the
        lattices of the images those do not settle): five MLPs called once per image cost django-simple-captcha's
        reading about 0.2 ms an image more. Each image is read as on its own.
        """
        out = []
        for a in range(0, len(images), READ_BATCH):
            out.extend(self._read_batch(images[a:a + READ_BATCH], lengths, scorer, trim))
        return out

    def _read_batch(self, images, lengths, scorer=None, trim=None):
        """:meth:`_read_pieces_many` of at most :data:`READ_BATCH` images: two calls of the scorer."""
        scorer = self.scorer_ if scorer is None else scorer
        trim = getattr(self, "scorer_trim_", 0.0) if trim is None else trim
        classes = list(scorer.classes_)
        rej = classes.index(REJECT) if REJECT in classes else None
        chars = np.array([c != REJECT for c in classes])
        out, natural = [], []
        for k, (binary, seg, ink) in enumerate(images):
            # the pieces' ink is kept: the chosen ones are cropped again for the classifier (_piece_crops)
            cropper = PieceCropper(binary, self.widths_[1], remember=True)
            boxes = [(int(b[0]), int(b[2])) for b in seg.boxes]
            out.append((cropper, boxes))
            if seg.n_natural in lengths and len(seg) == seg.n_natural and len(seg):
                natural.append((k, np.array(cropper.crops(boxes, SCORER_SIZE, trim, self._scorer_ink(ink)))))
        settled = set()
        for (k, crops), proba in zip(natural, proba_each(scorer, [c.reshape(len(c), -1) for _, c in natural])):
            p_rej = proba[:, rej] if rej is not None else np.zeros(len(crops))
            if p_rej.max() < 0.5 and proba.max(axis=1).min() >= 0.6:
                settled.add(k)
        lattices, n_mean = [], int(np.mean(lengths))
        for k, (binary, seg, ink) in enumerate(images):
            if k in settled:
                continue
            lat = self._lattice(binary, n_mean, seg.boxes, trim, out[k][0], self._scorer_ink(ink))
            if lat is not None:
                lattices.append((k, lat))
        median = getattr(self, "width_median_", None)  # bundles from before it was stored: each image's pieces
        # each character's own width (bundles from before 2026-12-07: one median for all)
        by_class = getattr(self, "width_by_class_", None)
        own = (np.array([by_class.get(c, median) for c, ok in zip(classes, chars) if ok])
               if by_class and median is not None else None)
        for (k, lat), proba in zip(lattices, proba_each(scorer, [lat[3].reshape(len(lat[3]), -1)
                                                                 for _, lat in lattices])):
            cropper, cuts, pieces, uniq, index = lat
            widths = np.array([cuts[j] - cuts[i] for i, j in pieces], float)
            score = piece_scores(proba[index][:, chars], widths, np.median(widths) if median is None else median, own)
            if len(lengths) > 1:
                score = score + 1.0  # a bonus per piece, so that longer readings can win
            start, end = skip_costs(images[k][0], cuts)
            path = best_path(len(cuts), pieces, score, lengths, start, end)
            if path:
                out[k] = (cropper, [(cuts[pieces[p][0]], cuts[pieces[p][1]]) for p in path])
        for cropper, spans in out:
            cropper.forget(spans)
        return out

    @property
    def input_shape(self):
        return getattr(self, "image_shape_", None)

    def _front_end_candidates(self, X, pinned, second_round=False):
        """The front ends the search weighs around the current one (:func:`front_end_candidates`).

        With the forced split, small images are also tried enlarged
        (:func:`enlarged_settings`), unless they are read smaller already; with
        segmentation by recognition, which the
        search's forced-split proxy does not predict, only colour clusters,
        straight-line removal, textured ink filled (whose line removal
        then works), the darker threshold, which can take lines off
        touching characters (and so let them come apart), pale ink kept and
        the measured specks removed are weighed against the current one; in a *second_round* (the first
        chose another front end and recognition still reads the images), only
        the 3-px median, the measured specks removed and, around the colour clusters, lines and specks sized by
        the strokes in them (:func:`cluster_settings`) on top of that choice.
        """
        self.front_end_.pop("enlarged", None)
        self.front_end_.pop("clusters", None)
        # small images enlarged, with the forced split (not back to the size read smaller)
        enlarge = self.segmentation_ == "forced" and "shrunk" not in self.front_end_
        sample = ([resize_to(np.asarray(im), self.image_shape_) for im in X[:300]]
                  if enlarge or self.preprocessor_.channel == "clusters" else [])
        if enlarge:
            enlarged = enlarged_settings(self.preprocessor_, self.front_end_, sample, pinned)
            if enlarged:
                self.front_end_["enlarged"] = enlarged
        clusters = cluster_settings(self.preprocessor_, sample, pinned)
        if clusters:
            self.front_end_["clusters"] = clusters
        cands = front_end_candidates(self.preprocessor_, self.front_end_, pinned)
        if self.segmentation_ == "recognition" and second_round:
            cands = [c for c in cands if c[0] in ("measured", "median 3", SPECKS, CLUSTERS_SIZED)]
        elif self.segmentation_ == "recognition":
            kept = ("measured", "colour clusters", "straight lines removed", DARKER, PALER, SPECKS)
            cands = [c for c in cands if c[0] in kept or c[0].startswith("textured ink filled")]
        return cands

    def training_note(self):
        s = self.fit_summary_
        fe = self.front_end_
        p = self.preprocessor_
        if fe.get("measured", True):
            head = (f"front end measured on {fe.get('n_images')} images: {_ink_words(fe.get('polarity'))}, channel "
                    f"{fe.get('channel')}, stroke {fe.get('stroke_width', 0):.1f} px, paper spread "
                    f"{fe.get('paper_spread', 0):.0f} grey levels\n")
        else:
            head = "front end given in full (nothing measured)\n"
        sizes = s.get("image_sizes")
        if sizes:
            (hs, ws), (ch, cw) = (sizes["heights"], sizes["widths"]), sizes["commonest"]
            head += (f"images of {sizes['count']} sizes ({_span(ws)} x {_span(hs)} px): each one stretched or "
                     f"squeezed to the commonest, {cw}x{ch} ({sizes['commonest_share']:.0%} of them)\n")
        shrunk = fe.get("shrunk")
        if shrunk:
            (h, w), (fh, fw) = self.image_shape_, shrunk["from"]
            head += (f"text {shrunk['ink_height']:.0f} px high: read {shrunk['factor']}x smaller, {w}x{h} instead of "
                     f"{fw}x{fh}\n")
        weighed = fe.get("smaller")
        if not weighed and fe.get("half_size"):  # a bundle of 2026-12-07, before the next factor was weighed
            old = fe["half_size"]
            weighed = {**old, "factor": 2, "from_factor": 1, "smaller": old["half"],
                       "chosen": "2x smaller" if old["chosen"] == "half size" else "as it was"}
        if weighed:
            a, h, f = weighed["as_is"], weighed["smaller"], weighed["factor"]
            was = "as they are" if weighed["from_factor"] == 1 else f"{weighed['from_factor']}x smaller"
            head += (f"the search weighed the images {f}x smaller too (on {weighed['n_images']} of them, "
                     f"{weighed['seconds']:.0f} s): its choice {was} {a['chosen']} {a['cv_string_accuracy']:.1%} "
                     f"({a['cv_char_accuracy']:.1%} char), {f}x smaller {h['chosen']} {h['cv_string_accuracy']:.1%} "
                     f"({h['cv_char_accuracy']:.1%} char) -> {weighed['chosen']}\n")
        search = fe.get("search")
        if search and "skipped" in search:
            head += f"front-end search skipped: {search['skipped']}\n"
        elif search:
            table = _search_table(search)
            head += (f"front-end search ({search['cv']}-fold CV on {search['n_images']} training images, seed "
                     f"{search['seed']}, {search['seconds']:.0f} s): {table} -> {search['chosen']}\n")
            if "second_round" in search:
                again = search["second_round"]
                table = _search_table(again)
                why = again.get("why", "the characters came apart")  # bundles from before it was stored
                head += f"{why}: second round ({again['seconds']:.0f} s): {table} -> {again['chosen']}\n"
        probe = fe.get("probe")
        if probe:
            sc = probe["scores"]
            rec = (f"recognition {sc['recognition']['string_accuracy']:.1%}" if "recognition" in sc
                   else f"recognition not fitted (the forced split read >= {probe['enough']:.0%})")
            head += (f"the forced split's proxy read {probe['proxy']:.1%} (< {probe['below']:.0%}): the readers "
                     f"fitted on {probe['n_train']} training images and read on the other {probe['n_test']} (seed "
                     f"{probe['seed']}, {probe['seconds']:.0f} s): forced {sc['forced']['string_accuracy']:.1%}, "
                     f"{rec} -> {probe['chosen']}\n")
        lines = f"line removal {p.line_thickness} px" if p.remove_lines and p.line_thickness else "lines kept"
        return (head +
                f"front end used: {p.channel} channel, {_ink_words(p.polarity)}, {p.threshold} threshold, "
                f"median {p.median}, {lines}, specks < {p.min_area} px, frame {p.frame} px"
                + (f", straight lines up to {p.straight_lines} px removed (each found by {p.straight_length:.0%} of "
                   "the width)" if p.straight_lines else "")
                + (f", enlarged {p.enlarge}x" if p.enlarge != 1 else "")
                + (f", paper flattened ({p.flatten} px)" if p.flatten else "")
                + f"; {s['natural_rate']:.0%} of the images "
                f"fall apart naturally -> segmentation {self.segmentation_}"
                + (" (by the probe above)" if fe.get("probe") else "") + "\n"
                f"trained on {s['n_used']} images ({s['n_chars']} characters"
                + (f", and {s['n_copies']} copies of them cut 1-2 px off" if s.get("n_copies") else "")
                + (f"; the KNN counts {s['knn_neighbors']} neighbours, each character's copies among them"
                   if s.get("knn_neighbors") else "")
                + f"); {s['n_left_out']} left out because "
                f"they did not give as many pieces as their label has characters"
                + self._features_note() + self._scorer_note())

    def _scorer_note(self):
        c = getattr(self, "scorer_choice_", None)
        if not c:
            return ""
        table = ", ".join(f"{float(k):.0%} {v:.1%}" for k, v in c["string_accuracy"].items())
        crops = "soft crops" if getattr(self, "scorer_ink_", "binary") == "soft" else "crops"
        return (f"\npiece scorer's {crops} cut to their central ink: the share read by the scorer alone from "
                f"{c['n_read']} held-out training images (fitted on {c['n_train_images']}, seed {c['seed']}, "
                f"{c['seconds']:.0f} s): {table} -> {c['chosen']:.0%}")

    def _features_note(self):
        f = getattr(self, "features_", None) or {}
        p = f.get("pca")
        pca_note = f"; PCA: {p['components']} of {p['of']} values, {p['variance']:.0%} of the variance" if p else ""
        why = f.get("why")
        if "held_out_char_accuracy" in f:
            table = ", ".join(f"{k} {v:.1%}" for k, v in f["held_out_char_accuracy"].items())
            evidence = (f"held-out characters of a quarter of {f['n_images']} training images, seed {f['seed']}: "
                        f"{table}")
            why = f"{why}; {evidence}" if why else evidence
        elif not (why or p):
            return ""
        return f"\nfeatures: {f['chosen']}" + (f" ({why})" if why else "") + pca_note

    def _fixed_length(self):
        lo, hi = self.length_
        return lo if lo == hi else None

    def _predict_details(self, X):
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
        if self.segmentation_ == "recognition":
            return self._predict_lattice(X)
        n = self._fixed_length()
        alt_segs = [clone(self.segmenter_).set_params(split_window=w) for w in self.alt_windows or ()]
        binaries = [self._clean(im) for im in X]
        splits = (self._varying_splits(binaries) if n is None else [self.segmenter_.segment(b, n) for b in binaries])
        # candidates[i]: list of crop arrays (first: the default split)
        candidates, natural = [], []
        for b, s in zip(binaries, splits):
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

    def _predict_lattice(self, X):
        lo, hi = self.length_
        lengths = list(range(lo, hi + 1))
        counts, natural, read = [], [], []
        for k, im in enumerate(X):
            ink, b = self._clean_ink(im)  # the same chain as _clean; the ink channel comes with it
            # only the pieces' columns: the lattice cuts its own crops
            seg = self.segmenter_.segment(b, lo if lo == hi else None, crops=False)
            natural.append(seg.n_natural)
            counts.append(0)
            if b.any():
                read.append((k, (b, seg, ink)))
        crops = []
        for (k, (_, _, ink)), (cropper, spans) in zip(read, self._read_pieces_many([r for _, r in read], lengths)):
            crops.extend(self._piece_crops(cropper, ink, spans))
            counts[k] = len(spans)
        chars, conf = [], np.zeros(0)
        if crops:
            chars, conf = self._classify(np.asarray(crops))
        out, pos = [], 0
        for k, nat in zip(counts, natural):
            out.append(detail("".join(chars[pos:pos + k]), conf[pos:pos + k], n_pieces=int(k), n_natural=int(nat)))
            pos += k
        return out

    def explain(self, image):
        """How one image is read, for people: every stage, the pieces and the crops classified.

        Returns
        -------
        dict
            ``stages`` (list of ``(name, ndarray)``, from the resized original
            to the cleaned binary image), ``spans`` (the column range of each
            character piece), ``crops`` (the arrays the classifier reads,
            ink 1.0: with both crops, ``crop_ink_ == "both"``, the binary and
            the soft one side by side) and ``detail`` (as :meth:`predict_details`).
        """
        check_is_fitted(self, "pipeline_")
        im = resize_to(np.asarray(image), self.image_shape_)
        stages = self.preprocessor_.stages(im)
        b = stages[-1][1].astype(bool, copy=False)
        lo, hi = self.length_
        seg = self.segmenter_.segment(b, lo if lo == hi else None)
        if self.segmentation_ == "recognition" and b.any():
            ink = ink_stage(stages)
            cropper, spans = self._read_pieces(b, seg, list(range(lo, hi + 1)), ink)
            size = self.segmenter_.crop_size
            crops = [c.reshape(-1, size, size).transpose(1, 0, 2).reshape(size, -1)
                     for c in self._piece_crops(cropper, ink, spans)]
        else:
            if lo != hi:
                seg = self._varying_splits([b])[0]
            spans = [(int(x[0]), int(x[2])) for x in seg.boxes]
            crops = list(seg.crops)
        return {"stages": stages, "spans": spans, "crops": crops, "detail": self.predict_details([image])[0]}

    def _classify(self, crops):
        pipe = self.pipeline_
        clf = pipe.steps[-1][1]
        feats = pipe[:-1].transform(crops)
        if hasattr(clf, "predict_proba"):
            proba = clf.predict_proba(feats)
        elif RBFDecision.takes(clf):
            # the support vectors prepared once per fitted classifier, the kernel in single precision
            dec = getattr(self, "_decision", None)
            if dec is None or dec.clf is not clf:
                dec = self._decision = RBFDecision(clf, np.float32)
            proba = softmax(dec(feats))
        else:
            d = clf.decision_function(feats)
            if d.ndim == 1:
                d = np.stack([-d, d], axis=1)
            proba = softmax(d)
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
            "segmentation": self.segmentation_,
            "char_span": getattr(self, "char_span_", None),
            "count_checker": getattr(self, "count_checker_", None) is not None,
            "piece_widths": list(getattr(self, "widths_", ())),
            "piece_width_median": getattr(self, "width_median_", None),
            "piece_width_by_class": getattr(self, "width_by_class_", None),
            "scorer_trim": getattr(self, "scorer_trim_", 0.0),
            "scorer_trim_choice": getattr(self, "scorer_choice_", None),
            "crop_ink": getattr(self, "crop_ink_", "binary"),
            "scorer_ink": getattr(self, "scorer_ink_", "binary"),
            "features": {"name": type(self.pipeline_.named_steps["features"]).__name__,
                         "params": _json_params(self.pipeline_.named_steps["features"]),
                         "choice": getattr(self, "features_", None),
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
        # bundles from before straight_length was a setting found their lines by 40% of the width
        self.preprocessor_ = Preprocessor.from_dict({"straight_length": STRAIGHT_LENGTH_BEFORE, **meta["preprocess"]})
        self.segmenter_ = Segmenter.from_dict(meta["segment"])
        self.front_end_ = meta.get("front_end", {})
        if meta.get("segmentation") not in ("recognition", "forced"):
            raise CaptchakitError(f"field 'segmentation' must be recognition or forced, got {meta.get('segmentation')!r}")
        self.segmentation_ = meta["segmentation"]
        if meta.get("piece_widths"):
            self.widths_ = tuple(float(v) for v in meta["piece_widths"])
            self.width_median_ = float(meta["piece_width_median"])
        by_class = meta.get("piece_width_by_class")  # bundles from before 2026-12-07: none (one median for all)
        if by_class is not None and not (isinstance(by_class, dict) and all(
                isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
                for k, v in by_class.items())):
            raise CaptchakitError("field 'piece_width_by_class' must map characters to positive widths")
        self.width_by_class_ = {k: float(v) for k, v in by_class.items()} if by_class else None
        trim = meta.get("scorer_trim", 0.0)  # bundles from before it was chosen: 0
        if not isinstance(trim, (int, float)) or not 0 <= trim < 0.5:
            raise CaptchakitError(f"field 'scorer_trim' must be a share from 0 to 0.5, got {trim!r}")
        self.scorer_trim_ = float(trim)
        self.scorer_choice_ = meta.get("scorer_trim_choice")
        ink = meta.get("crop_ink", "binary")  # bundles from before the soft crops: binary
        if ink not in CROP_INKS:
            raise CaptchakitError(f"field 'crop_ink' must be one of {', '.join(CROP_INKS)}, got {ink!r}")
        self.crop_ink_ = ink
        ink = meta.get("scorer_ink", "binary")  # bundles from before the scorer read soft crops: binary
        if ink not in SCORER_INKS:
            raise CaptchakitError(f"field 'scorer_ink' must be one of {', '.join(SCORER_INKS)}, got {ink!r}")
        self.scorer_ink_ = ink
        self.fit_summary_ = meta.get("training", {})
        self.features_ = (meta.get("features") or {}).get("choice")
        span = meta.get("char_span")
        self.char_span_ = float(span) if isinstance(span, (int, float)) and span > 0 else None

    def _write_payload(self, file):
        payload = {"pipeline": self.pipeline_}
        if hasattr(self, "scorer_"):
            payload["scorer"] = list(self.scorer_.members_)  # plain MLPs: skops loads them as trusted types
        if getattr(self, "count_checker_", None) is not None:
            payload["count_checker"] = self.count_checker_
        _bundle.save_sklearn(payload, file)

    def _read_payload(self, file):
        from captchakit._errors import ModelFileError

        payload = _bundle.load_sklearn(file, TRUSTED_TYPES)
        if not isinstance(payload, dict) or not isinstance(payload.get("pipeline"), Pipeline):
            raise ModelFileError(f"{file}: not a captchakit classic model payload")
        self.pipeline_ = payload["pipeline"]
        self.classes_ = self.pipeline_.classes_
        if self.segmentation_ == "recognition":
            scorer = payload.get("scorer")
            members = [scorer] if isinstance(scorer, MLPClassifier) else scorer  # one MLP: an older bundle
            if (not isinstance(members, list) or not members or not hasattr(self, "widths_")
                    or not all(isinstance(m, MLPClassifier) for m in members)
                    or any(list(m.classes_) != list(members[0].classes_) for m in members)):
                raise ModelFileError(f"{file}: segmentation by recognition needs its scorer and piece widths")
            self.scorer_ = PieceScorer.from_members(members)
        checker = payload.get("count_checker")
        if checker is not None and not isinstance(checker, SVC):
            raise ModelFileError(f"{file}: the count checker must be an SVC, got {type(checker).__name__}")
        self.count_checker_ = checker

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


def _search_table(report):
    """A front-end search's candidates and their CV whole-string accuracy, for the training note; those dropped
    after the first fold say so. Where every candidate read few whole strings and the characters decided, each
    candidate's per-character accuracy too, and the note says so."""
    chars = report.get("decided_by") == "characters"
    table = ", ".join(f"{r['name']} {r['cv_string_accuracy']:.1%}"
                      + (f" ({r['cv_char_accuracy']:.1%} char)" if chars else "")
                      + (" (first fold)" if r.get("dropped") else "")
                      for r in report["candidates"])
    return table + ("; few whole strings: the characters decide" if chars else "")
