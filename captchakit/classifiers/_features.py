"""Feature transformers for character crops (scikit-learn transformers).

Input ``X`` is an ``(n, S, S)`` array of crops (ink 1.0), or ``(n, S*S)``.
"""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from captchakit._errors import CaptchakitError
from captchakit.segment._segment import central_ink, square_ink


def _as_crops(X):
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 2:
        # Flat rows are square crops; a row of another length is zero-padded to
        # the next square (so any 2-D feature matrix is accepted, as
        # scikit-learn's estimator checks expect).
        side = max(1, int(np.ceil(np.sqrt(X.shape[1]))))
        if side * side != X.shape[1]:
            X = np.pad(X, ((0, 0), (0, side * side - X.shape[1])))
        X = X.reshape(len(X), side, side)
    if X.ndim != 3:
        raise CaptchakitError(f"crops must be (n, S, S) or (n, S*S), got shape {X.shape}")
    return X


def _flatten3d(X):
    if isinstance(X, np.ndarray) and X.ndim == 3:
        return X.reshape(len(X), -1)
    return X


class _CropTransformer(TransformerMixin, BaseEstimator):
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # features are always float32
        return tags

    def fit(self, X, y=None):
        X = validate_data(self, _flatten3d(X), reset=True, dtype=np.float32)
        self.crop_shape_ = _as_crops(X).shape[1:]
        return self

    def transform(self, X):
        check_is_fitted(self, "crop_shape_")
        X = validate_data(self, _flatten3d(X), reset=False, dtype=np.float32)
        return self._features(_as_crops(X))


class PixelFeatures(_CropTransformer):
    """Raw pixels, optionally downsampled to ``size`` x ``size``.

    Examples
    --------
    >>> PixelFeatures(size=8).fit_transform(np.zeros((2, 32, 32))).shape
    (2, 64)
    """

    def __init__(self, size=16):
        self.size = size

    def _features(self, X):
        if self.size and self.size != X.shape[1]:
            X = downsample(X, self.size)
        return X.reshape(len(X), -1)


def downsample(X, size):
    """A ``(n, S, S)`` batch of crops shrunk to ``(n, size, size)`` by area averaging (OpenCV's ``INTER_AREA``).

    Where *size* divides *S* this is the mean of each block, computed for the whole batch at once.

    Examples
    --------
    >>> X = np.zeros((1, 4, 4), np.float32); X[0, :2, :2] = 1
    >>> downsample(X, 2)[0].tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    """
    X = np.asarray(X, np.float32)
    n, h, w = X.shape
    size = int(size)
    if size >= 2 and h == w == 2 * size:
        # halved (32 -> 16 px, the usual case): numpy's mean over the 2x2 blocks adds each row's pair, then the
        # two rows' sums, then divides by 4 (for one block, size 1, it adds the four in a row instead); the same
        # float32 sums from four strided views, ten times faster
        out = X[:, 0::2, 0::2] + X[:, 0::2, 1::2]
        out += X[:, 1::2, 0::2] + X[:, 1::2, 1::2]
        out /= np.float32(4)
        return out
    if h % size == 0 and w % size == 0:
        return X.reshape(n, size, h // size, size, w // size).mean(axis=(2, 4), dtype=np.float32)
    import cv2

    return (np.stack([cv2.resize(x, (size, size), interpolation=cv2.INTER_AREA) for x in X]) if n
            else np.zeros((0, size, size), np.float32))


class HOGFeatures(_CropTransformer):
    """Histogram of oriented gradients per crop (see :func:`hog_batch`).

    *pixels_per_cell* is one cell size, or a tuple of them: the HOGs at
    each size, concatenated (coarse and fine cells together).  *pixels*, when
    given, appends the crop itself shrunk to *pixels* x *pixels*
    (:func:`downsample`, ink 1.0): the HOG describes the strokes'
    directions, normalised block by block, and the pixels where the ink is.
    *trim*, when given, first cuts each crop to the rows and columns that
    hold all but that share of its ink on each side, and squares it again
    (:func:`trim_crops`): a stray line or speck at a crop's edge no longer
    shrinks the character inside it.

    Examples
    --------
    >>> HOGFeatures().fit_transform(np.zeros((2, 32, 32))).shape
    (2, 324)
    >>> HOGFeatures(pixels_per_cell=(8, 6)).fit_transform(np.zeros((2, 32, 32))).shape
    (2, 900)
    >>> HOGFeatures(pixels=16).fit_transform(np.zeros((2, 32, 32))).shape
    (2, 580)
    >>> HOGFeatures(trim=0.05).fit_transform(np.zeros((2, 32, 32))).shape
    (2, 324)
    """

    def __init__(self, orientations=9, pixels_per_cell=8, cells_per_block=2, pixels=None, trim=None):
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block
        self.pixels = pixels
        self.trim = trim

    def __setstate__(self, state):
        # a bundle saved before the pixels or trim options has neither: it reads as it did
        super().__setstate__({"pixels": None, "trim": None, **state})

    def _features(self, X):
        if self.trim:
            X = trim_crops(X, self.trim)
        cells = self.pixels_per_cell
        if isinstance(cells, (tuple, list)):  # several cell sizes share one gradient pass
            X = np.asarray(X, np.float32)
            grads = _hog_gradients(X, self.orientations)
            out = np.concatenate([hog_batch(X, self.orientations, c, self.cells_per_block, grads) for c in cells],
                                 axis=1)
        else:
            out = hog_batch(X, self.orientations, cells, self.cells_per_block)
        if self.pixels:
            out = np.concatenate([out, downsample(X, self.pixels).reshape(len(X), -1)], axis=1)
        return out


def trim_crops(X, share):
    """Each crop of a ``(n, S, S)`` batch cut to its central ink and squared again, ``(n, S, S)`` float32.

    The rows (and the columns) kept are those between the first where the
    running ink total reaches *share* of the crop's ink and the first where
    it reaches ``1 - share``: at most *share* of the ink goes on each side.
    Ink far from the rest, such as a line running off a character or a
    speck beside it, carries little ink but sets the crop's bounding box
    (:func:`~captchakit.segment.crop_to_square`), so the character comes out
    small; trimmed, it fills the crop again. The kept part is squared as a
    crop is (:func:`~captchakit.segment.square_ink`). Empty crops stay empty.

    Examples
    --------
    >>> X = np.zeros((1, 32, 32), np.float32); X[0, 8:24, 12:20] = 1; X[0, 30, 0:2] = 1  # a speck at the edge
    >>> t = trim_crops(X, 0.03)[0]
    >>> rows = np.flatnonzero(t.sum(axis=1)); int(rows[0]), int(rows[-1])  # the bar fills the crop, less the margin
    (2, 29)
    >>> float(trim_crops(np.zeros((1, 8, 8)), 0.03).sum())
    0.0
    """
    X = np.asarray(X, np.float32)
    h = X.shape[1]
    out = X.copy()
    for i in np.flatnonzero(X.any(axis=(1, 2))):
        out[i] = square_ink(central_ink(X[i], share), h)
    return out


def _hog_gradients(X, orientations):
    """Per pixel of a (n, h, w) float32 batch: gradient magnitude and orientation bin (unsigned, hard bins)."""
    gr = np.zeros_like(X)
    gc = np.zeros_like(X)
    gr[:, 1:-1, :] = X[:, 2:, :] - X[:, :-2, :]
    gc[:, :, 1:-1] = X[:, :, 2:] - X[:, :, :-2]
    mag = np.hypot(gr, gc)
    ang = np.rad2deg(np.arctan2(gr, gc))
    # ``ang % 180`` (the angle lies in [-180, 180]) as np.remainder computes it, the same float32 numbers at
    # less than half its cost (it was a third of the gradients' time): a negative angle plus 180, 180 less 180
    below, above = ang < 0, ang >= 180
    np.add(ang, 180.0, out=ang, where=below)
    np.subtract(ang, 180.0, out=ang, where=above)
    bins = np.minimum((ang * (orientations / 180.0)).astype(np.int32), orientations - 1)
    return mag, bins


def hog_batch(X, orientations=9, pixels_per_cell=8, cells_per_block=2, gradients=None):
    """HOG of a whole batch of crops at once, ``(n, n_features)`` float32.

    The same construction as scikit-image's ``hog`` (central-difference
    gradients, unsigned orientations in hard bins averaged per cell,
    ``L2-Hys`` block normalisation), vectorised over the batch: about 50 times
    faster than calling ``skimage.feature.hog`` per crop, which matters when
    segmentation by recognition scores dozens of candidate pieces per image.

    *gradients*, when given, is ``_hog_gradients(X, orientations)``, shared
    by several cell sizes.

    Examples
    --------
    >>> hog_batch(np.zeros((2, 32, 32), np.float32)).shape
    (2, 324)
    """
    X = np.asarray(X, np.float32)
    n, h, w = X.shape
    ppc, cpb, nb = int(pixels_per_cell), int(cells_per_block), int(orientations)
    cr, cc = h // ppc, w // ppc
    nbr, nbc = max(cr - cpb + 1, 0), max(cc - cpb + 1, 0)
    if n == 0 or nbr == 0 or nbc == 0:
        return np.zeros((n, nbr * nbc * cpb * cpb * nb), np.float32)
    mag, bins = _hog_gradients(X, nb) if gradients is None else gradients
    mag, bins = mag[:, :cr * ppc, :cc * ppc], bins[:, :cr * ppc, :cc * ppc]
    cell = (np.arange(cr * ppc) // ppc)[:, None] * cc + (np.arange(cc * ppc) // ppc)[None, :]
    idx = (np.arange(n)[:, None, None] * (cr * cc) + cell[None]) * nb + bins
    hist = np.bincount(idx.ravel(), weights=mag.ravel(), minlength=n * cr * cc * nb)
    hist = hist.reshape(n, cr, cc, nb) / float(ppc * ppc)
    blocks = np.stack([hist[:, r:r + cpb, c:c + cpb, :].reshape(n, -1)
                       for r in range(nbr) for c in range(nbc)], axis=1)
    eps = 1e-5
    blocks = blocks / np.sqrt((blocks ** 2).sum(axis=2, keepdims=True) + eps ** 2)
    blocks = np.minimum(blocks, 0.2)
    blocks = blocks / np.sqrt((blocks ** 2).sum(axis=2, keepdims=True) + eps ** 2)
    return blocks.reshape(n, -1).astype(np.float32)


class ProfileFeatures(_CropTransformer):
    """Cheap shape features: zoning (ink per cell) plus row and column profiles.

    Examples
    --------
    >>> ProfileFeatures(zones=4).fit_transform(np.ones((1, 32, 32))).shape
    (1, 80)
    """

    def __init__(self, zones=4):
        self.zones = zones

    def _features(self, X):
        n, h, w = X.shape
        z = self.zones
        zh, zw = h // z, w // z
        zoning = X[:, :zh * z, :zw * z].reshape(n, z, zh, z, zw).mean(axis=(2, 4)).reshape(n, -1)
        rows = X.mean(axis=2)
        cols = X.mean(axis=1)
        return np.concatenate([zoning, rows, cols], axis=1).astype(np.float32)


class CombinedFeatures(_CropTransformer):
    """HOG concatenated with zoning/profile features."""

    def __init__(self, orientations=9, pixels_per_cell=8, cells_per_block=2, zones=4):
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block
        self.zones = zones

    def _features(self, X):
        hog = HOGFeatures(self.orientations, self.pixels_per_cell, self.cells_per_block)._features(X)
        prof = ProfileFeatures(self.zones)._features(X)
        return np.concatenate([hog, prof], axis=1)


def _pairs_flat(X):
    """``(n, 2, S, S)`` crop pairs as flat rows; anything else as it is."""
    if isinstance(X, np.ndarray) and X.ndim == 4:
        return X.reshape(len(X), -1)
    return X


class InkPairFeatures(TransformerMixin, BaseEstimator):
    """The features of two crops of each character side by side: its binary crop and its soft crop.

    Each row of ``X`` holds the two crops, flattened one after the other
    (``(n, 2 * S * S)``, or ``(n, 2, S, S)``). *features* (a crop
    transformer, default ``HOGFeatures()``) describes each; the two
    descriptions are concatenated. The binary crop says where the cleaned ink
    is, the soft one (:meth:`~captchakit.segment.PieceCropper.ink_crops`)
    the shades that cleaning lost.

    Examples
    --------
    >>> InkPairFeatures(HOGFeatures(pixels=16)).fit_transform(np.zeros((2, 2, 32, 32))).shape
    (2, 1160)
    """

    def __init__(self, features=None):
        self.features = features

    @staticmethod
    def _halves(X):
        # a row of odd length (any 2-D matrix is accepted, as scikit-learn's checks expect) gets a zero at its end
        if X.shape[1] % 2:
            X = np.pad(X, ((0, 0), (0, 1)))
        half = X.shape[1] // 2
        return X[:, :half], X[:, half:]

    def fit(self, X, y=None):
        X = validate_data(self, _flatten3d(_pairs_flat(X)), reset=True, dtype=np.float32)
        first, second = self._halves(X)
        base = HOGFeatures() if self.features is None else self.features
        self.binary_ = clone(base).fit(first)
        self.soft_ = clone(base).fit(second)
        return self

    def transform(self, X):
        check_is_fitted(self, "binary_")
        X = validate_data(self, _flatten3d(_pairs_flat(X)), reset=False, dtype=np.float32)
        first, second = self._halves(X)
        return np.concatenate([self.binary_.transform(first), self.soft_.transform(second)], axis=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


FEATURES = {
    "hog": HOGFeatures,
    "pixels": PixelFeatures,
    "profile": ProfileFeatures,
    "hog+profile": CombinedFeatures,
}


def make_features(name="hog"):
    """A feature transformer by name: ``hog``, ``pixels``, ``profile`` or ``hog+profile``."""
    if name not in FEATURES:
        raise CaptchakitError(f"features must be one of {', '.join(FEATURES)}; got {name!r}")
    return FEATURES[name]()
