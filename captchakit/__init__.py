"""captchakit: read text captchas with a classic pipeline or an end-to-end CNN.

Nothing heavy is imported here; TensorFlow is imported only by
``captchakit.cnn_baseline`` when a CNN is built or loaded.

The entry points that serve every method:

- :func:`make_recognizer` (``"svm"``, ``"knn"`` or ``"cnn"``),
- :func:`load_model` (any saved bundle),
- :func:`load_settings` (preprocessing and segmentation settings from a dict,
  a config file or tune's ``best.json``).
"""

__version__ = "0.3.0"

from captchakit._errors import CaptchakitError, ImageReadError, LabelError, ModelFileError

__all__ = ["__version__", "CaptchakitError", "ImageReadError", "LabelError", "ModelFileError",
           "load_model", "load_settings", "make_recognizer", "methods"]

_API = ("load_model", "load_settings", "make_recognizer", "methods")


def __getattr__(name):  # PEP 562: the API module is imported on first use, not at import time
    if name in _API:
        from captchakit import _api

        return getattr(_api, name)
    raise AttributeError(f"module 'captchakit' has no attribute {name!r}")
