"""Grayscale, binarization, filtering, speck and line removal.

Every stage is a pure function over numpy arrays; :class:`Preprocessor`
describes the whole chain and serialises to a dict.
"""

from captchakit.preprocess._settings import Preprocessor
from captchakit.preprocess._stages import (
    binarize,
    dark_ink,
    mean_filter,
    median_filter,
    remove_lines,
    remove_specks,
    to_gray,
)

__all__ = [
    "Preprocessor",
    "binarize",
    "dark_ink",
    "mean_filter",
    "median_filter",
    "remove_lines",
    "remove_specks",
    "to_gray",
]
