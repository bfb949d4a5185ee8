"""End-to-end CNN baseline: the only part of captchakit that imports TensorFlow.

TensorFlow/Keras are imported inside the functions that need them, so
importing this package is cheap.
"""

from captchakit.cnn_baseline._model import build_model
from captchakit.cnn_baseline._recognizer import CNNRecognizer, chance_loss, parse_image_size

__all__ = ["CNNRecognizer", "build_model", "chance_loss", "parse_image_size"]
