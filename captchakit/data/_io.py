"""The one place that reads and writes images, labels and manifests.

Everything else in captchakit works on numpy arrays.  Images come out of
:func:`read_image` as ``(H, W, 3)`` uint8 RGB arrays, whatever the file's
format or mode.
"""

import csv
import hashlib
import json
import re
import warnings
from pathlib import Path

import numpy as np

from captchakit._errors import CaptchakitError, ImageReadError, LabelError
from captchakit.data._alphabet import check_label

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")
#: Default pixel limit: far above any captcha, far below a decompression bomb.
DEFAULT_MAX_PIXELS = 4096 * 4096


def pil_to_rgb(im):
    """Convert a Pillow image of any common mode to an ``(H, W, 3)`` uint8 array.

    Modes 1, L, P, RGB, RGBA/LA/PA (composited on white), CMYK and the 16-bit
    and 32-bit integer modes (scaled by their maximum) are handled.
    """
    from PIL import Image

    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        mode = im.mode
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba).convert("RGB")
    elif mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        top = arr.max()
        if mode.startswith("I;16"):
            top = 65535.0 if top > 255 else max(top, 1.0)
        else:
            top = max(top, 1.0)
        gray = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    elif mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.uint8).copy()


def read_image(path, max_pixels=DEFAULT_MAX_PIXELS):
    """Read one image file as an ``(H, W, 3)`` uint8 RGB array.

    Parameters
    ----------
    path : str or Path
    max_pixels : int
        Images with more pixels are refused before they are decoded.

    Raises
    ------
    ImageReadError
        Missing, empty, corrupt, truncated, non-image or oversized files,
        with the file and the problem in the message.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise ImageReadError(path, "no such file")
    if path.is_dir():
        raise ImageReadError(path, "is a folder, not an image")
    if path.stat().st_size == 0:
        raise ImageReadError(path, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise ImageReadError(
                        path, f"image is {w}x{h} = {w * h} pixels, above the limit of {max_pixels}"
                    )
                if w == 0 or h == 0:
                    raise ImageReadError(path, "image has no pixels")
                im.seek(0)  # first frame of a GIF
                im.load()
                return pil_to_rgb(im)
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image file (unrecognised format)") from None
    except Image.DecompressionBombError as exc:
        raise ImageReadError(path, f"image too large: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        msg = str(exc) or type(exc).__name__
        if "truncated" in msg.lower():
            msg = "truncated image file"
        raise ImageReadError(path, f"corrupt image: {msg}") from None


def write_image(path, image):
    """Write an array as an image; the format follows the file suffix.

    ``bool`` arrays are written as black ink on white, float arrays are taken
    as 0-1.
    """
    from PIL import Image

    arr = np.asarray(image)
    if arr.dtype == bool:
        arr = np.where(arr, 0, 255).astype(np.uint8)
    elif arr.dtype.kind == "f":
        arr = np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def list_images(folder, recursive=True):
    """Image files under *folder*, sorted, nested folders included."""
    folder = Path(folder)
    if not folder.exists():
        raise CaptchakitError(f"{folder}: no such file or folder")
    if not folder.is_dir():
        raise CaptchakitError(f"{folder}: not a folder")
    it = folder.rglob("*") if recursive else folder.iterdir()
    files = sorted(p for p in it if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return files


def label_from_name(path, pattern=None):
    """The label a file name carries.

    By default the text before the first ``_``, otherwise the stem.  A regular
    expression *pattern* takes its first group (or the whole match) instead.

    Examples
    --------
    >>> label_from_name("out/a1b2_17.png")
    'a1b2'
    >>> label_from_name("x/3x7k.jpg")
    '3x7k'
    >>> label_from_name("img-42-ab12.png", pattern=r"-([a-z0-9]+)$")
    'ab12'
    """
    stem = Path(path).stem
    if pattern is None:
        return stem.split("_", 1)[0]
    m = re.search(pattern, stem)
    if not m:
        raise LabelError(f"{path}: file name does not match the label pattern {pattern!r}")
    return m.group(1) if m.groups() else m.group(0)


def read_labels_file(path):
    """Read a labels file: CSV ``filename,label`` or JSON ``{filename: label}``.

    Returns
    -------
    dict
        File name (as written in the file) to label.
    """
    path = Path(path)
    if not path.is_file():
        raise CaptchakitError(f"{path}: labels file not found")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CaptchakitError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise CaptchakitError(f"{path}: expected a JSON object mapping file name to label")
        return dict(data)
    rows = list(csv.reader(text.splitlines()))
    out = {}
    for i, row in enumerate(rows, 1):
        if not row or (i == 1 and [c.strip().lower() for c in row[:2]] == ["filename", "label"]):
            continue
        if len(row) < 2:
            raise CaptchakitError(f"{path}: line {i} is not 'filename,label'")
        out[row[0].strip()] = row[1].strip()
    return out


def find_labelled_images(source, labels_file=None, pattern=None, alphabet=None, length=None):
    """List the labelled images of a folder.

    Parameters
    ----------
    source : str or Path
        A folder (nested folders allowed) or a labels file (CSV/JSON) whose
        file names are relative to its own folder.
    labels_file : str or Path, optional
        Labels file for a folder; by default ``labels.csv`` in the folder is
        used when present, else the file names.
    pattern : str, optional
        Regex taking the label out of a file name.
    alphabet, length : optional
        When given, labels that do not fit are reported as problems.

    Returns
    -------
    items : list of (Path, str)
        Files with their labels.
    problems : list of str
        One line per file left out, naming the file and the problem.
    """
    source = Path(source)
    if source.is_file() and source.suffix.lower() in (".csv", ".json"):
        labels_file, root = source, source.parent
    else:
        root = source
    files = list_images(root)
    if labels_file is None and (root / "labels.csv").is_file() and pattern is None:
        labels_file = root / "labels.csv"
    items, problems = [], []
    if labels_file is not None:
        mapping = read_labels_file(labels_file)
        base = Path(labels_file).parent
        for name, label in mapping.items():
            p = base / name
            if not p.is_file():
                problems.append(f"{p}: listed in {labels_file} but not found")
                continue
            items.append((p, label))
    else:
        for p in files:
            try:
                items.append((p, label_from_name(p, pattern)))
            except LabelError as exc:
                problems.append(str(exc))
    if not items and not problems:
        raise CaptchakitError(f"{root}: no images found (looked for {', '.join(IMAGE_SUFFIXES)})")
    kept = []
    for p, label in items:
        try:
            check_label(label, alphabet, length, source=p)
        except LabelError as exc:
            problems.append(str(exc))
            continue
        kept.append((p, label))
    return kept, problems


def load_labelled(source, labels_file=None, pattern=None, alphabet=None, length=None,
                  max_pixels=DEFAULT_MAX_PIXELS, progress=None):
    """Read a labelled folder into memory, skipping (and listing) bad files.

    Returns
    -------
    images : list of (H, W, 3) uint8 ndarray
    labels : list of str
    paths : list of Path
    problems : list of str
    """
    items, problems = find_labelled_images(source, labels_file, pattern, alphabet, length)
    images, labels, paths = [], [], []
    it = progress(items) if progress else items
    for p, label in it:
        try:
            images.append(read_image(p, max_pixels))
        except ImageReadError as exc:
            problems.append(str(exc))
            continue
        labels.append(label)
        paths.append(p)
    if not images:
        detail = f" ({len(problems)} problems, first: {problems[0]})" if problems else ""
        raise CaptchakitError(f"{source}: no readable labelled images{detail}")
    return images, labels, paths, problems


def file_digest(path, chunk=1 << 16):
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def prepare_output_dir(out, overwrite=False, append=False):
    """Make sure *out* is a usable output folder.

    A file at *out* is refused; a non-empty folder is refused unless
    *overwrite* or *append* is set.  Nothing is ever deleted.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CaptchakitError(f"{out}: exists and is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (overwrite or append):
        raise CaptchakitError(
            f"{out}: folder is not empty; pass --append to add to it or --overwrite to write over files of the same name"
        )
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_manifest(path, rows, append=False):
    """Write (or append) ``filename,label`` rows to a CSV manifest."""
    path = Path(path)
    new = not (append and path.exists())
    with open(path, "a" if not new else "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["filename", "label"])
        w.writerows(rows)


def write_json(path, obj):
    """Write *obj* as indented JSON."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n",
                          encoding="utf-8")


def read_json(path):
    """Read a JSON file, with a one-line error naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CaptchakitError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CaptchakitError(f"{path}: not valid JSON ({exc})") from None


def read_config(path):
    """Read a JSON or YAML settings file as a dict."""
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        if not path.is_file():
            raise CaptchakitError(f"{path}: file not found")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise CaptchakitError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    else:
        data = read_json(path)
    if not isinstance(data, dict):
        raise CaptchakitError(f"{path}: expected a mapping of settings at the top level")
    return data


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def safe_name(text):
    """A file-name-safe version of a label (``/`` and other oddities replaced)."""
    return re.sub(r"[^0-9A-Za-z._-]", lambda m: f"U{ord(m.group()):04x}", text)
