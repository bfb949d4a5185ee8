"""Dictionary round trip shared by the settings objects."""

import numpy as np

from captchakit._errors import CaptchakitError


class SettingsMixin:
    """``from_dict`` / ``to_dict`` for a BaseEstimator whose parameters are its settings.

    Subclasses define ``_kind`` (used in messages) and ``validate()``.
    """

    _kind = "settings"

    @classmethod
    def from_dict(cls, d):
        """Build from a settings dict, naming any unknown key; validates the values."""
        d = dict(d or {})
        known = cls().get_params()
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise CaptchakitError(
                f"unknown {cls._kind} setting(s) {', '.join(unknown)}; known: {', '.join(known)}")
        return cls(**d).validate()

    def to_dict(self):
        """The settings as a plain, JSON-ready dict."""
        return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in self.get_params().items()}
