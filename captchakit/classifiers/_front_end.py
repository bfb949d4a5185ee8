"""Choosing the classic front end on the user's data: a short, seeded, cross-validated search.

The measured front end (:meth:`Preprocessor.resolve`) is one guess from the
images' look.  :func:`front_end_candidates` builds a few alternatives around
it (keep or thicken the line removal, a median filter, a darker or a paler
threshold, the runner-up ink channel, colour clusters when the ink has several
colours, straight-line removal when a third of the images have a long straight
line across them, the images enlarged twice when they are small, the paper
flattened when it is unevenly lit, an adaptive threshold, the former fixed
front end; where the text is tall, the whole search again on the images at
half size, or the next smaller, :func:`smaller_to_weigh`) and
:func:`search_front_end` scores each by cross-validation on the training
images only, with a cheap proxy of the recognizer (the forced split), and
keeps the measured one unless another is clearly better.
"""

import math
import time

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import KFold

from captchakit._cluster import each, each_workers
from captchakit._errors import CaptchakitError
from captchakit.preprocess import Preprocessor
from captchakit.preprocess._measure import (
    SPECKS_PER_IMAGE, channel_stroke_width, flatten_size_for, line_thickness_for, speck_area_for, textured_ink,
)
from captchakit.preprocess._colour import COLOR_SPREAD

#: The search tries removing long straight lines (as thick as the strokes) when at least
#: this share of the sampled images has one (after the usual removal of thinner lines: claptcha 0.76,
#: wheezy.captcha 0.42, captcha_images_v2 0.38, python-captcha 0.03, lzu_digits and math_captcha 0). From
#: 0.5 down to 0.3 (2026-12-02), wheezy.captcha's curves got it for their straight stretches: the characters
#: then came apart (recognition became the forced split) and the SVM read 34.0% instead of 26.7%, the KNN
#: 31.3% instead of 10.3%; captcha_images_v2 weighs it and keeps its measured front end.
STRAIGHT_LINE_SHARE = 0.3

#: The search tries the images enlarged twice (three or four times when under 20 px tall; :func:`enlarged_settings`)
#: when their strokes are at most this
#: wide or the images less than this tall, and never when they are taller than ``MAX_ENLARGED_HEIGHT`` (a large image
#: with thin strokes, multicolorcaptcha's 424x106, would only cost four times the time). python-captcha 4 digits at
#: half size (80x30, 3-px strokes) read 86.4% with the SVM, and 94.6% when the search chose them enlarged twice.
SMALL_STROKE, SMALL_HEIGHT, MAX_ENLARGED_HEIGHT = 3.0, 40, 60
#: Images whose text is tall are read shrunk (:func:`shrink_factor`): where the measured ``ink_height``
#: (:func:`~captchakit.preprocess._measure.ink_height`, median) is over ``SHRINK_ABOVE`` px, by the whole factor
#: that brings it nearest ``SHRINK_TO`` px (2-4). ppfun-captcha's 500x300 images (1-px outlines, text 105 px high)
#: read 88.75% at full size and 91.25% shrunk twice (SVM, no flags, the benchmark's split), and 1.6 times faster;
#: thrice 88.75%. svg-captcha's images enlarged three times (bicubic, text 78 px high) read 71.75%, shrunk twice
#: 79.25% (87.5% as they are, text 26 px). Every other scheme measured 72 px or less (multicolorcaptcha), most
#: of them 20-50.
SHRINK_ABOVE, SHRINK_TO = 72, 48
#: Text over this many px high at the working size may read better at half size, or worse, and its
#: height does not tell which: claptcha enlarged twice (text 56 px) read 39.25% as it is and 85.25% at half size,
#: captchagen (61 px, 1.8-px strokes, 200 dots) 87.25% and 55.75%, node-captcha-generator (67 px, 7-px strokes)
#: 87.75% and 84.75%. So the search runs again on the images at half size, every setting measured again there,
#: and half size is kept where its final choice reads 5 points more (``SIZE_MARGIN``; 2 until 2026-12-07) than
#: the choice as they are, both read by the proxy on the same sample (:func:`smaller_to_weigh`,
#: ``SMALLER_IMAGES``): 32.3% against 12.3%, 12.7%
#: against 49.7%, 62.3% against 66.0%. The first rounds alone misled on text-captcha's first 1,000 training images
#: (35.2% at half size against 30.5%: 79.00% read instead of 84.75%), whose second round as they are read 75.8%.
SMALLER_ABOVE = 48
#: The search tries flattening the paper (on the grey image) when the measured ``paper_spread`` (grey levels)
#: is at least this: python-captcha's paper spreads 0-3 grey levels, the same darkened 40% to the right 79; that
#: variation read 90.4% with the measured front end (saturation), and 93.0% when the search chose the flattened grey
#: image. captcha_images_v2 (51) is read by recognition, which the search's proxy does not predict: flattened
#: there, it read 73.6% against 76.9%.
PAPER_SPREAD = 25
#: The pixel settings: re-measured on the enlarged images, and a reason not to enlarge when the user pinned one.
PIXEL_SETTINGS = ("frame", "line_thickness", "min_area", "straight_lines", "block_size", "flatten")

#: Another candidate replaces the measured front end only when its CV whole-string
#: accuracy is higher by at least this much (the folds are small: differences below are noise).
MARGIN = 0.02
#: Where every candidate reads fewer than this share of whole strings by the proxy, a few strings in 300 decide
#: and say little: a candidate then replaces the measured front end where it reads ``CHAR_MARGIN`` more of the
#: characters instead (within one size, :func:`search_front_end`, and between two sizes,
#: ``SegmentingRecognizer``'s ``reads_better``). trek-captcha enlarged three times, read 2x and 3x smaller: 2.3% and
#: 4.0% of whole strings, under ``SIZE_MARGIN``, but 34.3% and 46.3% of characters (docs/measurements.md footnote
#: 65). The npm package captchagen (every character its own random colour on a gradient, curves of other colours;
#: not the PyPI one of the benchmark): 0.0% and 1.8% of whole strings by the proxy, but 17.7% of characters with
#: the measured front end and 34.4% with the colour clusters, which then read 7.25% of the test images instead of
#: 1.75% (footnote 68).
FEW_STRINGS, CHAR_MARGIN = 0.10, 0.05
#: A candidate whose whole-string accuracy on the first fold is lower than the best one's there by more than this
#: is not fitted on the other folds (it cannot come within the margin of the best mean): the measured front end
#: always is. 300 test images carry a standard error of at most 2.9 points, so 15 points are over five of them.
DROP_BELOW = 0.15
#: The candidate that keeps only the darkest of three Otsu classes as ink (``threshold="multiotsu"``).
DARKER = "darker threshold"
#: The candidate that keeps the palest ink too: the distance from the paper's colour, thresholded at the foot of
#: the paper's peak (``threshold="triangle"``), with lines 2 px thicker removed (anti-aliased edges, kept now,
#: widen every line by about a pixel a side). On noisy paper the threshold keeps clear of the paper's noise
#: (:func:`~captchakit.preprocess._stages.paper_foot`): svg-captcha served as JPEG read 0.0% by the proxy with it
#: and now 38.8% (63.00% -> 79.75% with no flags).
PALER = "pale ink kept"
#: Around the colour clusters, lines and specks sized by the strokes measured in them (:func:`cluster_settings`).
CLUSTERS_SIZED = "colour clusters, lines as their strokes"
#: The candidate that removes the measured noise dots (``min_area`` at the measured ``speck_area``), where the
#: sampled images hold at least ``SPECKS_PER_IMAGE`` of them: captchagen's 200 dots of radius 1-3 (areas 4-40)
#: are larger than the speck area the stroke width gives (3 px: its 1-px lines make the strokes measure 1.8 px).
SPECKS = "specks removed"


def _defaults():
    return Preprocessor().get_params()


def shrink_factor(measured, pinned=()):
    """How many times smaller the images are read: 1 (as they are), or 2-4 where their text is tall.

    The measured ``ink_height`` (:func:`~captchakit.preprocess._measure.ink_height`, median) over
    :data:`SHRINK_ABOVE` px is brought nearest :data:`SHRINK_TO` px. Never when the user pinned a setting counted
    in pixels (it would then count other pixels) or the enlargement.

    Examples
    --------
    >>> shrink_factor({"ink_height": 105.0}), shrink_factor({"ink_height": 60.0}), shrink_factor({"ink_height": 300.0})
    (2, 1, 4)
    >>> shrink_factor({"ink_height": 78.0}), shrink_factor({"ink_height": 141.0})
    (2, 3)
    >>> shrink_factor({"ink_height": 105.0}, pinned=["min_area"])
    1
    """
    height = float(measured.get("ink_height", 0.0))
    if height <= SHRINK_ABOVE or set(pinned) & {"enlarge", *PIXEL_SETTINGS}:
        return 1
    return int(min(4, max(2, round(height / SHRINK_TO))))


def smaller_to_weigh(measured, pinned=()):
    """How many times smaller than the original the search weighs the images too (0: not at all).

    Where the text measures over :data:`SMALLER_ABOVE` px at the working size (the images as they are, or already
    read smaller by :func:`shrink_factor`), the next whole factor (2 for the images as they are; 3 for those read
    2x smaller; at most 4), and never when a setting counted in pixels, or the enlargement, is pinned.

    Examples
    --------
    >>> smaller_to_weigh({"ink_height": 61.0}), smaller_to_weigh({"ink_height": 40.0})
    (2, 0)
    >>> smaller_to_weigh({"ink_height": 61.0}, pinned=["line_thickness"])
    0
    >>> smaller_to_weigh({"ink_height": 52.0, "shrunk": {"factor": 2}})
    3
    >>> smaller_to_weigh({"ink_height": 52.0, "shrunk": {"factor": 4}})
    0
    """
    factor = int(measured.get("shrunk", {}).get("factor", 1))
    if float(measured.get("ink_height", 0.0)) <= SMALLER_ABOVE or factor >= 4 \
            or set(pinned) & {"enlarge", *PIXEL_SETTINGS}:
        return 0
    return factor + 1


def pinned_settings(preprocessor):
    """Names of the settings the user set (those that differ from ``Preprocessor()``'s defaults).

    Examples
    --------
    >>> pinned_settings(Preprocessor(median=3, channel="saturation"))
    ['channel', 'median']
    """
    d = _defaults()
    return sorted(k for k, v in preprocessor.get_params().items() if d.get(k) != v)


def enlarged_settings(resolved, measured, sample, pinned=(), factor=None, max_images=100):
    """The settings that change when the images are enlarged *factor* times, or None where that is not tried.

    Tried on small images only (measured strokes of at most :data:`SMALL_STROKE`
    px, or a median height under :data:`SMALL_HEIGHT` px; never over
    :data:`MAX_ENLARGED_HEIGHT` px) and never when the user pinned a setting
    counted in pixels, nor with colour clusters.  The frame, line thickness and
    speck area are measured again on the first *max_images* of *sample*
    enlarged. By default *factor* is 2, or the whole factor that brings images
    under half :data:`SMALL_HEIGHT` up to it (at most 4): lzu_digits shrunk to
    0.6 (48x15) read 93.00% enlarged twice and 95.50% three times (SVM, no flags).

    Returns
    -------
    dict or None
        ``enlarge`` and the re-measured ``frame``, ``line_thickness`` and
        ``min_area`` (for :meth:`Preprocessor.set_params`); a straight-line
        thickness or flattening disc already chosen grows with the images.

    Examples
    --------
    >>> im = np.full((24, 60, 3), 240, np.uint8); im[4:20, 10:12] = 20; im[4:20, 30:32] = 20
    >>> p = Preprocessor(channel="luminance", polarity="dark", frame=0, line_thickness=0, min_area=3)
    >>> enlarged_settings(p, {"stroke_width": 1.0}, [im])
    {'enlarge': 2, 'frame': 0, 'line_thickness': 0, 'min_area': 4}
    >>> enlarged_settings(p, {"stroke_width": 1.0}, [im], pinned=["min_area"]) is None
    True
    >>> enlarged_settings(p, {"stroke_width": 1.0}, [im[4:19]])["enlarge"]  # 15 px tall: three times
    3
    """
    if resolved.enlarge != 1 or set(pinned) & {"enlarge", *PIXEL_SETTINGS} or not sample \
            or resolved.channel == "clusters":  # clustering four times the pixels costs more than it gains
        return None
    height = float(np.median([np.asarray(im).shape[0] for im in sample]))
    if height > MAX_ENLARGED_HEIGHT or (measured.get("stroke_width", 99.0) > SMALL_STROKE and height >= SMALL_HEIGHT):
        return None
    if factor is None:
        factor = int(min(4, max(2, math.ceil(SMALL_HEIGHT / max(height, 1.0)))))
    auto = {k: "auto" for k in ("frame", "line_thickness", "min_area")}
    p, _ = clone(resolved).set_params(enlarge=factor, **auto).resolve(list(sample)[:max_images])
    out = {"enlarge": factor, **{k: int(getattr(p, k)) for k in auto}}
    if not resolved.line_thickness:  # lines kept stay kept (1-px strokes measure 2-3 px once enlarged)
        out["line_thickness"] = 0
    if resolved.straight_lines:  # chosen by the search (a first round): as thick on the enlarged images
        out["straight_lines"] = min(16, int(resolved.straight_lines) * factor)
    if resolved.flatten:
        out["flatten"] = int(resolved.flatten) * factor + (factor + 1) % 2
    return out


def cluster_settings(resolved, sample, pinned=(), max_images=100):
    """The line thickness and speck area that the strokes in the colour clusters give, measured in that channel
    (:func:`~captchakit.preprocess._measure.channel_stroke_width`) on the first *max_images* of *sample*, where
    *resolved* reads the clusters (the search's choice in a first round); None elsewhere, or where the user pinned
    either setting.

    The measured front end's settings come from the strokes of its own channel, which the clusters replace. The
    npm captchagen (each character its own colour, curves of other colours) measured 1.0 px in its local distance
    channel at the size it is read, so its curves were kept; in the clusters its characters measure 3.0 px, and its
    curves come off with lines to 2 px. A second round weighs these settings around the clusters (footnote 68 of
    docs/measurements.md): as a first-round candidate beside the clusters, they won colour-lines by 0.5 points of
    the proxy and read 86.50% against 89.00%.

    Examples
    --------
    >>> im = np.full((30, 60, 3), 240, np.uint8); im[5:25, 10:15] = (200, 20, 20); im[5:25, 30:35] = (20, 20, 200)
    >>> p = Preprocessor(channel="clusters", polarity="dark", frame=0, line_thickness=0, min_area=3)
    >>> cluster_settings(p, [im])
    {'line_thickness': 4, 'min_area': 12}
    >>> cluster_settings(p.set_params(channel="luminance"), [im]) is None
    True
    """
    if resolved.channel != "clusters" or not sample or set(pinned) & {"line_thickness", "min_area"}:
        return None
    w = channel_stroke_width(list(sample)[:max_images], "clusters", resolved.polarity)
    return {"line_thickness": line_thickness_for(w), "min_area": speck_area_for(w)}


def segmenter_for(segmenter, preprocessor):
    """*segmenter* with its smallest piece scaled to *preprocessor*'s enlarged images (the same area).

    Examples
    --------
    >>> from captchakit.segment import Segmenter
    >>> segmenter_for(Segmenter(min_area=5), Preprocessor(enlarge=2)).min_area
    20
    """
    factor = int(getattr(preprocessor, "enlarge", 1))
    if factor == 1 or segmenter is None or segmenter.min_area == "auto":
        return segmenter
    return clone(segmenter).set_params(min_area=int(segmenter.min_area) * factor * factor)


def front_end_candidates(resolved, measured, pinned=()):
    """A few front ends around the measured one, as ``[(name, Preprocessor)]`` (the measured first).

    Parameters
    ----------
    resolved : Preprocessor
        The measured front end (no ``"auto"`` left).
    measured : dict
        What :func:`~captchakit.preprocess.measure_front_end` found
        (``separability`` per channel is used for the runner-up channel;
        ``enlarged``, from :func:`enlarged_settings`, adds the enlarged images).
    pinned : iterable of str
        Settings the user fixed: no candidate changes them.

    Examples
    --------
    >>> p = Preprocessor(channel="luminance", polarity="dark", frame=0, line_thickness=2, min_area=4)
    >>> [n for n, _ in front_end_candidates(p, {"separability": {"luminance": .9, "saturation": .5}})]
    ['measured', 'lines kept', 'thicker line removal', 'median 3', 'darker threshold', 'pale ink kept', \
'channel saturation', 'adaptive threshold', 'former fixed front end']
    """
    pinned = set(pinned)
    base = resolved.get_params()
    out = [("measured", {})]
    if base["remove_lines"] and base["line_thickness"]:
        out.append(("lines kept", {"remove_lines": False}))
    out.append(("thicker line removal", {"remove_lines": True, "line_thickness": int(base["line_thickness"]) + 2}))
    if not base["median"]:
        out.append(("median 3", {"median": 3}))
    if base["threshold"] == "otsu" and base["channel"] != "clusters":
        # strokes darker than lines and dots of their colour that anti-aliasing or smoothing left paler
        out.append((DARKER, {"threshold": "multiotsu"}))
        out.append((PALER, {"threshold": "triangle", "channel": "distance", "remove_lines": True,
                            "line_thickness": int(base["line_thickness"]) + 2}))
    sep = measured.get("separability") or {}
    others = sorted((c for c in sep if c != base["channel"]), key=lambda c: -sep[c])
    if others:
        out.append((f"channel {others[0]}", {"channel": others[0]}))
    if measured.get("color_spread", 0.0) >= COLOR_SPREAD and base["channel"] != "clusters":
        out.append(("colour clusters", {"channel": "clusters"}))
    sized = measured.get("clusters") or {}
    if base["channel"] == "clusters" and any(base[k] != v for k, v in sized.items()):
        # around the colour clusters (a second round), lines and specks sized by the strokes in them
        # (:func:`cluster_settings`) instead of those of the measured channel
        out.append((CLUSTERS_SIZED, {"remove_lines": True, **sized}))
    if measured.get("straight_line_share", 0.0) >= STRAIGHT_LINE_SHARE and not base["straight_lines"]:
        out.append(("straight lines removed",
                    {"straight_lines": max(2, int(round(measured.get("stroke_width", 2.0))))}))
    if measured.get("specks_per_image", 0.0) >= SPECKS_PER_IMAGE and measured.get("speck_area", 0) > base["min_area"]:
        # noise dots larger than the stroke width's speck area (:func:`speck_area_for`), measured apart from the
        # characters' pieces (:func:`~captchakit.preprocess._measure.speck_area`)
        out.append((SPECKS, {"min_area": int(measured["speck_area"])}))
    if measured.get("paper_spread", 0.0) >= PAPER_SPREAD and not base["flatten"]:
        change = {"flatten": flatten_size_for(measured.get("stroke_width", 3.0))}
        if base["channel"] != "luminance" and "channel" not in pinned:
            change["channel"] = "luminance"  # other channels hide the paper's grey level
        out.append(("paper flattened", change))
    if textured_ink(measured) and not base["median"]:
        # hatched or punched ink, filled by the median, then lines and specks sized by the filled strokes (its
        # strokes measured as the hatches had kept every line): lines a pixel thinner than them, as measured ink
        # gets, or as thick (a skewed line runs thicker down a column than across)
        w = measured["filled_stroke_width"]
        filled = {"median": 3, "remove_lines": True, "min_area": speck_area_for(w)}
        out.append(("textured ink filled", {**filled, "line_thickness": line_thickness_for(w)}))
        out.append(("textured ink filled, lines as thick as its strokes",
                    {**filled, "line_thickness": max(2, int(round(w)))}))
    if measured.get("enlarged"):
        out.append((f"enlarged {measured['enlarged']['enlarge']}x", dict(measured["enlarged"])))
    if base["threshold"] != "adaptive":
        out.append(("adaptive threshold", {"threshold": "adaptive"}))
    from captchakit._api import FIXED_FRONT_END

    out.append(("former fixed front end", dict(FIXED_FRONT_END["preprocess"])))
    seen, cands = set(), []
    for name, change in out:
        if pinned & set(change):
            continue
        p = clone(resolved).set_params(**change).validate()
        key = tuple(sorted(p.get_params().items()))
        if key in seen:
            continue
        seen.add(key)
        cands.append((name, p))
    return cands


def search_front_end(rec, X, y, candidates, max_images=600, cv=2, seed=0, progress=None, n_jobs=None, known=None,
                     lead=0.0):
    """Score *candidates* by *cv*-fold CV of a forced-split proxy of *rec* on (a sample of) X, y.

    Every candidate is fitted on the first fold; only those within :data:`DROP_BELOW` of the best one there (and
    the measured front end, the first) on the others. A candidate dropped is scored on the first fold alone
    and never chosen.

    *known*: the first candidate's row of an earlier report, when it was scored on the same
    data with the same proxy (a second round, around the first round's choice): it is not fitted again.

    *lead*: a whole-string accuracy to beat from elsewhere (the search's choice on the images as they are, when
    this round weighs them at half size): a candidate more than :data:`DROP_BELOW` behind it on the first fold is
    dropped too.

    The candidate-and-fold fits run in *n_jobs* worker processes (None or 1: here;
    :func:`captchakit._cluster.each`); every fit is seeded and the same wherever it runs, so the
    scores do not depend on *n_jobs*.

    Returns
    -------
    chosen : Preprocessor
    report : dict
        ``candidates`` (name, CV whole-string and per-character accuracy,
        ``fold_scores`` (each fitted fold's whole-string and per-character accuracy), ``dropped`` (True where
        only the first fold was fitted), settings changed), ``chosen``, ``n_images``, ``cv``, ``seed``, ``drop_below``,
        ``seconds``.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.permutation(len(X))[:max_images])
    Xs, ys = [X[i] for i in idx], [y[i] for i in idx]
    folds = list(KFold(cv, shuffle=True, random_state=seed).split(np.arange(len(Xs))))
    proxy = clone(rec).set_params(front_end_search=False, segmentation="forced", n_components=48)
    # each candidate's (whole-string, per-character) accuracy by fold
    scores = {c: {} for c in range(len(candidates))}
    if known:
        scores[0] = {f: tuple(v) for f, v in enumerate(known["fold_scores"])}
    # each fold's training and test part, built once for all candidates
    parts = [([Xs[i] for i in tr], [ys[i] for i in tr], [Xs[i] for i in te], [ys[i] for i in te]) for tr, te in folds]
    ests = [clone(proxy).set_params(preprocessor=p, segmenter=segmenter_for(proxy.segmenter, p)) for _, p in candidates]

    def run(jobs):
        if not jobs:
            return
        # the fits run here or in worker processes (their results come back in order), and the bar counts them
        results = each(_score_front_end, ((clone(ests[c]), *parts[f]) for c, f in jobs), n_jobs)
        for score, (c, f) in zip(results, progress(jobs) if progress else jobs):
            scores[c][f] = score

    todo = range(1 if known else 0, len(candidates))
    later = [(c, f) for c in todo for f in range(1, len(folds))]  # the other folds, the measured front end's first
    # workers that the first folds alone would leave idle fit other folds meanwhile (a second round weighs one
    # or two candidates): those of a candidate then dropped are not counted, so the scores do not depend on n_jobs
    first = [(c, 0) for c in todo]
    spare = (-len(first)) % each_workers(n_jobs)
    run(first + later[:spare])
    lead = max(lead, max(s[0][0] for s in scores.values()))
    kept = [c for c in range(len(candidates)) if c == 0 or scores[c][0][0] >= lead - DROP_BELOW - 1e-9]
    run([(c, f) for c, f in later[spare:] if c in kept])
    scores = {c: [s[f] for f in sorted(s) if c in kept or f == 0] for c, s in scores.items()}
    rows = []
    base = candidates[0][1].get_params()
    for c, (name, p) in enumerate(candidates):
        acc = np.mean(scores[c], axis=0)
        rows.append({"name": name, "cv_string_accuracy": round(float(acc[0]), 4),
                     "cv_char_accuracy": round(float(acc[1]), 4),
                     "fold_scores": [[float(a), float(b)] for a, b in scores[c]], "dropped": c not in kept,
                     "changes": {k: v for k, v in p.get_params().items() if base.get(k) != v}})
    best, decided_by = _best_row(rows, kept)
    report = {"candidates": rows, "chosen": rows[best]["name"], "n_images": len(Xs), "cv": cv, "seed": seed,
              "margin": MARGIN, "decided_by": decided_by, "drop_below": DROP_BELOW, "proxy": "forced split, PCA 48",
              "seconds": round(time.perf_counter() - t0, 1)}
    return candidates[best][1], report


def _best_row(rows, kept):
    """The index of the search's choice among the rows *kept*, and what decided it: another than the measured front
    end (0) where it reads :data:`MARGIN` more whole strings, or, where every row kept reads fewer than
    :data:`FEW_STRINGS` of them, :data:`CHAR_MARGIN` more characters.

    Examples
    --------
    >>> row = lambda s, c: {"cv_string_accuracy": s, "cv_char_accuracy": c}
    >>> _best_row([row(0.30, 0.80), row(0.31, 0.90), row(0.33, 0.70)], [0, 1, 2])
    (2, 'whole strings')
    >>> _best_row([row(0.30, 0.80), row(0.31, 0.90)], [0, 1])
    (0, 'whole strings')
    >>> _best_row([row(0.0, 0.18), row(0.02, 0.34), row(0.0, 0.20)], [0, 1, 2])
    (1, 'characters')
    >>> _best_row([row(0.0, 0.18), row(0.02, 0.21)], [0, 1])
    (0, 'characters')
    """
    if max(rows[c]["cv_string_accuracy"] for c in kept) < FEW_STRINGS:
        best = max(kept, key=lambda c: (rows[c]["cv_char_accuracy"], rows[c]["cv_string_accuracy"]))
        return (best if more_characters(rows[best], rows[0]) else 0), "characters"
    best = max(kept, key=lambda c: (rows[c]["cv_string_accuracy"], rows[c]["cv_char_accuracy"]))
    return (0 if rows[best]["cv_string_accuracy"] < rows[0]["cv_string_accuracy"] + MARGIN else best), "whole strings"


def more_characters(new, old):
    """Whether the proxy's reading *new* reads :data:`CHAR_MARGIN` more characters than *old* (each with
    ``cv_char_accuracy``): what decides where few whole strings do (:func:`_best_row`, and between two working sizes
    ``reads_better``).

    Examples
    --------
    >>> more_characters({"cv_char_accuracy": 0.46}, {"cv_char_accuracy": 0.34})
    True
    >>> more_characters({"cv_char_accuracy": 0.36}, {"cv_char_accuracy": 0.34})
    False
    """
    return new["cv_char_accuracy"] >= old["cv_char_accuracy"] + CHAR_MARGIN - 1e-9


def _score_front_end(est, X_train, y_train, X_test, y_test, progress=None):
    """Whole-string and per-character accuracy of *est* fitted on the one part and read on the other."""
    from captchakit.metrics import summarize

    try:
        est.fit(X_train, y_train, progress=progress)
        s = summarize(y_test, est.predict(X_test), 0.0, len(y_test))
    except (CaptchakitError, ValueError):
        # a front end under which nothing segments (or too little to fit) scores 0; a fault in the
        # code is raised, not scored (a NameError once passed here for a front end that read badly)
        return (0.0, 0.0)
    return (s["string_accuracy"], s["char_accuracy"])
