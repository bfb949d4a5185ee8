"""Seeded captcha generation with the ``captcha`` library's ImageCaptcha.

The library draws its randomness from :mod:`secrets`, which cannot be seeded.
:class:`SeededImageCaptcha` keeps the library's fonts, sizes and drawing
parameters but takes every random number from a :class:`random.Random`, so the
same seed gives the same pixels.  The drawing steps follow captcha 0.7's
``ImageCaptcha`` (BSD licence).
"""

import random

import numpy as np

from captchakit._errors import CaptchakitError
from captchakit.data._alphabet import parse_length, resolve_alphabet
from captchakit.data._io import DEFAULT_MAX_PIXELS


def _image_captcha_class():
    from captcha.image import ImageCaptcha

    class SeededImageCaptcha(ImageCaptcha):
        """ImageCaptcha whose randomness comes from ``rng``."""

        def __init__(self, width=160, height=60, fonts=None, font_sizes=None):
            super().__init__(width=width, height=height, fonts=fonts, font_sizes=font_sizes)
            self.rng = random.Random(0)

        def _randbelow(self, n):
            return self.rng.randrange(n) if n > 0 else 0

        def _unit(self):
            return self.rng.random()

        def _color(self, start, end, opacity=None):
            c = tuple(self.rng.randint(start, end) for _ in range(3))
            return c if opacity is None else c + (opacity,)

        def _noise_curve(self, image, color):
            from PIL.ImageDraw import Draw

            w, h = image.size
            x1 = self._randbelow(int(w / 5) + 1)
            x2 = self._randbelow(w - int(w / 5) + 1) + int(w / 5)
            y1 = self._randbelow(h - 2 * int(h / 5) + 1) + int(h / 5)
            y2 = self._randbelow(h - y1 - int(h / 5) + 1) + y1
            end = self._randbelow(41) + 160
            start = self._randbelow(21)
            Draw(image).arc([x1, y1, x2, y2], start, end, fill=color)

        def _noise_dots(self, image, color, width=3, number=30):
            from PIL.ImageDraw import Draw

            draw = Draw(image)
            w, h = image.size
            for _ in range(number):
                x1 = self._randbelow(w + 1)
                y1 = self._randbelow(h + 1)
                draw.line(((x1, y1), (x1 - 1, y1 - 1)), fill=color, width=width)

        def _draw_character(self, c, draw, color):
            from PIL.Image import Resampling, Transform
            from PIL.Image import new as create_image
            from PIL.ImageDraw import Draw

            font = self.truefonts[self._randbelow(len(self.truefonts))]
            _, _, w, h = draw.multiline_textbbox((1, 1), c, font=font)
            dx1 = self._randbelow(self.character_offset_dx[1] - self.character_offset_dx[0] + 1) + self.character_offset_dx[0]
            dy1 = self._randbelow(self.character_offset_dy[1] - self.character_offset_dy[0] + 1) + self.character_offset_dy[0]
            im = create_image("RGBA", (int(w) + dx1, int(h) + dy1))
            Draw(im).text((dx1, dy1), c, font=font, fill=color)
            bbox = im.getbbox()
            if bbox:
                im = im.crop(bbox)
            lo, hi = self.character_rotate
            im = im.rotate(lo + self._unit() * (hi - lo), Resampling.BILINEAR, expand=True)
            dx2 = w * self._unit() * (self.character_warp_dx[1] - self.character_warp_dx[0]) + self.character_warp_dx[0]
            dy2 = h * self._unit() * (self.character_warp_dy[1] - self.character_warp_dy[0]) + self.character_warp_dy[0]
            x1 = int(self._unit() * 2 * dx2 - dx2)
            y1 = int(self._unit() * 2 * dy2 - dy2)
            x2 = int(self._unit() * 2 * dx2 - dx2)
            y2 = int(self._unit() * 2 * dy2 - dy2)
            w2 = int(w) + abs(x1) + abs(x2)
            h2 = int(h) + abs(y1) + abs(y2)
            data = (x1, y1, -x1, h2 - y2, w2 + x2, h2 + y2, w2 - x2, -y1)
            im = im.resize((w2, h2))
            return im.transform((int(w), int(h)), Transform.QUAD, data)

        def create_captcha_image(self, chars, color, background):
            from PIL.Image import new as create_image
            from PIL.ImageDraw import Draw

            image = create_image("RGB", (self._width, self._height), background)
            draw = Draw(image)
            images = []
            for c in chars:
                if self._unit() > self.word_space_probability:
                    images.append(self._draw_character(" ", draw, color))
                images.append(self._draw_character(c, draw, color))
            text_width = sum(im.size[0] for im in images)
            width = max(text_width, self._width)
            image = image.resize((width, self._height))
            average = int(text_width / len(chars))
            rand = int(self.word_offset_dx * average)
            offset = int(average * 0.1)
            for im in images:
                w, h = im.size
                mask = im.convert("L").point(self.lookup_table)
                image.paste(im, (offset, int((self._height - h) / 2)), mask)
                offset = offset + w - self._randbelow(rand + 1)
            if width > self._width:
                image = image.resize((self._width, self._height))
            return image

        def generate_seeded(self, chars, seed):
            """Draw *chars* with all randomness taken from *seed*."""
            from PIL.ImageFilter import SMOOTH

            self.rng.seed(seed)
            background = self._color(238, 255)
            color = self._color(10, 200, self._randbelow(36) + 220)
            im = self.create_captcha_image(chars, color, background)
            self._noise_dots(im, color)
            self._noise_curve(im, color)
            return im.filter(SMOOTH)

    return SeededImageCaptcha


def random_labels(n, alphabet="digits", length=4, seed=0):
    """Draw *n* seeded random labels.

    Examples
    --------
    >>> random_labels(3, "digits", 4, seed=0)
    ['8652', '3000', '1869']
    """
    chars = resolve_alphabet(alphabet)
    lo, hi = parse_length(length)
    rng = np.random.default_rng(seed)
    lengths = rng.integers(lo, hi + 1, size=n)
    return ["".join(chars[i] for i in rng.integers(0, len(chars), size=k)) for k in lengths]


def _image_seeds(seed, start, count):
    ss = np.random.SeedSequence([int(seed), 0x6361707463])
    # one child per image index so results do not depend on chunking or jobs
    base = ss.generate_state(1, dtype=np.uint64)[0]
    return [int((int(base) + 0x9E3779B97F4A7C15 * (start + i)) % (1 << 63)) for i in range(count)]


def render_captchas(labels, seeds, width=160, height=60, fonts=None, noise=None, noise_seed=None):
    """Render labels with per-image seeds; returns a list of RGB uint8 arrays."""
    cls = _image_captcha_class()
    gen = cls(width=width, height=height, fonts=list(fonts) if fonts else None)
    out = []
    for i, (label, s) in enumerate(zip(labels, seeds)):
        im = np.asarray(gen.generate_seeded(label, s).convert("RGB"), dtype=np.uint8)
        if noise:
            from captchakit.data._noise import apply_noise

            im = apply_noise(im, noise, seed=s ^ 0x5EED)
        out.append(im)
    return out


def check_fonts(fonts):
    """Check TTF font paths exist and can be loaded."""
    if not fonts:
        return None
    from PIL import ImageFont

    for f in fonts:
        try:
            ImageFont.truetype(str(f), 20)
        except OSError as exc:
            raise CaptchakitError(f"{f}: cannot load font ({exc})") from None
    return [str(f) for f in fonts]


def generate_captchas(n, alphabet="digits", length=4, width=160, height=60, fonts=None,
                      seed=0, noise=None, start=0, n_jobs=1, progress=None, scheduler=None):
    """Generate seeded captchas in memory.

    Parameters
    ----------
    n : int
        Number of images.
    alphabet : str
        Alphabet name or literal characters (see :func:`resolve_alphabet`).
    length : int or str
        Fixed length or a range such as ``"4-6"``.
    width, height : int
        Image size in pixels.
    fonts : list of str, optional
        TTF files; by default the library's bundled font.
    seed : int
        The same seed gives the same labels and the same pixels.
    noise : dict or str, optional
        Extra noise (see :func:`captchakit.data.parse_noise`).
    start : int
        Index of the first image (to continue a seeded sequence).
    n_jobs : int
        Worker processes.
    scheduler : str, optional
        ``local:N`` or a Dask scheduler address: render on a Dask cluster
        (same images as on this machine).
    progress : callable, optional
        Wraps an iterable in a progress bar (advanced chunk by chunk).

    Returns
    -------
    images : list of (height, width, 3) uint8 ndarray
    labels : list of str

    Examples
    --------
    >>> images, labels = generate_captchas(2, length=4, seed=1)
    >>> images[0].shape, len(labels[0])
    ((60, 160, 3), 4)
    """
    labels, seeds, fonts, noise = prepare_generation(n, alphabet, length, width, height, fonts, seed,
                                                     noise, start)
    chunks = [(labels[i:i + CHUNK], seeds[i:i + CHUNK], width, height, fonts, noise)
              for i in range(0, n, CHUNK)]
    images = []
    for chunk in run_chunks(render_captchas, chunks, n_jobs, progress, n, scheduler):
        images.extend(chunk)
    return images, labels


CHUNK = 64
#: Longest label generate writes (file names carry the label).
MAX_LENGTH = 32


#: The most images one seeded sequence holds (its labels are drawn up front: a billion ran out of memory).
MAX_IMAGES = 10_000_000


def check_count(n, start=0):
    """A one-line error unless 0 <= *n* and *start* + *n* <= ``MAX_IMAGES``.

    Examples
    --------
    >>> check_count(1000, start=5)
    >>> check_count(10**9)
    Traceback (most recent call last):
    ...
    captchakit._errors.CaptchakitError: count must be at most 10000000 images, got 1000000000
    """
    if n < 0:
        raise CaptchakitError(f"count must be >= 0, got {n}")
    if start + n > MAX_IMAGES:
        after = f" after the {start} already there" if start else ""
        raise CaptchakitError(f"count must be at most {MAX_IMAGES - start} images{after}, got {n}")


def prepare_generation(n, alphabet, length, width, height, fonts, seed, noise, start=0):
    """Check the generation options; return ``(labels, seeds, fonts, noise)`` for images start..start+n."""
    check_count(n, start)
    if width < 16 or height < 16:
        raise CaptchakitError(f"width and height must be at least 16 pixels, got {width}x{height}")
    if width * height > DEFAULT_MAX_PIXELS:  # what captchakit reads back; a larger request ran out of memory
        raise CaptchakitError(f"width x height must be at most {DEFAULT_MAX_PIXELS} pixels (4096x4096, the "
                              f"largest image captchakit reads), got {width}x{height}")
    lo, hi = parse_length(length)
    if hi > MAX_LENGTH:
        raise CaptchakitError(f"length must be at most {MAX_LENGTH} characters, got {length!r}")
    fonts = check_fonts(fonts)
    if noise:
        from captchakit.data._noise import parse_noise

        noise = parse_noise(noise)
    labels = random_labels(start + n, alphabet, length, seed)[start:]
    return labels, _image_seeds(seed, start, n), fonts, noise or None


def run_chunks(worker, chunks, n_jobs=1, progress=None, total=None, scheduler=None):
    """Yield ``worker(*args)`` for each args tuple, in order, in processes when *n_jobs* > 1.

    With *scheduler* (``local:N`` or a Dask scheduler address) the chunks run
    on a Dask cluster instead.  *progress*, if given, wraps ``range(total)``
    in a bar that advances by the length of each result.
    """
    bar = iter(progress(range(total))) if progress is not None else None
    if scheduler is not None or (n_jobs > 1 and len(chunks) > 1):
        from joblib import Parallel, delayed

        from captchakit._cluster import parallel_runner

        with parallel_runner(scheduler, n_jobs) as runner:
            results = Parallel(n_jobs=runner.n_jobs, return_as="generator")(delayed(worker)(*a) for a in chunks)
            yield from _ticked(results, bar)
    else:
        yield from _ticked((worker(*a) for a in chunks), bar)


def _ticked(results, bar):
    for r in results:
        if bar is not None:
            for _ in r:
                next(bar, None)
        yield r
    if bar is not None:
        for _ in bar:
            pass
