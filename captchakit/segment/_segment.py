"""Cutting a binary captcha into character crops.

Two methods: connected components (with fragment merging and, when the
number of characters is known, splitting of touching characters at the
projection minimum) and vertical projection (cut at the column valleys).
"""

import bisect
import statistics
from dataclasses import dataclass

import cv2
import numpy as np
from sklearn.base import BaseEstimator, clone

from captchakit._errors import CaptchakitError
from captchakit._settings import SettingsMixin
from captchakit.preprocess._stages import label_components

#: A piece of at most this many components is masked by comparing the labels with each; one of more (specks that
#: speck removal left, merged into it) by one table lookup. A scheme strewn with dots (captchagen's 200 per image)
#: had pieces of dozens of components, whose masks took most of the forced split's time.
PIECE_IDS_COMPARED = 4


@dataclass
class Segmentation:
    """The result of segmenting one image.

    Attributes
    ----------
    boxes : (n, 4) int ndarray
        ``(x0, y0, x1, y1)`` per character, left to right, end-exclusive.
    crops : (n, S, S) float32 ndarray
        Character crops, aspect ratio kept, centred, ink 1.0 on 0.0.
    n_natural : int
        How many pieces the image fell into before any forced merge/split.
    """

    boxes: np.ndarray
    crops: np.ndarray
    n_natural: int

    def __len__(self):
        return len(self.boxes)


def crop_to_square(mask, size=32, margin=2):
    """Centre a binary crop in a square, keep its aspect ratio, resize.

    Parameters
    ----------
    mask : (M, N) bool ndarray
    size : int
        Output side in pixels.
    margin : int
        Empty border kept around the ink, in output pixels.

    Returns
    -------
    (size, size) float32 ndarray

    Examples
    --------
    >>> m = np.ones((20, 5), bool)
    >>> c = crop_to_square(m, 16)
    >>> c.shape, float(c.max())
    ((16, 16), 1.0)
    """
    mask = np.asarray(mask, bool).view(np.uint8)
    if mask.size == 0:
        return np.zeros((size, size), np.float32)
    # the ink's bounding box; OpenCV's is 5x faster than two any() + flatnonzero, and a lattice crops
    # hundreds of pieces per image
    x, y, w, h = cv2.boundingRect(mask)
    return square_ink(mask[y:y + h, x:x + w], size, margin)


def square_ink(ink01, size=32, margin=2):
    """:func:`crop_to_square` of a uint8 0/1 mask already cut to its ink's bounding box (empty: an empty crop).

    Examples
    --------
    >>> m = np.zeros((20, 9), np.uint8); m[2:18, 3:6] = 1
    >>> np.array_equal(square_ink(m[2:18, 3:6], 16), crop_to_square(m.astype(bool), 16))
    True
    """
    if ink01.size == 0:
        return np.zeros((size, size), np.float32)
    # float32 input (a soft crop) is read as it is: resize does not write to it
    m = ink01 if ink01.dtype == np.float32 else ink01.astype(np.float32)
    h, w = m.shape
    inner = max(size - 2 * margin, 1)
    scale = inner / max(h, w)
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    r = cv2.resize(m, (nw, nh), interpolation=interp)
    y0, x0 = (size - nh) // 2, (size - nw) // 2
    out = np.zeros((size, size), np.float32)
    out[y0:y0 + nh, x0:x0 + nw] = r
    return out


def central_ink(ink, share):
    """*ink* (a 2-D array) cut to its central rows and columns: at most *share* of its ink goes on each side.

    The rows kept run from the first where the running ink total reaches
    *share* of the whole to the first where it reaches ``1 - share``; the
    columns likewise. A line running off a character or a speck beside it
    carries little ink but sets the bounding box; cut off, the character
    fills its crop again. Empty input (or ``share`` 0) comes back as it is.

    Examples
    --------
    >>> m = np.zeros((20, 20), np.uint8); m[4:16, 8:12] = 1; m[19, 0] = 1  # a speck in a corner
    >>> central_ink(m, 0.03).shape
    (12, 4)
    """
    if not share or ink.size == 0:
        return ink
    if ink.dtype == np.uint8:
        # a mask (the lattice cuts dozens per image): exact counts, as float32 sums of it are. One integral
        # image holds both running totals, the rows' in its last column and the columns' in its last row
        # (4 µs a piece; two numpy sums totalled in Python took 8)
        s = cv2.integral(ink)
        rows, cols = s[1:, -1].tolist(), s[-1, 1:].tolist()
        total = np.float32(rows[-1])
    else:
        m = np.asarray(ink, np.float32)
        total = m.sum()
        rows, cols = np.cumsum(m.sum(axis=1)).tolist(), np.cumsum(m.sum(axis=0)).tolist()
    if not total > 0:
        return ink
    # the limits in float32, as trim_crops always had them; the running totals never fall, so the number of rows
    # below a limit is where the limit would go
    lo, hi = (np.array([share, 1 - share], np.float32) * total).tolist()
    r0, r1, c0, c1 = (bisect.bisect_left(rows, lo), bisect.bisect_left(rows, hi),
                      bisect.bisect_left(cols, lo), bisect.bisect_left(cols, hi))
    return ink[r0:r1 + 1, c0:c1 + 1]


def best_cuts(profile, k, window=0.35):
    """Where to cut a column profile into *k* pieces.

    Each cut is the profile's minimum inside a window around the equal-width
    position (not the middle itself), ties going to the nearest.

    Parameters
    ----------
    profile : (W,) ndarray
        Ink per column.
    k : int
        Number of pieces.
    window : float
        Half-width of the search window, as a share of one piece's width.

    Returns
    -------
    list of int
        ``k - 1`` increasing cut columns.

    Examples
    --------
    >>> best_cuts(np.array([5, 5, 5, 1, 5, 5, 5, 5]), 2)
    [3]
    """
    profile = np.asarray(profile, np.float64)
    w = profile.size
    if k <= 1 or w < 2:
        return []
    step = w / k
    r = max(1, int(round(window * step)))
    cuts, prev = [], 0
    for i in range(1, k):
        target = int(round(i * step))
        lo, hi = max(prev + 1, target - r), min(w - 1, target + r)
        if lo > hi:
            lo = hi = min(max(prev + 1, target), w - 1)
        seg = profile[lo:hi + 1]
        cost = seg + 1e-3 * np.abs(np.arange(lo, hi + 1) - target)
        c = lo + int(np.argmin(cost))
        cuts.append(c)
        prev = c
    return cuts


def _allocate(widths, n):
    """Share *n* characters among pieces of the given widths (each gets >= 1)."""
    k = [1] * len(widths)
    for _ in range(n - len(widths)):
        i = int(np.argmax([w / c for w, c in zip(widths, k)]))
        k[i] += 1
    return k


class Segmenter(SettingsMixin, BaseEstimator):
    """Split a binary captcha into characters.

    Parameters
    ----------
    method : {"components", "projection"}
    connectivity : {4, 8}
        Pixel connectivity for components.
    min_area : int or "auto"
        Pieces with less ink are ignored; auto: 15 until :meth:`resolve`
        sets it from the measured stroke width (0.6 x its square, >= 4).
    merge_overlap : float
        Components whose column ranges overlap by at least this share of the
        narrower one are merged (the dot of an i, broken strokes).
    min_width, max_width : int or None
        Projection method: narrower segments are merged with a neighbour,
        wider ones split at their projection minima.  ``None`` means no limit.
    valley : int
        Projection method: columns with at most this much ink are gaps.
    split_window : float
        When a piece is split, each cut is searched within this share of one
        character's width around the equal-width position.
    min_height : float
        Pieces shorter than this share of the tallest piece are dropped as
        noise (line fragments, specks); 0 keeps everything. When that leaves
        fewer pieces than the expected count, the tallest of those at least
        half as tall (at most 2.5 times as wide as tall, and at least half as
        wide as the kept pieces' median) come back.
    crop_size : int
        Side of the square character crops.

    Examples
    --------
    >>> b = np.zeros((20, 40), bool); b[5:15, 3:9] = True; b[5:15, 20:27] = True
    >>> seg = Segmenter().segment(b)
    >>> len(seg), seg.crops.shape
    (2, (2, 32, 32))
    """

    _kind = "segmentation"

    def __init__(self, method="components", connectivity=8, min_area="auto", merge_overlap=0.6,
                 min_width=3, max_width=None, valley=0, split_window=0.35, min_height=0.4, crop_size=32):
        self.method = method
        self.connectivity = connectivity
        self.min_area = min_area
        self.merge_overlap = merge_overlap
        self.min_width = min_width
        self.max_width = max_width
        self.valley = valley
        self.split_window = split_window
        self.min_height = min_height
        self.crop_size = crop_size

    def validate(self):
        if self.method not in ("components", "projection"):
            raise CaptchakitError(
                f"segmentation method must be one of components, projection; got {self.method!r}")
        if self.connectivity not in (4, 8):
            raise CaptchakitError(f"connectivity must be 4 or 8, got {self.connectivity!r}")
        if not isinstance(self.crop_size, (int, np.integer)) or self.crop_size < 8:
            raise CaptchakitError(f"crop_size must be an integer >= 8, got {self.crop_size!r}")
        if self.min_area != "auto" and (not isinstance(self.min_area, (int, np.integer)) or self.min_area < 0):
            raise CaptchakitError(f"min_area must be 'auto' or an integer >= 0, got {self.min_area!r}")
        return self

    def resolve(self, stroke_width):
        """A copy with ``min_area="auto"`` set from the measured stroke width.

        Examples
        --------
        >>> Segmenter().resolve(5.0).min_area, Segmenter(min_area=9).resolve(5.0).min_area
        (15, 9)
        """
        self.validate()
        area = max(4, int(round(0.6 * float(stroke_width) ** 2))) if self.min_area == "auto" else self.min_area
        return clone(self).set_params(min_area=area)

    def _min_area(self):
        return 15 if self.min_area == "auto" else self.min_area

    # ------------------------------------------------------------------
    def segment(self, binary, n_chars=None, restore_short=True, crops=True):
        """Segment one binary image.

        Parameters
        ----------
        binary : (M, N) bool ndarray
            Ink ``True``.
        n_chars : int, optional
            Expected number of characters: pieces are merged or split to
            reach it when the ink allows.
        restore_short : bool
            Whether short pieces dropped by ``min_height`` may come back to
            reach ``n_chars`` (see ``min_height``) before a piece is split.
        crops : bool
            Whether to cut the pieces out. False: only their columns are
            measured (segmentation by recognition cuts its own pieces), the
            boxes span every row and ``crops`` is empty, ``(n, 0, 0)``.

        Returns
        -------
        Segmentation

        Examples
        --------
        >>> b = np.zeros((20, 40), bool); b[4:16, 3:9] = True; b[4:16, 20:27] = True
        >>> seg = Segmenter(min_area=5).segment(b, crops=False)
        >>> len(seg), seg.boxes[:, [0, 2]].tolist(), seg.crops.shape
        (2, [[3, 9], [20, 27]], (2, 0, 0))
        """
        return self._forced(self._natural(binary), n_chars, restore_short, crops)

    def segment_counts(self, binary, counts, restore_short=True, crops=True):
        """:meth:`segment` of *binary* for each expected number of characters in *counts* (a list).

        The same as one call per count, with the image's pieces found once
        (label lengths that vary try several counts per image).

        Examples
        --------
        >>> b = np.zeros((20, 40), bool); b[4:16, 3:9] = True; b[4:16, 20:33] = True
        >>> [len(s) for s in Segmenter(min_area=5).segment_counts(b, [2, 3])]
        [2, 3]
        """
        natural = self._natural(binary)
        # the pieces that several counts share (those a count leaves as they were) are cut out once
        cut = {}
        return [self._forced(natural, k, restore_short, crops, cut) for k in counts]

    def _natural(self, binary):
        """What :meth:`segment` finds before any count is forced: the binary image, its pieces, their
        labels, which are kept and the short ones that may come back."""
        self.validate()
        binary = np.asarray(binary)
        if binary.ndim != 2:
            raise CaptchakitError(f"binary image must be 2-D, got shape {binary.shape}")
        binary = binary.astype(bool, copy=False)
        if self.method == "components":
            pieces, labels = self._components(binary)
        else:
            pieces, labels = self._projection(binary), None
        keep, short = self._drop_flat(pieces, binary, labels)
        return binary, pieces, labels, keep, short

    def _forced(self, natural, n_chars, restore_short, crops, cut=None):
        """The pieces of :meth:`_natural` forced to *n_chars* (None: as they are), as a Segmentation.

        *cut*: a dict of the pieces already cut out of this image (:meth:`_crops`), or None."""
        binary, pieces, labels, keep, short = natural
        keep = list(keep)
        n_natural = sum(keep)
        if restore_short and n_chars is not None and n_natural < n_chars:
            # too few pieces left: a short character beside tall ones (an x-height "c" by a "j" that a
            # warp stretched) is brought back before a wider piece is split; a flat dash is not. It is part
            # of forcing the count, so n_natural (the training image filter, segmentation mode) ignores it.
            # Slivers narrower than half the kept pieces' median width stay out (python-captcha's noise arcs)
            # statistics.median: numpy's value for a few integers, without its array overhead
            widths = [p["x1"] - p["x0"] for p, k in zip(pieces, keep) if k]
            wide = 0.5 * statistics.median(widths) if n_natural else 0
            short = [i for i in short if pieces[i]["x1"] - pieces[i]["x0"] >= wide]
            for i in short[:n_chars - n_natural]:
                keep[i] = True
        pieces = [p for p, k in zip(pieces, keep) if k]
        if n_chars is not None and pieces:
            pieces = self._force(pieces, n_chars, binary, labels)
        if not crops:
            boxes = np.array([(p["x0"], 0, p["x1"], binary.shape[0]) for p in pieces], np.int32).reshape(-1, 4)
            return Segmentation(boxes=boxes, crops=np.zeros((len(pieces), 0, 0), np.float32), n_natural=n_natural)
        return self._crops(pieces, binary, labels, n_natural, cut)

    # Each piece: dict(x0, x1 (exclusive), ids (component ids or None), area); whole components also y0, y1
    # (their rows, exclusive)
    def _components(self, binary):
        n, labels, stats = label_components(binary, self.connectivity)
        # the components large enough, left to right (those at the same column in label order), read from the
        # statistics as Python numbers at once (a loop over numpy's rows took most of the time on images with
        # many dots)
        least = self._min_area()
        comps = [{"x0": x, "x1": x + w, "ids": [i], "area": a, "y0": y, "y1": y + h}
                 for i, (x, y, w, h, a) in enumerate(stats[1:, :5].tolist(), 1) if a >= least]
        comps.sort(key=lambda c: c["x0"])
        merged = []
        for c in comps:
            if merged:
                m = merged[-1]
                ov = min(m["x1"], c["x1"]) - max(m["x0"], c["x0"])
                narrow = min(m["x1"] - m["x0"], c["x1"] - c["x0"])
                if ov > 0 and ov >= self.merge_overlap * narrow:
                    m["x1"] = max(m["x1"], c["x1"])
                    m["ids"] = m["ids"] + c["ids"]
                    m["area"] += c["area"]
                    m["y0"], m["y1"] = min(m["y0"], c["y0"]), max(m["y1"], c["y1"])
                    continue
            merged.append(dict(c))
        return merged, labels

    def _projection(self, binary):
        col = binary.sum(axis=0)
        ink = col > self.valley
        pieces = []
        x = 0
        w = ink.size
        while x < w:
            if not ink[x]:
                x += 1
                continue
            x0 = x
            while x < w and ink[x]:
                x += 1
            area = int(col[x0:x].sum())
            if area >= self._min_area():
                pieces.append({"x0": x0, "x1": x, "ids": None, "area": area})
        # merge slivers into the nearer neighbour
        if self.min_width:
            i = 0
            while len(pieces) > 1 and i < len(pieces):
                p = pieces[i]
                if p["x1"] - p["x0"] < self.min_width:
                    left = p["x0"] - pieces[i - 1]["x1"] if i > 0 else np.inf
                    right = pieces[i + 1]["x0"] - p["x1"] if i + 1 < len(pieces) else np.inf
                    j = i - 1 if left <= right else i + 1
                    a, b = sorted((i, j))
                    pieces[a] = _join(pieces[a], pieces[b])
                    del pieces[b]
                    i = 0
                    continue
                i += 1
        if self.max_width:
            out = []
            for p in pieces:
                k = int(np.ceil((p["x1"] - p["x0"]) / self.max_width))
                out.extend(_split(p, k, col) if k > 1 else [p])
            pieces = out
        return pieces

    def _drop_flat(self, pieces, binary, labels):
        """Which pieces to keep (a flag each), and the dropped ones that may come back, tallest first."""
        if not self.min_height or len(pieces) < 2:
            return [True] * len(pieces), []
        heights = []
        for p in pieces:
            if "y0" in p:
                # whole components (as _components gives them): their rows are those of their boxes
                heights.append(p["y1"] - p["y0"])
                continue
            m = self._piece_mask(p, binary, labels)
            rows = np.flatnonzero(m.any(axis=1))
            heights.append(rows[-1] - rows[0] + 1 if rows.size else 0)
        top = max(heights)
        keep = [h >= self.min_height * top for h in heights]
        short = [i for i, h in enumerate(heights) if not keep[i] and h >= 0.5 * self.min_height * top
                 and pieces[i]["x1"] - pieces[i]["x0"] <= 2.5 * h]
        return keep, sorted(short, key=lambda i: -heights[i])

    def _piece_mask(self, p, binary, labels):
        if p["ids"] is None:
            return binary[:, p["x0"]:p["x1"]]
        sub = labels[:, p["x0"]:p["x1"]]
        ids = p["ids"]
        if len(ids) <= PIECE_IDS_COMPARED:
            # a piece holds a few components: comparing with each is ~10x faster than np.isin on small arrays
            mask = sub == ids[0]
            for i in ids[1:]:
                mask |= sub == i
            return mask
        # a piece that took in many specks (dots that speck removal left): one table lookup by label
        if sub.size == 0:
            return np.zeros(sub.shape, bool)
        table = np.zeros(max(int(sub.max()), max(ids)) + 1, bool)
        table[ids] = True
        return table[sub]

    def _piece_profile(self, p, binary, labels):
        if p["ids"] is None:
            return binary[:, p["x0"]:p["x1"]].sum(axis=0)
        return self._piece_mask(p, binary, labels).sum(axis=0)

    def _force(self, pieces, n, binary, labels):
        pieces = list(pieces)
        # too many: drop tiny isolated noise, else merge the smallest into its nearest neighbour
        while len(pieces) > n:
            areas = np.array([p["area"] for p in pieces], float)
            i = int(np.argmin(areas))
            if areas[i] < 0.15 * np.median(areas):
                del pieces[i]
                continue
            gap_l = pieces[i]["x0"] - pieces[i - 1]["x1"] if i > 0 else np.inf
            gap_r = pieces[i + 1]["x0"] - pieces[i]["x1"] if i + 1 < len(pieces) else np.inf
            j = i - 1 if gap_l <= gap_r else i + 1
            a, b = sorted((i, j))
            pieces[a] = _join(pieces[a], pieces[b])
            del pieces[b]
        if len(pieces) < n:
            widths = [p["x1"] - p["x0"] for p in pieces]
            if sum(widths) >= n:
                ks = _allocate(widths, n)
                out = []
                for p, k in zip(pieces, ks):
                    if k == 1:
                        out.append(p)
                    else:
                        out.extend(_split(p, k, self._piece_profile(p, binary, labels), local=True,
                                          window=self.split_window))
                pieces = out
        return pieces

    def _crops(self, pieces, binary, labels, n_natural, cut=None):
        s = self.crop_size
        boxes = np.zeros((len(pieces), 4), np.int32)
        crops = np.zeros((len(pieces), s, s), np.float32)
        for i, p in enumerate(pieces):
            x0, x1 = p["x0"], p["x1"]
            key = (x0, x1, None if p["ids"] is None else tuple(sorted(p["ids"])))
            if cut is not None and key in cut:
                boxes[i], crops[i] = cut[key]
                continue
            m = self._piece_mask(p, binary, labels)
            rows = np.flatnonzero(m.any(axis=1))
            y0, y1 = (int(rows[0]), int(rows[-1]) + 1) if rows.size else (0, binary.shape[0])
            boxes[i] = (x0, y0, x1, y1)
            crops[i] = crop_to_square(m, s)
            if cut is not None:
                cut[key] = (boxes[i], crops[i])
        return Segmentation(boxes=boxes, crops=crops, n_natural=n_natural)


def _join(a, b):
    ids = None if a["ids"] is None else a["ids"] + b["ids"]
    return {"x0": min(a["x0"], b["x0"]), "x1": max(a["x1"], b["x1"]), "ids": ids,
            "area": a["area"] + b["area"]}


def _split(p, k, profile, local=False, window=0.35):
    """Split piece *p* into *k* at the profile minima (profile local to p if *local*)."""
    prof = profile if local else profile[p["x0"]:p["x1"]]
    cuts = best_cuts(prof, k, window)
    edges = [0] + cuts + [p["x1"] - p["x0"]]
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        if b <= a:
            continue
        out.append({"x0": p["x0"] + a, "x1": p["x0"] + b, "ids": p["ids"],
                    "area": int(np.sum(prof[a:b]))})
    return out
