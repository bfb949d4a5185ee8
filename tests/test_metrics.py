import numpy as np

from captchakit.metrics import align, cer, char_accuracy, confusion, levenshtein, string_accuracy, summarize


def test_levenshtein():
    assert levenshtein("", "abc") == 3
    assert levenshtein("kitten", "sitting") == 3


def test_accuracies_with_different_lengths():
    truth, pred = ["1234", "5678", "0000"], ["1234", "568", "00000"]
    assert string_accuracy(truth, pred) == 1 / 3
    # 4 + 3 (one deletion) + 4 matched of 12
    assert char_accuracy(truth, pred) == 11 / 12
    assert cer(truth, pred) == 2 / 12


def test_align_gap():
    assert align("5678", "568") == [("5", "5"), ("6", "6"), ("7", None), ("8", "8")]


def test_confusion_counts():
    m = confusion(["12", "11"], ["12", "1"], "12")
    assert m[0, 0] == 2 and m[1, 1] == 1 and m[0, 2] == 1
    assert m.sum() == 4


def test_summarize():
    s = summarize(["12"], ["13"], seconds=0.5)
    assert s["ms_per_image"] == 500 and s["char_accuracy"] == 0.5 and np.isclose(s["cer"], 0.5)
