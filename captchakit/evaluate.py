"""Scoring any recognizer on held-out images."""

import time

from captchakit.metrics import confusion, summarize


def evaluate(recognizer, images, labels, data_note=""):
    """Read *images* with *recognizer* and score against *labels*.

    Returns
    -------
    dict
        ``metrics`` (string/char accuracy, CER, ms/image, segmentation rate
        for classic models), ``predictions``, ``confidences``, ``confusion``
        and ``alphabet``.
    """
    images, labels = list(images), [str(v) for v in labels]
    t0 = time.perf_counter()
    details = recognizer.predict_details(images)
    dt = time.perf_counter() - t0
    preds = [d["text"] for d in details]
    m = summarize(labels, preds, dt, len(images))
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
