"""The recognizer contract shared by the classic pipeline and the CNN (issue 6/9)."""

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.svm import SVC

import captchakit
from captchakit import CaptchakitError, load_model, load_settings, make_recognizer
from captchakit._base import DETAIL_KEYS, Recognizer
from captchakit.cli import cli
from captchakit.preprocess import Preprocessor
from captchakit.segment import Segmenter

TINY_CNN = dict(height=24, width=48, filters=(4, 8, 8, 8), rnn_units=0, batch_size=16, verbose=0, epochs=1)


def test_registry_builds_every_method():
    assert captchakit.methods() == ("svm", "knn", "cnn")
    for m in ("svm", "knn"):
        rec = make_recognizer(m, epochs=3)  # CNN-only options are ignored by the classic methods
        assert isinstance(rec, Recognizer) and rec.classifier == m
    with pytest.raises(CaptchakitError, match="method must be one of svm, knn, cnn; got 'forest'"):
        make_recognizer("forest")


def test_no_import_cycle_and_no_tensorflow_at_import():
    code = ("import sys, captchakit, captchakit._bundle, captchakit.cli; "
            "assert 'captchakit.classifiers._recognizer' not in sys.modules; "
            "assert 'tensorflow' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


@pytest.mark.parametrize("method", ["svm", "knn", "cnn"])
def test_same_detail_keys_and_lossless_bundle(method, tmp_path, small_set):
    if method == "cnn":
        pytest.importorskip("tensorflow")
        params = dict(TINY_CNN, learning_rate=3e-3, schedule="cosine", patience=2)
    else:
        params = dict(preprocessor=Preprocessor(median=3), segmenter=Segmenter(min_height=0.3),
                      n_components=20, alt_windows=(0.2,), n_chars=4)
    X, y = small_set
    rec = make_recognizer(method, **params).fit(X[:80], y[:80])
    det = rec.predict_details(X[100:104])
    assert [tuple(d) for d in det] == [DETAIL_KEYS] * 4
    assert all(isinstance(d["extra"], dict) for d in det)
    rec.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert type(loaded) is type(rec)
    assert loaded._params_to_json() == rec._params_to_json()
    plain = {k: v for k, v in rec.get_params(deep=False).items() if k not in ("preprocessor", "segmenter")}
    assert {k: loaded.get_params(deep=False)[k] for k in plain} == plain
    assert loaded.predict(X[100:110]) == rec.predict(X[100:110])


def test_classifier_object_roundtrips(tmp_path, small_set):
    X, y = small_set
    rec = make_recognizer("svm").set_params(classifier=SVC(C=3.0, gamma=0.02)).fit(X[:80], y[:80])
    rec.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.classifier.get_params()["C"] == 3.0 and loaded.classifier.get_params()["gamma"] == 0.02


def test_fitted_settings_used_after_set_params(tmp_path, small_set):
    X, y = small_set
    rec = make_recognizer("knn").fit(X[:80], y[:80])
    before = rec.predict(X[100:110])
    rec.set_params(preprocessor=Preprocessor(threshold="fixed", threshold_value=5))  # not refitted
    assert rec.predict(X[100:110]) == before
    rec.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["preprocess"]["threshold"] == "otsu"  # what predictions use, not the unfitted parameter
    assert load_model(tmp_path / "m").predict(X[100:110]) == before


def test_load_settings_one_shape_from_every_source(tmp_path):
    want = load_settings({"preprocess": {"median": 3}, "segment": {"method": "projection"}})
    flat = load_settings({"median": 3, "segment.method": "projection"})
    f = tmp_path / "best.json"
    f.write_text(json.dumps({"preprocess": {"median": 3}, "segment": {"method": "projection"},
                             "tuned": {"method": "svm"}}))
    from_file = load_settings(f)
    from_flags = load_settings(None, preprocess={"median": 3, "mean": None}, segment={"method": "projection"})
    for s in (flat, from_file, from_flags):
        assert s["preprocessor"].to_dict() == want["preprocessor"].to_dict()
        assert s["segmenter"].to_dict() == want["segmenter"].to_dict()
    with pytest.raises(CaptchakitError, match="best.json: unknown preprocessing setting"):
        f.write_text('{"medain": 3}')
        load_settings(f)


def test_alphabet_name_for_classic_training(tmp_path):
    """Defect: `train --alphabet digits --method svm` used 'dgist' as the alphabet."""
    data = tmp_path / "d"
    assert CliRunner().invoke(cli, ["generate", str(data), "--count", "60", "--seed", "2"]).exit_code == 0
    res = CliRunner().invoke(cli, ["train", str(data), "--alphabet", "digits", "--method", "knn",
                                   "--model", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "m" / "model.json").read_text())["alphabet"] == "0123456789"


def test_predict_when_nothing_segments(tmp_path, trained_knn):
    """Defect: a batch in which no image segments crashed with UnboundLocalError."""
    blank = [np.full((60, 160, 3), 255, np.uint8), np.zeros((60, 160, 3), np.uint8),
             np.full((1, 1, 3), 128, np.uint8)]
    det = trained_knn.predict_details(blank)
    assert [d["text"] for d in det] == ["", "", ""] and all(d["confidence"] == 0.0 for d in det)
    d = tmp_path / "blank"
    d.mkdir()
    from PIL import Image

    for i, im in enumerate(blank):
        Image.fromarray(im).save(d / f"1234_{i}.png")
    trained_knn.save(tmp_path / "m")
    res = CliRunner().invoke(cli, ["predict", str(tmp_path / "m"), str(d), "--json"])
    assert res.exit_code == 0, res.output
    assert [p["text"] for p in json.loads(res.output)] == ["", "", ""]
    res = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "m"), str(d)])
    assert res.exit_code == 0 and "whole-string accuracy 0.00%" in res.output
