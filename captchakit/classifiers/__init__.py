"""Per-character classifiers and the classic segmenting recognizer."""

from captchakit.classifiers._features import (
    CombinedFeatures,
    HOGFeatures,
    InkPairFeatures,
    PixelFeatures,
    ProfileFeatures,
    make_features,
    trim_crops,
)
from captchakit.classifiers._recognizer import SegmentingRecognizer, make_classifier

__all__ = [
    "CombinedFeatures",
    "HOGFeatures",
    "InkPairFeatures",
    "PixelFeatures",
    "ProfileFeatures",
    "SegmentingRecognizer",
    "make_classifier",
    "make_features",
    "trim_crops",
]
