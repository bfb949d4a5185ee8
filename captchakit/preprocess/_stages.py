"""Pure preprocessing stages: arrays in, new arrays out, no I/O.

Binary images are ``bool`` arrays with the ink ``True``, whatever the colour
of the original background.
"""

import bisect
import functools
import math

import cv2
import numpy as np
from scipy import ndimage as ndi

from captchakit._errors import CaptchakitError


def _check_2d(image, name="image"):
    image = np.asarray(image)
    if image.ndim != 2:
        raise CaptchakitError(f"{name} must be a 2-D array, got shape {image.shape}")
    if image.size == 0:
        raise CaptchakitError(f"{name} is empty")
    return image


def _check_size(size, name):
    if not isinstance(size, (int, np.integer)) or size < 0 or (size > 0 and size % 2 == 0):
        raise CaptchakitError(f"{name} must be 0 (off) or an odd size >= 1, got {size!r}")
    return int(size)


def to_gray(image):
    """Convert an RGB (or already grey) image to ``(H, W)`` uint8.

    Examples
    --------
    >>> to_gray(np.zeros((2, 3, 3), np.uint8)).shape
    (2, 3)
    """
    image = np.asarray(image)
    if image.ndim == 2:
        gray = image
    elif image.ndim == 3 and image.shape[2] in (3, 4):
        gray = cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_RGB2GRAY)
    elif image.ndim == 3 and image.shape[2] == 1:
        gray = image[:, :, 0]
    else:
        raise CaptchakitError(f"image must be (H, W) or (H, W, 3), got shape {image.shape}")
    if gray.size == 0:
        raise CaptchakitError("image is empty")
    if gray.dtype == bool:
        return np.where(gray, 0, 255).astype(np.uint8)
    if gray.dtype != np.uint8:
        if gray.dtype.kind == "f":
            return np.clip(gray * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.clip(gray, 0, 255).astype(np.uint8)
    return gray.copy()


def enlarge(image, factor=2):
    """Enlarge an image *factor* times with bicubic interpolation (1: an unchanged copy).

    On small captchas (strokes of 1-3 px) the threshold, line removal and
    the character crops lose detail that an enlarged image keeps: python-captcha
    digits at half size (80x30) read 86.4% whole-string with the SVM, and
    94.6% when the front-end search enlarged them twice.

    Examples
    --------
    >>> im = np.zeros((3, 5, 3), np.uint8)
    >>> enlarge(im, 2).shape, enlarge(im, 1).shape
    ((6, 10, 3), (3, 5, 3))
    >>> enlarge(np.zeros((4, 4), bool), 2).dtype
    dtype('bool')
    """
    image = np.asarray(image)
    if not isinstance(factor, (int, np.integer)) or isinstance(factor, bool) or not 1 <= factor <= 4:
        raise CaptchakitError(f"the enlargement factor must be an integer within 1-4, got {factor!r}")
    if image.ndim not in (2, 3) or image.size == 0:
        raise CaptchakitError(f"image must be a non-empty (H, W) or (H, W, C) array, got shape {image.shape}")
    if factor == 1:
        return image.copy()
    if image.dtype == bool:
        return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)
    src = np.ascontiguousarray(image if image.dtype in (np.uint8, np.uint16, np.float32) else image.astype(np.float32))
    return cv2.resize(src, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)


def flatten_paper(gray, size):
    """Even out the paper of a grey image (ink dark): each pixel's darkness below the paper around it.

    The paper is the morphological closing with a disc of *size* px, which
    fills every stroke thinner than the disc; the result is ``255 - (paper -
    gray)``, so paper that darkens across the image (a gradient, uneven
    light) turns white and one threshold fits the whole image.

    Examples
    --------
    >>> g = np.tile(np.linspace(250, 150, 40).astype(np.uint8), (20, 1)); g[5:15, 30:33] -= 100
    >>> f = flatten_paper(g, 9)
    >>> int(f[0, 0]), int(f[0, 39]), int(f[10, 31])  # both ends of the paper white, the stroke dark
    (255, 255, 160)
    """
    gray = _check_2d(gray, "gray")
    if not isinstance(size, (int, np.integer)) or size < 3 or size % 2 == 0:
        raise CaptchakitError(f"the flattening size must be an odd number >= 3, got {size!r}")
    g = np.ascontiguousarray(gray, dtype=np.uint8)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (int(size),) * 2)
    # padded with the edge pixels (paper darkening towards an edge is paper up to the edge); morphologyEx's own
    # borderType leaves the last columns of a ramp too light
    k = int(size)
    padded = cv2.copyMakeBorder(g, k, k, k, k, cv2.BORDER_REPLICATE)
    paper = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, disc)[k:-k, k:-k]
    return (255 - (paper - g)).astype(np.uint8)  # closing >= the image: no wrap-around


def light_ink(gray):
    """Whether the ink is lighter than the paper.

    Each pixel is compared with the paper around it: each column's median,
    then a running median over half the columns (strokes are a minority of
    their column and of their neighbourhood; a steady change of the paper
    is followed exactly). The twentieth of the pixels that differ most
    decide by the sign of their summed difference: the ink differs most.
    A background that darkens across the image, or a frame, does not fool
    it (comparing the whole image's median with its mean did: on
    python-captcha images darkened by 40% from left to right it voted
    light for half of them).

    Examples
    --------
    >>> g = np.full((10, 20), 30, np.uint8); g[3:7, 5:9] = 250
    >>> bool(light_ink(g)), bool(light_ink(255 - g))
    (True, False)
    >>> paper = 140 + 110 * np.linspace(0, 1, 60) ** 3  # darker paper, lighter towards the right
    >>> g = paper[None].repeat(30, axis=0); g[10:20, 20:23] -= 100  # one dark stroke
    >>> bool(light_ink(g.astype(np.uint8))), bool(np.median(g) < g.mean())  # the median/mean rule: light
    (False, True)
    """
    g = np.asarray(gray, np.float32)
    paper = ndi.median_filter(np.median(g, axis=0), size=max(5, g.shape[1] // 2), mode="nearest")
    d = g - paper[None]
    far = np.abs(d) >= np.percentile(np.abs(d), 95)
    return bool(d[far].sum() > 0)


def dark_ink(gray):
    """Return *gray* with the ink dark and the background light: inverted when :func:`light_ink`.

    Examples
    --------
    >>> g = np.full((30, 60), 30, np.uint8); g[10:20, 20:40] = 220  # light ink on dark paper
    >>> int(dark_ink(g)[15, 30]), int(dark_ink(g)[0, 0])
    (35, 225)
    >>> g[[0, -1]] = 255; g[:, [0, -1]] = 255  # the same inside a light frame
    >>> int(dark_ink(g)[15, 30])
    35
    """
    gray = _check_2d(gray, "gray")
    return 255 - gray if light_ink(gray) else gray


#: The methods of :func:`binarize` (and ``Preprocessor(threshold=...)``).
THRESHOLDS = ("otsu", "multiotsu", "triangle", "adaptive", "fixed")
#: With ``binarize(..., speck_area=A)``: the share of the first Otsu pass's ink that specks must reach
#: for the threshold to be found again without them (python-captcha's pale texts: 37-80%; every other
#: image of the shared sets and python-captcha: at most 13%).
SPECK_SHARE = 0.25
#: ``binarize(..., "triangle")`` keeps as ink only what lies this many of the paper's noise spreads below its level
#: (:func:`paper_foot`; 8 spreads, about 5 standard deviations of a Gaussian noise): the triangle's foot of the
#: paper's peak is one grey level off flat paper, but inside a noisy one. svg-captcha served as JPEG (quality 75,
#: the paper's pixels 0-20 levels off it) lost the pale-ink candidate to the blocks' noise: it read 0.0% by the
#: search's proxy (every image one blob), and the SVM, with no flags, read 63.00% instead of the PNGs' 87.75%.
#: With the foot 5, 8 and 12 spreads down: 77.75%, 79.75% and 76.00% (2026-12-07, the 2-core AMD EPYC with
#: AVX-512, the benchmark's split). Flat paper (every PNG generator's) reads as before.
PAPER_SPREADS = 8


def paper_foot(gray, spreads=None):
    """The grey level where the paper's noise ends: ink must be darker than this (``gray`` with dark ink).

    The paper is the side of Otsu's threshold that holds the light pixels;
    its level is their median and its noise their median distance from it
    (about two thirds of a Gaussian noise's standard deviation). The foot
    lies *spreads* of those below the paper's level (default
    :data:`PAPER_SPREADS`). Flat paper has no noise, and its foot is its own
    level: every level off it may be ink.

    Examples
    --------
    >>> g = np.full((20, 20), 255, np.uint8); g[5:15, 5:15] = 100
    >>> paper_foot(g)
    255.0
    >>> g[::2, ::3] = 250  # the paper's pixels 0 or 5 levels off: the median distance is 0
    >>> paper_foot(g)
    255.0
    >>> g[::2, :] = 250; g[5:15, 5:15] = 100  # half of them 5 levels darker: the level 252.5, 2.5 off
    >>> paper_foot(g)  # 8 x 2.5 below
    232.5
    """
    spreads = PAPER_SPREADS if spreads is None else spreads
    t, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    paper = gray[gray > t]
    if not paper.size:
        return 255.0
    level = float(np.median(paper))
    spread = float(np.median(np.abs(paper.astype(np.float32) - level)))
    return level - spreads * spread


def binarize(gray, method="otsu", threshold=128, block_size=15, offset=10, adaptive="gaussian",
             polarity="auto", speck_area=0):
    """Threshold a grey image; the ink is ``True``.

    Parameters
    ----------
    gray : (M, N) uint8 ndarray
    method : {"otsu", "multiotsu", "triangle", "adaptive", "fixed"}
        ``multiotsu``: Otsu's threshold for three classes (scikit-image's
        ``threshold_multiotsu``, :func:`multiotsu_threshold`), the darkest kept as ink: strokes darker than
        thin lines and dots drawn in the same colour but paler once
        anti-aliased or smoothed (django-simple-captcha's arcs); an image with
        fewer than three grey levels falls back to ``otsu``. ``triangle``:
        Zack's triangle threshold (OpenCV's ``THRESH_TRIANGLE``), at the foot
        of the paper's peak, so that every level clearly off the paper is
        ink: glyphs with pale faces and a little dark shading (svg-captcha),
        which Otsu's threshold, set between the pale and the dark ink, cuts
        into thin fragments. On noisy paper (a JPEG's blocks and ringing)
        the foot is taken no nearer the paper than its noise allows
        (:func:`paper_foot`).
    threshold : int
        Grey level for ``fixed`` (ink is darker than this, after the
        background has been made light).
    block_size : int
        Odd neighbourhood size for ``adaptive``.
    offset : float
        For ``adaptive``: how much darker than its neighbourhood a pixel must
        be to count as ink.
    adaptive : {"gaussian", "mean"}
        Neighbourhood weighting for ``adaptive``.
    polarity : {"auto", "dark"}
        ``dark``: the ink is already the dark side; ``auto``: flip the image
        first when its ink is the lighter side (:func:`dark_ink`).
    speck_area : int
        For ``otsu``, when above 1: if specks (ink components smaller than
        this many pixels) make up a quarter or more of the ink found, the
        threshold fell among dark noise dots and missed paler characters
        (python-captcha draws about one text in a hundred pale grey among
        dark dots); it is found again with those specks painted as paper.
        Elsewhere specks are a few percent of the ink and nothing changes.

    Returns
    -------
    (M, N) bool ndarray

    Examples
    --------
    >>> g = np.full((4, 4), 250, np.uint8); g[1:3, 1:3] = 10
    >>> int(binarize(g).sum())
    4
    >>> int(binarize(255 - g).sum())  # light ink on a dark background
    4
    >>> g = np.full((6, 6), 250, np.uint8); g[2:4, 2:4] = 10
    >>> g[0, :] = 150  # a pale line: ink for Otsu's two classes, paper for the darkest of three
    >>> int(binarize(g).sum()), int(binarize(g, "multiotsu").sum())
    (10, 4)
    >>> g = np.full((20, 20), 250, np.uint8); g[5:15, 5:15] = 235; g[5:15, 14] = 40  # a pale face, a dark rim
    >>> int(binarize(g).sum()), int(binarize(g, "triangle").sum())
    (10, 100)
    """
    gray = to_gray(gray)
    if polarity == "auto":
        gray = dark_ink(gray)
    if method in ("otsu", "multiotsu", "triangle") and gray.min() == gray.max():
        return np.zeros(gray.shape, bool)  # one grey level: no ink for a global threshold to find
    if method == "triangle":
        t, _ = cv2.threshold(255 - gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_TRIANGLE)
        return gray < min(255 - t, paper_foot(gray))
    if method == "multiotsu":
        t = multiotsu_threshold(gray)
        if t is not None:
            return gray <= t
        method = "otsu"  # fewer than three grey levels
    if method == "otsu":
        t, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        if speck_area > 1:
            first = gray <= t
            labels, small, area = _specks(first, speck_area)
            speck_ink = int(area[small].sum())  # the specks' pixels, counted from the components' areas
            if speck_ink >= SPECK_SHARE * first.sum() and speck_ink < first.size:
                specks = small[labels]
                gray = gray.copy()
                gray[specks] = int(np.median(gray[~first])) if (~first).any() else 255
                if gray.min() < gray.max():
                    t, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        return gray <= t
    if method == "fixed":
        if not 0 <= threshold <= 255:
            raise CaptchakitError(f"threshold must be within 0-255, got {threshold}")
        return gray < threshold
    if method == "adaptive":
        if block_size < 3 or block_size % 2 == 0:
            raise CaptchakitError(f"block_size must be an odd number >= 3, got {block_size}")
        kinds = {"gaussian": cv2.ADAPTIVE_THRESH_GAUSSIAN_C, "mean": cv2.ADAPTIVE_THRESH_MEAN_C}
        if adaptive not in kinds:
            raise CaptchakitError(f"adaptive must be one of {sorted(kinds)}, got {adaptive!r}")
        out = cv2.adaptiveThreshold(gray, 255, kinds[adaptive], cv2.THRESH_BINARY_INV,
                                    int(block_size), float(offset))
        return out > 0
    raise CaptchakitError(f"threshold method must be one of {', '.join(THRESHOLDS)}; got {method!r}")


@functools.cache
def _below_diagonal():
    """A read-only (256, 256) bool array, True where the column is below the row (``j < i``)."""
    out = np.tri(256, 256, -1, dtype=bool)
    out.flags.writeable = False
    return out


def multiotsu_threshold(gray):
    """The lower of the two thresholds of Otsu's method for three classes, as scikit-image finds it.

    The same split (``gray <= t``) as ``skimage.filters.threshold_multiotsu(gray,
    classes=3)[0]`` for a uint8 image: its lookup table of between-class
    variances, in float32, and its search over every pair of thresholds,
    whose first highest sum wins. Only the image's own grey levels are
    weighed: a threshold at a level no pixel has splits the image as the
    level below it does. (Where float32 rounding puts scikit-image's
    highest sum at such a level, it returns that level and this function
    the one below: 106 of 5,400 test images, the same split in each.) One
    image costs about 0.2 ms instead of 0.39 (the lattice's readers
    threshold every image).
    ``None`` when the image has fewer than three grey levels.

    Examples
    --------
    >>> g = np.full((6, 6), 250, np.uint8); g[2:4, 2:4] = 10; g[0, :] = 150
    >>> int(multiotsu_threshold(g))
    10
    """
    gray = np.asarray(gray)
    lo = int(gray.min())
    count = np.bincount((gray.ravel() - lo).astype(np.intp, copy=False))
    levels = np.flatnonzero(count)
    if len(levels) < 3:
        return None
    if len(levels) == 3:
        return lo + int(levels[0])
    n = len(count)
    prob = (count / gray.size).astype(np.float32)
    zeroth = np.cumsum(prob, dtype=np.float32)
    first = prob * np.arange(n, dtype=np.float32)
    first[0] = prob[0]  # as scikit-image has it
    first = np.cumsum(first, dtype=np.float32)
    # the lower threshold runs over 0 and the occupied levels up to n - 3, the upper one up to n - 2
    cand = np.concatenate(([0], levels[levels > 0]))
    t0, t1 = cand[cand <= n - 3], cand[(cand >= 1) & (cand <= n - 2)]
    zero = np.float32(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p, m = zeroth[t0], first[t0]
        low = np.where(p > 0, m * m / p, zero)
        low[t0 == 0] = 0  # the class below level 0 alone is never weighed
        p, m = zeroth[n - 1] - zeroth[t1], first[n - 1] - first[t1]
        high = np.where(p > 0, m * m / p, zero)
        # the middle class of every pair, in place: where t1 > t0 its mass is positive (t1 is an occupied
        # level); the other pairs, whose values may be inf or nan here, are masked below. In place, with the
        # masses' buffer reused for the sums and a fixed mask: 0.28 -> 0.19 ms on django-simple-captcha's
        # 212 levels an image, the same numbers
        mid = first[t1][None, :] - first[t0][:, None]
        mid *= mid
        mass = zeroth[t1][None, :] - zeroth[t0][:, None]
        mid /= mass
    sigma = np.add(low[:, None], high[None, :], out=mass)
    sigma += mid
    # t0 is cand's head and t1 its tail after the 0 (t0[i] = cand[i], t1[j] = cand[j + 1], cand rising), so the
    # pairs with t1 <= t0 are those below the diagonal: a fixed mask, not one compared for each image
    np.copyto(sigma, -1, where=_below_diagonal()[:len(t0), :len(t1)])
    k = int(np.argmax(sigma))
    if not sigma.flat[k] > 0:
        from skimage.filters import threshold_multiotsu

        return threshold_multiotsu(gray, classes=3)[0]
    return lo + int(t0[k // len(t1)])


def _as_u8(image):
    image = _check_2d(image)
    if image.dtype == bool:
        return image.astype(np.uint8) * 255, True
    return np.ascontiguousarray(image, dtype=np.uint8), False


def median_filter(image, size=3):
    """Median filter of an odd *size*; grey in, grey out; binary in, binary out.

    Examples
    --------
    >>> b = np.zeros((5, 5), bool); b[2, 2] = True
    >>> bool(median_filter(b, 3).any())
    False
    """
    size = _check_size(size, "median size")
    if size <= 1:
        return np.array(image, copy=True)
    u8, was_bool = _as_u8(image)
    out = cv2.medianBlur(u8, size)
    return out > 127 if was_bool else out


def mean_filter(image, size=3):
    """Average (box) filter of an odd *size*.

    On a binary image the average is thresholded at one half.

    Examples
    --------
    >>> g = np.zeros((3, 3), np.uint8); g[1, 1] = 90
    >>> int(mean_filter(g, 3)[1, 1])
    10
    """
    size = _check_size(size, "mean size")
    if size <= 1:
        return np.array(image, copy=True)
    u8, was_bool = _as_u8(image)
    out = cv2.blur(u8, (size, size), borderType=cv2.BORDER_REPLICATE)
    return out > 127 if was_bool else out


def label_components(binary, connectivity=8):
    """Connected ink components: ``(n, labels, stats)`` as :func:`cv2.connectedComponentsWithStats` gives them.

    Label 0 is the paper. The labels come as 16-bit integers whenever they
    cannot overflow (any image up to about 510 x 510 pixels): OpenCV labels
    and measures those 2.5 times as fast (0.09 against 0.24 ms for a
    120 x 320 image, one thread), with the same labels and statistics.

    Examples
    --------
    >>> b = np.zeros((5, 9), bool); b[1:4, 1:3] = True; b[2, 5:8] = True
    >>> n, labels, stats = label_components(b)
    >>> n, [int(a) for a in stats[1:, cv2.CC_STAT_AREA]], int(labels[2, 6])
    (3, [6, 3], 2)
    """
    b = _check_2d(binary, "binary")
    u8 = np.ascontiguousarray(b if b.dtype == bool else b != 0).view(np.uint8)
    h, w = b.shape
    # at most one component per 2 x 2 block (8-connected) or per other pixel (4-connected), plus the paper
    most = ((h + 1) // 2) * ((w + 1) // 2) if connectivity == 8 else (h * w + 1) // 2
    ltype = cv2.CV_16U if most < 2 ** 16 - 1 else cv2.CV_32S
    n, labels, stats, _ = cv2.connectedComponentsWithStats(u8, connectivity=connectivity, ltype=ltype)
    return n, labels, stats


def remove_specks(binary, min_area=10, connectivity=8):
    """Remove ink components smaller than *min_area* pixels.

    Examples
    --------
    >>> b = np.zeros((6, 6), bool); b[0, 0] = True; b[2:5, 2:5] = True
    >>> int(remove_specks(b, min_area=4).sum())
    9
    """
    binary = _check_2d(binary, "binary").astype(bool)
    if min_area <= 1:
        return binary.copy()
    labels, small, _ = _specks(binary, min_area, connectivity)
    if not small.any():  # no specks: no pass over the labels
        return binary.copy()
    return binary & ~small[labels]


def _specks(binary, min_area, connectivity=8):
    """The component labels of *binary*, which components are specks (under *min_area* pixels; never
    label 0, the paper) and every component's area."""
    _, labels, stats = label_components(binary, connectivity)
    area = stats[:, cv2.CC_STAT_AREA]
    small = area < min_area
    small[0] = False
    return labels, small, area


def clear_border(binary, width, value=False):
    """Clear *width* pixels along the four edges (a frame drawn around the image).

    Ink is cleared from a binary image (the default); with ``value=255``
    the band of a grey image is painted as paper instead (same dtype).

    Examples
    --------
    >>> b = np.ones((6, 8), bool)
    >>> int(clear_border(b, 1).sum())
    24
    >>> int(clear_border(np.zeros((6, 8), np.uint8), 1, value=255).sum() // 255)
    24
    """
    b = _check_2d(binary, "binary")
    b = b.astype(bool, copy=True) if isinstance(value, bool) else b.copy()
    w = int(width)
    if w > 0:
        b[:w], b[-w:], b[:, :w], b[:, -w:] = value, value, value, value
    return b


def remove_lines(binary, thickness=2):
    """Remove thin, mostly horizontal lines drawn across the text.

    A pixel is kept only where it lies on a vertical run of ink longer than
    *thickness* (a morphological opening with a vertical bar), so strokes
    thicker than the line survive and the line itself goes.  Short steep
    pieces of the line that survive become specks for :func:`remove_specks`.

    Examples
    --------
    >>> b = np.zeros((9, 9), bool); b[4, :] = True; b[1:8, 2:5] = True
    >>> out = remove_lines(b, thickness=2)
    >>> bool(out[4, 8]), bool(out[4, 3])
    (False, True)
    """
    binary = _check_2d(binary, "binary").astype(bool)
    if thickness < 1:
        return binary.copy()
    kernel = np.ones((int(thickness) + 1, 1), np.uint8)
    opened = cv2.morphologyEx(binary.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    return opened > 0


#: find_straight_line's defaults, which remove_straight_lines uses too
MAX_TILT, MAX_CANDIDATES = 45, 8


def find_straight_line(binary, min_length=0.4, max_tilt=MAX_TILT, max_gap=2, max_candidates=MAX_CANDIDATES):
    """The strongest long straight line through the ink, as ``(rho, theta)``, or ``None``.

    A Hough transform (:func:`cv2.HoughLines`) over the ink pixels: a line
    counts when its ink runs without a gap over at least ``min_length``
    times the image width, and it is within *max_tilt* degrees of
    horizontal (the lines captchas draw across their text; characters' own
    strokes are short).

    Parameters
    ----------
    binary : (M, N) bool ndarray
    min_length : float
        The line's unbroken run of ink (and its Hough votes), as a share of
        the image width.
    max_tilt : float
        Largest angle from the horizontal, in degrees.
    max_gap : int
        The ink along the line must run over ``min_length`` of the width
        with no gap wider than this (pixels): a drawn line is continuous,
        a row through the text meets strokes with gaps between them.
    max_candidates : int
        How many of the strongest Hough lines are checked.

    Returns
    -------
    (rho, theta) or None
        The line ``x cos(theta) + y sin(theta) = rho`` (pixels, radians).

    Examples
    --------
    >>> b = np.zeros((30, 80), bool); b[14:16, 2:78] = True; b[5:25, 20:23] = True
    >>> rho, theta = find_straight_line(b)
    >>> 14 <= rho <= 16, bool(88 <= np.degrees(theta) <= 92)
    (True, True)
    >>> b[14:16] = False  # only the upright stroke is left
    >>> find_straight_line(b) is None
    True
    """
    b = _check_2d(binary, "binary").astype(bool)
    return _first_continuous(b, _hough_candidates(b, min_length, max_tilt), min_length, max_gap, max_candidates)


def _votes_needed(min_length, w):
    """A line's Hough votes and unbroken run of ink: *min_length* of the width *w*, at least 8 pixels."""
    return max(8, int(min_length * w))


def _hough_candidates(b, min_length, max_tilt):
    """The Hough lines ``(rho, theta)`` within *max_tilt* of horizontal with ``min_length`` of the width in votes,
    strongest first (an (K, 2) array, maybe empty)."""
    need = _votes_needed(min_length, b.shape[1])
    tilt = np.radians(float(max_tilt))
    lines = cv2.HoughLines(b.astype(np.uint8), 1, np.pi / 180, threshold=need,
                           min_theta=np.pi / 2 - tilt, max_theta=np.pi / 2 + tilt)
    return np.zeros((0, 2), np.float32) if lines is None else lines[:, 0]


def _first_continuous(b, candidates, min_length, max_gap, max_candidates):
    """The first of *candidates* (at most *max_candidates* checked) whose ink runs over ``min_length`` of the width."""
    h, w = b.shape
    need = _votes_needed(min_length, w)
    if not len(candidates):
        return None
    # a drawn line is continuous; a row through the middle of the text meets strokes with gaps between.
    # Ink within one row of a line: each row ORed with its neighbours, on two rows of paper either side
    # (so that a line's rows off the image find paper there)
    pad = np.zeros((h + 4, w), bool)
    pad[2:-2] = b
    near = pad.copy()
    near[1:-1] |= pad[:-2]
    near[1:-1] |= pad[2:]
    cand = candidates[:max_candidates]
    rows = _line_rows(cand[:, :1], cand[:, 1:], w)  # (K, w): each candidate's row per column, all at once
    ys = np.clip(np.rint(rows).astype(int) + 2, 0, h + 3)
    ok = np.flatnonzero(_longest_runs(near[ys, np.arange(w)], max_gap) >= need)
    return (float(cand[ok[0], 0]), float(cand[ok[0], 1])) if ok.size else None


def _line_rows(rho, theta, w):
    """The row (float) of the line ``x cos(theta) + y sin(theta) = rho`` in each of *w* columns."""
    xs = np.arange(w)
    return (rho - xs * np.cos(theta)) / np.sin(theta)


def _ink_along(b, rows, reach):
    """Rows within *reach* of a line through *rows* (one per column; nearest first), and whether each holds ink."""
    h, w = b.shape
    offs = np.arange(-reach, reach + 1)
    offs = offs[np.argsort(np.abs(offs), kind="stable")]
    xs = np.arange(w)
    ys = np.rint(rows).astype(int)[None, :] + offs[:, None]
    inside = (ys >= 0) & (ys < h)
    ink = np.zeros(ys.shape, bool)
    ink[inside] = b[ys[inside], np.broadcast_to(xs, ys.shape)[inside]]
    return ink, ys


def _longest_runs(flags, max_gap):
    """Per row of a 2-D *flags*: the length of its longest stretch with no gap of more than *max_gap* False
    values (0 for a row with no flag), for every row in one pass over the whole array."""
    k, w = flags.shape
    idx = np.flatnonzero(flags)
    out = np.zeros(k, int)
    if not idx.size:
        return out
    row, col = np.divmod(idx, w)
    # a stretch starts at a row's first flag or after a gap of more than max_gap
    # (filled in place and joined by np.concatenate rather than np.r_, whose index parsing cost more than the work
    # on a few hundred flags)
    new = np.empty(idx.size, bool)
    new[0] = True
    new[1:] = (np.diff(row) != 0) | (np.diff(col) > max_gap + 1)
    start = np.flatnonzero(new)
    end = np.concatenate((start[1:], [idx.size])) - 1
    np.maximum.at(out, row[start], col[end] - col[start] + 1)
    return out


class _Runs:
    """The vertical ink runs of a binary image: where the run through an ink pixel starts and ends.

    The columns are laid end to end with a paper pixel between them, so one
    difference of the flattened image finds every run's start and end;
    a run is then looked up by bisection. (Per-pixel arrays of the run above
    and below each pixel, two cumulative maxima over the image, cost four
    times as much on a 120 x 320 image.)
    """

    def __init__(self, b):
        h, w = b.shape
        self.stride = h + 2
        cols = np.zeros((w, self.stride), np.int8)
        cols[:, 1:-1] = b.T
        d = np.diff(cols.ravel())
        self.starts = np.flatnonzero(d == 1) + 1
        self.ends = np.flatnonzero(d == -1) + 1
        self._lists = None

    def extent(self, ys, xs):
        """``(top, bottom)`` rows (bottom exclusive) of the runs through the ink pixels ``(ys, xs)`` (arrays)."""
        base = np.asarray(xs) * self.stride + 1
        k = np.searchsorted(self.starts, base + ys, side="right") - 1
        return self.starts[k] - base, self.ends[k] - base

    def nearest(self, x, lo, hi, y):
        """The ink row of column *x* within rows ``lo:hi`` nearest to *y* (the upper one of two as near), and the
        ``(top, bottom)`` of its run, as Python ints; None when that stretch holds no ink.

        A column-by-column walk asks one column at a time: the few runs that
        meet the stretch are found by bisection, without a numpy call.
        """
        if hi <= lo:
            return None
        if self._lists is None:
            self._lists = self.starts.tolist(), self.ends.tolist()
        starts, ends = self._lists
        base = x * self.stride + 1
        off = lo - y  # the distance of row r is |(r - lo) + (lo - y)|, as numpy would compute it over the stretch
        f = math.floor(y)
        best = None
        k = bisect.bisect_right(ends, base + lo)  # the first run ending below row lo
        while k < len(starts) and starts[k] < base + hi:
            top, bottom = starts[k] - base, ends[k] - base
            a, z = max(top, lo), min(bottom, hi) - 1
            for r in (a, f, f + 1, z):  # the nearest row of a run is an end or a neighbour of y
                if a <= r <= z:
                    d = abs((r - lo) + off)
                    if best is None or d < best[0] or (d == best[0] and r < best[1]):
                        best = (d, r, top, bottom)
            k += 1
        return None if best is None else best[1:]


def _thin_ink(b, longest):
    """The ink on vertical runs of at most *longest* pixels (an opening with a taller bar keeps the rest)."""
    bar = np.ones((longest + 1, 1), np.uint8)
    tall = cv2.morphologyEx(np.ascontiguousarray(b).view(np.uint8), cv2.MORPH_OPEN, bar,
                            borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return b & (tall == 0)


def _follow_curve(thin, rows, reach):
    """Bend a straight line's *rows* into the quadratic that the *thin* ink along it follows.

    The pixels of *thin* (ink on thin vertical runs) near the line are fitted
    by least squares, and the fit is repeated on those near the fitted curve
    in ever narrower bands, so that it follows a line that a warp has bent
    (claptcha draws its line straight, then warps the whole image) while
    strokes that cross it, being tall, take no part. A fit that too few
    columns support, or that leaves the pixels it was fitted to further than
    *reach* (the median), leaves the line as it was.
    """
    w = thin.shape[1]
    found = cv2.findNonZero(np.ascontiguousarray(thin).view(np.uint8))  # (x, y) pairs in row order, as np.nonzero
    if found is None:
        return rows
    tx, ty = found.reshape(-1, 2).T
    u = np.arange(w) / w - 0.5  # centred columns keep the normal equations well conditioned
    powers = np.stack([u ** 2, u, np.ones(w)])
    curve = rows
    for band in (3 * reach, 2 * reach, reach):
        near = np.abs(ty - curve[tx]) <= band
        if np.count_nonzero(np.bincount(tx[near], minlength=w)) < 0.3 * w:
            break
        a = powers[:, tx[near]]
        coef = _solve3(a @ a.T, a @ ty[near])
        if coef is None or _median(np.abs(coef @ a - ty[near])) > reach:  # not one line's pixels: strokes too
            break
        curve = coef @ powers
    return curve


def _solve3(m, v):
    """The solution of the 3 x 3 system ``m @ x = v`` by Cramer's rule (None when singular): for one small
    system, a fifth of the time that :func:`numpy.linalg.solve` spends on its call."""
    (a, b, c), (d, e, f), (g, h, i) = m.tolist()
    p, q, r = v.tolist()
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    if det == 0:
        return None
    return np.array([p * (e * i - f * h) - b * (q * i - f * r) + c * (q * h - e * r),
                     a * (q * i - f * r) - p * (d * i - f * g) + c * (d * r - q * g),
                     a * (e * r - q * h) - b * (d * r - q * g) + p * (d * h - e * g)]) / det


def _median(x):
    """:func:`numpy.median` of a 1-D array through one partition (its own checks cost more on a few hundred)."""
    n = x.size
    k = n // 2
    if n % 2:
        return float(np.partition(x, k)[k])
    part = np.partition(x, (k - 1, k))
    return (float(part[k - 1]) + float(part[k])) / 2


def _fit_line(pts):
    """Least-squares ``(slope, intercept)`` of the points ``[(x, y, ...)]`` (a few: plain Python is faster)."""
    n = len(pts)
    sx = sy = sxx = sxy = 0
    for p in pts:
        x, y = p[0], p[1]
        sx += x
        sy += y
        sxx += x * x
        sxy += x * y
    den = n * sxx - sx * sx
    slope = (n * sxy - sx * sy) / den if den else 0.0
    return slope, (sy - slope * sx) / n


def _follow(b, runs, pts, step, max_run, reach, max_misses):
    """Track a line column by column from its last points *pts* ``[(x, y, run)]`` in direction *step*.

    Returns the runs taken ``[(x, top, bottom)]``, the last points, and
    whether it stopped inside the image.
    """
    h, w = b.shape
    slope, icpt = _fit_line(pts)
    x = int(pts[-1][0])
    y = slope * x + icpt
    cap = 1.3 * sorted(p[2] for p in pts)[len(pts) // 2]
    taken, misses, blank, limit = [], 0, 0, max_misses
    while misses <= limit and blank <= 3 * reach:
        x += step
        if not 0 <= x < w:
            return taken, pts, False
        y += slope * step
        stretch = math.sqrt(1 + slope * slope)
        span = math.ceil(reach * stretch)
        mid = round(y)
        got = runs.nearest(x, max(0, mid - span), min(h, mid + span + 1), y)
        misses += 1
        if got is None:  # the line ended (or a gap in it)
            blank += 1
            continue
        blank = 0
        y0, top, bottom = got
        if bottom - top > max(math.ceil(max_run * stretch) + 1, cap):
            continue  # hidden in a stroke it crosses
        misses, limit = 0, 8 * reach
        taken.append((x, top, bottom))
        pts = (pts + [(x, (top + bottom - 1) / 2.0, bottom - top)])[-len(pts):]
        cap = 1.3 * sorted(p[2] for p in pts)[len(pts) // 2]
        slope, icpt = _fit_line(pts)
        y = slope * x + icpt
    return taken, pts, True


def _fan(b, x, y, slope, step, length, reach, spread=60):
    """The slope of the straightest ink leaving ``(x, y)`` in direction *step*, or ``None``.

    Rays within *spread* degrees of the line's direction, *length* long, are
    cast from the point; the one mostly on ink (beyond the first *reach*
    pixels, which lie inside the stroke the line was hidden in) wins.
    """
    h, w = b.shape
    base = np.degrees(np.arctan(slope))
    t = np.radians(np.arange(max(-75.0, base - spread), min(75.0, base + spread) + 1, 5.0))[:, None]
    d = np.arange(reach, length + 1, dtype=float)[None, :]
    cx = np.rint(x + step * d * np.cos(t)).astype(int)
    cy = np.rint(y + d * np.sin(t)).astype(int)
    ok = (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h)
    score = np.where(ok, b[np.clip(cy, 0, h - 1), np.clip(cx, 0, w - 1)], False).sum(axis=1)
    score[ok.sum(axis=1) < 0.7 * d.size] = 0
    best = int(np.argmax(score))
    return float(np.tan(t[best, 0])) if score[best] > 0.7 * d.size else None


def _core(found, rows, reach):
    """The runs (columns, tops, bottoms) within the longest stretch where the curve *rows* runs through the line.

    The stretch is the longest chain of runs centred on the curve with gaps
    of at most 8 *reach*. Beyond it the curve strays from the line (its ends)
    and the nearest ink may be a character's stroke: the line is followed on
    from the stretch's ends instead.
    """
    cols, top, bottom = found
    on = np.flatnonzero(np.abs((top + bottom - 1) / 2.0 - rows[cols]) <= reach / 2.0)
    if not on.size:  # none centred on it (not once in claptcha's 300 test images): all of them, as before
        return found
    xs = cols[on]
    chains = np.split(xs, np.flatnonzero(np.diff(xs) > 8 * reach) + 1)
    best = max(chains, key=lambda c: c[-1] - c[0])
    keep = (cols >= best[0]) & (cols <= best[-1])
    return cols[keep], top[keep], bottom[keep]


def _track_ends(b, runs, found, max_run, reach, window=8):
    """Follow a line's ink past both ends of the stretch already found, column by column.

    *found* holds the line's runs as arrays (columns ascending, tops,
    bottoms); from each end the line goes on in the direction of its last
    *window* runs, taking in each column the ink run nearest the predicted
    row when it is no taller than the line there (*max_run*, widened by the
    slope, or 1.3 times the runs seen so far); a taller run (a stroke the
    line crosses) is stepped over, and more than 8 *reach* columns without
    the line, or 3 *reach* without ink, end it. Where it ends inside the
    image, the line may have bent there (claptcha's warp bends its line's
    ends sharply, often under a character): the straightest ink leaving that
    point (:func:`_fan`) is followed on, once. Returns the further runs
    ``[(column, top, bottom)]``.
    """
    cols, top, bottom = found
    extra = []
    for step in (-1, 1):
        ends = slice(None, window) if step < 0 else slice(-window, None)
        # plain Python numbers (the same doubles): numpy's scalars made each step of the walk in _follow, its line
        # fits and run lookups, several times slower
        pts = [(int(x), (int(t) + int(bt) - 1) / 2.0, int(bt - t))
               for x, t, bt in zip(cols[ends], top[ends], bottom[ends])]
        pts = pts[::-1] if step < 0 else pts
        if len(pts) < 3 or abs(pts[-1][0] - pts[0][0]) < 2:
            continue
        taken, pts, inside = _follow(b, runs, pts, step, max_run, reach, 8 * reach)
        extra += taken
        if not inside:
            continue
        x, y, run = pts[-1]
        slope = _fit_line(pts)[0]
        bent = _fan(b, x, y, slope, step, 10 * reach, reach)
        if bent is None or abs(bent - slope) < 0.1:
            continue
        seed = [(x + step * k, y + bent * k, run) for k in range(3)]
        extra += _follow(b, runs, seed, step, max_run, reach, 10 * reach)[0]
    return extra


def remove_straight_lines(binary, thickness=2, min_length=0.4, max_lines=2, bend=True):
    """Remove long lines drawn across the text, straight or gently bent, as thick as the strokes.

    :func:`remove_lines` only removes lines thinner than the strokes. Here the
    line is found by :func:`find_straight_line` and, with *bend*, bent into
    the quadratic curve that its thin ink follows (lines that the captcha
    warped with its text); along it, in each column, the vertical run of ink
    it passes through is erased only when it is no taller than the line
    itself (*thickness*, widened by the line's slope), so strokes that cross
    the line are kept. Ink that runs along the line (a horizontal bar on it)
    goes with it. With *bend*, the line is then followed column by column
    beyond the stretch where the quadratic runs through it, in the direction
    of its last few columns, and where it bent under a character, out of it
    along the straightest ink that leaves (:func:`_track_ends`).

    Parameters
    ----------
    binary : (M, N) bool ndarray
    thickness : int
        Thickest line removed, in pixels (0 = none).
    min_length : float
        See :func:`find_straight_line`: the straight stretch that finds a
        line. :class:`~captchakit.preprocess.Preprocessor` passes its
        ``straight_length`` (0.25 there; 0.4 here, as the colour clusters'
        own line test uses it).
    max_lines : int
        At most this many lines, strongest first.
    bend : bool
        Follow a line that bends (a quadratic through its thin ink, then
        tracked to its ends), not only the straight line that finds it.

    Examples
    --------
    >>> b = np.zeros((30, 80), bool); b[14:16, 2:78] = True; b[5:25, 20:23] = True
    >>> out = remove_straight_lines(b, thickness=2)
    >>> bool(out[14, 50]), bool(out[14, 21]), int(out[:, 20:23].sum())
    (False, True, 60)

    A bent line, sagging 6 px in the middle, goes whole; the straight line
    alone leaves its ends:

    >>> xs = np.arange(4, 156); c = np.zeros((40, 160), bool)
    >>> for dy in (0, 1): c[np.rint(12 + 6 * (1 - ((xs - 80) / 76) ** 2)).astype(int) + dy, xs] = True
    >>> int(remove_straight_lines(c, 2).sum()), int(remove_straight_lines(c, 2, bend=False).sum()) > 40
    (0, True)
    """
    b = _check_2d(binary, "binary").astype(bool)
    if thickness < 1:
        return b.copy()
    b = b.copy()
    h, w = b.shape
    reach = int(thickness) + 1
    xs = np.arange(w)
    # one Hough transform serves every line: removing a line takes votes from no other line but those of
    # the pixels where it crossed it, so the next line is among the first transform's candidates
    candidates = _hough_candidates(b, min_length, MAX_TILT)
    for _ in range(int(max_lines)):
        line = _first_continuous(b, candidates, min_length, reach, MAX_CANDIDATES)
        if line is None:
            break
        # the found line's near twins go with it (they are checked no more)
        candidates = candidates[(np.abs(candidates[:, 0] - line[0]) > 2 * reach)
                                | (np.abs(candidates[:, 1] - line[1]) > np.radians(3))]
        runs = _Runs(b)
        rows = _line_rows(*line, w)
        if bend:  # the line is thinner than the strokes: only ink on thin vertical runs bends it
            rows = _follow_curve(_thin_ink(b, 2 * reach), rows, reach)
        # a line's vertical extent grows with its slope: 1/sin(theta) for a straight one
        max_run = np.ceil((thickness + 1) * np.sqrt(1 + np.gradient(rows) ** 2)).astype(int) + 1
        ink, ys = _ink_along(b, rows, reach)
        cols = xs[ink.any(axis=0)]
        if not cols.size:
            break
        y0 = ys[np.argmax(ink, axis=0), xs][cols]
        top, bottom = runs.extent(y0, cols)
        thin_here = bottom - top <= max_run[cols]
        if thin_here.sum() < 0.25 * min_length * w:  # a line mostly hidden in strokes: not one to remove
            break
        fc, ft, fb = cols[thin_here], top[thin_here], bottom[thin_here]
        if bend:
            fc, ft, fb = _core((fc, ft, fb), rows, reach)
            more = _track_ends(b, runs, (fc, ft, fb), thickness + 1, reach)
            if more:
                fc, ft, fb = (np.concatenate((v, np.array(m, v.dtype))) for v, m in zip((fc, ft, fb), zip(*more)))
        rows_ = np.arange(h)[:, None]
        block = b[:, fc]
        block[(rows_ >= ft) & (rows_ < fb)] = False
        b[:, fc] = block
    return b
