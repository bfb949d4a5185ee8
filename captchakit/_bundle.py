"""Model bundles: a folder with ``model.json`` and one safe payload file.

The payload is a scikit-learn pipeline saved with ``skops`` (loaded with an
explicit list of trusted types, never pickle) or a Keras ``.keras`` file
(loaded with ``safe_mode=True``).  ``model.json`` carries everything needed
to use the model: method, alphabet, length, preprocessing, segmentation and
feature settings, library versions, a digest of the payload, a summary of
the training data and the validation figures.
"""

import platform
import warnings
from importlib import metadata
from pathlib import Path

from captchakit import __version__
from captchakit._errors import ModelFileError
from captchakit.data._io import file_digest as sha256
from captchakit.data._io import read_json, write_json

FORMAT = "captchakit-model"
FORMAT_VERSION = 1

#: Types a classic bundle may contain.  Anything else is refused at load time.
TRUSTED_TYPES = [
    "captchakit.classifiers._features.HOGFeatures",
    "captchakit.classifiers._features.PixelFeatures",
    "captchakit.classifiers._features.ProfileFeatures",
    "captchakit.classifiers._features.CombinedFeatures",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.decomposition._pca.PCA",
    "sklearn.svm._classes.SVC",
    "sklearn.svm._classes.LinearSVC",
    "sklearn.neighbors._classification.KNeighborsClassifier",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.utils._bunch.Bunch",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.float64",
    "numpy.float32",
    "numpy.int64",
    "numpy.int32",
    "numpy.str_",
    "builtins.str",
    "builtins.int",
    "builtins.float",
    "builtins.tuple",
    "builtins.list",
    "builtins.dict",
    "builtins.slice",
    "builtins.bool",
    "builtins.NoneType",
]


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


def write_bundle(path, meta, payload_writer, payload_name):
    """Write a bundle folder: the payload via *payload_writer(file)*, then model.json."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ModelFileError(f"{path}: exists and is a file; a model bundle is a folder")
    path.mkdir(parents=True, exist_ok=True)
    payload = path / payload_name
    payload_writer(payload)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta,
            "payload": {"file": payload_name, "sha256": sha256(payload)}}
    write_json(path / "model.json", meta)
    return path


def read_bundle_meta(path):
    """Read and check ``model.json``; returns ``(meta, payload_path)``.

    Raises
    ------
    ModelFileError
        Missing folder, not a bundle, unknown format version, or a payload
        whose digest does not match (tampered).
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
            f"(this captchakit reads version {FORMAT_VERSION})")
    pl = meta.get("payload") or {}
    name = pl.get("file")
    if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
        raise ModelFileError(f"{mj}: bad payload entry")
    payload = path / name
    if not payload.is_file():
        raise ModelFileError(f"{payload}: model payload missing")
    if sha256(payload) != pl.get("sha256"):
        raise ModelFileError(f"{payload}: digest does not match model.json (file changed or tampered)")
    return meta, payload


def check_versions(meta, extra=()):
    """Warn when the libraries differ from those the model was saved with."""
    saved = meta.get("versions") or {}
    now = library_versions(extra)
    diffs = [f"{k} {saved[k]} -> {now.get(k)}" for k in saved
             if k != "python" and k in now and saved[k] != now.get(k)]
    if diffs:
        msg = "model saved with other library versions: " + ", ".join(diffs)
        warnings.warn(msg, UserWarning, stacklevel=3)
        return [msg]
    return []


def save_sklearn(obj, file):
    import skops.io as sio

    sio.dump(obj, file)


def load_sklearn(file):
    """Load a skops file, refusing any type outside :data:`TRUSTED_TYPES`."""
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=file)
    except Exception as exc:  # noqa: BLE001 - corrupt archive
        raise ModelFileError(f"{file}: not a readable skops file ({type(exc).__name__}: {exc})") from None
    bad = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if bad:
        raise ModelFileError(f"{file}: refuses to load untrusted type(s): {', '.join(bad)}")
    try:
        return sio.load(file, trusted=list(untrusted))
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"{file}: cannot load ({type(exc).__name__}: {exc})") from None


def load_model(path):
    """Load any captchakit bundle (classic or CNN) by its ``method``."""
    meta, _ = read_bundle_meta(path)
    if meta.get("method") == "cnn":
        from captchakit.cnn_baseline import CNNRecognizer

        return CNNRecognizer.load(path)
    from captchakit.classifiers import SegmentingRecognizer

    return SegmentingRecognizer.load(path)
