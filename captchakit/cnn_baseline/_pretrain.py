"""Synthetic look-alikes for pretraining the CNN (python-captcha images shaped like the user's)."""

import math
from pathlib import Path

import numpy as np

#: Pretraining values of :class:`CNNRecognizer`'s *pretrain*.
PRETRAIN_MODES = ("none", "synthetic", "auto")
#: With ``pretrain="auto"``: pretrain when the user's set has fewer training images than this.
AUTO_PRETRAIN_BELOW = 2000
#: Optimizer steps of the pretraining run.
PRETRAIN_STEPS = 1500
#: Synthetic images drawn for pretraining.
PRETRAIN_IMAGES = 4000


def pretrain_plan(n_images, mode, batch_size, steps=None, images=None):
    """How many synthetic images and epochs to pretrain on, or None for no pretraining.

    Examples
    --------
    >>> pretrain_plan(800, "auto", 16)
    {'images': 4000, 'epochs': 7}
    >>> pretrain_plan(5000, "auto", 32) is None
    True
    >>> pretrain_plan(5000, "synthetic", 32)
    {'images': 4000, 'epochs': 14}
    """
    if mode == "none" or (mode == "auto" and n_images >= AUTO_PRETRAIN_BELOW):
        return None
    n = images or PRETRAIN_IMAGES
    steps = steps or PRETRAIN_STEPS
    per_epoch = math.ceil(0.9 * n / batch_size)
    return {"images": n, "epochs": int(max(2, math.ceil(steps / per_epoch)))}


def synthetic_lookalikes(n, alphabet, lengths, shape, seed=0, n_jobs=2):
    """*n* python-captcha images with the user's alphabet, label lengths and image size.

    Parameters
    ----------
    n : int
    alphabet : str
        The characters of the user's labels.
    lengths : (int, int)
        Shortest and longest label.
    shape : (int, int)
        ``(H, W)`` of the user's images (their median).
    seed : int

    Returns
    -------
    images, labels, font
        *font* is the font file used when python-captcha's own font cannot
        draw the alphabet (CJK), else None.

    Raises
    ------
    CaptchakitError
        When no font on this machine draws the alphabet.

    Examples
    --------
    >>> X, y, font = synthetic_lookalikes(3, "ab7", (4, 5), (50, 180), seed=1, n_jobs=1)
    >>> X[0].shape, all(set(v) <= set("ab7") and 4 <= len(v) <= 5 for v in y), font
    ((50, 180, 3), True, None)
    """
    import captcha

    from captchakit._errors import CaptchakitError
    from captchakit.data import generate_captchas
    from captchakit.report._plots import font_file_covering

    default = Path(captcha.__file__).parent / "data" / "DroidSansMono.ttf"
    font, missing = font_file_covering(alphabet, default if default.is_file() else None)
    if missing:
        raise CaptchakitError(f"synthetic pretraining: no font on this machine draws {missing[:20]!r} "
                              "(install a font that covers the alphabet, e.g. Debian's fonts-wqy-microhei)")
    h, w = (max(16, int(v)) for v in shape)
    lo, hi = lengths
    images, labels = generate_captchas(n, alphabet="chars:" + alphabet, length=f"{lo}-{hi}" if lo != hi else lo,
                                       width=w, height=h, fonts=[font] if font else None, seed=seed,
                                       n_jobs=n_jobs)
    return images, labels, font


def median_shape(images):
    """Median ``(H, W)`` of (a sample of) images."""
    shapes = np.array([np.asarray(im).shape[:2] for im in images[:500]])
    return int(np.median(shapes[:, 0])), int(np.median(shapes[:, 1]))
