"""Recognition metrics shared by every recognizer (pure functions)."""

import numpy as np


def levenshtein(a, b):
    """Edit distance between two strings.

    Examples
    --------
    >>> levenshtein("1234", "1324")
    2
    >>> levenshtein("abc", "abxc")
    1
    """
    if a == b:
        return 0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def align(truth, pred):
    """Pairs ``(t, p)`` of an edit-distance alignment; gaps are ``None``.

    Same-length strings align position by position.

    Examples
    --------
    >>> align("abc", "abxc")
    [('a', 'a'), ('b', 'b'), (None, 'x'), ('c', 'c')]
    """
    if len(truth) == len(pred):
        return list(zip(truth, pred))
    n, m = len(truth), len(pred)
    d = np.zeros((n + 1, m + 1), int)
    d[:, 0] = np.arange(n + 1)
    d[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (truth[i - 1] != pred[j - 1]))
    pairs, i, j = [], n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and d[i, j] == d[i - 1, j - 1] + (truth[i - 1] != pred[j - 1]):
            pairs.append((truth[i - 1], pred[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and d[i, j] == d[i - 1, j] + 1:
            pairs.append((truth[i - 1], None))
            i -= 1
        else:
            pairs.append((None, pred[j - 1]))
            j -= 1
    return pairs[::-1]


def string_accuracy(truth, pred):
    """Share of whole strings read exactly.

    Examples
    --------
    >>> string_accuracy(["12", "34"], ["12", "35"])
    0.5
    """
    truth, pred = list(truth), list(pred)
    if len(truth) != len(pred):
        raise ValueError(f"truth and pred differ in length: {len(truth)} != {len(pred)}")
    if not truth:
        return float("nan")
    return float(np.mean([t == p for t, p in zip(truth, pred)]))


def char_accuracy(truth, pred):
    """Share of true characters read correctly (edit-distance aligned).

    Examples
    --------
    >>> char_accuracy(["1234"], ["1244"])
    0.75
    """
    total = sum(len(t) for t in truth)
    if total == 0:
        return float("nan")
    ok = sum(sum(1 for a, b in align(t, p) if a is not None and a == b) for t, p in zip(truth, pred))
    return ok / total


def cer(truth, pred):
    """Character error rate: total edit distance over total true characters.

    Examples
    --------
    >>> cer(["1234", "5678"], ["1234", "567"])
    0.125
    """
    total = sum(len(t) for t in truth)
    if total == 0:
        return float("nan")
    return sum(levenshtein(t, p) for t, p in zip(truth, pred)) / total


def confusion(truth, pred, alphabet):
    """Per-character confusion counts over the aligned pairs.

    Returns
    -------
    (K+1, K+1) int ndarray
        Rows: true character, columns: predicted; the last row/column is
        "missing" (a deletion or insertion).
    """
    idx = {c: i for i, c in enumerate(alphabet)}
    k = len(alphabet)
    m = np.zeros((k + 1, k + 1), int)
    for t, p in zip(truth, pred):
        for a, b in align(t, p):
            m[idx.get(a, k) if a is not None else k, idx.get(b, k) if b is not None else k] += 1
    return m


def summarize(truth, pred, seconds=None, n_images=None):
    """The standard figures as a dict: string/char accuracy, CER, ms/image."""
    out = {
        "n_images": len(truth),
        "string_accuracy": string_accuracy(truth, pred),
        "char_accuracy": char_accuracy(truth, pred),
        "cer": cer(truth, pred),
    }
    if seconds is not None:
        out["ms_per_image"] = 1000.0 * seconds / max(n_images or len(truth), 1)
    return out


def failure_kind(truth, pred):
    """Why a reading is wrong: ``"length"`` (wrong number of characters: a segmentation
    failure), ``"chars"`` (right number, a wrong character), or ``None`` when right.

    Examples
    --------
    >>> failure_kind("1234", "124"), failure_kind("1234", "1284"), failure_kind("12", "12")
    ('length', 'chars', None)
    """
    if truth == pred:
        return None
    return "length" if len(truth) != len(pred) else "chars"


def failure_counts(truths, preds):
    """How many readings failed each way: ``{"length": n, "chars": m}``."""
    out = {"length": 0, "chars": 0}
    for t, p in zip(truths, preds):
        k = failure_kind(t, p)
        if k:
            out[k] += 1
    return out
