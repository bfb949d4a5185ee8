import json

import pytest
from click.testing import CliRunner

from captchakit.cli import cli
from captchakit.compare import parse_methods, parse_sizes


def test_parsers():
    assert parse_methods("svm,cnn") == ["svm", "cnn"]
    assert parse_sizes("500,250") == [250, 500]
    from captchakit import CaptchakitError

    with pytest.raises(CaptchakitError, match="forest"):
        parse_methods("svm,forest")


def test_compare_quick_writes_every_file(tmp_path):
    pytest.importorskip("tensorflow")
    out = tmp_path / "rep"
    res = CliRunner().invoke(cli, ["compare", "--quick", "--report", str(out), "--count", "120"])
    assert res.exit_code == 0, res.output
    for f in ("report.html", "report.md", "results.json", "accuracy.png", "learning_curves.png",
              "confusion_knn.png", "confusion_svm.png", "confusion_cnn.png", "errors_knn.png",
              "errors_svm.png", "errors_cnn.png", "training_cnn.png"):
        assert (out / f).exists(), f
    data = json.loads((out / "results.json").read_text())
    assert [r["method"] for r in data["rows"]] == ["knn", "svm", "cnn"]
    assert all(0 <= r["string_accuracy"] <= 1 and r["model_bytes"] > 0 for r in data["rows"])
    assert set(data["learning_curves"]) == {"knn", "svm", "cnn"}
    # the built-in set draws the CNN's learning-curve points only when asked (the demo's time budget)
    assert [len(data["learning_curves"][m]) for m in ("knn", "svm", "cnn")] == [2, 2, 1]
    assert "the CNN's points are drawn only when asked (--train-sizes 60" in res.output
    assert any("the CNN's points are drawn only when asked" in n for n in data["notes"])
    assert "report:" in res.output and "seed 0" in res.output
    html = (out / "report.html").read_text()
    assert "learning_curves.png" in html and "whole-string" in html


def test_compare_report_says_what_training_warned_of(tmp_path):
    """A CNN stopped by its time limit: the warning is printed and written into the report's notes."""
    pytest.importorskip("tensorflow")
    out = tmp_path / "rep"
    res = CliRunner().invoke(cli, ["compare", "--quick", "--methods", "cnn", "--report", str(out), "--count", "60",
                                   "--train-sizes", "none", "--time-limit", "0.05"])
    assert res.exit_code == 0, res.output
    # said once, as training stopped (it was also repeated as a "warning:" line right after)
    assert res.output.count("training stopped at its time limit (0.05 s)") == 1
    assert "TIME LIMIT: training stopped at its time limit (0.05 s)" in res.output
    notes = json.loads((out / "results.json").read_text())["notes"]
    assert any(n.startswith("Warning (cnn): training stopped at its time limit (0.05 s)") for n in notes)
    assert "Warning (cnn): training stopped at its time limit" in (out / "report.md").read_text()
    assert "training stopped at its time limit" in (out / "report.html").read_text()


def test_compare_on_user_data(tmp_path, gen_dir):
    res = CliRunner().invoke(cli, ["compare", str(gen_dir), "--methods", "knn", "--report",
                                   str(tmp_path / "r"), "--train-sizes", "4", "--test-split", "0.25"])
    assert res.exit_code == 0, res.output
    assert "train 9 / test 3" in res.output


def test_compare_passes_preprocessing_to_classic_methods(tmp_path, gen_dir):
    out = tmp_path / "r"
    res = CliRunner().invoke(cli, ["compare", str(gen_dir), "--methods", "knn", "--report", str(out),
                                   "--train-sizes", "4", "--test-split", "0.25", "--line-thickness", "2",
                                   "--median", "3"])
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "models" / "knn" / "model.json").read_text())
    assert meta["preprocess"]["line_thickness"] == 2 and meta["preprocess"]["median"] == 3
    assert "'line_thickness': 2" in (out / "report.md").read_text()


def test_the_built_in_set_draws_the_cnns_learning_curve_only_when_asked(monkeypatch, tmp_path):
    """make demo's budget: without --train-sizes the CNN's points (as long as its own training again) are left out."""
    import captchakit.compare as compare

    calls = []

    class Stop(Exception):
        pass

    def fake_run(train, test, methods, sizes, *args, curve_methods=None, **kwargs):
        calls.append((list(methods), list(sizes), curve_methods))
        raise Stop

    monkeypatch.setattr(compare, "run_compare", fake_run)
    monkeypatch.setattr(compare, "builtin_data", lambda *a: (([None] * 3000, ["0000"] * 3000),
                                                             ([None] * 10, ["0000"] * 10), "built-in"))
    for extra in ([], ["--train-sizes", "500,2000"], ["--methods", "cnn"], ["--methods", "knn,svm"]):
        res = CliRunner().invoke(cli, ["compare", "--report", str(tmp_path / "r"), "--overwrite", *extra])
        assert res.exit_code == 1 and "internal error: Stop" in res.output, res.output
    assert calls == [(["knn", "svm", "cnn"], [500, 2000], ["knn", "svm"]),
                     (["knn", "svm", "cnn"], [500, 2000], None),
                     (["cnn"], [500, 2000], None),
                     (["knn", "svm"], [500, 2000], None)]


class _Fake:
    """A recognizer that learns nothing and reads "0000": run_compare's bookkeeping without training."""

    warnings_, verbose = [], 0

    def __init__(self, method, params, log):
        self.method, self.log = method, log
        log.append(("made", method, params))

    def fit(self, X, y, progress=None):
        self.log.append(("fit", self.method, len(X)))
        return self

    def fold_labels(self, y):
        return list(y)

    def predict_details(self, X):
        return [{"text": "0000", "confidence": 1.0, "extra": {}} for _ in X]

    def score(self, X, y):
        return 0.5


def _fake_recognizers(monkeypatch, log):
    import captchakit.compare as compare

    monkeypatch.setattr(compare, "make_recognizer",
                        lambda method, cnn, seed, alphabet, classic: _Fake(method, dict(cnn or {}), log))
    return compare


def test_learning_curve_points_for_some_methods_only(monkeypatch):
    log = []
    compare = _fake_recognizers(monkeypatch, log)
    result = compare.run_compare(([None] * 300, ["0000"] * 300), ([None] * 4, ["0000"] * 4), methods=("knn", "cnn"),
                                 train_sizes=(50, 100), echo=lambda *a: None, curve_methods=("knn",))
    assert [e[1:] for e in log if e[0] == "fit"] == [("knn", 300), ("knn", 50), ("knn", 100), ("cnn", 300)]
    assert [p[0] for p in result["curves"]["knn"]] == [50, 100, 300]
    assert [p[0] for p in result["curves"]["cnn"]] == [300]


def test_a_small_learning_curve_point_trains_the_cnn_with_a_smaller_batch(monkeypatch):
    """The recipe's batch of 64 left a 500-image point 8 steps per epoch: it sat at chance until its time ran out."""
    log = []
    compare = _fake_recognizers(monkeypatch, log)
    images = [None] * 3000
    compare.run_compare((images, ["0000"] * 3000), ([None] * 4, ["0000"] * 4), methods=("cnn",),
                        train_sizes=(100, 500, 2000), cnn_params={"batch_size": 64, "time_limit": 240, "epochs": 15},
                        echo=lambda *a: None)
    made = [e[2] for e in log if e[0] == "made"]
    assert [p["batch_size"] for p in made] == [64, 16, 16, 64]
    assert [p["time_limit"] for p in made] == [240, 60.0, 60.0, 128.0]  # 0.8 of their share, at least 60 s
    # each point may see as many images as the full run (15 epochs of 3,000), within its time limit; with the
    # recipe's 15 epochs the 2,000-image point read no better than the 500-image one
    assert [p["epochs"] for p in made] == [15, 150, 90, 23]
    log.clear()
    compare.run_compare((images, ["0000"] * 3000), ([None] * 4, ["0000"] * 4), methods=("cnn",),
                        train_sizes=(500,), cnn_params={"epochs": "auto"}, echo=lambda *a: None)
    made = [e[2] for e in log if e[0] == "made"]
    assert [p["epochs"] for p in made] == ["auto", "auto"]  # measured from each subset's own size
