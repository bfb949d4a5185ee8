"""Grayscale, ink channels (colour clusters too), binarization, filtering, speck and line removal.

Every stage is a pure function over numpy arrays; :class:`Preprocessor`
describes the whole chain and serialises to a dict.
"""

from captchakit.preprocess._colour import (
    cluster_ink, cluster_shapes, color_clusters, ink_color_spread, keep_clusters,
)
from captchakit.preprocess._measure import (
    background_color, frame_width, ink_channel, measure_front_end, separability, stroke_width,
)
from captchakit.preprocess._settings import Preprocessor
from captchakit.preprocess._stages import (
    binarize,
    clear_border,
    dark_ink,
    enlarge,
    find_straight_line,
    mean_filter,
    median_filter,
    remove_lines,
    remove_specks,
    remove_straight_lines,
    to_gray,
)

__all__ = [
    "Preprocessor",
    "background_color",
    "clear_border",
    "cluster_ink",
    "cluster_shapes",
    "color_clusters",
    "ink_color_spread",
    "keep_clusters",
    "frame_width",
    "ink_channel",
    "measure_front_end",
    "separability",
    "stroke_width",
    "binarize",
    "dark_ink",
    "enlarge",
    "find_straight_line",
    "mean_filter",
    "median_filter",
    "remove_lines",
    "remove_specks",
    "remove_straight_lines",
    "to_gray",
]
