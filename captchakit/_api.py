"""The library entry points that sit above both recognizers.

:func:`make_recognizer` and :func:`load_model` look the method up in one
registry, so no caller (CLI, compare, evaluate, a server) branches on the
method.  :func:`load_settings` reads the one shape every setting has, from a
dict, a config file or tune's ``best.json``.
"""

from importlib import import_module
from pathlib import Path

from captchakit._errors import CaptchakitError

#: method name -> (module, class, fixed constructor parameters)
REGISTRY = {
    "svm": ("captchakit.classifiers._recognizer", "SegmentingRecognizer", {"classifier": "svm"}),
    "knn": ("captchakit.classifiers._recognizer", "SegmentingRecognizer", {"classifier": "knn"}),
    "cnn": ("captchakit.cnn_baseline._recognizer", "CNNRecognizer", {}),
}

#: Settings sections and the recognizer parameter each one fills.
SECTIONS = {"preprocess": "preprocessor", "segment": "segmenter"}
#: Keys that tune's best.json carries besides the settings.
_METADATA_KEYS = {"tuned", "score", "cv_score", "note"}


def methods():
    """The method names :func:`make_recognizer` knows.

    Examples
    --------
    >>> methods()
    ('svm', 'knn', 'cnn')
    """
    return tuple(REGISTRY)


def recognizer_class(method):
    """The class that implements *method* (imported only when asked for)."""
    if method not in REGISTRY:
        raise CaptchakitError(f"method must be one of {', '.join(REGISTRY)}; got {method!r}")
    module, name, _ = REGISTRY[method]
    return getattr(import_module(module), name)


def make_recognizer(method, **params):
    """A fresh, unfitted recognizer for *method* with the given parameters.

    Parameters that the method does not take (e.g. CNN options for an SVM)
    are ignored, so one settings dict can serve every method.

    Examples
    --------
    >>> make_recognizer("knn").classifier
    'knn'
    """
    cls = recognizer_class(method)
    fixed = REGISTRY[method][2]
    known = set(cls().get_params(deep=False))
    kwargs = {k: v for k, v in params.items() if k in known}
    return cls(**{**kwargs, **fixed})


def load_model(path):
    """Load any captchakit model bundle; the class comes from its ``method``.

    Raises
    ------
    captchakit.ModelFileError
        Missing, foreign, tampered or unsafe bundles, in one line.
    """
    from captchakit._bundle import read_bundle_meta

    meta, _ = read_bundle_meta(path)
    return recognizer_class(meta["method"]).load(path)


def load_settings(source=None, **overrides):
    """Read preprocessing and segmentation settings into recognizer parameters.

    Parameters
    ----------
    source : dict, str or Path, optional
        A dict or a JSON/YAML file: ``{"preprocess": {...}, "segment":
        {...}}`` (tune's ``best.json`` has this shape), or a flat mapping of
        preprocessing settings.  Keys written ``segment.NAME`` or
        ``preprocess.NAME`` (tune's grid keys) go to that section.
    **overrides
        ``preprocess`` and ``segment`` dicts that win over *source* (e.g. the
        command-line options; ``None`` values are ignored).

    Returns
    -------
    dict
        ``{"preprocessor": Preprocessor, "segmenter": Segmenter}``, ready for
        ``make_recognizer(method, **settings)``.

    Examples
    --------
    >>> s = load_settings({"median": 3, "segment.method": "projection"})
    >>> s["preprocessor"].median, s["segmenter"].method
    (3, 'projection')
    """
    from captchakit.preprocess import Preprocessor
    from captchakit.segment import Segmenter

    name = ""
    if source is None:
        cfg = {}
    elif isinstance(source, dict):
        cfg = dict(source)
    else:
        from captchakit.data._io import read_config

        name = f"{source}: "
        cfg = read_config(Path(source))
    sections = {"preprocess": {}, "segment": {}}
    for key, value in cfg.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise CaptchakitError(f"{name}section {key!r} must be a mapping of settings")
            sections[key].update(value)
        elif key in _METADATA_KEYS:
            continue
        elif "." in key:
            sec, _, sub = key.partition(".")
            if sec not in SECTIONS:
                raise CaptchakitError(f"{name}unknown section in {key!r}; expected preprocess or segment")
            sections[sec][sub] = value
        else:
            sections["preprocess"][key] = value
    for sec, values in overrides.items():
        if sec not in SECTIONS:
            raise CaptchakitError(f"unknown settings section {sec!r}; expected preprocess or segment")
        sections[sec].update({k: v for k, v in (values or {}).items() if v is not None})
    try:
        return {"preprocessor": Preprocessor.from_dict(sections["preprocess"]),
                "segmenter": Segmenter.from_dict(sections["segment"])}
    except CaptchakitError as exc:
        raise CaptchakitError(f"{name}{exc}") from None


#: The fixed classic front end tuned on python-captcha before it was measured (``--front-end default``).
FIXED_FRONT_END = {
    "preprocess": {"channel": "luminance", "polarity": "dark", "frame": 0, "line_thickness": 4, "min_area": 12},
    "segment": {"min_area": 15},
    "segmentation": "forced",
}


def fixed_front_end():
    """Recognizer parameters for the former fixed front end (no measuring, the forced split).

    Examples
    --------
    >>> p = fixed_front_end()
    >>> p["preprocessor"].line_thickness, p["segmentation"]
    (4, 'forced')
    """
    s = load_settings(None, preprocess=FIXED_FRONT_END["preprocess"], segment=FIXED_FRONT_END["segment"])
    return {**s, "segmentation": FIXED_FRONT_END["segmentation"], "n_components": 48}
