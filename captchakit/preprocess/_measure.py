"""Measuring a captcha scheme from its images, before cleaning them.

Pure functions over arrays, in the manner of ``skimage.filters.threshold_*``:
they compute a value from the data and the caller decides what to do with it.
:func:`measure_front_end` runs them over a sample of a data set; the
:class:`~captchakit.preprocess.Preprocessor` turns its ``"auto"`` settings
into these measured values.
"""

import cv2
import numpy as np
from scipy import ndimage as ndi

from captchakit._errors import CaptchakitError
from captchakit.preprocess._colour import cluster_ink, ink_color_spread, local_background
from captchakit.preprocess._stages import (
    binarize, find_straight_line, flatten_paper, label_components, light_ink, remove_lines,
)

CHANNELS = ("luminance", "saturation", "distance", "local")
#: Every ink channel: the measured ones and ``clusters`` (colour clusters kept by shape,
#: :func:`~captchakit.preprocess.cluster_ink`), which the front-end search tries on colourful images.
INK_CHANNELS = CHANNELS + ("clusters",)
#: Polarities: the ink darker (``dark``) or lighter (``light``) than the paper in every image, or decided
#: for each image on its own (``each``: a scheme that inverts some of its images).
POLARITIES = ("dark", "light", "each")
#: A frame found on the binary images of at least this share of a data set is cleared from all of them
#: (a band of its width and one pixel more painted as paper). GD::SecurityImage frames two of its six styles
#: (0.47 of its images, with their polarity decided image by image); no other set measured has a frame in any
#: of its binary images.
FRAME_SHARE = 0.25
#: A data set whose images' ink is light in at least this share of them, and dark in at least as large a
#: share, has its polarity decided image by image (``each``). Gregwar/Captcha inverts half its images at random;
#: every one-polarity set measured has its images all one way (by :func:`light_ink`).
MIXED_POLARITY = 0.1


def _rgb(image, name="image"):
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.size == 0:
        raise CaptchakitError(f"{name} must be an (H, W, 3) array, got shape {image.shape}")
    if image.dtype != np.uint8:
        raise CaptchakitError(f"{name} must be uint8 (0-255), got {image.dtype}")
    return np.ascontiguousarray(image[:, :, :3])


def border_pixels(image):
    """The pixels of the image's outer rows and columns, ``(n, ...)``."""
    image = np.asarray(image)
    return np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])


def inside_frame(image, frame):
    """The image without a frame *frame* pixels wide and one pixel more, where it is large enough (more than
    four times that band on each side); else the image as it is.

    Examples
    --------
    >>> inside_frame(np.zeros((20, 30)), 1).shape, inside_frame(np.zeros((6, 30)), 1).shape
    ((16, 26), (6, 30))
    """
    f = int(frame) + 1
    return image[f:-f, f:-f] if frame and min(image.shape[:2]) > 4 * f else image


def background_color(image):
    """The background colour: the median of the border pixels, ``(3,)`` uint8.

    Examples
    --------
    >>> im = np.full((10, 20, 3), 200, np.uint8); im[3:7, 5:15] = 0
    >>> background_color(im).tolist()
    [200, 200, 200]
    """
    return np.median(border_pixels(_rgb(image)), axis=0).astype(np.uint8)


def ink_channel(image, channel="luminance", background=None, polarity=None, n_colors=8):
    """One grey channel in which the ink is dark and the background light, ``(H, W)`` uint8.

    Parameters
    ----------
    image : (M, N, 3) uint8 ndarray
    channel : {"luminance", "saturation", "distance", "local", "clusters"}
        ``luminance``: the grey image (flipped when the background is the
        darker side); ``saturation``: coloured ink on grey paper and grey
        lines; ``distance``: how far each pixel's colour is from the
        background colour (Lab); ``local``: the same from each column's
        own background (tiles of different colours); ``clusters``: the ink's
        colours clustered and the character-shaped clusters kept
        (:func:`~captchakit.preprocess.cluster_ink`, two grey levels).
    background : (3,) array, optional
        For ``distance``; default :func:`background_color`.
    polarity : {"dark", "light", "each"}, optional
        For ``luminance``: the ink's side, measured on a data set; default
        (or ``each``): decided for this image by :func:`light_ink`.
    n_colors : int
        For ``clusters``: the number of colour clusters.

    Examples
    --------
    >>> im = np.full((10, 20, 3), 255, np.uint8); im[3:7, 5:15] = (200, 0, 0)
    >>> int(ink_channel(im, "saturation")[5, 10]) < int(ink_channel(im, "saturation")[0, 0])
    True
    """
    image = _rgb(image)
    if channel == "luminance":
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        light = light_ink(gray) if polarity in (None, "each") else polarity == "light"
        return 255 - gray if light else gray
    if channel == "saturation":
        return 255 - cv2.cvtColor(image, cv2.COLOR_RGB2HSV)[:, :, 1]
    if channel == "distance":
        bg = background_color(image) if background is None else np.asarray(background, np.uint8)
        lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
        bgl = cv2.cvtColor(bg.reshape(1, 1, 3), cv2.COLOR_RGB2LAB).astype(np.float32)[0, 0]
        return _distance_channel(lab, bgl)
    if channel == "local":
        lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
        return _distance_channel(lab, local_background(lab)[None])  # from each column's background
    if channel == "clusters":
        return cluster_ink(image, n_colors)
    raise CaptchakitError(f"channel must be one of {', '.join(INK_CHANNELS)}; got {channel!r}")


def _distance_channel(lab, ref):
    """Each pixel's Lab distance from *ref*, scaled so that the farthest is 0 and *ref* itself 255, ``(H, W)`` uint8.

    Written out channel by channel and in place: half the time of
    ``np.sqrt(((lab - ref) ** 2).sum(axis=2))`` and its scaling, to the same bits
    (the three squares are added in the same order).

    Examples
    --------
    >>> lab = np.zeros((1, 3, 3), np.float32); lab[0, 1] = (3, 4, 0); lab[0, 2] = (6, 8, 0)
    >>> _distance_channel(lab, np.zeros(3, np.float32)).tolist()
    [[255, 127, 0]]
    """
    diff = lab - ref
    diff *= diff
    d = diff[:, :, 0] + diff[:, :, 1]
    d += diff[:, :, 2]
    np.sqrt(d, out=d)
    d *= 255.0 / max(float(d.max()), 1.0)
    np.clip(d, 0, 255, out=d)
    np.subtract(255, d, out=d)
    return d.astype(np.uint8)


def separability(gray):
    """Otsu's between-class share of the variance, 0-1: how cleanly a channel splits into two.

    Examples
    --------
    >>> g = np.full((4, 4), 250, np.uint8); g[1:3, 1:3] = 10
    >>> round(separability(g), 2)
    1.0
    """
    g = np.asarray(gray, np.uint8)
    if g.std() == 0:
        return 0.0
    t, _ = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    hi = g > t
    w = hi.mean()
    if w in (0.0, 1.0):
        return 0.0
    d = g[hi].mean() - g[~hi].mean()
    return float(w * (1 - w) * d * d / g.var())


def ink_height(binary, share=0.05, stats=None):
    """How high the text of a binary image is, in pixels: the smaller of two measures, each of which one kind of
    noise makes too large.

    - The rows that hold its central ink: all but *share* of it lies within them, *share* above and *share*
      below (with the default, 90% of a text line's height: 37 rows of 40). A stray dot or line end far above
      or below the text carries little ink, so it does not count (the same reason, and the same rows, as
      :func:`~captchakit.segment._segment.central_ink`). But dots spread over a tall image, together, do.
    - The height of the ink's components, weighted by their ink: that of the component holding the median ink
      pixel. Dots are low, so many of them do not make it taller; but a line joining the characters makes their
      component higher than the text.

    Where specks outweigh the text, the second measures the specks: the text's height is then taken too low,
    never too high (it decides whether the images are read shrunk, :func:`~captchakit.classifiers._front_end.
    shrink_factor`). 0 for an image without ink. *stats*: the components' statistics, where the caller has
    labelled them already (:func:`~captchakit.preprocess.label_components`, the paper's row left out).

    Examples
    --------
    >>> b = np.zeros((100, 50), bool); b[30:70, 10:40] = True; b[2, 0] = True  # a speck far above
    >>> ink_height(b)
    37
    >>> b = np.zeros((240, 80), bool); b[110:130, 10:70:5] = True  # text 20 px high: 12 strokes
    >>> b[::6, 2:4] = True; b[3::6, 76:78] = True  # dots spread over the whole height (the rows alone: 181)
    >>> ink_height(b)
    20
    """
    # central_ink is the segmenter's (imported here: captchakit.segment imports this package's stages)
    from captchakit.segment._segment import central_ink

    b = np.asarray(binary, bool)
    if not b.any():
        return 0
    rows = int(central_ink(b.view(np.uint8), share).shape[0])
    if stats is None:
        stats = label_components(b)[2][1:]
    order = np.argsort(stats[:, cv2.CC_STAT_HEIGHT], kind="stable")
    held = np.cumsum(stats[order, cv2.CC_STAT_AREA])
    height = int(stats[order[np.searchsorted(held, 0.5 * held[-1])], cv2.CC_STAT_HEIGHT])
    return min(rows, height)


def stroke_width(binary):
    """Typical stroke width of the ink, in pixels, from a distance transform along the skeleton.

    Returns ``nan`` when there is no ink.

    Examples
    --------
    >>> b = np.zeros((20, 40), bool); b[5:15, 10:13] = True; b[5:15, 25:28] = True
    >>> stroke_width(b)
    3.0
    >>> b[::4, ::4] = True  # pepper: single pixels do not count
    >>> stroke_width(b)
    3.0
    """
    from skimage.morphology import skeletonize

    b = np.asarray(binary, bool)
    if not b.any():
        return float("nan")
    # specks have no strokes: where they outnumber the characters (pepper noise) their 1-px skeletons
    # would decide the median. Components under 2% of the largest one's area are left out.
    n, lab, stats = label_components(b)
    if n > 2:
        area = stats[1:, cv2.CC_STAT_AREA]
        keep = np.flatnonzero(area >= max(2.0, 0.02 * float(area.max()))) + 1
        if len(keep) < n - 1:
            b = np.isin(lab, keep)
    dt = ndi.distance_transform_edt(b)
    sk = skeletonize(b)
    return float(2 * np.median(dt[sk]) - 1) if sk.any() else 1.0


def channel_stroke_width(images, channel, polarity="each"):
    """The median stroke width of *images*' ink in one ink *channel*, each thresholded by Otsu (as
    :func:`measure_front_end` measures the channel it picks); 1.0 where no image has ink.

    The front-end search weighs channels other than the measured one, whose strokes can measure otherwise: the npm
    captchagen's characters, each its own colour, measure 3 px in the local distance channel and 5 px in the colour
    clusters, where its thinner curves come apart from them.

    Examples
    --------
    >>> im = np.full((30, 60, 3), 240, np.uint8); im[5:25, 10:15] = 20; im[5:25, 30:35] = 20
    >>> channel_stroke_width([im], "luminance", "dark")
    5.0
    """
    widths = []
    for im in images:
        rgb = _rgb(im)
        ink = _otsu_ink(rgb, channel, background_color(rgb), polarity)
        s = stroke_width(ink) if ink is not None else float("nan")
        if np.isfinite(s):
            widths.append(s)
    return float(np.median(widths)) if widths else 1.0


def _otsu_ink(rgb, channel, background, polarity, n_colors=8):
    """The ink of an RGB image in one *channel*, thresholded by Otsu (bool); None where the channel is flat."""
    g = ink_channel(rgb, channel, background, polarity=polarity, n_colors=n_colors)
    if g.min() == g.max():
        return None
    t, _ = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return g <= t


def frame_width(binary, depth=4, share=0.6):
    """Width of a frame drawn around the image (0: none).

    A frame is a run of ink along at least three of the four sides, within
    *depth* pixels of the edge, covering *share* of the side.

    Examples
    --------
    >>> b = np.zeros((20, 40), bool); b[[0, -1], :] = True; b[:, [0, -1]] = True
    >>> frame_width(b)
    1
    >>> frame_width(np.zeros((20, 40), bool))
    0
    """
    b = np.asarray(binary, bool)
    h, w = b.shape
    depth = max(1, min(depth, h // 4, w // 4))
    sides = [b[:depth].mean(axis=1), b[::-1][:depth].mean(axis=1),
             b[:, :depth].mean(axis=0), b[:, ::-1][:, :depth].mean(axis=0)]
    widths = []
    for s in sides:
        hit = np.flatnonzero(s >= share)
        widths.append(int(hit.max()) + 1 if hit.size else 0)
    found = [v for v in widths if v > 0]
    return max(found) if len(found) >= 3 else 0


def grey_frame_width(image):
    """:func:`frame_width` of an image's grey channel, ink on its darker or lighter side (Otsu).

    Examples
    --------
    >>> im = np.full((30, 60, 3), 40, np.uint8); im[[0, -1]] = 230; im[:, [0, -1]] = 230
    >>> grey_frame_width(im)
    1
    """
    return frame_width(binarize(ink_channel(image, "luminance"), polarity="dark"))


def measure_front_end(images, max_images=300, channel=None, polarity=None, n_colors=8):
    """Measure a data set's look from (up to *max_images* of) its images.

    The ink (its frame, strokes, specks, height and lines) is measured in the
    most separable channel, with the measured polarity, or in the *channel*
    and with the *polarity* given (the user's, where pinned: a line removal
    sized by the strokes of another channel could erase the characters of
    this one). *n_colors*: the colour clusters', where *channel* is
    ``"clusters"``.

    Returns
    -------
    dict
        ``background`` (RGB), ``polarity`` (``"dark"`` ink on light paper,
        ``"light"``, or ``"each"`` where at least :data:`MIXED_POLARITY` of the
        images go each way: decided image by image; or the one given), ``channel`` (the most separable of
        :data:`CHANNELS`, or the one given), ``separability`` (per channel),
        ``stroke_width`` (pixels), ``frame`` (pixels, 0 = none; found first, on the grey image
        (:func:`grey_frame_width`), and cut off before the rest is measured; else on the binary images, in at
        least :data:`FRAME_SHARE` of them), ``frame_share`` (the share of the binary images with a frame),
        ``color_spread`` (:func:`ink_color_spread`, median),
        ``straight_line_share`` (the share of images with a long straight
        line across them, :func:`~captchakit.preprocess.find_straight_line`),
        ``paper_spread`` (:func:`paper_spread` of the grey image, median),
        ``filled_stroke_width`` and ``filled_ink_kept`` (the stroke width
        after a 3x3 median of the ink, and the share of the ink it keeps,
        medians: see :func:`textured_ink`), ``speck_area`` (:func:`speck_area` of every image's ink
        components; 0: no specks) and ``specks_per_image`` (the components under it, per image), ``ink_height``
        (:func:`ink_height`, median, pixels), ``n_images``.

    Examples
    --------
    >>> im = np.full((30, 60, 3), 240, np.uint8); im[5:25, 10:15] = 20; im[5:25, 30:35] = 20
    >>> m = measure_front_end([im, im])
    >>> m["polarity"], m["stroke_width"], m["frame"]
    ('dark', 5.0, 0)
    """
    images = list(images)[:max_images]
    if not images:
        raise CaptchakitError("cannot measure the front end of no images")
    bgs, dark, sw, frames, spread, lines, papers, filled, areas, heights = [], [], [], [], [], [], [], [], [], []
    sep = {c: [] for c in CHANNELS}
    rgbs = [_rgb(im) for im in images]
    # a frame drawn around the image is found first, on the grey image, and cut off before anything else
    # is measured: its pixels would pass for the background colour and skew every channel's split
    grey_frames = [grey_frame_width(im) for im in rgbs]
    frame = int(np.median([f for f in grey_frames if f])) if np.mean([f > 0 for f in grey_frames]) >= 0.5 else 0
    rgbs = [inside_frame(im, frame) for im in rgbs]
    for im in rgbs:
        bg = background_color(im)
        bgs.append(bg)
        spread.append(ink_color_spread(im))
        dark.append(not light_ink(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)))
        for c in CHANNELS:
            sep[c].append(separability(ink_channel(im, c, bg)))
    sep_med = {c: float(np.median(v)) for c, v in sep.items()}
    # luminance unless another channel is clearly cleaner
    if channel is None:
        channel = max(CHANNELS, key=lambda c: sep_med[c] - (0.0 if c == "luminance" else 0.03))
    share_dark = float(np.mean(dark))
    if polarity is None:
        polarity = ("each" if MIXED_POLARITY <= share_dark <= 1 - MIXED_POLARITY
                    else "dark" if share_dark >= 0.5 else "light")
    # frame and stroke width are measured on the channel that will be thresholded
    for im, bg in zip(rgbs, bgs):
        ink = _otsu_ink(im, channel, bg, polarity, n_colors)
        if ink is None:
            continue
        frames.append(frame_width(ink))
        f = frames[-1]
        if f:
            ink = ink.copy()
            ink[:f + 1], ink[-f - 1:], ink[:, :f + 1], ink[:, -f - 1:] = False, False, False, False
        stats = label_components(ink)[2][1:]  # once for the specks' areas and the text's height
        areas.append(stats[:, cv2.CC_STAT_AREA])
        heights.append(ink_height(ink, stats=stats))
        s = stroke_width(ink)
        if np.isfinite(s):
            sw.append(s)
            # hatched or punched ink measures as its hatches; a 3x3 median fills it into solid strokes. Strokes
            # measured thicker are no hatches: as if unchanged, without the median and its skeleton (they made the
            # measurement 40% slower on python-captcha's 5-px strokes)
            if s <= TEXTURE_MAX_STROKE:
                full = cv2.medianBlur(ink.view(np.uint8), 3).astype(bool)
                fs = stroke_width(full)
                filled.append((fs if np.isfinite(fs) else 0.0, full.sum() / max(int(ink.sum()), 1)))
            else:
                filled.append((s, 1.0))
        # lines thinner than the strokes go with the usual line removal: only those left count
        t = line_thickness_for(s) if np.isfinite(s) else 0
        lines.append(find_straight_line(remove_lines(ink, t) if t else ink) is not None)
        if np.isfinite(s):  # how unevenly the paper is lit, on the grey image (other channels hide it)
            papers.append(paper_spread(ink_channel(im, "luminance", polarity=polarity), flatten_size_for(s)))
    frame_share = np.mean([f > 0 for f in frames]) if frames else 0.0
    n_measured = len(areas)  # one array of component areas per image with ink
    areas = np.concatenate(areas) if areas else np.zeros(0)
    specks = speck_area(areas)
    return {
        "background": [int(v) for v in np.median(bgs, axis=0)],
        "polarity": polarity,
        "channel": channel,
        "separability": {c: round(v, 3) for c, v in sep_med.items()},
        "stroke_width": float(np.median(sw)) if sw else 1.0,
        "frame": frame or (int(np.median([f for f in frames if f > 0])) if frame_share >= FRAME_SHARE else 0),
        "frame_share": round(float(frame_share), 3),
        "color_spread": round(float(np.median(spread)), 2),
        "straight_line_share": round(float(np.mean(lines)), 3) if lines else 0.0,
        "paper_spread": round(float(np.median(papers)), 1) if papers else 0.0,
        "filled_stroke_width": float(np.median([f[0] for f in filled])) if filled else 1.0,
        "filled_ink_kept": round(float(np.median([f[1] for f in filled])), 3) if filled else 0.0,
        "speck_area": specks,
        "specks_per_image": round(float(np.sum(areas < specks)) / max(n_measured, 1), 1),
        "ink_height": float(np.median(heights)) if heights else 0.0,
        "n_images": len(images),
    }


#: At least this many specks per image (components under :func:`speck_area`) for the front-end search to try
#: removing them: captchagen's 200 dots leave about 90 per image, django-simple-captcha's about 40.
SPECKS_PER_IMAGE = 10
#: The speck sizes end where a size is this rare against the commonest one
SPECK_TAIL = 0.01
#: ... and specks hold less than this share of the ink (captchagen's dots 22%; where a scheme's strokes break
#: into pieces of every size, as math_captcha's 1-px ones and svg-captcha's pale faces under Otsu's threshold,
#: the pieces under that size hold 46-99% of it)
SPECK_INK = 0.3


def speck_area(areas):
    """The area from which an ink component is more than a speck, from the areas of a data set's ink components;
    ``0`` where they hold no specks.

    Noise dots are the commonest component size, and much commoner than any size of the characters' pieces.
    On a log scale (bins of half an octave, counts smoothed over an octave), the specks end at the first size
    after the commonest that is :data:`SPECK_TAIL` as common or rarer. The lower edge of that bin is returned,
    unless the components under it hold :data:`SPECK_INK` or more of the ink (then they are the characters'
    pieces: ``0``).

    Examples
    --------
    >>> dots = [3, 4, 5, 6, 4, 5, 9, 12] * 200
    >>> speck_area(dots + [400, 520, 610, 380, 45] * 20)
    23
    >>> speck_area([400, 520, 610, 380, 45])
    0
    """
    a = np.asarray(areas, float)
    a = a[a > 0]
    if a.size == 0:
        return 0
    edges = np.unique(np.ceil(2.0 ** (np.arange(0.0, 2.0 * np.log2(a.max()) + 3.0) / 2.0)))
    # counts smoothed over an octave: dots of a few radii (areas 5, 13, 29) leave the sizes between them empty
    count = np.convolve(np.histogram(a, edges)[0], [0.25, 0.5, 0.25], mode="same")
    common = int(np.argmax(count))
    rare = np.flatnonzero(count[common + 1:] <= SPECK_TAIL * count[common])
    if not rare.size:
        return 0
    area = int(edges[common + 1 + rare[0]])
    return area if a[a < area].sum() < SPECK_INK * a.sum() else 0


#: Ink is textured (hatched, punched with dots) when a 3x3 median fills its strokes to this many times their
#: measured width while keeping this share of it. Of twelve schemes measured, only trek-captcha's is (1 -> 3 px, all
#: its ink kept), and of python-captcha's thirteen variations the one peppered with black dots (1.8 -> 5 px);
#: chinese_4char came nearest (1 -> 1.8 px), and thin strokes lose ink (lzu_digits keeps 0.81 of it).
TEXTURE_WIDENING = 2.5
TEXTURE_INK_KEPT = 0.9
#: ... and only strokes measured this thin can be hatches.
TEXTURE_MAX_STROKE = 2.0


def textured_ink(measured):
    """Whether the measured ink is hatched or punched (its strokes measure as the hatches), from
    :func:`measure_front_end`'s figures.

    Examples
    --------
    >>> textured_ink({"stroke_width": 1.0, "filled_stroke_width": 3.0, "filled_ink_kept": 1.01})
    True
    >>> textured_ink({"stroke_width": 1.0, "filled_stroke_width": 1.0, "filled_ink_kept": 0.81})  # thin strokes
    False
    """
    return (measured.get("filled_stroke_width", 0.0) >= TEXTURE_WIDENING * measured.get("stroke_width", 1.0)
            and measured.get("filled_ink_kept", 0.0) >= TEXTURE_INK_KEPT)


def flatten_size_for(stroke):
    """The disc that finds the paper under strokes of width *stroke*: about three strokes, odd, at least 7 px.

    Examples
    --------
    >>> flatten_size_for(5.0), flatten_size_for(3.0), flatten_size_for(1.0)
    (17, 11, 7)
    """
    return max(7, 2 * int(np.floor(1.5 * float(stroke) + 0.5)) + 1)


def paper_spread(gray, size):
    """How unevenly the paper of a grey image (ink dark) is lit: the 10th-90th percentile range of the paper.

    The paper is the closing with a disc of *size* px, as in
    :func:`~captchakit.preprocess.flatten_paper`.

    Examples
    --------
    >>> flat = np.full((20, 40), 240, np.uint8); flat[5:15, 10:13] = 20
    >>> ramp = np.tile(np.linspace(250, 150, 40).astype(np.uint8), (20, 1)); ramp[5:15, 10:13] = 20
    >>> paper_spread(flat, 9), paper_spread(ramp, 9)
    (0.0, 79.6)
    """
    g = np.asarray(gray, np.uint8)
    paper = 255 - (flatten_paper(g, size).astype(np.int16) - g)  # the closing, padded at the edges
    lo, hi = np.percentile(paper, [10, 90])
    return round(float(hi - lo), 1)


def line_thickness_for(stroke):
    """Thickest line to remove for strokes of width *stroke* (0: keep lines).

    Lines must be thinner than the strokes: one pixel less than the typical
    stroke, none for strokes of 1-2 px.

    Examples
    --------
    >>> line_thickness_for(5.0), line_thickness_for(3.0), line_thickness_for(1.0)
    (4, 2, 0)
    """
    t = int(round(stroke)) - 1
    return t if t >= 2 else 0


def speck_area_for(stroke):
    """Smallest ink component kept, from the stroke width (half a stroke's square, at least 3 px).

    Examples
    --------
    >>> speck_area_for(5.0), speck_area_for(1.0)
    (12, 3)
    """
    return max(3, int(round(0.5 * stroke * stroke)))
