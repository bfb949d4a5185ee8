"""Character segmentation: connected components or vertical projection."""

from captchakit.segment._segment import Segmentation, Segmenter, best_cuts, crop_to_square

__all__ = ["Segmentation", "Segmenter", "best_cuts", "crop_to_square"]
