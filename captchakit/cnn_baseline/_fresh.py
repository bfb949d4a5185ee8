"""Fresh seeded python-captcha images for every epoch of the CNN (for generated sets)."""

import queue
import threading

import numpy as np

from captchakit._errors import CaptchakitError

#: Keys of a fresh-data spec (see :func:`check_fresh_spec`).
FRESH_KEYS = ("alphabet", "length", "width", "height", "seed", "start", "per_epoch")


def check_fresh_spec(spec):
    """Check a fresh-data spec and fill its defaults; returns a new dict.

    A spec says how the training set was drawn, so that more images of the
    same kind can be drawn: ``alphabet`` and ``length`` (as for
    :func:`captchakit.data.generate_captchas`), ``width``/``height`` (160x60),
    ``seed`` (0), ``start`` (the index of the first fresh image in that
    seeded sequence: the number of images already drawn, so that no fresh
    image repeats one of the given set, validation part included) and
    ``per_epoch`` (images per epoch, default: as many as the training part).

    Examples
    --------
    >>> check_fresh_spec({"alphabet": "digits", "length": 4, "start": 10000})["width"]
    160
    >>> check_fresh_spec({"alphabet": "digits"})
    Traceback (most recent call last):
    ...
    captchakit._errors.CaptchakitError: fresh data: the spec needs 'length' (how the training set was drawn)
    """
    if not isinstance(spec, dict):
        raise CaptchakitError(f"fresh data: the spec must be a dict, got {type(spec).__name__}")
    unknown = sorted(set(spec) - set(FRESH_KEYS))
    if unknown:
        raise CaptchakitError(f"fresh data: unknown key(s) {', '.join(unknown)} (known: {', '.join(FRESH_KEYS)})")
    for k in ("alphabet", "length"):
        if k not in spec:
            raise CaptchakitError(f"fresh data: the spec needs {k!r} (how the training set was drawn)")
    out = {"width": 160, "height": 60, "seed": 0, "start": 0, "per_epoch": None, **spec}
    for k in ("width", "height", "seed", "start"):
        if not isinstance(out[k], (int, np.integer)) or out[k] < 0:
            raise CaptchakitError(f"fresh data: {k!r} must be a non-negative whole number, got {out[k]!r}")
    if out["per_epoch"] is not None and (not isinstance(out["per_epoch"], (int, np.integer)) or out["per_epoch"] < 1):
        raise CaptchakitError(f"fresh data: 'per_epoch' must be at least 1, got {out['per_epoch']!r}")
    return out


class _Stopped(Exception):
    """close() was called while an epoch was being drawn."""


class FreshEpochs:
    """Draw the images of the next epoch in a background thread while the current one trains.

    Epoch *k* (0, 1, ...) holds images ``start + k * per_epoch`` onwards of
    the seeded sequence of *spec*: the same seed gives the same images in
    the same order, whatever the machine.  *convert* turns ``(images,
    labels)`` into model arrays ``(x, y)``.
    """

    def __init__(self, spec, per_epoch, convert, n_jobs=2):
        self.spec, self.per_epoch, self.convert, self.n_jobs = spec, int(per_epoch), convert, n_jobs
        self.drawn = 0
        self._ready = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, daemon=True, name="captchakit-fresh")
        self._thread.start()

    def draw(self, k):
        """The images and labels of fresh epoch *k* (no threads)."""
        from captchakit.data import generate_captchas

        s = self.spec
        images, labels = [], []
        first = s["start"] + k * self.per_epoch
        for i in range(0, self.per_epoch, 1024):  # in parts, so that close() does not wait for a whole epoch
            if self._stop.is_set():
                raise _Stopped()
            ims, labs = generate_captchas(min(1024, self.per_epoch - i), s["alphabet"], s["length"], s["width"],
                                          s["height"], seed=s["seed"], start=first + i, n_jobs=self.n_jobs)
            images += ims
            labels += labs
        return images, labels

    def _work(self):
        k = 0
        while not self._stop.is_set():
            try:
                item = self.convert(*self.draw(k))
            except _Stopped:
                return
            except Exception as exc:  # noqa: BLE001  (handed to the training thread, raised there)
                item = exc
            while not self._stop.is_set():
                try:
                    self._ready.put(item, timeout=0.5)
                    break
                except queue.Full:
                    continue
            if isinstance(item, Exception):
                return
            k += 1

    def next_epoch(self):
        """The model arrays of the next fresh epoch (waits while they are being drawn)."""
        item = self._ready.get()
        if isinstance(item, Exception):
            raise item
        self.drawn += self.per_epoch
        return item

    def close(self):
        self._stop.set()
        try:
            self._ready.get_nowait()
        except queue.Empty:
            pass
        self._thread.join(timeout=30)

    def batches(self, batch_size):
        """Endless ``(x, y)`` batches, epoch after fresh epoch (for ``tf.data.Dataset.from_generator``)."""
        while True:
            x, y = self.next_epoch()
            for i in range(0, len(x) - len(x) % batch_size or len(x), batch_size):
                yield x[i:i + batch_size], y[i:i + batch_size]
