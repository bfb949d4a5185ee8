"""CNN training settings measured from the data (pure functions, no TensorFlow)."""

import math

import numpy as np

from captchakit.preprocess import ink_channel, separability

#: Settings of :class:`CNNRecognizer` that may be left ``"auto"``.
AUTO_SETTINGS = ("height", "width", "head", "batch_size", "epochs", "patience", "warmup_steps", "ink")
#: Optimizer steps a training aims at (early stopping usually ends sooner).
STEP_BUDGET = 4000
#: From this many training images of one label length on, ``head="auto"`` uses one softmax per position.
POSITIONS_FROM = 3000
#: From this many alphabet characters on (more than Latin letters and digits), ``head="auto"`` uses one
#: softmax per position for labels of one length: CTC sat on its blank plateau on chinese_4char (119
#: characters, 1,636 images: 28 epochs on the plateau, 27% of the characters read), the positions head
#: read 99.3% of them. Few examples per character alone do not decide it: on 83 images of
#: captcha_images_v2 (19 characters) CTC read 74.5% of the strings and the positions head 8.7%.
POSITIONS_FROM_CLASSES = 64
#: ``ink="auto"`` reads the colour distance from each column's paper (``local``) instead of the grey image
#: when that separates ink from paper better by at least this much (median Otsu separability,
#: :func:`~captchakit.preprocess.separability`). Measured gains of ``local`` over grey: -0.02 to +0.034 on
#: python-captcha, lzu_digits, captcha_images_v2, math_captcha, chinese_4char, claptcha, wheezy.captcha and
#: colour-lines (the CNN reads them from grey); +0.15 on multicolorcaptcha, whose characters sit on tiles
#: of different colours, light on one and dark on the next.
LOCAL_INK_MARGIN = 0.1


def _round16(v):
    return int(max(16, 16 * round(v / 16)))


def derive_settings(shapes, lengths, n_images, n_classes=None):
    """Input size, head, batch size and training length from the data.

    Parameters
    ----------
    shapes : sequence of (int, int)
        ``(H, W)`` of (a sample of) the training images.
    lengths : sequence of int
        Label lengths.
    n_images : int
        Training images.
    n_classes : int, optional
        Alphabet size; with it, a large alphabet also chooses the positions head.

    Returns
    -------
    dict
        ``height`` (48 for images at least 40 px high, else 32), ``width``
        (the median aspect ratio kept, rounded to 16 px, and at least 16 px
        per character: 4 CTC columns each), ``head`` (CTC when lengths vary;
        for labels of one length, one softmax per position from 3,000 images
        on or with an alphabet of 64 characters or more, else CTC),
        ``batch_size`` (16 below 2,000 images, 32 below 6,000, else 64),
        ``epochs`` (a budget of 4,000 optimizer steps, 15-150 epochs),
        ``patience`` (an eighth of the epochs, 4-15) and ``warmup_steps``
        (a linear learning-rate warm-up over two epochs, at most 300 steps).

    Examples
    --------
    >>> s = derive_settings([(50, 200)] * 10, [5] * 10, 832)
    >>> s["height"], s["width"], s["head"], s["batch_size"], s["epochs"], s["patience"]
    (48, 192, 'ctc', 16, 86, 10)
    >>> derive_settings([(60, 160)] * 10, [4] * 10, 10000)["head"]
    'positions'
    >>> derive_settings([(44, 160)] * 10, [4] * 10, 1636, n_classes=119)["head"]
    'positions'
    """
    hs = np.array([s[0] for s in shapes], float)
    ws = np.array([s[1] for s in shapes], float)
    h_med = float(np.median(hs))
    aspect = float(np.median(ws / hs))
    longest = int(max(lengths))
    height = 48 if h_med >= 40 else 32
    width = min(max(_round16(height * aspect), 16 * longest), 512)
    varying = min(lengths) != max(lengths)
    many = n_classes is not None and n_classes >= POSITIONS_FROM_CLASSES
    head = "ctc" if varying or (n_images < POSITIONS_FROM and not many) else "positions"
    batch = 16 if n_images < 2000 else 32 if n_images < 6000 else 64
    per_epoch = max(1, math.ceil(0.9 * n_images / batch))
    epochs = int(min(150, max(15, math.ceil(STEP_BUDGET / per_epoch))))
    patience = int(min(15, max(4, epochs // 8)))
    warmup = int(min(300, 2 * per_epoch))
    return {"height": height, "width": width, "head": head, "batch_size": batch, "epochs": epochs,
            "patience": patience, "warmup_steps": warmup}


def measure_ink(images, max_images=200):
    """The CNN's input (``"luminance"`` or ``"local"``) for a data set, and the separabilities behind it.

    ``local`` (each pixel's colour distance from its column's own paper) when
    its median Otsu separability over (up to *max_images* of) the images beats
    the grey image's by :data:`LOCAL_INK_MARGIN` or more: paper whose colour
    changes across the image, where grey shows the characters light on one
    tile and dark on the next.  Otherwise ``luminance``.

    Examples
    --------
    >>> grey = np.full((30, 60, 3), 230, np.uint8); grey[8:22, 10:20] = 30; grey[8:22, 40:50] = 30
    >>> measure_ink([grey] * 3)[0]
    'luminance'
    >>> tiles = np.zeros((30, 60, 3), np.uint8); tiles[:, :30] = 60; tiles[:, 30:] = 200   # dark tile, light tile
    >>> tiles[8:22, 10:20] = 140; tiles[8:22, 40:50] = 120   # grey ink: lighter than one tile, darker than the other
    >>> measure_ink([tiles] * 3)[0]
    'local'
    """
    images = list(images)[:max_images]
    sep = {c: round(float(np.median([separability(ink_channel(im, c)) for im in images])), 3)
           for c in ("luminance", "local")}
    return ("local" if sep["local"] >= sep["luminance"] + LOCAL_INK_MARGIN else "luminance"), sep


def restart_recipe(run, n_images, pinned=()):
    """The settings of the one restart after a run stuck near chance: the small-data recipe.

    CTC (it leaves the plateau on small sets where one softmax per position
    stays at chance), batch 16 (more updates per epoch), a budget of twice
    the usual optimizer steps (30-150 epochs), patience at least 10, a
    warm-up over two epochs, half the learning rate and the next seed.
    Settings in *pinned* keep their value.

    Examples
    --------
    >>> run = {"head": "positions", "batch_size": 64, "epochs": 38, "patience": 4, "warmup_steps": 214,
    ...        "learning_rate": 2e-3, "seed": 0}
    >>> r = restart_recipe(run, 6800)
    >>> r["head"], r["batch_size"], r["epochs"], r["patience"], r["learning_rate"], r["seed"]
    ('ctc', 16, 30, 10, 0.001, 1)
    >>> restart_recipe(run, 6800, pinned=["head", "epochs"])["head"]
    'positions'
    """
    per_epoch = max(1, math.ceil(n_images / 16))
    recipe = {"head": "ctc", "batch_size": 16,
              "epochs": int(min(150, max(30, math.ceil(2 * STEP_BUDGET / per_epoch)))),
              "patience": max(10, int(run["patience"])), "warmup_steps": int(min(300, 2 * per_epoch))}
    out = dict(run)
    out.update({k: v for k, v in recipe.items() if k not in pinned})
    out["learning_rate"] = run["learning_rate"] / 2
    out["seed"] = run["seed"] + 1
    return out
