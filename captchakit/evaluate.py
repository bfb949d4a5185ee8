"""Scoring any recognizer on held-out images."""

import time

from captchakit.metrics import confusion, summarize


def evaluate(recognizer, images, labels, data_note="", fold=None):
    """Read *images* with *recognizer* and score against *labels*.

    The main figures compare the readings with the labels folded as the
    model folds (its ``fold`` setting, e.g. case).  When the model folds, or
    *fold* asks for a looser comparison, ``exact`` (labels as written) and
    ``folded`` (both sides folded by *fold* too) are reported beside them.
    For an arithmetic model, ``answer_accuracy`` is the share of images
    whose reading has the label's value, and ``no_answer`` counts readings
    that are not valid expressions.

    Returns
    -------
    dict
        ``metrics`` (string/char accuracy, CER, ms/image, segmentation rate
        for classic models), ``predictions``, ``confidences``, ``confusion``
        and ``alphabet``.
    """
    from captchakit.data._labels import answer_of, fold_text

    images, raw = list(images), [str(v) for v in labels]
    labels = recognizer.fold_labels(raw)
    t0 = time.perf_counter()
    details = recognizer.predict_details(images)
    dt = time.perf_counter() - t0
    preds = [d["text"] for d in details]
    m = summarize(labels, preds, dt, len(images))
    model_fold = getattr(recognizer, "fold", None)
    if model_fold or fold:
        m["exact"] = summarize(raw, preds)
        m["fold"] = ",".join(v for v in (model_fold, fold) if v)
    if fold:
        m["folded"] = summarize([fold_text(t, fold) for t in labels], [fold_text(p, fold) for p in preds])
    if getattr(recognizer, "task", "text") == "arithmetic":
        truth = [answer_of(t)[0] for t in labels]
        got = [d["extra"].get("answer") for d in details]
        m["answer_accuracy"] = sum(g is not None and g == t for g, t in zip(got, truth)) / max(len(labels), 1)
        m["no_answer"] = sum(g is None for g in got)
    natural = [d["extra"].get("n_natural") for d in details]
    if natural and all(v is not None for v in natural):
        m["segmentation_rate"] = sum(v == len(t) for v, t in zip(natural, labels)) / len(labels)
    m["data"] = data_note
    from captchakit.metrics import failure_counts

    m["failures"] = failure_counts(labels, preds)
    alphabet = getattr(recognizer, "alphabet_", "".join(sorted(set("".join(labels)))))
    return {"metrics": m, "predictions": preds,
            "confidences": [d["confidence"] for d in details],
            "confusion": confusion(labels, preds, alphabet), "alphabet": alphabet}
