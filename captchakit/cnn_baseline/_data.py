"""Images to model inputs, and the seeded tf.data pipeline with augmentation."""

import cv2
import numpy as np

from captchakit._errors import CaptchakitError
from captchakit.preprocess import dark_ink, ink_channel, to_gray

#: What the CNN reads of an image: ``luminance``, the grey image with its ink made dark
#: (:func:`~captchakit.preprocess.dark_ink`); ``local``, how far each pixel's colour is from its own
#: column's paper (:func:`~captchakit.preprocess.ink_channel`), for paper whose colour changes across
#: the image (tiles), where grey ink is light on one tile and dark on the next.
INPUT_INKS = ("luminance", "local")
#: Batches prepared ahead of training, and batches augmented at a time. Fixed, with tf.data's autotuner off
#: (:func:`_untuned`): on the 2-core Intel Xeon, with it on, about one epoch in three ran at half speed
#: (the same CPU time, one core's worth of it at a time; 2026-12-03, a development script over
#: :func:`make_dataset`: 181-183 against 328-363 images/s; with it off, 304-388 in every epoch).
PREFETCH, PARALLEL_CALLS = 2, 2


def check_ink(ink, name="ink", auto=False):
    """*ink* when it names one of :data:`INPUT_INKS` (or ``"auto"``, with *auto*); else a one-line error naming *name*.

    Examples
    --------
    >>> check_ink("local"), check_ink("auto", auto=True)
    ('local', 'auto')
    """
    allowed = (("auto",) if auto else ()) + INPUT_INKS
    if ink not in allowed:
        raise CaptchakitError(f"{name} must be one of {', '.join(allowed)}, got {ink!r}")
    return ink


def to_input(images, height, width, ink="luminance"):
    """Ink-high float32 arrays ``(n, height, width, 1)`` in 0-1.

    Parameters
    ----------
    images : sequence of (H, W) or (H, W, 3) uint8 ndarray
    height, width : int
        The network's input size (each image is resized to it, ``INTER_AREA``).
    ink : {"luminance", "local"}
        See :data:`INPUT_INKS`.

    Examples
    --------
    >>> im = np.full((20, 40, 3), 230, np.uint8); im[5:15, 10:20] = 20
    >>> x = to_input([im], 10, 20)
    >>> x.shape, round(float(x[0, 5, 7, 0]), 2), round(float(x[0, 0, 0, 0]), 2)
    ((1, 10, 20, 1), 0.92, 0.1)
    >>> tiles = np.zeros((20, 40, 3), np.uint8); tiles[:, :20] = (200, 40, 40); tiles[:, 20:] = (40, 40, 200)
    >>> tiles[8:12, 5:15] = (40, 40, 200); tiles[8:12, 25:35] = (200, 40, 40)   # each mark in the other tile's colour
    >>> y = to_input([tiles], 20, 40, ink="local")
    >>> bool(y[0, 10, 10, 0] > 0.9 and y[0, 10, 30, 0] > 0.9 and y[0, 2, 10, 0] < 0.1)
    True
    """
    check_ink(ink)
    out = np.zeros((len(images), height, width, 1), np.float32)
    for i, im in enumerate(images):
        g = ink_channel(im, "local") if ink == "local" else dark_ink(to_gray(im))
        g = cv2.resize(g, (width, height), interpolation=cv2.INTER_AREA)
        out[i, :, :, 0] = 1.0 - g.astype(np.float32) / 255.0
    return out


def make_dataset(x, y, batch_size, augment=False, seed=0, shuffle=True, noise=0.04):
    """``from_tensor_slices → shuffle → batch → map(augment) → prefetch``, with tf.data's autotuner off.

    Augmentation (seeded): small rotation, shift and scale, and Gaussian
    noise of standard deviation *noise* on a random half of the images
    (0: none).  Noise on every training image shifts the batch-norm
    statistics away from those of clean test images: measured on the 4-digit
    set, it cost 6 points of whole-string accuracy.
    """
    import keras
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augment:
        ds = augment_batches(ds, seed, noise)
    return _untuned(ds.prefetch(PREFETCH))


def _untuned(ds):
    """*ds* with tf.data's autotuner off (see :data:`PREFETCH`)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


def augment_batches(ds, seed=0, noise=0.04):
    """Seeded augmentation of a batched ``(x, y)`` dataset (see :func:`make_dataset`)."""
    import keras
    import tensorflow as tf

    aug = keras.Sequential([
        keras.layers.RandomRotation(0.02, fill_mode="constant", seed=seed),
        keras.layers.RandomTranslation(0.06, 0.04, fill_mode="constant", seed=seed + 1),
        keras.layers.RandomZoom(0.08, fill_mode="constant", seed=seed + 2),
    ])
    gauss = keras.layers.GaussianNoise(noise, seed=seed + 3) if noise else None

    def _aug(a, b):
        a = aug(a, training=True)
        if gauss is not None:
            pick = tf.random.uniform([tf.shape(a)[0], 1, 1, 1], seed=seed + 4) < 0.5
            a = tf.where(pick, gauss(a, training=True), a)
        return tf.clip_by_value(a, 0.0, 1.0), b

    return ds.map(_aug, num_parallel_calls=PARALLEL_CALLS)


def fresh_dataset(first, fresh, batch_size, augment=False, seed=0, noise=0.04):
    """Batches of the given training arrays *first* (one seeded shuffled pass), then of fresh epochs
    drawn by *fresh* (:class:`FreshEpochs`), endlessly; augmented like :func:`make_dataset`."""
    import tensorflow as tf

    x0, y0 = first

    def gen():
        order = np.random.default_rng(seed).permutation(len(x0))
        for i in range(0, len(order), batch_size):
            yield x0[order[i:i + batch_size]], y0[order[i:i + batch_size]]
        yield from fresh.batches(batch_size)

    sig = (tf.TensorSpec((None, *x0.shape[1:]), tf.float32), tf.TensorSpec((None, *y0.shape[1:]), tf.int32))
    ds = tf.data.Dataset.from_generator(gen, output_signature=sig)
    if augment:
        ds = augment_batches(ds, seed, noise)
    return _untuned(ds.prefetch(PREFETCH))
