"""Alphabets and label lengths."""

import string
import unicodedata

from captchakit._errors import CaptchakitError, LabelError

ALPHABETS = {
    "digits": string.digits,
    "lower": string.ascii_lowercase,
    "upper": string.ascii_uppercase,
    "alnum": string.digits + string.ascii_lowercase,
    "alnum-mixed": string.digits + string.ascii_lowercase + string.ascii_uppercase,
}


def resolve_alphabet(spec):
    """Return the characters an alphabet name or literal stands for.

    Parameters
    ----------
    spec : str
        One of ``digits``, ``lower``, ``upper``, ``alnum`` (digits and
        lowercase), ``alnum-mixed``, or the literal characters themselves,
        optionally after ``chars:`` (``chars:digits`` means d, g, i, s, t).

    Returns
    -------
    str
        The characters, sorted, without repeats.

    Examples
    --------
    >>> resolve_alphabet("digits")
    '0123456789'
    >>> resolve_alphabet("cab")
    'abc'
    >>> resolve_alphabet("chars:天地")
    '地天'
    """
    if not isinstance(spec, str) or not spec:
        raise CaptchakitError(f"alphabet must be a non-empty string, got {spec!r}")
    if spec.startswith("chars:"):
        if len(spec) == len("chars:"):
            raise CaptchakitError("alphabet 'chars:' lists no characters")
        return "".join(sorted(set(spec[len("chars:"):])))
    chars = ALPHABETS.get(spec, spec)
    return "".join(sorted(set(chars)))


def parse_length(spec):
    """Parse a label length: ``4`` or a range ``4-6``.

    Returns
    -------
    tuple of int
        ``(min_length, max_length)``.

    Examples
    --------
    >>> parse_length("4-6")
    (4, 6)
    >>> parse_length(5)
    (5, 5)
    """
    if isinstance(spec, int):
        lo = hi = spec
    elif isinstance(spec, (tuple, list)) and len(spec) == 2:
        lo, hi = int(spec[0]), int(spec[1])
    else:
        text = str(spec).strip()
        try:
            if "-" in text:
                a, b = text.split("-", 1)
                lo, hi = int(a), int(b)
            else:
                lo = hi = int(text)
        except ValueError:
            raise CaptchakitError(
                f"length must be a number such as 4 or a range such as 4-6, got {spec!r}"
            ) from None
    if lo < 1 or hi < lo:
        raise CaptchakitError(f"length must be >= 1 with min <= max, got {spec!r}")
    return lo, hi


def check_label(label, alphabet=None, length=None, source=None):
    """Raise :class:`LabelError` if *label* has unknown characters or a bad length.

    Parameters
    ----------
    label : str
    alphabet : str, optional
        Allowed characters.
    length : tuple of int, optional
        ``(min, max)`` allowed length.
    source : str, optional
        File the label came from, named in the message.
    """
    where = f"{source}: " if source else ""
    if not label:
        raise LabelError(f"{where}empty label")
    control = sorted({c for c in label if unicodedata.category(c) == "Cc"})
    if control:
        raise LabelError(f"{where}label {label!r} has control characters ({''.join(control)!r}), which no image draws")
    if alphabet is not None:
        bad = sorted(set(label) - set(alphabet))
        if bad:
            raise LabelError(
                f"{where}label {label!r} has characters outside the alphabet: {''.join(bad)!r}"
            )
    if length is not None:
        lo, hi = length
        if not lo <= len(label) <= hi:
            want = str(lo) if lo == hi else f"{lo}-{hi}"
            raise LabelError(
                f"{where}label {label!r} has length {len(label)}, expected {want}"
            )
