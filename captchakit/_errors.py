"""Exceptions raised by captchakit.

Every error a user can cause (bad file, bad label, bad option) is a
:class:`CaptchakitError`; the CLI turns it into a one-line message.
"""


class CaptchakitError(ValueError):
    """A problem with the user's input, reported in one line."""


class ImageReadError(CaptchakitError):
    """An image file that cannot be read.

    Parameters
    ----------
    path : str
        The file.
    reason : str
        What is wrong with it.
    """

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class LabelError(CaptchakitError):
    """A label that does not fit the alphabet or length."""


class ModelFileError(CaptchakitError):
    """A model bundle that is missing, foreign, tampered or unsafe."""


class ImageTooLargeError(ImageReadError):
    """An image above the pixel limit (refused before it is decoded)."""
