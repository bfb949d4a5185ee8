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

from captchakit._errors import CaptchakitError
from captchakit.preprocess._stages import label_components, remove_straight_lines

#: Ink pixels differ from the local background by more than this (Lab distance),
#: or by 1.5 times what the border's own pixels vary, whichever is larger.
MIN_INK_DISTANCE = 12.0

#: :func:`ink_color_spread` from which the ink counts as many-coloured and the front-end search
#: tries colour clusters (measured medians: 0 on grey schemes, 11-14 for one ink colour with its
#: anti-aliased edges, 32-70 for characters and lines of several colours).
COLOR_SPREAD = 25.0


def _lab(image):
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] < 3 or image.dtype != np.uint8 or image.size == 0:
        raise CaptchakitError(f"image must be an (H, W, 3) uint8 array, got {image.dtype} {image.shape}")
    return cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_RGB2LAB).astype(np.float32)


def local_background(lab):
    """Each column's background colour, ``(W, C)``: the median of its top and bottom tenth.

    A slowly varying background (tiles of different colours, gradients)
    is followed column by column; a 5-column median smooths it.
    """
    lab = np.asarray(lab, np.float32)
    k = max(1, lab.shape[0] // 10)
    edge = np.concatenate([lab[:k], lab[-k:]], axis=0)
    return ndi.median_filter(np.median(edge, axis=0), size=(5, 1), mode="nearest")


def _ink_pixels(lab):
    """Pixels whose colour differs from their column's background by more than the border's own noise."""
    d = np.sqrt(((lab - local_background(lab)[None]) ** 2).sum(axis=2))
    k = max(1, lab.shape[0] // 10)
    border = np.concatenate([d[:k], d[-k:]]).ravel()
    return d > max(MIN_INK_DISTANCE, 1.5 * float(np.percentile(border, 90)))


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
    pixels on average, 8 clusters, 2-core AMD EPYC beside a CNN run,
    2026-11-23, three repeats): 7-8 ms per image here, 10.5-12.5 ms with
    ``KMeans(8, n_init=1, max_iter=15)``; the front-end search runs it on every
    training image of each fold.

    Examples
    --------
    >>> x = np.array([[0, 0], [0, 1], [10, 10], [10, 11]], float)
    >>> lab, c = kmeans(x, 2)
    >>> bool(lab[0] == lab[1] != lab[2] == lab[3])
    True
    """
    x = np.asarray(x, np.float32)
    rng = np.random.default_rng(seed)
    cols = [x[:, i:i + 1] for i in range(x.shape[1])]

    def sq_dist(c):  # (n, len(c)) squared distances, channel by channel, summed in the order .sum(axis=-1) sums
        d = (cols[0] - c[:, 0]) ** 2
        for i in range(1, len(cols)):
            d += (cols[i] - c[:, i]) ** 2
        return d

    centres = [x[rng.integers(len(x))]]
    d = sq_dist(centres[0][None])[:, 0]
    for _ in range(1, k):
        if d.sum() <= 0:
            break
        centres.append(x[rng.choice(len(x), p=d / d.sum())])
        d = np.minimum(d, sq_dist(centres[-1][None])[:, 0])
    c = np.array(centres)
    labels = np.zeros(len(x), int)
    for _ in range(n_iter):
        labels = np.argmin(sq_dist(c), axis=1)
        # each cluster's mean: its rows summed in order in float32 (as ``x[labels == j].mean(axis=0)``)
        total = np.zeros_like(c)
        np.add.at(total, labels, x)
        count = np.bincount(labels, minlength=len(c))
        new = np.where(count[:, None] > 0, total / np.maximum(count, 1)[:, None].astype(np.float32), c)
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


def _components(mask):
    """Per 8-connected component of *mask*: area, length (major axis) and mean thickness."""
    n, comp, _ = label_components(mask)
    n -= 1  # label 0 is the paper
    if n == 0:
        z = np.zeros(0)
        return comp, z, z, z
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
    lam = (sxx + syy) / 2 + np.sqrt(((sxx - syy) / 2) ** 2 + sxy ** 2)
    length = np.sqrt(12 * lam) + 1  # a bar of length L has variance L^2 / 12 along it
    return comp, area, length, area / length


def _shaped_components(labels):
    """Per cluster: its component map and, per component, area, thickness and whether it is a line or a dot."""
    labels = np.asarray(labels)
    h = labels.shape[0]
    per = []
    biggest = 1.0
    for j in range(int(labels.max()) + 1):
        comp, area, length, thick = _components(labels == j)
        line = (length >= 0.8 * h) & (thick <= np.maximum(2.5, length / 10))
        per.append([comp, area, thick, line])
        if (~line).any():
            biggest = max(biggest, float(area[~line].max()))
    for item in per:
        area, line = item[1], item[3]
        item.append(~line & (area < 0.15 * biggest))
    return per


def cluster_shapes(labels):
    """Shape statistics of each colour cluster of :func:`color_clusters`.

    Returns
    -------
    list of dict
        Per cluster: ``pixels``; ``line_share`` (of its pixels, those in
        long thin components: longer than 0.8 of the image height and
        thinner than a tenth of their length or 2.5 px, i.e. lines);
        ``dot_share`` (those in components under 15% of the image's largest
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


def _shape_stats(per):
    out = []
    for _, area, thick, line, dot in per:
        n = float(area.sum())
        ch = ~line & ~dot
        nc = float(area[ch].sum())
        out.append({"pixels": int(n), "line_share": round(float(area[line].sum() / n), 4) if n else 0.0,
                    "dot_share": round(float(area[dot].sum() / n), 4) if n else 0.0,
                    "char_pixels": int(nc), "thickness": float((area[ch] * thick[ch]).sum() / nc) if nc else 0.0})
    return out


def keep_clusters(shapes, min_relative_thickness=0.5):
    """Which clusters hold characters: any components that are neither lines nor dots, with strokes not
    much thinner than the bulk of such ink (thinner ones are anti-aliased fringes).

    Examples
    --------
    >>> keep_clusters([{"char_pixels": 200, "thickness": 4.0}, {"char_pixels": 0, "thickness": 0.0},
    ...                {"char_pixels": 60, "thickness": 1.2}])
    [True, False, False]
    """
    kept = [s for s in shapes if s["char_pixels"] > 0]
    ref = 0.0
    if kept:
        # the reference is the thickness of the ink's bulk (pixel-weighted median), not of its thickest blob
        order = sorted(kept, key=lambda s: s["thickness"])
        cum = np.cumsum([s["char_pixels"] for s in order])
        ref = order[int(np.searchsorted(cum, cum[-1] / 2))]["thickness"]
    return [s["char_pixels"] > 0 and s["thickness"] >= min_relative_thickness * ref for s in shapes]


def cluster_ink(image, n_colors=8, seed=0):
    """The character-shaped ink of the colour clusters, as a grey image: ink 0, the rest 255.

    Feeds the rest of the chain like any other ink channel
    (``Preprocessor(channel="clusters")``).  Of the clusters that hold
    characters, the components that are neither lines nor dots are kept.  A
    line of a character's own colour that crosses it makes one long
    component with it: the straight line is taken off that component and
    what is left comes back where it is character-shaped.  When no cluster
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
    per = _shaped_components(labels)
    keep = keep_clusters(_shape_stats(per))
    if not any(keep):
        return np.where(labels >= 0, 0, 255).astype(np.uint8)
    ink = np.zeros(labels.shape, bool)
    for ok, (comp, _, _, line, dot) in zip(keep, per):
        if ok:
            # the cluster's character-shaped components: its lines and dots stay out
            good = np.concatenate([[False], ~line & ~dot])
            ink |= good[comp]
    ink |= _crossed_characters(per)
    return np.where(ink, 0, 255).astype(np.uint8)


def _crossed_characters(per):
    """What is left of the line components once their straight line is taken off, where it is character-shaped.

    A line of a character's own colour crossing it makes one long component
    with it, which would go as a line (with the character).
    :func:`~captchakit.preprocess.remove_straight_lines` takes the line off
    (strokes crossing it stay); of what is left, components that are neither
    lines nor dots (under 15% of the largest character-like component) come back.
    """
    lines = [(comp, np.flatnonzero(line) + 1) for comp, _, _, line, _ in per if line.any()]
    if not lines:
        return False
    thin = min(float(thick[line].min()) for _, _, thick, line, _ in per if line.any())
    biggest = max([float(area[~line].max()) for _, area, _, line, _ in per if (~line).any()] or [1.0])
    h = per[0][0].shape[0]
    out = np.zeros(per[0][0].shape, bool)
    for comp, ids in lines:
        rest = remove_straight_lines(np.isin(comp, ids), max(2, int(np.ceil(thin))), max_lines=1)
        sub, area, length, thick = _components(rest)
        good = (area >= 0.15 * biggest) & ~((length >= 0.8 * h) & (thick <= np.maximum(2.5, length / 10)))
        out |= np.concatenate([[False], good])[sub]
    return out
