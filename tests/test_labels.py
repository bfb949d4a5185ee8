"""Label kinds: case and look-alike folding, arithmetic captchas (issue 14)."""

import json
from fractions import Fraction

import pytest
from click.testing import CliRunner

from captchakit._errors import CaptchakitError
from captchakit.data._generate import render_captchas
from captchakit.data._labels import (
    answer_of, evaluate_expression, fold_alphabet, fold_text, parse_fold, unfold_alphabet,
)


def test_fold_spec():
    assert parse_fold("case") == (True, {})
    assert fold_text("AbCd", "case") == "abcd"
    assert fold_text("O0lI1", "0O,1lI") == "00111"
    assert fold_text("ÄÖ", "case") == "äö"  # any script
    assert fold_alphabet("abcABC", "case") == "abc"
    assert unfold_alphabet("0a", "case,0o") == "0AOao"
    with pytest.raises(CaptchakitError, match="at least two"):
        parse_fold("0O,x")
    with pytest.raises(CaptchakitError, match="fold must be a string"):
        parse_fold(3)


@pytest.mark.parametrize("text,value", [
    ("14+4", 18), ("2+3x4", 14), ("2*3-1", 5), ("9-12", -3), ("8÷2", 4), ("7/2", Fraction(7, 2)),
    ("3+4=?", 7), ("12", 12), ("3+4=", 7),
])
def test_expressions(text, value):
    assert evaluate_expression(text) == value


@pytest.mark.parametrize("text", ["", "+", "1+", "+1", "1++2", "1/0", "1a2", "1 2", "=", "__import__('os')"])
def test_bad_expressions_have_no_answer(text):
    assert evaluate_expression(text) is None
    assert answer_of(text) == (None, "not a valid expression")


def _sums(n, seed):
    import random

    rng = random.Random(seed)
    labels = [f"{rng.randint(0, 9)}+{rng.randint(0, 9)}" for _ in range(n)]
    return render_captchas(labels, list(range(seed * 1000, seed * 1000 + n))), labels


@pytest.fixture(scope="module")
def sums():
    return _sums(160, 1), _sums(40, 2)


def test_arithmetic_recognizer_gives_answers(sums):
    from captchakit import make_recognizer
    from captchakit.evaluate import evaluate

    (Xtr, ytr), (Xte, yte) = sums
    rec = make_recognizer("knn", task="arithmetic").fit(Xtr, ytr)
    det = rec.predict_details(Xte)
    for d in det:
        assert d["extra"]["answer"] == answer_of(d["text"])[0]
        assert (d["extra"]["answer"] is None) == (d["extra"]["answer_note"] is not None)
    res = evaluate(rec, Xte, yte)
    m = res["metrics"]
    right = sum(answer_of(p)[0] == str(evaluate_expression(t)) for p, t in zip(res["predictions"], yte))
    assert m["answer_accuracy"] == right / len(yte)
    assert m["answer_accuracy"] >= m["string_accuracy"]  # a right reading always has the right answer
    assert m["string_accuracy"] > 0.5


def test_case_folding_trains_and_scores_folded():
    from captchakit import make_recognizer
    from captchakit.evaluate import evaluate

    from captchakit.data import generate_captchas

    X, y = generate_captchas(140, alphabet="abcd", seed=5)
    y_mixed = [s.upper() if i % 2 else s for i, s in enumerate(y)]  # the same letters, half written in capitals
    rec = make_recognizer("knn", fold="case").fit(X[:100], y_mixed[:100])
    assert rec.alphabet_ == "abcd"
    preds = rec.predict(X[100:])
    assert all(p == p.lower() for p in preds)
    assert rec.score(X[100:], y_mixed[100:]) == rec.score(X[100:], y[100:])
    m = evaluate(rec, X[100:], y_mixed[100:])["metrics"]
    assert m["string_accuracy"] > 0.5
    # labels as written: the capitalised half can never match a lower-case reading
    assert m["exact"]["string_accuracy"] <= m["string_accuracy"] - 0.3
    assert m["fold"] == "case"


def test_evaluate_fold_on_request(small_set):
    from captchakit import make_recognizer
    from captchakit.evaluate import evaluate

    X, y = small_set
    rec = make_recognizer("knn").fit(X[:100], y[:100])
    m = evaluate(rec, X[100:], y[100:], fold="0123456789")["metrics"]  # every digit reads as 0
    preds = rec.predict(X[100:])
    assert m["folded"]["string_accuracy"] == pytest.approx(
        sum(len(p) == len(t) for p, t in zip(preds, y[100:])) / len(preds))
    assert m["folded"]["string_accuracy"] > m["string_accuracy"]
    assert m["exact"]["string_accuracy"] == m["string_accuracy"]


def test_fold_and_task_survive_the_bundle(tmp_path, sums):
    from captchakit import load_model, make_recognizer

    (Xtr, ytr), (Xte, _) = sums
    rec = make_recognizer("svm", task="arithmetic", fold="case").fit(Xtr, ytr)
    rec.save(tmp_path / "m")
    back = load_model(tmp_path / "m")
    assert (back.task, back.fold) == ("arithmetic", "case")
    assert back.predict_details(Xte[:5]) == rec.predict_details(Xte[:5])


def test_bad_task_or_fold_is_one_line(sums):
    from captchakit import make_recognizer

    (Xtr, ytr), _ = sums
    with pytest.raises(CaptchakitError, match="task must be one of"):
        make_recognizer("knn", task="algebra").fit(Xtr, ytr)
    with pytest.raises(CaptchakitError, match="fold group"):
        make_recognizer("knn", fold="x").fit(Xtr, ytr)


def test_cli_arithmetic_and_ignore_case(tmp_path, sums):
    from captchakit.cli import cli
    from captchakit.data import write_image

    (Xtr, ytr), (Xte, yte) = sums
    for name, X, y in (("train", Xtr, ytr), ("test", Xte, yte)):
        d = tmp_path / name
        d.mkdir()
        rows = ["filename,label"]
        for i, (im, lab) in enumerate(zip(X, y)):
            write_image(d / f"{i}.png", im)
            rows.append(f"{i}.png,{lab}")
        (d / "labels.csv").write_text("\n".join(rows) + "\n")
    r = CliRunner()
    res = r.invoke(cli, ["train", str(tmp_path / "train"), "--method", "knn", "--model", str(tmp_path / "m"),
                         "--task", "arithmetic", "--ignore-case"])
    assert res.exit_code == 0, res.output
    assert "answer accuracy" in res.output
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["params"]["task"] == "arithmetic" and meta["params"]["fold"] == "case"
    res = r.invoke(cli, ["evaluate", str(tmp_path / "m"), str(tmp_path / "test")])
    assert res.exit_code == 0, res.output
    assert "answer accuracy" in res.output and "labels as written" in res.output
    res = r.invoke(cli, ["predict", str(tmp_path / "m"), str(tmp_path / "test" / "0.png"), "--json"])
    assert res.exit_code == 0, res.output
    entry = json.loads(res.output)[0]
    assert entry["answer"] == answer_of(entry["text"])[0]
    res = r.invoke(cli, ["train", str(tmp_path / "train"), "--method", "knn", "--model", str(tmp_path / "m2"),
                         "--fold", "1"])
    assert res.exit_code != 0 and "fold group" in res.output and "Traceback" not in res.output


def test_figures_find_a_font_for_cjk_or_say_which_characters_they_cannot_draw(tmp_path):
    import numpy as np

    from captchakit.report._plots import _charmap, glyph_font, save_confusion

    assert glyph_font("0123abcXYZ") == (None, "")
    font, missing = glyph_font("降飞淀")
    if font is not None:  # a CJK font is on this machine (make test installs one where it may)
        assert {ord(c) for c in "降飞淀"} <= _charmap(font.get_file()) and missing == ""
    else:
        assert missing == "淀降飞"
    private = "\u0378\u0379"  # unassigned code points: no font draws them
    with pytest.warns(UserWarning, match="no font on this machine draws"):
        save_confusion(tmp_path / "c.png", np.eye(3), private)
    assert (tmp_path / "c.png").stat().st_size > 0


def test_generate_with_a_given_font_and_cjk_alphabet(tmp_path):
    from captchakit.cli import cli
    from captchakit.data import load_labelled
    from captchakit.report._plots import glyph_font

    font, _ = glyph_font("天地")
    if font is None:
        pytest.skip("no CJK font on this machine (make test installs one where it may)")
    res = CliRunner().invoke(cli, ["generate", str(tmp_path / "g"), "--count", "6", "--alphabet", "chars:天地人和",
                                   "--font", font.get_file(), "--length", "2"])
    assert res.exit_code == 0, res.output
    X, y, _, problems = load_labelled(tmp_path / "g")
    assert len(X) == 6 and not problems and all(len(v) == 2 and set(v) <= set("天地人和") for v in y)
