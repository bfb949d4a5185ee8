"""Seeded noise models that make noisy captchas from clean ones.

Each model is a pure function of the image and a random generator; the
result is a new array.
"""

import cv2
import numpy as np

from captchakit._errors import CaptchakitError

#: Noise models and the meaning of their value.
NOISE_MODELS = {
    "salt": "salt-and-pepper: share of pixels set to black or white (0-1)",
    "gauss": "Gaussian noise: sigma in grey levels (0-255)",
    "lines": "random lines drawn across the image: how many",
    "line-width": "width in pixels of those lines (default 2)",
    "dots": "random dark specks: how many",
    "blur": "Gaussian blur: sigma in pixels",
}


def parse_noise(spec):
    """Parse a noise spec such as ``"salt:0.05,lines:3"`` into a dict.

    Examples
    --------
    >>> parse_noise("salt:0.05,lines:3")
    {'salt': 0.05, 'lines': 3.0}
    """
    if spec is None or spec == "" or spec == {}:
        return {}
    if isinstance(spec, dict):
        items = list(spec.items())
    else:
        items = []
        for part in str(spec).split(","):
            part = part.strip()
            if not part:
                continue
            if ":" not in part:
                raise CaptchakitError(f"noise entry {part!r} must look like name:value, e.g. salt:0.05")
            k, v = part.split(":", 1)
            items.append((k.strip(), v.strip()))
    out = {}
    for k, v in items:
        if k not in NOISE_MODELS:
            raise CaptchakitError(f"unknown noise model {k!r}; choose from {', '.join(NOISE_MODELS)}")
        try:
            val = float(v)
        except (TypeError, ValueError):
            raise CaptchakitError(f"noise {k!r} needs a number, got {v!r}") from None
        if val < 0 or (k == "salt" and val > 1):
            raise CaptchakitError(f"noise {k!r} value {val} is out of range ({NOISE_MODELS[k]})")
        out[k] = val
    return out


def salt_and_pepper(image, rate, rng):
    """Set a share *rate* of pixels to black or white."""
    out = image.copy()
    hit = rng.random(image.shape[:2]) < rate
    white = rng.random(image.shape[:2]) < 0.5
    out[hit & white] = 255
    out[hit & ~white] = 0
    return out


def gaussian_noise(image, sigma, rng):
    """Add Gaussian noise of standard deviation *sigma* grey levels."""
    noisy = image.astype(np.float32) + rng.normal(0, sigma, image.shape[:2])[..., None]
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


def random_lines(image, count, width, rng):
    """Draw *count* dark lines of *width* pixels across the image."""
    out = np.ascontiguousarray(image.copy())
    h, w = out.shape[:2]
    for _ in range(int(count)):
        x0, x1 = rng.integers(0, w // 4 + 1), rng.integers(3 * w // 4, w)
        y0, y1 = rng.integers(0, h), rng.integers(0, h)
        shade = int(rng.integers(0, 120))
        cv2.line(out, (int(x0), int(y0)), (int(x1), int(y1)), (shade,) * 3, max(1, int(width)))
    return out


def random_dots(image, count, rng):
    """Scatter *count* dark specks of 1-3 pixels."""
    out = np.ascontiguousarray(image.copy())
    h, w = out.shape[:2]
    for _ in range(int(count)):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(1, 3))
        cv2.circle(out, (x, y), r, (int(rng.integers(0, 120)),) * 3, -1)
    return out


def blur(image, sigma):
    """Gaussian blur of *sigma* pixels."""
    if sigma <= 0:
        return image.copy()
    return cv2.GaussianBlur(image, (0, 0), sigma)


def apply_noise(image, noise, seed=0):
    """Apply the noise models in *noise* to an RGB uint8 image.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
    noise : dict or str
        See :func:`parse_noise`.
    seed : int
        The same seed gives the same noise.

    Returns
    -------
    (H, W, 3) uint8 ndarray
        A new image; the input is left unchanged.

    Examples
    --------
    >>> img = np.full((20, 40, 3), 255, np.uint8)
    >>> out = apply_noise(img, "salt:0.5", seed=0)
    >>> bool((out != 255).any()), bool((img == 255).all())
    (True, True)
    """
    noise = parse_noise(noise)
    rng = np.random.default_rng(seed)
    out = np.asarray(image)
    if out.ndim == 2:
        out = np.repeat(out[:, :, None], 3, axis=2)
    out = out.copy()
    if noise.get("lines"):
        out = random_lines(out, noise["lines"], noise.get("line-width", 2), rng)
    if noise.get("dots"):
        out = random_dots(out, noise["dots"], rng)
    if noise.get("blur"):
        out = blur(out, noise["blur"])
    if noise.get("gauss"):
        out = gaussian_noise(out, noise["gauss"], rng)
    if noise.get("salt"):
        out = salt_and_pepper(out, noise["salt"], rng)
    return out
