"""The contract every captchakit recognizer obeys.

A recognizer is a scikit-learn estimator that reads whole captchas:

- ``fit(X, y, progress=None)`` on a list of images and their string labels,
  returning ``self``;
- ``predict(X)``, ``predict_details(X)`` and ``score(X, y)``;
- ``describe()``: everything needed to use the fitted model, JSON-ready;
- ``save(path)`` / ``load(path)``: a lossless model bundle (every constructor
  parameter is stored, so ``load(p).get_params()`` equals the trained
  model's);
- ``warnings_``: what went wrong during training, in words.

``predict_details`` returns, for every image, the same keys whatever the
method: ``text``, ``confidence``, ``char_confidences`` and ``extra`` (a dict
of method-specific facts, e.g. the classic pipeline's ``n_natural``).

Two label settings are shared: ``fold`` (``"case"`` and/or look-alike
groups such as ``"0O,1lI"``, applied to the labels at training and scoring)
and ``task`` (``"text"`` or ``"arithmetic"``: readings are expressions and
``predict_details`` adds their ``answer``).
Callers never branch on the method: they use :func:`captchakit.load_model`
and :func:`captchakit.make_recognizer`.
"""

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from captchakit import _bundle
from captchakit._errors import CaptchakitError, ModelFileError
from captchakit.data._labels import answer_of, check_task, fold_text, parse_fold
from captchakit.metrics import string_accuracy

#: Keys of every ``predict_details`` entry.
DETAIL_KEYS = ("text", "confidence", "char_confidences", "extra")


def detail(text, char_confidences, **extra):
    """One ``predict_details`` entry with the shared keys.

    Examples
    --------
    >>> d = detail("42", [0.5, 0.5], n_pieces=2)
    >>> d["text"], d["confidence"], d["extra"]
    ('42', 0.25, {'n_pieces': 2})
    """
    cs = [float(c) for c in char_confidences]
    return {"text": str(text), "confidence": float(np.prod(cs)) if cs else 0.0,
            "char_confidences": cs, "extra": extra}


class Recognizer(BaseEstimator):
    """Base class of the classic and CNN recognizers (see the module docstring).

    Subclasses define ``METHODS`` (the method names they answer to), ``fit``,
    ``_predict_details``, ``describe``, ``_payload_name``, ``_write_payload``,
    ``_read_payload``, ``_params_to_json`` and ``_params_from_json``.
    """

    METHODS = ()
    _payload_name = None
    _extra_versions = ()

    # ------------------------------------------------------------------ labels
    def _check_labels_settings(self):
        check_task(getattr(self, "task", "text"))
        parse_fold(getattr(self, "fold", None))

    def fold_labels(self, labels):
        """Labels as this recognizer reads them (its ``fold`` applied).

        Examples
        --------
        >>> class R(Recognizer):
        ...     def __init__(self, fold=None): self.fold = fold
        >>> R(fold="case").fold_labels(["AbC"])
        ['abc']
        """
        fold = getattr(self, "fold", None)
        return [fold_text(str(v), fold) for v in labels]

    def predict_details(self, X):
        """Per image: ``text``, ``confidence``, ``char_confidences`` and ``extra``.

        For ``task="arithmetic"``, ``extra`` also holds ``answer`` (the
        reading's value as a string, or None) and ``answer_note`` (why there
        is no answer).
        """
        out = self._predict_details(X)
        if getattr(self, "task", "text") == "arithmetic":
            for d in out:
                d["extra"]["answer"], d["extra"]["answer_note"] = answer_of(d["text"])
        return out

    # ------------------------------------------------------------------ reading
    def predict(self, X, return_confidence=False):
        """Read each image; optionally also return the per-character confidences."""
        det = self.predict_details(X)
        texts = [d["text"] for d in det]
        if return_confidence:
            return texts, [d["char_confidences"] for d in det]
        return texts

    def score(self, X, y):
        """Whole-string accuracy on images *X* with labels *y* (folded as the model folds)."""
        return string_accuracy(self.fold_labels(y), self.predict(X))

    @property
    def input_shape(self):
        """``(H, W)`` the fitted model resizes every image to (``None`` before fit)."""
        return None

    def training_note(self):
        """One line about the last fit, for people (what was used, what was left out)."""
        check_is_fitted(self)
        s = getattr(self, "fit_summary_", {})
        return f"trained on {s.get('n_images', '?')} images"

    # ------------------------------------------------------------------ persistence
    def _params_to_json(self):
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params(deep=False).items()}

    @classmethod
    def _params_from_json(cls, params):
        return dict(params)

    def save(self, path, validation=None, data=None):
        """Save as a bundle folder (``model.json`` and one safe payload), atomically.

        Parameters
        ----------
        path : str or Path
            The bundle folder. An existing bundle is replaced only when it is
            a captchakit bundle; the new one is complete before the old one goes.
        validation : dict, optional
            Validation figures to store with the model.
        data : dict, optional
            A summary of the training data.
        """
        check_is_fitted(self)
        meta = self.describe()
        meta["params"] = self._params_to_json()
        meta["versions"] = _bundle.library_versions(self._extra_versions)
        meta["data"] = data or {}
        meta["validation"] = validation or {}
        return _bundle.write_bundle(path, meta, self._write_payload, self._payload_name)

    @classmethod
    def load(cls, path):
        """Load a bundle saved by :meth:`save`; unsafe, foreign or tampered files are refused."""
        meta, payload = _bundle.read_bundle_meta(path)
        if meta.get("method") not in cls.METHODS:
            raise ModelFileError(
                f"{path}: holds a {meta.get('method')!r} model, not one of {', '.join(cls.METHODS)}")
        try:
            rec = cls(**cls._params_from_json(meta["params"]))
            rec._restore(meta)
        except (KeyError, TypeError, ValueError, CaptchakitError) as exc:
            raise ModelFileError(f"{path}/model.json: incomplete or invalid model description ({exc})") from None
        rec._read_payload(payload)
        rec.meta_ = meta
        rec.warnings_ = []
        rec.load_warnings_ = _bundle.check_versions(meta, rec._extra_versions)
        return rec
