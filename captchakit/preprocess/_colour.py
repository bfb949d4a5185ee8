"""Colour-aware separation of the ink: cluster the ink's colours, keep the clusters shaped like characters.

Pure functions over arrays.  Where characters are drawn in several colours
among lines or dots of other colours, no single grey channel separates them:
luminance keeps dark lines and loses pale characters, saturation keeps
coloured lines.  :func:`color_clusters` groups the pixels that differ from
the background by colour (k-means in Lab, seeded), :func:`cluster_shapes`
describes each group by its shapes, and :func:`cluster_ink` keeps the groups
that look like characters: no hard-coded colour, only shape statistics
(long thin components are lines, small ones are dots, much thinner strokes
than the others are anti-aliased fringes).
"""

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage import measure

from captchakit._errors import CaptchakitError
from captchakit.preprocess._stages import label_components, remove_straight_lines

#: Ink pixels differ from the local background by more than this (Lab distance),
#: or by 1.5 times what the border's own pixels vary, whichever is larger.
MIN_INK_DISTANCE = 12.0

#: :func:`ink_color_spread` from which the ink counts as many-coloured and the front-end search
#: tries colour clusters (measured medians: 0 on grey schemes, 11-14 for one ink colour with its
#: anti-aliased edges, 32-70 for characters and lines of several colours).
COLOR_SPREAD = 25.0

#: A line component whose pixels vary across it by at most a bar's ``t^2 / 12`` (t its thickness) and this
#: (pixels squared) is a bare straight bar: no character on it is looked for. On 1,000 colour-lines images,
#: the 84 line components that gave a character back exceeded the bar by 2.7 or more (median 26), 94% of
#: the 1,612 others by at most 0.25; the images read the same but five, which lost a line's leftovers.
BAR_SLACK = 0.25

#: A piece of a line, cut short by the characters it crosses, is a straight bar at most this many times as thick
#: as the image's lines, and at least ``PIECE_LENGTH`` times as long as thick.  In a cluster that holds
#: characters (a line of a character's colour) it is no character: colour-lines SVM 61.5 -> 65.8% (seed 0),
#: 58.5 -> 62.8% (seed 1); only the lines' own thickness (1.0) read 60.5%.
PIECE_THICKNESS = 1.2
PIECE_LENGTH = 3.0

#: A straight bar no thicker than this share of the characters' strokes (the bulk's thickness, area over length)
#: is a piece of a line too, where the image's lines measure thinner than they are: a diagonal line loses its
#: anti-aliased edge to other clusters (1.0-1.3 px for 2-px lines) and a horizontal piece of one keeps its 2 px.
#: With the fragments below: colour-lines SVM 70.0 -> 75.8% (with a fixed 3-px reach 0.5: 74.0%, 0.6 and 0.7: 75.0%);
#: alone 67.2 -> 67.5%.
BAR_SHARE = 0.6

#: A dot-sized component of a character cluster within the lines' thickness and this many pixels of a character
#: component of its own cluster is a piece of that character that a line of another colour cut off (a stem's top
#: above the line), not a dot.  colour-lines SVM 67.2 -> 70.0% alone (seed 0; a reach of 2 px: 68.8%, 4 px: 70.2%).
#: So is a line piece there (a "1"'s stem below the line is a straight bar): 75.8 -> 79.0%, seed 1 75.5 -> 80.8%.
FRAGMENT_REACH = 1

#: Where the straight-line removal finds no line over 0.4 of the width in a line of a character's own colour
#: (with the character), it looks again for one over this share of the image height (a line component is 0.8 of
#: the height long): the characters that such short lines took away come back.  colour-lines SVM, seeds 0-3:
#: 79.0, 80.8, 76.8, 75.8% -> 80.0, 79.5, 79.5, 76.5%; per character better on all four (92.1, 92.7, 90.9, 90.2% ->
#: 92.8, 92.8, 92.4, 91.0%).
SHORT_LINE = 0.4

#: The kept characters grow by up to this many pixels into the ink beside them that is not in a line component:
#: k-means often puts a character's anti-aliased edge, or one shade of it, in a cluster of its own, which is then
#: kept with no character (fringes) or lost with a line.  colour-lines SVM 83.5 -> 89.0% (seed 0), 84.0 -> 87.5%
#: (seed 1); one pixel read 86.0 and 87.8%, three 88.5 and 88.5%.
EDGE_GROWTH = 2

#: A component under this share of the largest one that is no line is a dot (a speck, or a piece of something).
DOT_SHARE = 0.15


def _lab(image):
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] < 3 or image.dtype != np.uint8 or image.size == 0:
        raise CaptchakitError(f"image must be an (H, W, 3) uint8 array, got {image.dtype} {image.shape}")
    return cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_RGB2LAB).astype(np.float32)


#: The colour clusters find ink against each column's background smoothed over this many columns.  A stem that
#: runs into the bottom (or top) tenth, a descender, fills half of its columns' edge pixels and moved their median
#: off the paper, so that the paper above it counted as ink: 32 of colour-lines' 400 test images had such columns
#: (runs of 4, a stem's width, that the 5-column median left), and their paper became a "character" cluster of bars.
#: Over 9 columns none had (colour-lines SVM 66.5 -> 67.2%, seed 1 64.5 -> 64.2%, KNN 62.7% unchanged).
INK_BACKGROUND_COLUMNS = 9


def local_background(lab, size=5):
    """Each column's background colour, ``(W, C)``: the median of its top and bottom tenth.

    A slowly varying background (tiles of different colours, gradients)
    is followed column by column; a median over *size* columns smooths it.

    Examples
    --------
    >>> lab = np.zeros((20, 30, 3), np.float32); lab[:, 15:] = 100  # two tiles
    >>> local_background(lab)[[0, 14, 15, 29], 0].tolist()
    [0.0, 0.0, 100.0, 100.0]
    """
    lab = np.asarray(lab, np.float32)
    k = max(1, lab.shape[0] // 10)
    edge = np.concatenate([lab[:k], lab[-k:]], axis=0)
    return ndi.median_filter(np.median(edge, axis=0), size=(int(size), 1), mode="nearest")


def _ink_pixels(lab):
    """Pixels whose colour differs from their column's background by more than the border's own noise.

    Examples
    --------
    A stem that runs into the bottom tenth leaves the paper above it paper:

    >>> im = np.full((50, 60, 3), (250, 250, 245), np.uint8); im[15:50, 20:24] = (40, 30, 180)
    >>> ink = _ink_pixels(_lab(im))
    >>> bool(ink[30, 21]), bool(ink[:15, 20:24].any())
    (True, False)
    """
    diff = lab - local_background(lab, INK_BACKGROUND_COLUMNS)[None]
    d = diff[:, :, 0] ** 2  # summed channel by channel, as .sum(axis=2) sums them
    for i in range(1, diff.shape[2]):
        d += diff[:, :, i] ** 2
    d = np.sqrt(d)
    return d > max(MIN_INK_DISTANCE, 1.5 * _border_noise(d))


def _border_noise(d):
    """How far the paper's own pixels stray from their background (*d*, per pixel): the 90th percentile in each
    quarter of the border (the top and bottom tenths, left and right halves), the second smallest of the four, so
    that a line or a character running through one or two quarters does not count as the paper's noise.

    Examples
    --------
    >>> d = np.zeros((50, 140)); d[2:4, 10:130] = 150  # a line along the top
    >>> _border_noise(d)
    0.0
    """
    k, half = max(1, d.shape[0] // 10), max(1, d.shape[1] // 2)
    quarters = (d[:k, :half], d[:k, half:], d[-k:, :half], d[-k:, half:])
    return sorted(_percentile(q.ravel(), 90) if q.size else 0.0 for q in quarters)[1]


def _percentile(a, q):
    """``np.percentile(a, q)`` (linear interpolation) of a 1-D array, by partition (a tenth of its time)."""
    at = q / 100 * (len(a) - 1)
    lo = int(np.floor(at))
    hi = min(lo + 1, len(a) - 1)
    part = np.partition(a, [lo, hi])
    low, high, t = float(part[lo]), float(part[hi]), at - lo
    return high - (high - low) * (1 - t) if t >= 0.5 else low + (high - low) * t


def kmeans(x, k, seed=0, n_iter=15):
    """Seeded k-means (k-means++ start, Lloyd iterations) of the rows of *x*.

    Returns ``(labels, centres)``; fewer than *k* centres when *x* has fewer
    distinct rows.

    Notes
    -----
    Written here rather than taken from :class:`sklearn.cluster.KMeans`
    (``n_init=1``, the same seeded k-means++ start) for speed: it runs once per
    image, on a few hundred to a few thousand pixels, where scikit-learn's
    per-call overhead dominates. Measured on 199 colour-lines images (900 ink
    pixels on average, 8 clusters, 2-core AMD EPYC, one core, 2026-11-24,
    three repeats): 0.50-0.51 ms per image here, 1.57-1.67 ms with
    ``KMeans(8, n_init=1, max_iter=15)``; it runs on every image read and on
    every training image of each fold of the front-end search.

    Examples
    --------
    >>> x = np.array([[0, 0], [0, 1], [10, 10], [10, 11]], float)
    >>> lab, c = kmeans(x, 2)
    >>> bool(lab[0] == lab[1] != lab[2] == lab[3])
    True
    """
    x = np.asarray(x, np.float32)
    rng = np.random.default_rng(seed)
    rows = [np.ascontiguousarray(x[:, i]) for i in range(x.shape[1])]

    def sq_dist(c):  # (len(c), n) squared distances, channel by channel, summed in the order .sum(axis=-1) sums
        d = (rows[0] - c[:, 0:1]) ** 2
        for i in range(1, len(rows)):
            d += (rows[i] - c[:, i:i + 1]) ** 2
        return d

    centres = [x[rng.integers(len(x))]]
    d = sq_dist(centres[0][None])[0]
    for _ in range(1, k):
        if d.sum() <= 0:
            break
        # rng.choice(len(x), p=d / d.sum()), the same draw without its checks
        cdf = np.cumsum(d / d.sum(), dtype=np.float64)
        centres.append(x[int(np.searchsorted(cdf / cdf[-1], rng.random(), side="right"))])
        d = np.minimum(d, sq_dist(centres[-1][None])[0])
    c = np.array(centres)
    labels = np.zeros(len(x), int)
    for _ in range(n_iter):
        labels = np.argmin(sq_dist(c), axis=0)  # along the short axis: the first nearest centre, as along the other
        # each cluster's mean (summed in float64, channel by channel)
        count = np.bincount(labels, minlength=len(c))
        total = np.stack([np.bincount(labels, r, len(c)) for r in rows], axis=1)
        new = np.where(count[:, None] > 0, (total / np.maximum(count, 1)[:, None]).astype(np.float32), c)
        if np.all(np.abs(new - c) <= 0.5 + 1e-05 * np.abs(c)):  # np.allclose(new, c, atol=0.5)
            break
        c = new
    return labels, c


def color_clusters(image, n_colors=8, seed=0):
    """Group the ink pixels by colour.

    Parameters
    ----------
    image : (M, N, 3) uint8 ndarray
    n_colors : int
        Number of colour clusters of the ink.
    seed : int
        Seed of the k-means start.

    Returns
    -------
    labels : (M, N) int ndarray
        The cluster of each ink pixel, -1 on the background.
    centres : (K, 3) float ndarray
        The clusters' mean colours in Lab (OpenCV's 0-255 scaling).

    Examples
    --------
    >>> im = np.full((20, 40, 3), 250, np.uint8); im[5:15, 5:15] = (200, 0, 0); im[5:15, 25:35] = (0, 0, 200)
    >>> labels, centres = color_clusters(im, 2)
    >>> sorted(np.unique(labels).tolist()), bool(labels[10, 10] != labels[10, 30])
    ([-1, 0, 1], True)
    """
    if int(n_colors) < 1:
        raise CaptchakitError(f"n_colors must be >= 1, got {n_colors!r}")
    lab = _lab(image)
    ink = _ink_pixels(lab)
    labels = np.full(ink.shape, -1, int)
    if not ink.any():
        return labels, np.zeros((0, 3), np.float32)
    lbl, centres = kmeans(lab[ink], int(n_colors), seed)
    labels[ink] = lbl
    return labels, centres


def ink_color_spread(image):
    """How many-coloured the ink is: the spread (standard deviation, Lab a/b) of its pixels' hues.

    About 0-5 for ink of one colour (grey, or python-captcha's one colour per
    image), 20 and more for characters and lines of several colours.

    Examples
    --------
    >>> im = np.full((20, 40, 3), 250, np.uint8); im[5:15, 5:15] = 0; im[5:15, 25:35] = 0
    >>> ink_color_spread(im)
    0.0
    >>> im[5:15, 5:15] = (200, 0, 0); im[5:15, 25:35] = (0, 0, 200)
    >>> ink_color_spread(im) > 20
    True
    """
    lab = _lab(image)
    ink = _ink_pixels(lab)
    if ink.sum() < 2:
        return 0.0
    ab = lab[ink][:, 1:]
    return round(float(np.sqrt(ab.var(axis=0).sum())), 2)


def _stats(comp, n):
    """Per component 1..*n* of the label map *comp*: area, length (major axis), mean thickness (area over
    length) and the variance of its pixels across the major axis."""
    if n == 0:
        z = np.zeros(0)
        return z, z, z, z
    flat = np.flatnonzero(comp)
    ys, xs = np.divmod(flat, comp.shape[1])
    c = comp.ravel()[flat].astype(np.intp)
    area = np.bincount(c, minlength=n + 1)[1:].astype(float)
    mx = np.bincount(c, xs, n + 1)[1:] / area
    my = np.bincount(c, ys, n + 1)[1:] / area
    dx, dy = xs - mx[c - 1], ys - my[c - 1]
    sxx = np.bincount(c, dx * dx, n + 1)[1:] / area
    syy = np.bincount(c, dy * dy, n + 1)[1:] / area
    sxy = np.bincount(c, dx * dy, n + 1)[1:] / area
    root = np.sqrt(((sxx - syy) / 2) ** 2 + sxy ** 2)
    lam = (sxx + syy) / 2 + root
    length = np.sqrt(12 * lam) + 1  # a bar of length L has variance L^2 / 12 along it
    return area, length, area / length, np.maximum((sxx + syy) / 2 - root, 0.0)


def _on_pixels(flags, comp):
    """Per-component *flags* (components 1..n) painted on the label map *comp*: a per-pixel mask, False on 0.

    Examples
    --------
    >>> _on_pixels(np.array([True, False]), np.array([[0, 1, 2]])).tolist()
    [[False, True, False]]
    """
    return np.concatenate([[False], flags])[comp]


def _straight_bar(thick, across):
    """Components whose pixels vary across them no more than a straight bar of their thickness (``t^2 / 12``)
    and ``BAR_SLACK``: nothing sticks out of them."""
    return across <= thick ** 2 / 12 + BAR_SLACK


def _is_line(length, thick, h):
    """Long thin components: longer than 0.8 of the image height, thinner than a tenth of their length or 2.5 px."""
    return (length >= 0.8 * h) & (thick <= np.maximum(2.5, length / 10))


def _shaped_components(labels):
    """Every colour cluster's components, labelled in one map, and per component its shape.

    Returns a dict: ``comp`` (the map, 0 on the paper; components numbered
    in raster order of their first pixel, so each cluster's in the order
    its own labelling gives), per component ``cluster``, ``area``,
    ``length``, ``thick``, ``across`` (see :func:`_stats`), ``line`` and
    ``dot``; ``biggest`` (the largest component's area that is no line, 1
    where there is none); ``n_clusters`` and ``labels`` (the cluster map
    itself).  One labelling of
    the cluster map (8-connected regions of one cluster) replaces one per
    cluster.
    """
    labels = np.asarray(labels)
    comp = measure.label(labels + 1, background=0, connectivity=2)
    n = int(comp.max())
    area, length, thick, across = _stats(comp, n)
    cluster = np.zeros(n, int)
    flat = np.flatnonzero(comp)
    cluster[comp.ravel()[flat] - 1] = labels.ravel()[flat]
    line = _is_line(length, thick, labels.shape[0])
    biggest = max(1.0, float(area[~line].max())) if (~line).any() else 1.0
    return {"comp": comp, "cluster": cluster, "area": area, "length": length, "thick": thick, "across": across,
            "line": line, "dot": ~line & (area < DOT_SHARE * biggest), "biggest": biggest,
            "n_clusters": int(labels.max()) + 1, "labels": labels}


def cluster_shapes(labels):
    """Shape statistics of each colour cluster of :func:`color_clusters`.

    Returns
    -------
    list of dict
        Per cluster: ``pixels``; ``line_share`` (of its pixels, those in
        long thin components: longer than 0.8 of the image height and
        thinner than a tenth of their length or 2.5 px, i.e. lines);
        ``dot_share`` (those in components under ``DOT_SHARE`` of the image's largest
        non-line component: dots and specks); ``char_pixels`` and
        ``thickness`` (the pixels of its other components, and their
        area-weighted mean thickness, area over length).

    Examples
    --------
    >>> lab = np.full((30, 80), -1); lab[5:25, 10:16] = 0; lab[5:25, 30:36] = 0; lab[14, :] = 1
    >>> s = cluster_shapes(lab)
    >>> s[0]["line_share"], s[1]["line_share"], s[0]["char_pixels"], s[1]["char_pixels"]
    (0.0, 1.0, 228, 0)
    """
    return _shape_stats(_shaped_components(labels))


def _shape_stats(sh):
    k, cluster, area = sh["n_clusters"], sh["cluster"], sh["area"]
    line, dot = sh["line"], sh["dot"]
    ch = ~line & ~dot
    n = np.bincount(cluster, area, k)
    n_line, n_dot = np.bincount(cluster, area * line, k), np.bincount(cluster, area * dot, k)
    nc = np.bincount(cluster, area * ch, k)
    thick = np.bincount(cluster, area * sh["thick"] * ch, k)
    out = []
    for j in range(k):
        out.append({"pixels": int(n[j]), "line_share": round(float(n_line[j] / n[j]), 4) if n[j] else 0.0,
                    "dot_share": round(float(n_dot[j] / n[j]), 4) if n[j] else 0.0,
                    "char_pixels": int(nc[j]), "thickness": float(thick[j] / nc[j]) if nc[j] else 0.0})
    return out


#: A cluster holds characters when its character-shaped components are at least this share as thick (area over
#: length) as the bulk of such ink; thinner ones are anti-aliased fringes (about 1 px against 4-8).  A character that a
#: line of another colour cuts in two, or a thin one ("1", "r", "7"), measures 2-3: at 0.5 its cluster went with the
#: fringes (colour-lines SVM 65.8 -> 66.5%, seed 1 62.7 -> 64.5%, KNN 60.2 -> 62.7% at 0.4; 0.35 read 65.5%, 0.3 65.0%).
MIN_RELATIVE_THICKNESS = 0.4


def keep_clusters(shapes, min_relative_thickness=MIN_RELATIVE_THICKNESS):
    """Which clusters hold characters: any components that are neither lines nor dots, with strokes not
    much thinner than the bulk of such ink (thinner ones are anti-aliased fringes).

    Examples
    --------
    >>> keep_clusters([{"char_pixels": 200, "thickness": 4.0}, {"char_pixels": 0, "thickness": 0.0},
    ...                {"char_pixels": 60, "thickness": 1.2}, {"char_pixels": 50, "thickness": 1.8}])
    [True, False, False, True]
    """
    ref = _bulk_thickness(shapes)
    return [s["char_pixels"] > 0 and s["thickness"] >= min_relative_thickness * ref for s in shapes]


def _bulk_thickness(shapes):
    """The thickness of the character-shaped ink's bulk: the pixel-weighted median of the clusters' thicknesses
    (not that of the thickest blob); 0 when there is none."""
    kept = [s for s in shapes if s["char_pixels"] > 0]
    if not kept:
        return 0.0
    order = sorted(kept, key=lambda s: s["thickness"])
    cum = np.cumsum([s["char_pixels"] for s in order])
    return float(order[int(np.searchsorted(cum, cum[-1] / 2))]["thickness"])


def cluster_ink(image, n_colors=8, seed=0):
    """The character-shaped ink of the colour clusters, as a grey image: ink 0, the rest 255.

    Feeds the rest of the chain like any other ink channel
    (``Preprocessor(channel="clusters")``).  Of the clusters that hold
    characters, the components that are neither lines nor dots are kept.  A
    line of a character's own colour that crosses it makes one long
    component with it: the straight line is taken off that component and
    what is left comes back where it is character-shaped (a line component
    no wider across than a straight bar of its thickness has nothing on it
    and goes as it is).  Pieces of a line that characters cut short are no
    characters either: straight bars as thin as the image's lines
    (:func:`_line_pieces`).  What lines of other colours cut off a
    character comes back: pieces beside a character of their colour
    (:func:`_fragments`), and pieces that together are as large as a
    character where no whole component of it is left
    (:func:`_pieced_characters`).  The characters then grow by up to
    ``EDGE_GROWTH`` pixels into the ink beside them that is no line (their
    edges and shades that k-means put in other clusters).  When no cluster
    looks like characters, every ink pixel is kept.

    Examples
    --------
    >>> im = np.full((30, 80, 3), 250, np.uint8)
    >>> im[5:25, 10:16] = (200, 30, 30); im[5:25, 30:36] = (30, 30, 200)  # two characters
    >>> im[14, :] = (30, 160, 30)  # a green line across
    >>> g = cluster_ink(im, 3)
    >>> int(g[10, 12]), int(g[14, 60])
    (0, 255)
    """
    labels, _ = color_clusters(image, n_colors, seed)
    if labels.max() < 0:
        return np.full(labels.shape, 255, np.uint8)
    sh = _shaped_components(labels)
    shapes = _shape_stats(sh)
    keep = keep_clusters(shapes)
    if not any(keep):
        return np.where(labels >= 0, 0, 255).astype(np.uint8)
    # the kept clusters' character-shaped components: their lines and dots stay out
    in_kept = np.asarray(keep)[sh["cluster"]]
    good = in_kept & ~sh["line"] & ~sh["dot"]
    line_thick = float(sh["thick"][sh["line"]].max()) if sh["line"].any() else 0.0
    # pieces of a line that characters crossed and cut short: straight bars as thin as the lines, or much
    # thinner than the characters' strokes
    pieces = good & _line_pieces(sh["length"], sh["thick"], sh["across"], line_thick, _bulk_thickness(shapes))
    good &= ~pieces
    # what lines cut off a character: pieces of lines and dots of the character clusters, within the lines'
    # thickness and a pixel (2-px lines where there are none) of a character of their colour, or of each other
    loose = pieces | (in_kept & sh["dot"])
    reach = int(np.ceil(line_thick or 2.0)) + FRAGMENT_REACH
    good |= _fragments(sh, good, loose, reach)
    good |= _pieced_characters(sh, loose & ~good, reach)
    ink = _on_pixels(good, sh["comp"])
    ink |= _crossed_characters(sh)
    # the characters' own edges and shades that k-means put in other clusters: ink beside them, outside the lines
    free = (labels >= 0) & ~ink & ~_on_pixels(sh["line"], sh["comp"])
    ink = _grow(ink, free, EDGE_GROWTH)
    return np.where(ink, 0, 255).astype(np.uint8)


def _grow(mask, free, steps):
    """*mask* grown *steps* times by one pixel (8-neighbours) into the pixels of *free*.

    Examples
    --------
    >>> m = np.zeros((1, 8), bool); m[0, 0] = True
    >>> free = np.ones((1, 8), bool); free[0, 4] = False
    >>> _grow(m, free, 2).astype(int).tolist(), _grow(m, free, 9).astype(int).tolist()
    ([[1, 1, 1, 0, 0, 0, 0, 0]], [[1, 1, 1, 1, 0, 0, 0, 0]])
    """
    kernel = np.ones((3, 3), np.uint8)
    out = mask.copy()
    for _ in range(int(steps)):
        out |= free & cv2.dilate(out.astype(np.uint8), kernel).astype(bool)
    return out


def _line_pieces(length, thick, across, line_thick, stroke=0.0):
    """Which components are pieces of lines: straight bars (:func:`_straight_bar`) at least ``PIECE_LENGTH``
    times as long as thick, and no thicker than ``PIECE_THICKNESS`` times the image's lines (*line_thick*, 0
    where it has none) or ``BAR_SHARE`` times the characters' strokes (*stroke*), whichever is more.

    Examples
    --------
    >>> _line_pieces(np.array([20.0, 20.0, 20.0]), np.array([2.0, 4.0, 2.0]), np.array([0.4, 1.4, 3.0]), 2.0)
    array([ True, False, False])
    >>> _line_pieces(np.array([36.0, 20.0]), np.array([2.0, 4.0]), np.array([0.3, 1.4]), 1.2, stroke=4.4)
    array([ True, False])
    """
    most = np.maximum(PIECE_THICKNESS * line_thick, BAR_SHARE * stroke)
    return _straight_bar(thick, across) & (thick <= most) & (length >= PIECE_LENGTH * thick)


def _fragments(sh, good, candidates, reach):
    """Which of the *candidates* (dot-sized components of the character clusters, pieces of lines) are pieces
    of a character that a line cut off: those within *reach* pixels (the lines' thickness and
    ``FRAGMENT_REACH``) of a *good* (character) component of their own cluster.

    A piece of a line of a character's colour is cut off by the other characters it crosses, away from its
    own; a straight piece beside a character of its colour is a stroke of it (the stem of a "1" below a line).

    Examples
    --------
    >>> lab = np.full((30, 60), -1); lab[4:26, 10:15] = 0; lab[14:16, :] = 1; lab[16:26, 30:35] = 0
    >>> lab[12:14, 31:34] = 0  # a stem's top, cut off by the line of another colour
    >>> lab[2:4, 50:52] = 0  # a dot of the characters' colour, away from them
    >>> sh = _shaped_components(lab)
    >>> good = ~sh["line"] & ~sh["dot"] & (sh["cluster"] == 0)
    >>> int(sh["dot"].sum()), _fragments(sh, good, sh["dot"], 3).nonzero()[0].tolist()
    (2, [2])
    """
    frag = np.asarray(candidates, bool)
    out = np.zeros(len(frag), bool)
    if not frag.any() or not good.any():
        return out
    comp = sh["comp"]
    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    good_map = _on_pixels(good, comp)
    frag_map = _on_pixels(frag, comp)
    for j in np.unique(sh["cluster"][frag]):
        in_j = sh["labels"] == j
        near = cv2.dilate((good_map & in_j).astype(np.uint8), kernel).astype(bool)
        hit = np.unique(comp[near & frag_map & in_j])
        out[hit - 1] = True
    return out


def _groups(mask, reach):
    """Label *mask*'s pixels by groups: each piece grown by *reach* pixels (a square), pieces that then touch are
    one group (gaps of up to twice *reach* are bridged).

    Returns ``(labels, n)``: the group of each pixel of *mask* (1..n), 0 elsewhere.

    Examples
    --------
    >>> m = np.zeros((5, 12), bool); m[1:4, 1:3] = True; m[1:4, 5:7] = True; m[1:4, 10:12] = True  # gaps 2 and 3
    >>> g, n = _groups(m, 1)
    >>> n, int(g[2, 1]) == int(g[2, 5]) != int(g[2, 10])
    (2, True)
    """
    kernel = np.ones((2 * int(reach) + 1,) * 2, np.uint8)
    n, labels, _ = label_components(cv2.dilate(mask.astype(np.uint8), kernel) > 0)
    return np.where(mask, labels, 0), n - 1


def _pieced_characters(sh, candidates, reach):
    """Which of the *candidates* together make a character that lines of other colours cut into pieces: groups of
    them, of one cluster, that :func:`_groups` joins (each grown by *reach* pixels), as large as a character
    (``DOT_SHARE`` of the largest character-like component) and shaped like no line nor piece of one."""
    cand = np.asarray(candidates, bool)
    out = np.zeros(len(cand), bool)
    if not cand.any():
        return out
    comp, area, h, biggest = sh["comp"], sh["area"], sh["comp"].shape[0], sh["biggest"]
    cand_map = _on_pixels(cand, comp)
    # only a cluster whose candidates add up to a character's size can have a group that does
    total = np.bincount(sh["cluster"][cand], area[cand], sh["n_clusters"])
    for j in np.flatnonzero(total >= DOT_SHARE * biggest):
        mine = cand_map & (sh["labels"] == j)
        groups, n = _groups(mine, reach)
        g_area, g_len, g_thick, g_across = _stats(groups, n)
        ok = ((g_area >= DOT_SHARE * biggest) & ~_is_line(g_len, g_thick, h)
              & ~_line_pieces(g_len, g_thick, g_across, np.inf))
        hit = np.unique(comp[_on_pixels(ok, groups)])
        out[hit[hit > 0] - 1] = True
    return out


def _crossed_characters(sh):
    """What is left of the line components once their straight line is taken off, where it is character-shaped.

    A line of a character's own colour crossing it makes one long component
    with it, which would go as a line (with the character).
    :func:`~captchakit.preprocess.remove_straight_lines` takes the line off
    each cluster's lines (strokes crossing it stay; where no line runs over
    0.4 of the width, one over ``SHORT_LINE`` of the height is looked for);
    of what is left, components that are neither lines nor dots (under
    ``DOT_SHARE`` of the largest character-like component) come back.
    """
    comp, line = sh["comp"], sh["line"]
    if not line.any():
        return False
    thin = float(sh["thick"][line].min())
    biggest = sh["biggest"]
    h, w = comp.shape
    line_cluster = np.concatenate([[-1], np.where(line, sh["cluster"], -1)])[comp]
    thickness = max(2, int(np.ceil(thin)))
    out = np.zeros(comp.shape, bool)
    # a line that is a bare straight bar has nothing of a character on it
    for j in np.unique(sh["cluster"][line & ~_straight_bar(sh["thick"], sh["across"])]):
        own = line_cluster == j
        rest = remove_straight_lines(own, thickness, max_lines=1)
        if np.array_equal(rest, own) and h < w:
            # no line over 0.4 of the width: a line need only be 0.8 of the height long
            rest = remove_straight_lines(own, thickness, min_length=SHORT_LINE * h / w, max_lines=1)
        # pieces that the line's removal cut apart are measured together
        sub, n = _groups(rest, thickness + FRAGMENT_REACH)
        area_, length, thick, _ = _stats(sub, n)
        good = (area_ >= DOT_SHARE * biggest) & ~_is_line(length, thick, h)
        out |= _on_pixels(good, sub)
    return out
