"""The preprocessing chain as one serialisable, scikit-learn-style object."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone

from captchakit._errors import CaptchakitError
from captchakit._settings import SettingsMixin
from captchakit.preprocess._measure import (
    INK_CHANNELS, POLARITIES, background_color, frame_width, ink_channel, inside_frame, line_thickness_for,
    measure_front_end, speck_area_for, stroke_width,
)
from captchakit.preprocess._stages import (
    THRESHOLDS, binarize, clear_border, enlarge, flatten_paper, mean_filter, median_filter,
    remove_lines, remove_specks, remove_straight_lines, to_gray,
)

AUTO = "auto"
#: Settings that may be left "auto" and are then measured from the images.
AUTO_SETTINGS = ("channel", "polarity", "frame", "min_area", "line_thickness")

#: ``straight_length``'s default: a line is found by a straight stretch over a quarter of the image width. Bundles
#: saved before it was a setting (2026-12-07) removed lines found by 40% (``STRAIGHT_LENGTH_BEFORE``), and read so.
STRAIGHT_LENGTH, STRAIGHT_LENGTH_BEFORE = 0.25, 0.4

_ORDERS = ("median-first", "mean-first")
_STAGES = ("gray", "binary")


def ink_stage(stages):
    """The ink channel among :meth:`Preprocessor.stages`: the last grey stage before the filters (see
    :meth:`Preprocessor.ink_and_binary`)."""
    return [s for name, s in stages
            if s.ndim == 2 and s.dtype == np.uint8
            and (name == "gray" or name.startswith(("ink (", "frame ", "paper flattened")))][-1]


class Preprocessor(SettingsMixin, TransformerMixin, BaseEstimator):
    """Ink channel → filters → binarization → frame, line and speck removal.

    Five settings default to ``"auto"``: :meth:`resolve` measures them on a
    sample of the data set (:func:`~captchakit.preprocess.measure_front_end`)
    and returns a copy with the measured values, which is what a trained
    model stores.  An unresolved ``"auto"`` is decided per image.

    The parameters describe the whole chain; ``get_params()`` is its
    dictionary form and ``Preprocessor(**d)`` reads it back, so the same
    settings travel in model bundles and ``--config`` files, and
    ``GridSearchCV`` can tune them (``preprocessor__median=3``).

    Parameters
    ----------
    channel : {"auto", "luminance", "saturation", "distance", "local", "clusters"}
        The grey channel thresholded (see :func:`ink_channel`); auto: the
        most separable of the first four on the data set.  ``clusters``
        (colour clusters kept by shape) is never measured: the front-end
        search tries it when the ink has several colours.
    polarity : {"auto", "dark", "light", "each"}
        Whether the ink is darker or lighter than the paper (for the
        ``luminance`` channel); ``each``: decided image by image
        (``light_ink``), for a scheme that inverts
        some of its images; auto: measured on the data set, ``each`` where
        both kinds are common.
    frame : int or "auto"
        Clear a frame this many pixels wide drawn around the image (0 = none):
        that band and one pixel more are painted as paper before the filters
        and the threshold (a dark frame would pull Otsu's threshold away from
        pale ink), and the ``distance`` channel takes the paper's colour from
        inside it; auto: found on each binary image and cleared there.
    threshold : {"otsu", "multiotsu", "triangle", "adaptive", "fixed"}
        Binarization method (``multiotsu``: the darkest of three Otsu
        classes; ``triangle``: the foot of the paper's peak, pale ink kept;
        see :func:`~captchakit.preprocess.binarize`).
    threshold_value : int
        Grey level for ``fixed``.
    block_size : int
        Odd neighbourhood for ``adaptive``.
    offset : float
        Offset for ``adaptive``.
    adaptive : {"gaussian", "mean"}
        Neighbourhood weighting for ``adaptive``.
    median : int
        Median filter size (0 = off).
    mean : int
        Average filter size (0 = off).
    filter_order : {"median-first", "mean-first"}
    filter_stage : {"gray", "binary"}
        Whether the two filters run on the grey image before thresholding or
        on the binary image after it.
    min_area : int or "auto"
        Ink components smaller than this are removed as specks (0 = off);
        auto: half the square of the measured stroke width, at least 3.
    remove_lines : bool
        Remove thin lines drawn across the text.
    line_thickness : int or "auto"
        Lines up to this thickness are removed (strokes must be thicker;
        0 = keep lines).  Auto: one pixel less than the measured stroke
        width, 0 for strokes of 1-2 px (python-captcha: 5-px strokes, 4;
        captcha_images_v2: 3-px strokes, 2; lzu_digits: 1-px strokes, 0).
    n_colors : int
        Colour clusters of the ink for ``channel="clusters"`` (8: on characters
        and lines of many colours, 4, 6 and 8 clusters read 34%, 51% and 57%).
    straight_lines : int
        Remove long lines drawn across the text (straight, or bent by a warp)
        up to this thickness in pixels, even as thick as the strokes
        (:func:`~captchakit.preprocess.remove_straight_lines`; 0 = off, the
        default). Never measured: the front-end search tries it when most
        images have such a line.
    straight_length : float
        With ``straight_lines``: the shortest straight stretch of a line that
        finds it, as a share of the image width (0.25, the default, a quarter;
        :func:`~captchakit.preprocess.remove_straight_lines` follows the line
        on from there, bent or not). wheezy.captcha draws a curve of its
        text's colour across the text: with 0.4 (the value before 2026-12-07,
        which bundles from before keep) a bent one was found only where 40% of
        it ran straight, and the SVM with no flags read 59.2% of the test
        images; with 0.25, 66.75% (0.2 and 0.3: 62.75%).
    enlarge : int
        Enlarge each image this many times (bicubic) before anything else
        (1 = off, the default; :func:`~captchakit.preprocess.enlarge`); the
        pixel settings above then count pixels of the enlarged image.  Never
        measured: the front-end search tries 2 on small images (at most 60 px
        tall, with strokes of 3 px or less or under 40 px tall).
    flatten : int
        Even out unevenly lit paper before the filters and the threshold
        (:func:`~captchakit.preprocess.flatten_paper`): the paper under a disc
        of this many pixels (odd, >= 3; 0 = off, the default).  Never
        measured: the front-end search tries it, on the grey image, when the
        paper's grey level varies across the images (``paper_spread``).

    Examples
    --------
    >>> p = Preprocessor(median=3, min_area=8, remove_lines=False, frame=0)
    >>> img = np.full((30, 60, 3), 240, np.uint8); img[5:25, 10:20] = 20
    >>> int(p.transform_one(img).sum())
    196
    >>> Preprocessor(**p.get_params()) .get_params() == p.get_params()
    True
    """

    _kind = "preprocessing"

    def __init__(self, channel=AUTO, polarity=AUTO, frame=AUTO, threshold="otsu", threshold_value=128,
                 block_size=25, offset=10, adaptive="gaussian", median=0, mean=0, filter_order="median-first",
                 filter_stage="gray", min_area=AUTO, remove_lines=True, line_thickness=AUTO, n_colors=8,
                 straight_lines=0, straight_length=STRAIGHT_LENGTH, enlarge=1, flatten=0):
        self.channel = channel
        self.polarity = polarity
        self.frame = frame
        self.threshold = threshold
        self.threshold_value = threshold_value
        self.block_size = block_size
        self.offset = offset
        self.adaptive = adaptive
        self.median = median
        self.mean = mean
        self.filter_order = filter_order
        self.filter_stage = filter_stage
        self.min_area = min_area
        self.remove_lines = remove_lines
        self.line_thickness = line_thickness
        self.n_colors = n_colors
        self.straight_lines = straight_lines
        self.straight_length = straight_length
        self.enlarge = enlarge
        self.flatten = flatten

    # -- validation -------------------------------------------------------
    def validate(self):
        """Check every parameter; raise with the name, allowed values and value."""
        if self.channel not in (AUTO, *INK_CHANNELS):
            raise CaptchakitError(f"channel must be one of auto, {', '.join(INK_CHANNELS)}; got {self.channel!r}")
        if not isinstance(self.n_colors, (int, np.integer)) or isinstance(self.n_colors, bool) \
                or not 1 <= self.n_colors <= 16:
            raise CaptchakitError(f"n_colors must be an integer within 1-16, got {self.n_colors!r}")
        if self.polarity not in (AUTO, *POLARITIES):
            raise CaptchakitError(f"polarity must be one of auto, {', '.join(POLARITIES)}; got {self.polarity!r}")
        v = self.straight_lines
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not 0 <= v <= 16:
            raise CaptchakitError(f"straight_lines must be an integer within 0-16 (0 = off), got {v!r}")
        v = self.straight_length
        if not isinstance(v, (int, float, np.floating)) or isinstance(v, bool) or not 0 < v <= 1:
            raise CaptchakitError(f"straight_length must be a share of the width above 0 and at most 1, got {v!r}")
        v = self.enlarge
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not 1 <= v <= 4:
            raise CaptchakitError(f"enlarge must be an integer within 1-4 (1 = off), got {v!r}")
        v = self.flatten
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0 or v in (1, 2) or (v and v % 2 == 0):
            raise CaptchakitError(f"flatten must be 0 (off) or an odd size >= 3, got {v!r}")
        for name in ("frame", "min_area", "line_thickness"):
            v = getattr(self, name)
            if v != AUTO and (not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0):
                raise CaptchakitError(f"{name} must be 'auto' or an integer >= 0, got {v!r}")
        if self.threshold not in THRESHOLDS:
            raise CaptchakitError(f"threshold must be one of {', '.join(THRESHOLDS)}; got {self.threshold!r}")
        for name in ("median", "mean"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0 or (v > 1 and v % 2 == 0):
                raise CaptchakitError(f"{name} must be 0 (off) or an odd size, got {v!r}")
        if self.filter_order not in _ORDERS:
            raise CaptchakitError(f"filter_order must be one of {', '.join(_ORDERS)}; got {self.filter_order!r}")
        if self.filter_stage not in _STAGES:
            raise CaptchakitError(f"filter_stage must be one of {', '.join(_STAGES)}; got {self.filter_stage!r}")
        if self.threshold == "adaptive" and (self.block_size < 3 or self.block_size % 2 == 0):
            raise CaptchakitError(f"block_size must be an odd number >= 3, got {self.block_size!r}")
        if self.threshold == "fixed" and not 0 <= self.threshold_value <= 255:
            raise CaptchakitError(f"threshold_value must be within 0-255, got {self.threshold_value!r}")
        return self

    # -- measuring ----------------------------------------------------------
    def resolve(self, images):
        """A copy with every ``"auto"`` setting measured on *images* (a sample is enough).

        Returns
        -------
        resolved : Preprocessor
            No ``"auto"`` left; settings pinned by the user are kept.
        measured : dict
            What :func:`measure_front_end` found, plus the derived values.

        Examples
        --------
        >>> im = np.full((30, 60, 3), 240, np.uint8); im[5:25, 10:15] = 20; im[5:25, 30:35] = 20
        >>> p, m = Preprocessor().resolve([im])
        >>> p.line_thickness, p.min_area, p.channel, p.frame
        (4, 12, 'luminance', 0)
        """
        self.validate()
        if self.enlarge != 1:  # pixel settings count pixels of the enlarged images
            images = [enlarge(np.asarray(im), int(self.enlarge)) for im in images]
        # the ink is measured as it will be thresholded: in a pinned channel, with a pinned polarity
        m = measure_front_end(images, channel=None if self.channel == AUTO else self.channel,
                              polarity=None if self.polarity == AUTO else self.polarity, n_colors=self.n_colors)
        derived = {"channel": m["channel"], "polarity": m["polarity"], "frame": m["frame"],
                   "line_thickness": line_thickness_for(m["stroke_width"]),
                   "min_area": speck_area_for(m["stroke_width"])}
        params = {k: (derived[k] if getattr(self, k) == AUTO else getattr(self, k)) for k in AUTO_SETTINGS}
        m["derived"] = derived
        m["pinned"] = [k for k in AUTO_SETTINGS if getattr(self, k) != AUTO]
        return clone(self).set_params(**params).validate(), m

    @property
    def is_resolved(self):
        """Whether no setting is left ``"auto"``."""
        return all(getattr(self, k) != AUTO for k in AUTO_SETTINGS)

    # -- the chain --------------------------------------------------------
    def _filters(self, image):
        steps = [("median", self.median, median_filter), ("mean", self.mean, mean_filter)]
        if self.filter_order == "mean-first":
            steps.reverse()
        out = []
        for name, size, fn in steps:
            if size and size > 1:
                image = fn(image, size)
                out.append((f"{name} {size}", image))
        return image, out

    def stages(self, image):
        """Every intermediate image of the chain, for previews.

        Returns
        -------
        list of (str, ndarray)
            ``("original", rgb)``, ``("gray", ...)``, the filters,
            ``("binary", ...)``, speck and line removal; the last is the output.
        """
        self.validate()
        image = np.asarray(image)
        out = [("original", image)]
        if self.enlarge != 1:
            image = enlarge(image, int(self.enlarge))
            out.append((f"enlarged {self.enlarge}x", image))
        rgb = image if image.ndim == 3 else np.repeat(to_gray(image)[:, :, None], 3, axis=2)
        channel = "luminance" if self.channel == AUTO else self.channel
        rgb = rgb.astype(np.uint8, copy=False)
        background = None
        if channel == "distance" and self.frame not in (AUTO, 0):
            # the paper's colour from inside a known frame, as it was measured: a frame drawn in the ink's colour
            # passed for the paper, and the characters for paper and everything else for ink (GD::SecurityImage's
            # ellipse style)
            background = background_color(inside_frame(rgb, self.frame))
        gray = ink_channel(rgb, channel, background, polarity=None if self.polarity == AUTO else self.polarity,
                           n_colors=self.n_colors)
        out.append(("gray" if channel == "luminance" else
                    f"ink ({self.n_colors} colour clusters)" if channel == "clusters" else f"ink ({channel})", gray))
        if self.frame not in (AUTO, 0):
            # a known frame is painted as paper before anything is filtered or thresholded: its pixels
            # would pull Otsu's threshold (pale ink was lost beside a dark 1-px frame)
            gray = clear_border(gray, int(self.frame) + 1, value=255)
            out.append((f"frame {self.frame} px painted as paper", gray))
        if self.flatten:
            gray = flatten_paper(gray, int(self.flatten))
            out.append((f"paper flattened ({self.flatten} px)", gray))
        if self.filter_stage == "gray":
            gray, steps = self._filters(gray)
            out.extend(steps)
        # Otsu's second pass needs the speck area (only Otsu has one: no binarize or skeleton spent otherwise)
        speck_area = 0
        if self.threshold == "otsu":
            speck_area = (self.min_area if self.min_area != AUTO
                          else speck_area_for(stroke_width(binarize(gray, polarity="dark"))))
        binary = binarize(gray, self.threshold, self.threshold_value, self.block_size,
                          self.offset, self.adaptive, polarity="dark", speck_area=speck_area)
        out.append((f"binary ({self.threshold})", binary))
        if self.filter_stage == "binary":
            binary, steps = self._filters(binary)
            out.extend(steps)
        frame = frame_width(binary) if self.frame == AUTO else 0
        if frame:
            binary = clear_border(binary, frame + 1)
            out.append((f"frame {frame} px removed", binary))
        thickness = line_thickness_for(stroke_width(binary)) if self.line_thickness == AUTO else self.line_thickness
        if self.remove_lines and thickness:
            binary = remove_lines(binary, thickness)
            out.append(("lines removed", binary))
        if self.straight_lines:
            binary = remove_straight_lines(binary, self.straight_lines, min_length=self.straight_length)
            out.append(("straight lines removed", binary))
        min_area = speck_area_for(stroke_width(binary)) if self.min_area == AUTO else self.min_area
        if min_area and min_area > 1:
            binary = remove_specks(binary, min_area)
            out.append((f"specks < {min_area} removed", binary))
        return out

    def ink_and_binary(self, image):
        """The ink channel of one image and its binary output.

        The channel is the grey image that the threshold reads (uint8, ink
        dark), after any frame painted as paper or paper flattened, before
        the filters: the shades that binarising and cleaning lose
        (:meth:`~captchakit.segment.PieceCropper.ink_crops`).

        Examples
        --------
        >>> im = np.full((20, 30), 255, np.uint8); im[5:15, 10:14] = 0
        >>> ink, b = Preprocessor(median=0, line_thickness=0, min_area=0).ink_and_binary(im)
        >>> ink.dtype, ink.shape, int(ink[8, 11]), bool(b[8, 11])
        (dtype('uint8'), (20, 30), 0, True)
        """
        stages = self.stages(image)
        return ink_stage(stages), stages[-1][1].astype(bool, copy=False)

    def transform_one(self, image):
        """Preprocess one image to a ``(H, W)`` bool array (ink ``True``)."""
        return self.stages(image)[-1][1].astype(bool, copy=False)

    def fit(self, X=None, y=None):
        """Validate the settings (nothing is learned)."""
        self.validate()
        return self

    def transform(self, X):
        """Preprocess a sequence of images; returns a list of bool arrays."""
        return [self.transform_one(im) for im in X]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags
