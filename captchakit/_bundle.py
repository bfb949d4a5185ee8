"""Model bundles on disk: a folder with ``model.json`` and one safe payload file.

This module only reads, writes and checks files; it knows no recognizer
(:func:`captchakit.load_model` picks the class).  The payload is a
scikit-learn pipeline saved with ``skops`` (loaded with an explicit list of
trusted types, never pickle) or a Keras ``.keras`` file (loaded with
``safe_mode=True``).  ``model.json`` carries everything needed to use the
model: method, alphabet, length, every constructor parameter, the measured
front-end settings, library versions, a digest of the payload, a summary of
the training data and the validation figures.

A bundle is written into a temporary sibling folder and renamed into place,
so a failed or interrupted save leaves the previous bundle intact.
"""

import os
import platform
import shutil
import uuid
import warnings
from importlib import metadata
from pathlib import Path

from captchakit import __version__
from captchakit._errors import ModelFileError
from captchakit.data._io import file_digest as sha256
from captchakit.data._io import read_json, write_json

FORMAT = "captchakit-model"
FORMAT_VERSION = 2
#: Files captchakit writes into a bundle; a folder holding anything else is never replaced.
BUNDLE_FILES = ("model.json", "classifier.skops", "model.keras")

#: numpy and builtin types any skops payload may hold; the recognizer adds its own classes.
BASE_TRUSTED_TYPES = (
    "numpy.ndarray", "numpy.dtype", "numpy.float64", "numpy.float32", "numpy.int64", "numpy.int32",
    "numpy.str_", "builtins.str", "builtins.int", "builtins.float", "builtins.tuple", "builtins.list",
    "builtins.dict", "builtins.slice", "builtins.bool", "builtins.NoneType",
)


def type_name(cls):
    """The dotted name skops reports for a class.

    Examples
    --------
    >>> type_name(dict)
    'builtins.dict'
    """
    return f"{cls.__module__}.{cls.__qualname__}"


def library_versions(extra=()):
    """Versions of the libraries a model depends on."""
    names = ["numpy", "scikit-learn", "scikit-image", "opencv-python-headless", "skops", *extra]
    out = {"captchakit": __version__, "python": platform.python_version()}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


def is_bundle(path):
    """Whether *path* is a folder holding a captchakit ``model.json``."""
    mj = Path(path) / "model.json"
    try:
        meta = read_json(mj)
    except Exception:  # noqa: BLE001 - anything unreadable is not a bundle
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


def check_replaceable(path):
    """Refuse to replace *path* unless it is absent, empty, or a bundle holding only bundle files."""
    path = Path(path)
    if not path.exists():
        return
    if not path.is_dir():
        raise ModelFileError(f"{path}: exists and is a file; a model bundle is a folder")
    entries = list(path.iterdir())
    if not entries:
        return
    if not is_bundle(path):
        raise ModelFileError(f"{path}: folder is not a captchakit model bundle; refusing to replace it")
    foreign = sorted(p.name for p in entries if p.name not in BUNDLE_FILES)
    if foreign:
        raise ModelFileError(f"{path}: holds files captchakit did not write ({', '.join(foreign)}); "
                             "refusing to replace it")


def write_bundle(path, meta, payload_writer, payload_name):
    """Write a bundle folder atomically: payload and model.json in a temporary sibling, then rename.

    An existing bundle at *path* is replaced only after the new one is
    complete; a folder that is not a bundle is refused.
    """
    path = Path(path)
    check_replaceable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    tmp = path.parent / f".{path.name}.tmp-{tag}"
    old = path.parent / f".{path.name}.old-{tag}"
    tmp.mkdir()
    try:
        payload = tmp / payload_name
        payload_writer(payload)
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta,
                "payload": {"file": payload_name, "sha256": sha256(payload)}}
        write_json(tmp / "model.json", meta)
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not path.exists():
            os.replace(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return path


# ---------------------------------------------------------------- checking model.json
def _is_int(v, lo=None, hi=None):
    return isinstance(v, int) and not isinstance(v, bool) and (lo is None or v >= lo) and (hi is None or v <= hi)


def _pair(v, lo, hi=100_000):
    return isinstance(v, list) and len(v) == 2 and all(_is_int(x, lo, hi) for x in v)


#: field -> (check, what it must be); fields every bundle has
_FIELDS = {
    "method": (lambda v: isinstance(v, str) and v != "", "a method name"),
    "alphabet": (lambda v: isinstance(v, str) and v != "" and len(set(v)) == len(v),
                 "a non-empty string of distinct characters"),
    "length": (lambda v: _pair(v, 1, 256) and v[0] <= v[1], "[min, max] label lengths, 1 <= min <= max"),
    "params": (lambda v: isinstance(v, dict), "a mapping of constructor parameters"),
    "payload": (lambda v: isinstance(v, dict), "a mapping with file and sha256"),
}
#: optional fields, checked when present
_OPTIONAL = {
    "image_shape": (lambda v: _pair(v, 1), "[height, width], positive integers"),
    "input": (lambda v: isinstance(v, dict) and _is_int(v.get("height"), 8) and _is_int(v.get("width"), 8),
              "a mapping with height and width >= 8"),
    "preprocess": (lambda v: isinstance(v, dict), "a mapping of settings"),
    "segment": (lambda v: isinstance(v, dict), "a mapping of settings"),
    "validation": (lambda v: isinstance(v, dict), "a mapping"),
    "training": (lambda v: isinstance(v, dict), "a mapping"),
    "data": (lambda v: isinstance(v, dict), "a mapping"),
}


def check_fields(meta, source):
    """Check the fields of a model description by type and range; one line names the field."""
    for name, (ok, what) in _FIELDS.items():
        if name not in meta:
            raise ModelFileError(f"{source}: field {name!r} is missing")
        if not ok(meta[name]):
            raise ModelFileError(f"{source}: field {name!r} must be {what}, got {meta[name]!r:.60}")
    for name, (ok, what) in _OPTIONAL.items():
        if name in meta and not ok(meta[name]):
            raise ModelFileError(f"{source}: field {name!r} must be {what}, got {meta[name]!r:.60}")


def read_bundle_meta(path):
    """Read and check ``model.json``; returns ``(meta, payload_path)``.

    Raises
    ------
    ModelFileError
        Missing folder, not a bundle, unknown format version, a field of the
        wrong type or range, or a payload whose digest does not match.
    """
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: model not found")
    if not path.is_dir():
        raise ModelFileError(f"{path}: not a captchakit model bundle (expected a folder with model.json)")
    mj = path / "model.json"
    if not mj.is_file():
        raise ModelFileError(f"{path}: not a captchakit model bundle (no model.json)")
    try:
        meta = read_json(mj)
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"{mj}: unreadable model description ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{mj}: not a captchakit model description")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{mj}: model format version {meta.get('format_version')!r} is not supported "
            f"(this captchakit reads version {FORMAT_VERSION}; retrain the model)")
    check_fields(meta, mj)
    pl = meta["payload"]
    name = pl.get("file")
    if not isinstance(name, str) or name not in BUNDLE_FILES[1:]:
        raise ModelFileError(f"{mj}: field 'payload' names no known payload file")
    payload = path / name
    if not payload.is_file():
        raise ModelFileError(f"{payload}: model payload missing")
    if sha256(payload) != pl.get("sha256"):
        raise ModelFileError(f"{payload}: digest does not match model.json (file changed or tampered)")
    return meta, payload


def check_versions(meta, extra=()):
    """Warn when the libraries differ from those the model was saved with."""
    saved = meta.get("versions") or {}
    if not isinstance(saved, dict):
        return []
    now = library_versions(extra)
    diffs = [f"{k} {saved[k]} -> {now.get(k)}" for k in saved
             if k != "python" and k in now and saved[k] != now.get(k)]
    if diffs:
        msg = "model saved with other library versions: " + ", ".join(diffs)
        warnings.warn(msg, UserWarning, stacklevel=3)
        return [msg]
    return []


def save_sklearn(obj, file):
    """Save a scikit-learn object with skops (no pickle)."""
    import skops.io as sio

    sio.dump(obj, file)


def load_sklearn(file, trusted):
    """Load a skops file, refusing any type outside *trusted* and :data:`BASE_TRUSTED_TYPES`."""
    import skops.io as sio

    allowed = set(trusted) | set(BASE_TRUSTED_TYPES)
    try:
        untrusted = sio.get_untrusted_types(file=file)
    except Exception as exc:  # noqa: BLE001 - corrupt archive
        raise ModelFileError(f"{file}: not a readable skops file ({type(exc).__name__}: {exc})") from None
    bad = sorted(set(untrusted) - allowed)
    if bad:
        raise ModelFileError(f"{file}: refuses to load untrusted type(s): {', '.join(bad)}")
    try:
        return sio.load(file, trusted=list(untrusted))
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"{file}: cannot load ({type(exc).__name__}: {exc})") from None
