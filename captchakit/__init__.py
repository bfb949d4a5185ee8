"""captchakit: read text captchas with a classic pipeline or an end-to-end CNN.

Nothing heavy is imported here; TensorFlow is imported only by
``captchakit.cnn_baseline`` when a CNN is built or loaded.
"""

__version__ = "0.1.0"

from captchakit._errors import CaptchakitError, ImageReadError, LabelError

__all__ = ["__version__", "CaptchakitError", "ImageReadError", "LabelError"]
