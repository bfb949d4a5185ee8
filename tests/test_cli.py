import json

import pytest
from click.testing import CliRunner
from PIL import Image

from captchakit.cli import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_line_error(res, *fragments):
    assert res.exit_code != 0
    assert "Traceback" not in res.output
    err = [line for line in res.output.splitlines() if line.startswith("Error:")]
    assert len(err) == 1, res.output
    for f in fragments:
        assert f in err[0], res.output


def test_help_lists_every_command():
    res = run("--help")
    assert res.exit_code == 0
    for c in ("generate", "verify", "preprocess", "segment", "train", "predict", "evaluate", "noise"):
        assert c in res.output
    own = {"generate": "--count", "verify": "--split", "preprocess": "--preview", "segment": "--n-chars",
           "train": "--val-split", "predict": "--json", "evaluate": "--report", "compare": "--train-sizes",
           "tune": "--grid", "noise": "--salt"}
    for c, option in own.items():
        sub = run(c, "--help")
        assert sub.exit_code == 0 and option in sub.output, c


def test_generate_writes_and_refuses_nonempty(tmp_path):
    out = tmp_path / "g"
    res = run("generate", out, "--count", 5, "--seed", 3, "--length", "3-5", "--alphabet", "abc")
    assert res.exit_code == 0, res.output
    assert len(list(out.glob("*.png"))) == 5
    rows = (out / "labels.csv").read_text().splitlines()
    assert rows[0] == "filename,label" and len(rows) == 6
    first = sorted(out.glob("*.png"))[0].read_bytes()
    one_line_error(run("generate", out, "--count", 2), "not empty")
    assert sorted(out.glob("*.png"))[0].read_bytes() == first
    res = run("generate", out, "--count", 2, "--append", "--seed", 3, "--length", "3-5", "--alphabet", "abc")
    assert res.exit_code == 0 and len(list(out.glob("*.png"))) == 7
    assert len((out / "labels.csv").read_text().splitlines()) == 8


def test_generate_out_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("mine")
    one_line_error(run("generate", f, "--count", 1), "is a file")
    assert f.read_text() == "mine"


def test_generate_refuses_an_image_larger_than_it_reads(tmp_path):
    """100000x100000 pixels (30 GB) ran out of memory and was killed; now one line before any work."""
    one_line_error(run("generate", tmp_path / "o", "--count", 1, "--width", 4097, "--height", 4096),
                   "at most 16777216 pixels", "4097x4096")
    one_line_error(run("generate", tmp_path / "o", "--count", 1, "--width", 100000, "--height", 100000), "100000x100000")
    assert not (tmp_path / "o").exists()


def test_generate_refuses_a_count_it_cannot_hold(tmp_path, monkeypatch):
    """A billion images drew 8 GB of label lengths and then their labels before writing anything; now one
    line, and OUT is not created. With --append, the images already there count."""
    from captchakit.data import _generate

    monkeypatch.setattr(_generate, "MAX_IMAGES", 5)
    one_line_error(run("generate", tmp_path / "o", "--count", 6), "at most 5 images", "got 6")
    assert not (tmp_path / "o").exists()
    assert run("generate", tmp_path / "o", "--count", 3).exit_code == 0
    one_line_error(run("generate", tmp_path / "o", "--count", 3, "--append"), "at most 2 images after the 3")
    assert len(list((tmp_path / "o").glob("*.png"))) == 3
    monkeypatch.undo()
    one_line_error(run("generate", tmp_path / "p", "--count", 10 ** 9), "at most 10000000 images", "1000000000")
    assert not (tmp_path / "p").exists()


def test_generate_bad_font(tmp_path):
    one_line_error(run("generate", tmp_path / "o", "--font", tmp_path / "nofont.ttf"), "nofont.ttf")


def test_preprocess_with_preview(gen_dir, tmp_path):
    res = run("preprocess", gen_dir, tmp_path / "p", "--median", 3, "--threshold", "adaptive",
              "--preview", tmp_path / "sheet.png")
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "p").glob("*.png"))) == 12
    assert Image.open(tmp_path / "sheet.png").size[0] > 500
    cfg = json.loads((tmp_path / "p" / "preprocess.json").read_text())
    assert cfg["preprocess"]["median"] == 3 and cfg["preprocess"]["threshold"] == "adaptive"


def test_preprocess_bad_files_processed_and_listed(gen_dir, tmp_path):
    (gen_dir / "zero_1.png").write_bytes(b"")
    (gen_dir / "text_1.png").write_text("hello")
    res = run("preprocess", gen_dir, tmp_path / "p")
    assert res.exit_code == 1
    assert "zero_1.png: empty file" in res.output and "text_1.png: not an image" in res.output
    assert "Traceback" not in res.output
    assert len(list((tmp_path / "p").glob("*.png"))) == 12


def test_preprocess_huge_image(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    Image.new("L", (5000, 4000), 255).save(d / "huge_1.png")
    res = run("preprocess", d, tmp_path / "o")
    assert res.exit_code == 1 and "huge_1.png" in res.output and "above the limit" in res.output


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    one_line_error(run("preprocess", tmp_path / "empty", tmp_path / "o"), "no images found")
    one_line_error(run("verify", tmp_path / "empty"), "no images found")


def test_segment_prints_rate_and_writes_crops(gen_dir, tmp_path):
    out = tmp_path / "s"
    res = run("segment", gen_dir, out, "--method", "projection", "--n-chars", 4)
    assert res.exit_code == 0, res.output
    assert "split naturally" in res.output and "images/s" in res.output
    assert len(list((out / "overlays").glob("*.png"))) == 12
    assert sum(1 for _ in out.glob("[0-9]/*.png")) == 48


def test_verify_label_problems_and_split(gen_dir, tmp_path):
    (gen_dir / "labels.csv").unlink()
    src = sorted(gen_dir.glob("*.png"))[0]
    (gen_dir / "12x4_77.png").write_bytes(src.read_bytes())
    res = run("verify", gen_dir, "--alphabet", "digits", "--length", 4)
    assert res.exit_code == 1
    assert "12x4_77.png" in res.output and "outside the alphabet" in res.output
    assert "160x60" in res.output and "identical" in res.output
    # manifests elsewhere could not be read back (a labels file names images in its own folder): refused
    one_line_error(run("verify", gen_dir, "--split", 0.75, "--seed", 0, "--out", tmp_path / "split"),
                   "must sit in the data folder")
    assert not (tmp_path / "split").exists()
    res = run("verify", gen_dir, "--split", 0.75, "--seed", 0)
    assert (gen_dir / "train.csv").exists() and (gen_dir / "test.csv").exists()
    assert "12x4_77.png" in [p.name for p in gen_dir.iterdir()]
    from captchakit.data import load_labelled

    tr, te = load_labelled(gen_dir / "train.csv"), load_labelled(gen_dir / "test.csv")
    assert len(tr[0]) + len(te[0]) == len(list(gen_dir.glob("*.png"))) and len(te[0]) > 0


def test_train_says_where_to_look_when_the_classic_pipeline_reads_few_images(tmp_path):
    """Labels that do not match their images (shuffled) read near 0%: train says how to see why and names the
    CNN; readings above the threshold, or too few validation images to judge by, say nothing."""
    from captchakit.cli import HINT_BELOW, HINT_MIN_IMAGES

    data = tmp_path / "d"
    assert run("generate", data, "--count", 60, "--seed", 1).exit_code == 0
    rows = (data / "labels.csv").read_text(encoding="utf-8").splitlines()
    labels = [r.split(",")[1] for r in rows[1:]]
    shuffled = labels[7:] + labels[:7]
    assert all(a != b for a, b in zip(labels, shuffled))
    (data / "labels.csv").write_text("\n".join([rows[0]] + [f"{r.split(',')[0]},{lab}" for r, lab in
                                                               zip(rows[1:], shuffled)]) + "\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["train", str(data), "--method", "knn", "--val-split", "0.4",
                                  "--model", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output + res.stderr
    hint = [ln for ln in res.stderr.splitlines() if ln.startswith("hint:")]
    assert len(hint) == 1 and "--method cnn" in hint[0] and "--report" in hint[0], res.stderr
    assert "hint:" not in res.stdout
    from captchakit.cli import _low_accuracy_hint

    m = {"n_images": HINT_MIN_IMAGES, "string_accuracy": HINT_BELOW}
    assert _low_accuracy_hint("svm", m, "m", "d") is None
    assert _low_accuracy_hint("svm", {**m, "string_accuracy": 0.3}, "m", "d").startswith("hint: ")
    assert _low_accuracy_hint("cnn", {**m, "string_accuracy": 0.3}, "m", "d") is None
    assert _low_accuracy_hint("knn", {**m, "string_accuracy": 0.3, "n_images": HINT_MIN_IMAGES - 1}, "m", "d") is None


def test_train_predict_evaluate(tmp_path):
    data, test = tmp_path / "d", tmp_path / "t"
    assert run("generate", data, "--count", 80, "--seed", 1).exit_code == 0
    assert run("generate", test, "--count", 10, "--seed", 2).exit_code == 0
    model = tmp_path / "m"
    res = run("train", data, "--method", "knn", "--model", model, "--seed", 0)
    assert res.exit_code == 0, res.output
    assert "validation split" in res.output and "seed 0" in res.output
    assert (model / "model.json").exists() and (model / "classifier.skops").exists()
    one_line_error(run("train", data, "--method", "knn", "--model", model), "already exists")
    res = run("predict", model, test, "--json")
    assert res.exit_code == 0
    preds = json.loads(res.output)
    assert len(preds) == 10 and all(len(p["text"]) == 4 for p in preds)
    # a folder with no images is a problem named in one line and a non-zero exit, beside the images read
    (tmp_path / "empty").mkdir()
    res = run("predict", model, tmp_path / "empty", test / sorted(p.name for p in test.glob("*.png"))[0])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert f"{tmp_path / 'empty'}: no images found" in res.output and res.output.count("\t") == 2
    rep = tmp_path / "rep"
    res = run("evaluate", model, test, "--report", rep)
    assert res.exit_code == 0, res.output
    assert "whole-string" in res.output and "per-character" in res.output and "CER" in res.output
    for f in ("metrics.json", "confusion.png", "errors.png"):
        assert (rep / f).exists()


def test_train_unknown_method(gen_dir, tmp_path):
    # the CLI's choices come from the library's registry
    from captchakit import methods

    res = run("train", gen_dir, "--method", "forest", "--model", tmp_path / "m")
    assert res.exit_code != 0 and "forest" in res.output and "Traceback" not in res.output
    assert all(m in res.output for m in methods())
    assert not (tmp_path / "m").exists()


def test_evaluate_unknown_label_chars(tmp_path, trained_knn):
    trained_knn.save(tmp_path / "m")
    d = tmp_path / "d"
    from captchakit.data import generate_to_folder

    generate_to_folder(d, 4, seed=9)
    (d / "labels.csv").unlink()
    src = sorted(d.glob("*.png"))[0]
    (d / "ab12_5.png").write_bytes(src.read_bytes())
    res = run("evaluate", tmp_path / "m", d)
    assert res.exit_code == 1 and "ab12_5.png" in res.output and "outside the alphabet" in res.output


def test_model_file_errors(tmp_path, gen_dir):
    one_line_error(run("predict", tmp_path / "missing", gen_dir), "model not found")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "model.json").write_text('{"hello": 1}')
    one_line_error(run("predict", tmp_path / "foreign", gen_dir), "not a captchakit model")


def test_bad_config_file(tmp_path, gen_dir):
    cfg = tmp_path / "c.json"
    cfg.write_text('{"preprocess": {"medain": 3}}')
    one_line_error(run("preprocess", gen_dir, tmp_path / "o", "--config", cfg), "c.json", "medain")
    cfg.write_text("{nope")
    one_line_error(run("preprocess", gen_dir, tmp_path / "o2", "--config", cfg), "not valid JSON")


def test_train_search_reports_choice(tmp_path):
    data = tmp_path / "d"
    assert run("generate", data, "--count", 60, "--seed", 3).exit_code == 0
    res = run("train", data, "--method", "knn", "--search", "--model", tmp_path / "m")
    assert res.exit_code == 0, res.output
    assert "cross-validated choice on the training part" in res.output and "n_neighbors" in res.output


def test_train_cnn_via_cli(tmp_path):
    pytest.importorskip("tensorflow")
    data = tmp_path / "d"
    assert run("generate", data, "--count", 40, "--seed", 3, "--width", 96, "--height", 40).exit_code == 0
    res = run("train", data, "--method", "cnn", "--model", tmp_path / "m", "--epochs", 1,
              "--image-size", "24x48", "--batch-size", 16, "--no-augment", "--head", "ctc", "--schedule", "cosine",
              "--patience", 2, "--time-limit", 600, "--width-pools", 1)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "m" / "model.keras").exists()
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["head"] == "ctc" and meta["params"]["schedule"] == "cosine" and meta["input"]["height"] == 24
    # the width halved once: 24 columns, said and stored
    assert meta["params"]["width_pools"] == meta["training"]["settings"]["width_pools"] == 1
    assert "head ctc (24 columns)" in res.output
    assert meta["params"]["time_limit"] == 600 and meta["training"]["time_limit"] == {"seconds": 600, "stopped": False,
                                                                          "learning_rate_halvings": 0}
    res = run("predict", tmp_path / "m", data, "--json")
    assert res.exit_code == 0 and len(json.loads(res.output)) == 40
    one_line_error(run("train", data, "--method", "cnn", "--model", tmp_path / "m2", "--image-size", "big"),
                   "--image-size")
    for bad in ("soon", "0", "-5", "inf"):
        one_line_error(run("train", data, "--method", "cnn", "--model", tmp_path / "m2", "--time-limit", bad),
                       "--time-limit")
    assert not (tmp_path / "m2").exists()


def test_the_built_in_demo_set_has_a_cnn_time_limit_that_options_change():
    from captchakit.cli import _cnn_kwargs
    from captchakit.compare import BUILTIN_TIME_LIMIT, builtin_cnn_recipe

    def limit(option, defaults):
        return _cnn_kwargs(None, None, None, "auto", None, True, 0.04, "plateau", defaults,
                           time_limit=option)["time_limit"]

    demo = builtin_cnn_recipe("digits")
    assert limit(None, demo) == BUILTIN_TIME_LIMIT  # make demo: compare with no DATA
    assert limit("none", demo) is None and limit("90", demo) == 90.0
    assert limit(None, None) is None  # a user's DATA: no limit unless asked
    assert limit(None, builtin_cnn_recipe("digits", fresh=True)) is None


def test_the_built_in_demo_set_trains_without_augmentation_unless_asked():
    """The demo's fixed 10 epochs read better without augmentation; everything else keeps it, and the flag wins."""
    from captchakit.cli import _cnn_kwargs
    from captchakit.compare import builtin_cnn_recipe

    def augment(option, defaults):
        return _cnn_kwargs(None, None, None, "auto", None, option, 0.04, "plateau", defaults)["augment"]

    demo = builtin_cnn_recipe("digits")
    assert augment(None, demo) is False and augment(True, demo) is True
    assert augment(None, None) is True and augment(False, None) is False  # a user's DATA
    assert augment(None, builtin_cnn_recipe("digits", fresh=True)) is True
    assert augment(None, builtin_cnn_recipe("alnum")) is True


def test_train_without_data_on_the_built_in_set_with_fresh_images(tmp_path):
    """No DATA: the built-in generated set; --fresh draws new images every CNN epoch (stored in the bundle)."""
    pytest.importorskip("tensorflow")
    res = run("train", "--method", "cnn", "--fresh", "--count", 40, "--seed", 2, "--model", tmp_path / "m",
              "--epochs", 1, "--image-size", "24x48", "--batch-size", 16, "--no-augment", "--head", "ctc")
    assert res.exit_code == 0, res.output
    assert "no DATA: generating the built-in python-captcha 4-digits set (40 images, seed 2)" in res.output
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    fresh = meta["training"]["fresh"]
    assert fresh["start"] == 40 and fresh["seed"] == 2 and fresh["images_drawn"] >= 1
    res = run("train", "--method", "knn", "--count", 60, "--model", tmp_path / "k")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "k" / "model.json").read_text())["method"] == "knn"
    one_line_error(run("train", "--method", "svm", "--fresh", "--model", tmp_path / "s"), "--method cnn")
    data = tmp_path / "d"
    assert run("generate", data, "--count", 10, "--seed", 3).exit_code == 0
    one_line_error(run("train", data, "--method", "cnn", "--fresh", "--model", tmp_path / "c"), "leave out DATA")
    one_line_error(run("compare", data, "--fresh", "--report", tmp_path / "r"), "leave out DATA")
    assert not (tmp_path / "s").exists() and not (tmp_path / "c").exists() and not (tmp_path / "r").exists()
