"""The one place that reads and writes images, labels and manifests.

Everything else in captchakit works on numpy arrays.  Images come out of
:func:`read_image` as ``(H, W, 3)`` uint8 RGB arrays, whatever the file's
format or mode.
"""

import contextlib
import csv
import hashlib
import io
import json
import os
import re
import uuid
import warnings
from pathlib import Path

import numpy as np

from captchakit._errors import CaptchakitError, ImageReadError, ImageTooLargeError, LabelError
from captchakit.data._alphabet import check_label

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
#: A file given as DATA is a labels file when it ends in one of these (JSON, or CSV with any separator).
LABELS_SUFFIXES = (".csv", ".tsv", ".txt", ".json")
#: Column names that make a labels file's first row a header (with a first column that names no image).
HEADER_LABELS = ("label", "labels", "text", "answer", "solution", "captcha", "code", "value", "string")
#: Default pixel limit: far above any captcha, far below a decompression bomb.
DEFAULT_MAX_PIXELS = 4096 * 4096


#: An alpha channel whose values span less than this (of 255) is the same everywhere: :func:`pil_to_rgb` leaves
#: it out.
UNIFORM_ALPHA = 16


def pil_to_rgb(im):
    """Convert a Pillow image of any common mode to an ``(H, W, 3)`` uint8 array.

    Modes 1, L, P, RGB, RGBA/LA/PA (composited on white), CMYK and the 16-bit
    and 32-bit integer modes (scaled by their maximum) are handled. An alpha
    channel that is (nearly) the same everywhere draws no shape, only fades the
    whole picture (to a blank page where it is transparent throughout: jimp's
    composites of MNIST digits, light on black, come so): it is left out and
    the colours are read as they are.

    Examples
    --------
    >>> from PIL import Image
    >>> a = np.zeros((2, 2, 4), np.uint8); a[0, 0] = (0, 0, 0, 255)  # black ink, transparent paper
    >>> pil_to_rgb(Image.fromarray(a, "RGBA"))[:, :, 0].tolist()
    [[0, 255], [255, 255]]
    >>> a[..., :3] = 200; a[0, 0, :3] = 0; a[..., 3] = 1  # transparent throughout
    >>> pil_to_rgb(Image.fromarray(a, "RGBA"))[:, :, 0].tolist()
    [[0, 200], [200, 200]]
    """
    from PIL import Image

    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        mode = im.mode
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = im.convert("RGBA")
        lo, hi = rgba.getchannel("A").getextrema()
        if hi - lo < UNIFORM_ALPHA:
            im = rgba.convert("RGB")
        else:
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
    elif mode in ("1", "L"):
        # grey: one byte per pixel until the final repeat (keeps the peak memory of a huge image low)
        gray = np.asarray(im if mode == "L" else im.convert("L"), dtype=np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    elif mode != "RGB":
        im = im.convert("RGB")
    return np.array(im, dtype=np.uint8)


def read_image(path, max_pixels=DEFAULT_MAX_PIXELS, shrink_to=None):
    """Read one image file as an ``(H, W, 3)`` uint8 RGB array.

    Parameters
    ----------
    path : str or Path
    max_pixels : int
        Images with more pixels are refused before they are decoded.
    shrink_to : (int, int), optional
        ``(H, W)`` the caller will resize to: an image more than 4 times
        larger on both sides is first reduced by an integer factor (keeping
        at least twice that size), so a huge image never lives in memory in
        RGB at full size.

    Raises
    ------
    ImageReadError
        Missing, empty, corrupt, truncated, non-image or oversized files,
        and file names that are not valid UTF-8, with the file and the
        problem in the message.
    """
    path = Path(path)
    if not _utf8(str(path)):
        # such a name (bytes the file system allows, not text) could not be written into the UTF-8 labels
        # files, records and reports that name the images read: refused here, where every reading starts
        raise ImageReadError(path, "file name is not valid UTF-8 (rename the file)")
    if not path.exists():
        raise ImageReadError(path, "no such file")
    if path.is_dir():
        raise ImageReadError(path, "is a folder, not an image")
    if path.stat().st_size == 0:
        raise ImageReadError(path, "empty file (0 bytes)")
    return _decode(path, path, max_pixels, shrink_to)


def _utf8(text):
    """Whether *text* can be written as UTF-8 (not so for a file name that is not UTF-8 on disk)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def decode_image(data, name="image", max_pixels=DEFAULT_MAX_PIXELS, shrink_to=None):
    """Decode image bytes (an upload) as :func:`read_image` reads a file; errors name *name*.

    Examples
    --------
    >>> decode_image(encode_image(np.zeros((4, 6, 3), np.uint8))).shape
    (4, 6, 3)
    >>> decode_image(b"hello", "up.png")
    Traceback (most recent call last):
    ...
    captchakit._errors.ImageReadError: up.png: not an image file (unrecognised format)
    """
    import io

    if not data:
        raise ImageReadError(name, "empty file (0 bytes)")
    return _decode(io.BytesIO(data), name, max_pixels, shrink_to)


def _decode(source, path, max_pixels, shrink_to):
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise ImageTooLargeError(
                        path, f"image is {w}x{h} = {w * h} pixels, above the limit of {max_pixels}"
                    )
                if w == 0 or h == 0:
                    raise ImageReadError(path, "image has no pixels")
                im.seek(0)  # first frame of a GIF
                im.load()
                if shrink_to is not None:
                    k = min(h // (2 * shrink_to[0]), w // (2 * shrink_to[1]))
                    if k >= 2 and im.mode in ("1", "L", "RGB", "RGBA", "P"):
                        im = (im.convert("RGBA" if "transparency" in im.info else "RGB")
                              if im.mode in ("P", "1") else im).reduce(k)
                return pil_to_rgb(im)
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image file (unrecognised format)") from None
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(path, f"image too large: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        msg = str(exc) or type(exc).__name__
        if "truncated" in msg.lower():
            msg = "truncated image file"
        raise ImageReadError(path, f"corrupt image: {msg}") from None


def atomic_write(path, data):
    """Write *data* (bytes or str) to *path* atomically: a temporary sibling, then ``os.replace``.

    A failed or interrupted write leaves the previous file (or none) in place.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = atomic_write(p, "hello"); p.read_text()
    'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def encode_image(image, suffix=".png"):
    """Encode an array as image bytes; ``bool`` is black ink on white, float is 0-1."""
    from PIL import Image

    arr = np.asarray(image)
    if arr.dtype == bool:
        arr = np.where(arr, 0, 255).astype(np.uint8)
    elif arr.dtype.kind == "f":
        arr = np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8)
    fmt = Image.registered_extensions().get(suffix.lower())
    if fmt is None:
        raise CaptchakitError(f"cannot write images with the suffix {suffix!r}; use .png")
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def write_image(path, image):
    """Write an array as an image, atomically; the format follows the file suffix.

    ``bool`` arrays are written as black ink on white, float arrays are taken
    as 0-1.
    """
    path = Path(path)
    return atomic_write(path, encode_image(image, path.suffix or ".png"))


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


def no_images(folder):
    """The one-line error for a folder that holds no image."""
    return CaptchakitError(f"{folder}: no images found (looked for {', '.join(IMAGE_SUFFIXES)})")


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
    try:
        m = re.search(pattern, stem)
    except re.error as exc:
        raise CaptchakitError(f"--pattern {pattern!r} is not a valid regular expression ({exc})") from None
    if not m:
        raise LabelError(f"{path}: file name does not match the label pattern {pattern!r}")
    return m.group(1) if m.groups() else m.group(0)


def _read_text(path):
    """A text file as UTF-8 (a BOM is allowed); another encoding is one line naming the file."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CaptchakitError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise CaptchakitError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _is_header(row):
    """Whether a CSV row is a header such as ``filename,label`` or ``image,text``: two words, no image file.

    Examples
    --------
    >>> _is_header(["filename", "label"]), _is_header(["Image Path", "text"]), _is_header(["file", "label"])
    (True, True, True)
    >>> _is_header(["a.png", "label"]), _is_header(["one", "ab12"]), _is_header(["x"])
    (False, False, False)
    """
    if len(row) < 2:
        return False
    name, label = (c.strip().lower() for c in row[:2])
    words = all(re.fullmatch(r"[a-z][a-z _-]*", c) for c in (name, label))
    return words and not name.endswith(IMAGE_SUFFIXES) and label in HEADER_LABELS


def _delimiter(text):
    r"""The labels file's column separator: a comma, or a semicolon or tab where the first line has no comma, or
    (``" "``) the first run of spaces where it has none of these.

    Examples
    --------
    >>> _delimiter("a.png,12\n"), _delimiter("file;label\na.png;12\n"), _delimiter("a.png\t12"), _delimiter("")
    (',', ';', '\t', ',')
    >>> _delimiter("a.png 12\n")
    ' '
    """
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "," in first:
        return ","
    return next((d for d in ";\t " if d in first.strip()), ",")


def _rows(text, delimiter):
    """The labels file's rows: CSV rows, or for ``" "`` each line cut at its first run of spaces (a label may
    hold spaces, as a sum such as ``3 + 4`` does)."""
    if delimiter == " ":
        return [line.split(None, 1) for line in text.splitlines()]
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def read_labels_file(path, problems=None):
    """Read a labels file: CSV ``filename,label`` or JSON ``{filename: label}``.

    A first row naming the columns (``filename,label``, ``file,label``,
    ``image,text``...) is a header and skipped.  Columns are separated by
    commas, or by semicolons or tabs where the first line has no comma, or
    by the first run of spaces on each line where it has none of these
    (``00001.png abcd``, as many data sets' ``labels.txt`` are written).
    UTF-8 with or without a byte-order mark.  A file name listed twice is
    reported in *problems* (when given) and its later rows are ignored.

    Returns
    -------
    dict
        File name (as written in the file) to label.
    """
    path = Path(path)
    if not path.is_file():
        raise CaptchakitError(f"{path}: labels file not found")
    text = _read_text(path)
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
    try:
        rows = _rows(text, _delimiter(text))
    except csv.Error as exc:
        raise CaptchakitError(f"{path}: not a valid CSV file ({exc})") from None
    out, first_line = {}, {}
    for i, row in enumerate(rows, 1):
        if not row or (i == 1 and _is_header(row)):
            continue
        if len(row) < 2:
            raise CaptchakitError(f"{path}: line {i} is not 'filename,label'")
        name = row[0].strip()
        if name in out:
            if problems is not None:
                problems.append(f"{path}: line {i}: {name!r} is listed again (first on line {first_line[name]}); "
                                "the later row is ignored")
            continue
        out[name] = row[1].strip()
        first_line[name] = i
    return out


def inside(base, name, source="labels file"):
    """The path *name* names inside folder *base*; one line refuses a path that leaves it.

    Examples
    --------
    >>> inside("/data", "a/b.png").as_posix()
    '/data/a/b.png'
    >>> inside("/data", "../x.png")
    Traceback (most recent call last):
    ...
    captchakit._errors.CaptchakitError: labels file: path '../x.png' leaves the folder /data
    """
    base = Path(base)
    p = Path(name)
    if p.is_absolute() or p.drive:
        raise CaptchakitError(f"{source}: path {name!r} is absolute; paths must be relative to {base}")
    full = base / p
    try:
        full.resolve().relative_to(base.resolve())
    except ValueError:
        raise CaptchakitError(f"{source}: path {name!r} leaves the folder {base}") from None
    return full


def find_labelled_images(source, labels_file=None, pattern=None, alphabet=None, length=None):
    """List the labelled images of a folder.

    Parameters
    ----------
    source : str or Path
        A folder (nested folders allowed) or a labels file (one of
        :data:`LABELS_SUFFIXES`) whose file names are relative to its own folder.
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
    if source.is_file():
        if source.suffix.lower() not in LABELS_SUFFIXES:
            raise CaptchakitError(f"{source}: not a folder, nor a labels file ({', '.join(LABELS_SUFFIXES)})")
        labels_file, root = source, source.parent
    else:
        root = source
    files = list_images(root)
    if labels_file is None and (root / "labels.csv").is_file() and pattern is None:
        labels_file = root / "labels.csv"
    items, problems = [], []
    if labels_file is not None:
        mapping = read_labels_file(labels_file, problems)
        if not mapping:
            raise CaptchakitError(f"{labels_file}: lists no images (expected rows of 'filename,label')")
        base = Path(labels_file).parent
        listed = set()
        for name, label in mapping.items():
            p = inside(base, name, str(labels_file))
            if not p.is_file():
                problems.append(f"{p}: listed in {labels_file} but not found")
                continue
            listed.add(p.resolve())
            items.append((p, label))
        # a folder's labels.csv lists all of it; a split manifest (train.csv, test.csv) only a part
        if Path(labels_file).name == "labels.csv":
            for p in files:
                if p.resolve() not in listed:
                    problems.append(f"{p}: image not listed in {labels_file}")
    else:
        for p in files:
            try:
                items.append((p, label_from_name(p, pattern)))
            except LabelError as exc:
                problems.append(str(exc))
    if not items and not problems:
        raise no_images(root)
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


def check_separate(out, inputs):
    """Refuse an output folder that equals, contains or lies inside an input folder."""
    o = Path(out).resolve()
    for i in inputs:
        if i is None:
            continue
        src = Path(i).resolve()
        if src.is_file():
            src = src.parent
        if o == src or src in o.parents or o in src.parents:
            raise CaptchakitError(f"{out}: the output folder must not be, contain or lie inside the input "
                                  f"folder {i} (inputs are never overwritten)")


RECORD = ".captchakit-files.json"
LOCK = ".captchakit.lock"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


@contextlib.contextmanager
def lock(path, what="folder"):
    """Hold a lock file at *path* while a writer works; a second writer refuses in one line.

    A lock left by a process that no longer runs is taken over.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CaptchakitError(f"{path.parent}: cannot create the folder ({exc.strerror or exc})") from None
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            try:
                pid = int(path.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and _pid_alive(pid) and pid != os.getpid():
                raise CaptchakitError(f"{path.parent}: another captchakit command (pid {pid}) is writing this "
                                      f"{what}; wait for it to finish (lock file {path.name})") from None
            with contextlib.suppress(OSError):
                path.unlink()
        except OSError as exc:  # a folder that holds no files (/proc), read-only, full...
            raise CaptchakitError(f"{path.parent}: cannot write there ({exc.strerror or exc})") from None
    else:  # pragma: no cover - lost a race twice
        raise CaptchakitError(f"{path}: cannot take the lock")
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def check_writable(path):
    """Refuse now, in one line, a folder *path* (existing or not) in which no file could be written later.

    It creates and removes an empty file in *path*, or in its nearest existing parent: a read-only disk
    or a folder that holds no files (``/proc``) fails here, before any work, instead of at the first write.
    """
    path = Path(path)
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise CaptchakitError(f"{path}: cannot create it ({probe} is not a folder)")
    tmp = probe / f".captchakit-probe-{uuid.uuid4().hex}"
    try:
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except OSError as exc:
        raise CaptchakitError(f"{path}: cannot write there ({probe}: {exc.strerror or exc})") from None
    with contextlib.suppress(OSError):
        tmp.unlink()
    return path


class OutputFolder:
    """A folder captchakit writes into, that never loses a user's file.

    It refuses a non-empty folder unless *overwrite* or *append*; with
    *overwrite* it replaces only files it wrote itself (listed in
    ``.captchakit-files.json``), never others; every file is written
    atomically; no path may leave the folder; and it may not be, contain or
    lie inside an input folder.

    Parameters
    ----------
    path : str or Path
    overwrite, append : bool
    inputs : sequence of paths
        Folders (or files) the command reads.
    """

    def __init__(self, path, overwrite=False, append=False, inputs=()):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise CaptchakitError(f"{self.path}: exists and is a file, not a folder")
        check_separate(self.path, inputs)
        check_writable(self.path)
        self.overwrite, self.append = overwrite, append
        self.ours = set(self._read_record())
        self.written = set()
        if self.path.is_dir() and self._user_entries() and not (overwrite or append):
            raise CaptchakitError(
                f"{self.path}: folder is not empty; pass --overwrite to replace the files captchakit wrote "
                f"there{' or --append to add to it' if append is not None else ''}")

    def _user_entries(self):
        return [p for p in self.path.iterdir() if p.name not in (RECORD, LOCK)]

    def _read_record(self):
        rec = self.path / RECORD
        if not rec.is_file():
            return []
        try:
            data = json.loads(rec.read_text(encoding="utf-8"))
            return [str(v) for v in data.get("files", [])]
        except (OSError, ValueError, AttributeError):
            return []

    def check(self, rel):
        """Refuse now (before any work) if *rel* could not be written later."""
        self.target(rel, create=False)

    def target(self, rel, create=True):
        """The path for *rel* inside the folder, checked: inside, and not a user's file."""
        if create:
            self.path.mkdir(parents=True, exist_ok=True)  # created on first write: a refused run leaves nothing
        p = inside(self.path, str(rel), str(self.path))
        key = p.relative_to(self.path).as_posix()
        if p.exists() and key not in self.ours and key not in self.written:
            raise CaptchakitError(f"{p}: exists and was not written by captchakit (or by a version before 0.2, "
                                  "which kept no record); refusing to overwrite it")
        return p, key

    def write_image(self, rel, image):
        p, key = self.target(rel)
        write_image(p, image)
        self._mark(key)
        return p

    def write_json(self, rel, obj):
        p, key = self.target(rel)
        write_json(p, obj)
        self._mark(key)
        return p

    def write_text(self, rel, text):
        p, key = self.target(rel)
        atomic_write(p, text)
        self._mark(key)
        return p

    def write_manifest(self, rel, rows, append=False):
        p, key = self.target(rel)
        write_manifest(p, rows, append=append)
        self._mark(key)
        return p

    def _mark(self, key):
        self.written.add(key)

    def mark(self, rel):
        """Record a file written by other means (a model bundle's files)."""
        self._mark(Path(rel).as_posix())

    def save_record(self, drop_stale=False):
        """Write the record of captchakit's files; with *drop_stale*, delete its own files not rewritten."""
        if not self.path.is_dir():
            return
        keep = set(self.written) | (set() if drop_stale else self.ours)
        if drop_stale:
            for key in sorted(self.ours - self.written):
                p = self.path / key
                if p.is_file():
                    p.unlink()
        write_json(self.path / RECORD, {"files": sorted(keep)})
        self.ours = keep


def write_manifest(path, rows, append=False):
    """Write (or extend) a ``filename,label`` CSV manifest, atomically."""
    path = Path(path)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if append and path.is_file():
        buf.write(_read_text(path))
        if buf.getvalue() and not buf.getvalue().endswith("\n"):
            buf.write("\n")
    else:
        w.writerow(["filename", "label"])
    w.writerows(rows)
    atomic_write(path, buf.getvalue())


def write_json(path, obj):
    """Write *obj* as indented JSON, atomically."""
    atomic_write(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default, ensure_ascii=False) + "\n")


def read_json(path):
    """Read a JSON file, with a one-line error naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CaptchakitError(f"{path}: file not found")
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise CaptchakitError(f"{path}: not valid JSON ({exc})") from None


def read_config(path):
    """Read a JSON or YAML settings file as a dict."""
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        if not path.is_file():
            raise CaptchakitError(f"{path}: file not found")
        try:
            data = yaml.safe_load(_read_text(path))
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
