"""Labelled captcha data: generation, loading, checking, splitting and noise."""

from captchakit.data._alphabet import ALPHABETS, check_label, parse_length, resolve_alphabet
from captchakit.data._generate import generate_captchas, random_labels
from captchakit.data._io import (
    DEFAULT_MAX_PIXELS,
    find_labelled_images,
    label_from_name,
    list_images,
    load_labelled,
    read_image,
    read_labels_file,
    write_image,
)
from captchakit.data._noise import NOISE_MODELS, apply_noise, parse_noise
from captchakit.data._split import train_test_split_indices
from captchakit.data._verify import verify_dataset

__all__ = [
    "ALPHABETS",
    "DEFAULT_MAX_PIXELS",
    "NOISE_MODELS",
    "apply_noise",
    "check_label",
    "find_labelled_images",
    "generate_captchas",
    "label_from_name",
    "list_images",
    "load_labelled",
    "parse_length",
    "parse_noise",
    "random_labels",
    "read_image",
    "read_labels_file",
    "resolve_alphabet",
    "train_test_split_indices",
    "verify_dataset",
    "write_image",
]

from captchakit.data._folders import generate_to_folder, noise_folder  # noqa: E402

__all__ += ["generate_to_folder", "noise_folder"]
