"""Segmentation by recognition: candidate cuts, a lattice of pieces, the best path.

Classic OCR engines split touching characters this way: over-segment the
image at many candidate cuts, score every piece between two cuts with a
character classifier that also knows a "not a character" class, and pick
the sequence of pieces with the best total score by dynamic programming.
These are the array functions; :class:`~captchakit.classifiers.SegmentingRecognizer`
supplies the scores.
"""

import bisect
import math

import cv2
import numpy as np

from captchakit.preprocess._stages import label_components
from captchakit.segment._segment import central_ink, crop_to_square, square_ink


def ink_range(binary):
    """First and one-past-last ink columns, or ``None`` when there is no ink."""
    cols = np.flatnonzero(np.asarray(binary, bool).any(axis=0))
    return (int(cols[0]), int(cols[-1]) + 1) if cols.size else None


#: Candidate cuts per expected character: the cap of :func:`candidate_cuts` (five- and six-character images ran
#: out of cuts under one cap of 24)
CUTS_PER_CHAR = 6
#: The lowest that cap goes (up to 4 characters)
MIN_CUTS = 24


def candidate_cuts(binary, n_chars, boxes=(), max_cuts=None):
    """Candidate cut columns from several sources, sorted.

    Sources: the ink's ends, the edges of the given pieces (natural
    components and the forced split), the local minima of the column
    profile, and the equal-width positions for *n_chars* characters.

    Parameters
    ----------
    binary : (M, N) bool ndarray
    n_chars : int
        Expected number of characters (the equal-width prior).
    boxes : sequence of (x0, x1)
        Column ranges of pieces found by other means.
    max_cuts : int, optional
        At most this many cuts (the weakest profile minima go first). Default:
        :data:`CUTS_PER_CHAR` per expected character, at least :data:`MIN_CUTS`
        (24 for up to 4 characters, 30 for 5, 36 for 6).

    Examples
    --------
    >>> b = np.zeros((10, 30), bool); b[2:8, 2:8] = True; b[2:8, 12:18] = True; b[2:8, 20:28] = True
    >>> candidate_cuts(b, 3, [(2, 8), (12, 18), (20, 28)])[:4]
    [2, 8, 11, 18]
    """
    b = np.asarray(binary, bool)
    rng = ink_range(b)
    if rng is None:
        return []
    a, e = rng
    prof = b.sum(axis=0).astype(np.float64)
    smooth = np.convolve(prof, np.ones(3) / 3.0, mode="same")
    fixed = {a, e}
    for x0, x1 in boxes:
        # min/max on plain numbers (np.clip on two scalars was most of this function's time)
        fixed.update((int(min(max(x0, a), e)), int(min(max(x1, a), e))))
    n = max(int(n_chars), 1)
    if max_cuts is None:
        max_cuts = max(MIN_CUTS, CUTS_PER_CHAR * n)
    fixed.update(int(round(a + i * (e - a) / n)) for i in range(1, n))
    inner = np.arange(a + 1, e - 1)
    mid = smooth[inner]
    minima = inner[(mid <= smooth[inner - 1]) & (mid <= smooth[inner + 1]) & (mid < smooth[a:e].max())].tolist()
    values = smooth.tolist()
    minima.sort(key=values.__getitem__)
    cuts = sorted(fixed)
    for x in minima:
        if len(cuts) >= max_cuts:
            break
        k = bisect.bisect_left(cuts, x)  # at least 2 columns from every cut: from the nearest on each side
        if (k == 0 or x - cuts[k - 1] >= 2) and (k == len(cuts) or cuts[k] - x >= 2):
            cuts.insert(k, x)
    out = []
    for c in cuts:
        if not out or c - out[-1] >= 2 or c == e:
            out.append(c)
    if out and out[-1] != e:
        out.append(e)
    return out


_GROW = np.ones((3, 3), np.uint8)  # a piece's ink grown by one pixel masks its soft crop (``ink_crops``)


class PieceCropper:
    """Crops of column ranges of one binary image, taking whole the components that mostly lie inside.

    A component with at least 70% of its width inside the range comes whole
    (an overhanging stroke stays with its character); one with at most 30%
    inside and no wider than *max_width* is left out (it belongs to a
    neighbour); any other is cut at the range's edges (touching characters).

    With *remember*, :meth:`unique_crops` keeps each piece's ink before it is
    squared (its mask, or its shade under an ink channel), so that the crops
    of the same pieces at another size cost no second cut: the reader cuts
    the lattice's pieces for its piece scorer at 16 px, then the chosen ones
    for its character classifier at 32. :meth:`forget` drops all but those.

    The rows above and below all the ink are left out first (``top`` is the
    first one kept): every piece's ink lies between them, so its crops are
    the same, and each piece's window costs less on a tall image with a
    short line of text (ppfun-captcha's 500x300 images have about 130 rows of
    ink).
    """

    def __init__(self, binary, max_width, remember=False):
        binary = np.asarray(binary, bool)
        self.shape = binary.shape
        rows = np.flatnonzero(binary.any(axis=1))
        self.top = int(rows[0]) if rows.size else 0
        self.binary = binary[self.top:int(rows[-1]) + 1] if rows.size else binary
        # (x0, x1, binary?) -> the piece's untrimmed ink before squaring; None: not kept
        self._parts = {} if remember else None
        n, self.labels, stats = label_components(self.binary)
        self.x0 = stats[1:, cv2.CC_STAT_LEFT]
        self.x1 = self.x0 + stats[1:, cv2.CC_STAT_WIDTH]
        self.width = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], 1)
        self.max_width = max_width
        # the labels as bytes where they fit, for OpenCV's table lookup (see _window01)
        self.labels8 = self.labels.astype(np.uint8) if n <= 256 else None

    def mask(self, x0, x1):
        """The ink of the piece between columns *x0* and *x1*, full image size."""
        window, a = self._window(x0, x1)
        m = np.zeros(self.shape, bool)
        m[self.top:self.top + window.shape[0], a:a + window.shape[1]] = window
        return m

    def crop(self, x0, x1, size):
        """A square crop of the piece (see :func:`crop_to_square`) and its ink count."""
        window = self._window(x0, x1)[0]
        return crop_to_square(window, size), int(np.count_nonzero(window))

    def crops(self, spans, size, trim=0.0, ink=None):
        """Square crops of the pieces between the column pairs *spans*, as :meth:`crop` makes them, in one go.

        *trim*: each piece's ink is first cut to its central part (:func:`central_ink`). With the ink channel
        *ink*, soft crops (:meth:`ink_crops`) instead of binary ones."""
        uniq, index = self.unique_crops(spans, size, trim, ink)
        return [uniq[i] for i in index]

    def ink_crops(self, ink, spans, size):
        """Soft crops: the shades of the ink channel *ink* (uint8, ink dark, the binary image's size) under each
        piece of *spans*.

        Each piece's ink (as :meth:`crop` finds it) grown by one pixel masks
        the channel's darkness; the result is cut to the piece's bounding box,
        scaled to 1.0 at its darkest and squared as crops are
        (:func:`~captchakit.segment.square_ink`). A character that cleaning
        thinned or broke (line removal that took a stroke's top, a threshold
        that lost a faint tail) keeps its shades.

        Examples
        --------
        >>> b = np.zeros((10, 20), bool); b[2:8, 3:7] = True
        >>> ink = np.where(b, 0, 255).astype(np.uint8); ink[2, 3] = 128
        >>> c = PieceCropper(b, 12).ink_crops(ink, [(0, 10)], 16)[0]
        >>> c.shape, float(c.max())
        ((16, 16), 1.0)
        """
        return self.crops(spans, size, ink=ink)

    def crop_pairs(self, ink, spans, size):
        """The binary crops (as :meth:`crops` makes them) and the soft crops (:meth:`ink_crops`) of the pieces
        *spans*, from one pass over their windows: two lists."""
        kept = self._parts or {}
        known = [(kept.get((x0, x1, True)), kept.get((x0, x1, False))) for x0, x1 in spans]
        if spans and all(m is not None and p is not None for m, p in known):
            return [square_ink(m, size) for m, _ in known], [square_ink(p, size) for _, p in known]
        binary, soft = [], []
        ink = self._rows(ink)
        for window, a in self._windows01(spans):
            if not window.any():
                binary.append(np.zeros((size, size), np.float32))
                soft.append(np.zeros((size, size), np.float32))
                continue
            x, y, w, h = cv2.boundingRect(window)
            binary.append(square_ink(window[y:y + h, x:x + w], size))
            soft.append(square_ink(_shade(window, a, ink, (x, y, w, h)), size))
        return binary, soft

    def unique_crops(self, spans, size, trim=0.0, ink=None):
        """The distinct square crops of the pieces between *spans*, and the index of each piece's crop among them.

        Pieces that differ only by empty columns or by components they leave out
        have the same ink, so the same crop: a lattice of svg-captcha's 139 pieces
        per image has about 30% distinct ones. Pieces made of the same parts
        (:meth:`_plan`) are not cut out again; the others are told apart by their
        ink. Each distinct crop is made once (and scored once, see
        ``SegmentingRecognizer``). With *trim*, each piece's ink is cut to its
        central part before it is squared (:func:`central_ink`). With the ink
        channel *ink*, each distinct crop is a soft one (as :meth:`ink_crops`
        makes it, then cut by *trim*), and pieces are told apart by their ink
        and where it lies.

        Returns
        -------
        uniq : (U, size, size) float32 ndarray
        index : (len(spans),) int ndarray

        Examples
        --------
        >>> b = np.zeros((10, 30), bool); b[2:8, 2:8] = True; b[2:8, 12:15] = True
        >>> uniq, index = PieceCropper(b, 12).unique_crops([(0, 10), (1, 9), (10, 20)], 16)
        >>> uniq.shape, index.tolist()
        ((2, 16, 16), [0, 0, 1])
        """
        shape = (0, size, size)
        kept = self._parts
        if kept is not None and spans:
            known = [kept.get((x0, x1, ink is None)) for x0, x1 in spans]
            if all(part is not None for part in known):
                # each piece's ink as a first call found it (the same numbers), squared at this size
                return (np.array([square_ink(central_ink(part, trim), size) for part in known]),
                        np.arange(len(spans), dtype=np.intp))
        plan = self._plan(spans)
        ink = self._rows(ink)
        by_parts, by_ink, uniq, index, parts_of, masks_of = {}, {}, [], [], [], []
        for k, parts in enumerate(plan["parts"]):
            u = by_parts.get(parts)
            if u is None:
                window, a = self._window01(plan, k)
                x, y, w, h = cv2.boundingRect(window) if window.size else (0, 0, 0, 0)
                mask = window[y:y + h, x:x + w]
                key = (h, w, mask.tobytes()) if ink is None else (a + x, y, h, w, mask.tobytes())
                u = by_ink.get(key)
                if u is None:
                    u = by_ink[key] = len(uniq)
                    part = mask if ink is None or not h else _shade(window, a, ink, (x, y, w, h))
                    uniq.append(square_ink(central_ink(part, trim), size))
                    parts_of.append(part)
                    masks_of.append(mask)
                by_parts[parts] = u
            index.append(u)
        if kept is not None:
            # the mask is the piece's binary ink either way; a soft crop's shade is kept beside it (crop_pairs
            # takes both)
            for (x0, x1), u in zip(spans, index):
                kept[x0, x1, True] = masks_of[u]
                if ink is not None:
                    kept[x0, x1, False] = parts_of[u]
        return (np.array(uniq) if uniq else np.zeros(shape, np.float32)), np.array(index, dtype=np.intp)

    def forget(self, spans):
        """With *remember*: drop the kept ink of every piece but those of *spans*."""
        if self._parts:
            keep = {(x0, x1) for x0, x1 in spans}
            self._parts = {key: part for key, part in self._parts.items() if key[:2] in keep}

    def _rows(self, ink):
        """The rows of the ink channel *ink* (image size, or None) that the cropper keeps."""
        return None if ink is None else ink[self.top:self.top + self.binary.shape[0]]

    def _window(self, x0, x1):
        """The piece's ink in the columns it can reach (the range and its whole components) and the rows kept (from
        ``top``), and the first column."""
        return next(self.windows([(x0, x1)]))

    def windows(self, spans):
        """:meth:`_window` of each column pair of *spans*, in order (a generator of bool windows)."""
        for window, a in self._windows01(spans):
            yield window.view(bool), a

    def _windows01(self, spans):
        """The windows of :meth:`windows` as uint8 0/1 arrays (a generator).

        What the pieces share is measured for all of them at once (:meth:`_plan`): a
        lattice crops about 160 pieces per image, and one piece at a time spent most of
        its 60 µs in a dozen small numpy calls. Each piece then takes one table lookup
        over its columns (:meth:`_window01`).
        """
        plan = self._plan(spans)
        for k in range(len(plan["x0"])):
            yield self._window01(plan, k)

    def _plan(self, spans):
        """What the windows of *spans* need, measured for all of them at once.

        A piece's ink is its whole components and the columns inside the range of those
        cut at its edges, so ``parts`` (bytes: those whole, and each cut one's columns
        inside) tells pieces with the same ink apart before any is cut out.
        """
        w = self.binary.shape[1]
        # np.minimum/np.maximum rather than np.clip, whose checks cost more than the work on a few spans
        s = np.minimum(np.maximum(np.asarray(spans, float).reshape(-1, 2).astype(int), 0), w)
        x0s, x1s = s[:, 0], s[:, 1]
        inside0 = np.maximum(self.x0, x0s[:, None])
        inside1 = np.minimum(self.x1, x1s[:, None])
        share = np.maximum(inside1 - inside0, 0) / self.width
        # a component with 70% of its width inside comes whole; one with at most 30% inside and no wider
        # than a character is left out; the others are cut at the range's edges
        whole = share >= 0.7
        kept = ~((share <= 0.3) & (self.width <= self.max_width))
        n_labels = whole.shape[1] + 1
        # tables by component label (label 0, the paper, maps to 0) rather than np.isin, which sorts: 3 for a
        # component that comes whole, 2 for one cut at the range's edges, else 0
        tables = np.zeros((len(s), n_labels if self.labels8 is None else 256), np.uint8)
        tables[:, 1:n_labels] = whole.astype(np.uint8) | (kept.astype(np.uint8) << 1)
        cut = kept & ~whole & (inside1 > inside0)
        parts = np.concatenate((whole, np.where(cut, inside0, -1), np.where(cut, inside1, -1)), axis=1)
        return {"x0": x0s.tolist(), "x1": x1s.tolist(), "tables": tables, "inside": tables >> 1,
                "lo": np.where(whole, self.x0, w).min(axis=1, initial=w).tolist(),
                "hi": np.where(whole, self.x1, 0).max(axis=1, initial=0).tolist(),
                "any_whole": whole.any(axis=1).tolist(),
                "parts": [row.tobytes() for row in parts.astype(np.int32)]}

    def _window01(self, plan, k):
        """Piece *k* of a :meth:`_plan`: its window (uint8 0/1) and first column.

        Inside the range any non-zero table entry is ink (``>> 1``), outside it only the
        whole components' (``& 1``); OpenCV's ``LUT`` looks them up where the labels fit
        in a byte.
        """
        x0, x1 = plan["x0"][k], plan["x1"][k]
        a, b = x0, max(x1, x0)
        if plan["any_whole"][k]:
            a, b = min(a, plan["lo"][k]), max(b, plan["hi"][k])
        if b <= a:
            return np.zeros((self.binary.shape[0], 0), np.uint8), a
        if a == x0 and b == x1:
            # no whole component reaches outside the range (most pieces): one lookup in the inside table
            table = plan["inside"][k]
            return (table[self.labels[:, a:b]] if self.labels8 is None else cv2.LUT(self.labels8[:, a:b], table)), a
        table = plan["tables"][k]
        m = table[self.labels[:, a:b]] if self.labels8 is None else cv2.LUT(self.labels8[:, a:b], table)
        m[:, x0 - a:x1 - a] >>= 1
        if x0 > a:
            m[:, :x0 - a] &= 1
        if b > x1:
            m[:, x1 - a:] &= 1
        return m, a


def _shade(window, a, ink, box):
    """The soft crop of a piece before it is squared: the darkness of *ink* (uint8, ink dark) under the piece's
    *window* (uint8 0/1, from column *a*) grown by one pixel, in the window's ink box *box* (x, y, w, h), scaled
    to 1.0 at its darkest (float32)."""
    x, y, w, h = box
    # all of the window's ink lies in its box, so the box alone grows as the whole window would; the darkness
    # (255 - ink, in bytes) under the grown mask, then divided in float32: the same numbers as over floats, in
    # OpenCV calls (the scorer's soft crops cost about 14 µs a piece instead of 16)
    grown = cv2.dilate(window[y:y + h, x:x + w], _GROW)
    # a new output of a masked OpenCV operation is zero outside the mask
    shade = cv2.bitwise_not(ink[y:y + h, a + x:a + x + w], mask=grown)
    top = cv2.minMaxLoc(shade)[1]
    shade = shade.astype(np.float32)
    if top > 0:
        shade /= top
    return shade


def lattice_pieces(cuts, min_width, max_width):
    """Index pairs ``(i, j)`` of cuts whose gap is an acceptable character width.

    Examples
    --------
    >>> lattice_pieces([0, 5, 9, 20], 3, 11)
    [(0, 1), (0, 2), (1, 2), (2, 3)]
    """
    out = []
    for i in range(len(cuts)):
        for j in range(i + 1, len(cuts)):
            w = cuts[j] - cuts[i]
            if w > max_width:
                break
            if w >= min_width:
                out.append((i, j))
    return out


def best_path(n_cuts, pieces, scores, lengths, start_cost=None, end_cost=None):
    """The sequence of adjacent pieces with the best total score, for a length in *lengths*.

    Parameters
    ----------
    n_cuts : int
    pieces : list of (i, j)
        Allowed pieces between cut *i* and cut *j*.
    scores : (len(pieces),) or (len(pieces), L) ndarray
        Score of each piece; with two dimensions, the score of the piece as
        the k-th character (forced alignment to a known label).
    lengths : sequence of int
        Allowed numbers of pieces.
    start_cost, end_cost : (n_cuts,) ndarray, optional
        Cost of starting (ending) at each cut, e.g. for skipped ink; default:
        only the first (last) cut.

    Returns
    -------
    list of int
        Indices into *pieces*, left to right; empty when no path exists.

    Examples
    --------
    >>> best_path(3, [(0, 1), (1, 2), (0, 2)], np.array([-1.0, -1.0, -0.5]), [1])
    [2]
    >>> best_path(3, [(0, 1), (1, 2), (0, 2)], np.array([-1.0, -1.0, -0.5]), [2])
    [0, 1]
    """
    scores = np.asarray(scores, np.float64)
    L = max(lengths)
    if start_cost is None:
        start_cost = np.full(n_cuts, np.inf)
        start_cost[0] = 0.0
    if end_cost is None:
        end_cost = np.full(n_cuts, np.inf)
        end_cost[-1] = 0.0
    # best[k][c]: best score of k pieces ending at cut c. Python floats and lists: the same IEEE doubles as
    # numpy's, and 3x faster than numpy's scalars one at a time. Each row only reads the one before, so the
    # pieces go in their own order (for a tie the first piece wins, as it would going by end cut)
    sc = scores.tolist()
    two = scores.ndim == 2
    best = [[-math.inf] * n_cuts for _ in range(L + 1)]
    back = [[-1] * n_cuts for _ in range(L + 1)]
    best[0] = (-np.asarray(start_cost, np.float64)).tolist()
    for k in range(1, L + 1):
        prev, cur, bk = best[k - 1], best[k], back[k]
        for p, (i, j) in enumerate(pieces):
            v = prev[i] + (sc[p][k - 1] if two else sc[p])
            if v > cur[j]:
                cur[j], bk[j] = v, p
    ends = np.asarray(end_cost, np.float64).tolist()
    cand = [(best[k][c] - ends[c], k, c) for k in lengths for c in range(n_cuts)
            if math.isfinite(best[k][c] - ends[c])]
    if not cand:
        return []
    _, k, c = max(cand)
    path = []
    while k > 0:
        p = back[k][c]
        path.append(p)
        c = pieces[p][0]
        k -= 1
    return path[::-1]


def skip_costs(binary, cuts, weight=10.0, most=0.15):
    """Costs of starting or ending the path at each cut: the share of ink left outside, weighted.

    Cuts that would leave out more than *most* of the ink are not allowed.
    """
    prof = np.asarray(binary, bool).sum(axis=0).astype(np.float64)
    total = max(prof.sum(), 1.0)
    cum = np.concatenate([[0.0], np.cumsum(prof)])
    before = cum[np.asarray(cuts, dtype=np.intp)] / total
    after = 1.0 - before
    start = np.where(before <= most, weight * before, np.inf)
    end = np.where(after <= most, weight * after, np.inf)
    return start, end
