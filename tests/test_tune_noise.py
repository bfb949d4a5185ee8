import json

import numpy as np
import pytest
from click.testing import CliRunner

from captchakit import CaptchakitError
from captchakit.cli import cli
from captchakit.data import apply_noise, generate_captchas, parse_noise
from captchakit.tune import validate_grid


@pytest.fixture(scope="module")
def clean():
    return np.full((40, 80, 3), 255, np.uint8)


@pytest.mark.parametrize("spec,check", [
    ("salt:0.1", lambda o: 0.05 < (o[..., 0] != 255).mean() < 0.15),
    ("gauss:20", lambda o: 5 < np.abs(o.astype(int) - 255).mean() < 30),
    ("lines:3", lambda o: (o[..., 0] < 128).sum() > 50),
    ("dots:20", lambda o: (o[..., 0] < 128).sum() > 20),
])
def test_noise_models_deterministic_and_effective(clean, spec, check):
    a = apply_noise(clean, spec, seed=1)
    b = apply_noise(clean, spec, seed=1)
    c = apply_noise(clean, spec, seed=2)
    assert (a == b).all() and not (a == c).all()
    assert check(a)
    assert (clean == 255).all()


def test_blur_softens_edges():
    im = np.full((20, 20, 3), 255, np.uint8)
    im[:, 10:] = 0
    out = apply_noise(im, "blur:2", seed=0)
    assert 0 < out[10, 10, 0] < 255 and (im[:, 10:] == 0).all()


def test_parse_noise_errors():
    assert parse_noise("salt:0.05,lines:3") == {"salt": 0.05, "lines": 3.0}
    with pytest.raises(CaptchakitError, match="unknown noise model 'fog'"):
        parse_noise("fog:1")
    with pytest.raises(CaptchakitError, match="needs a number"):
        parse_noise("salt:lots")
    with pytest.raises(CaptchakitError, match="out of range"):
        parse_noise("salt:2")


def test_generate_with_noise_is_seeded():
    a, _ = generate_captchas(2, seed=1, noise="salt:0.05,lines:3")
    b, _ = generate_captchas(2, seed=1, noise="salt:0.05,lines:3")
    clean, _ = generate_captchas(2, seed=1)
    assert (a[0] == b[0]).all() and not (a[0] == clean[0]).all()


def test_noise_command_keeps_originals(gen_dir, tmp_path):
    before = {p.name: p.read_bytes() for p in gen_dir.iterdir()}
    res = CliRunner().invoke(cli, ["noise", str(gen_dir), str(tmp_path / "n"), "--salt", "0.05", "--lines", "2"])
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "n").glob("*.png"))) == 12
    assert {p.name: p.read_bytes() for p in gen_dir.iterdir()} == before
    res = CliRunner().invoke(cli, ["noise", str(gen_dir), str(gen_dir), "--salt", "0.05"])
    assert res.exit_code != 0 and "must not be, contain or lie inside the input folder" in res.output
    assert {p.name: p.read_bytes() for p in gen_dir.iterdir()} == before


def test_grid_validation_names_the_entry():
    with pytest.raises(CaptchakitError, match="unknown parameter 'medain'"):
        validate_grid({"medain": [3]})
    with pytest.raises(CaptchakitError, match="entry 'median' has a bad value 4"):
        validate_grid({"median": [3, 4]})
    with pytest.raises(CaptchakitError, match="must be a non-empty list"):
        validate_grid({"median": 3})
    grids = validate_grid({"median": [0, 3], "mean": [0, 3], "filter_order": ["median-first", "mean-first"]})
    # order varies only where both filters are on: 2 + 3 single combinations
    from captchakit.tune import n_candidates

    assert n_candidates(grids) == 5


@pytest.mark.parametrize("content,fragment", [
    ('{"bogus": [1]}', "bogus"),
    ('{"threshold": ["sauvola"]}', "threshold"),
    ("{not json", "not valid JSON"),
])
def test_tune_bad_grid_files(tmp_path, gen_dir, content, fragment):
    g = tmp_path / "grid.json"
    g.write_text(content)
    res = CliRunner().invoke(cli, ["tune", str(gen_dir), "--grid", str(g), "--out", str(tmp_path / "t")])
    assert res.exit_code != 0 and fragment in res.output and "grid.json" in res.output
    assert "Traceback" not in res.output


def test_tune_yaml_grid_bad(tmp_path, gen_dir):
    g = tmp_path / "grid.yaml"
    g.write_text("median: [3, 4]\n")
    res = CliRunner().invoke(cli, ["tune", str(gen_dir), "--grid", str(g), "--out", str(tmp_path / "t")])
    assert res.exit_code != 0 and "'median'" in res.output


def test_tiny_tune_writes_everything(tmp_path):
    data = tmp_path / "d"
    CliRunner().invoke(cli, ["generate", str(data), "--count", "90", "--seed", "4", "--noise", "salt:0.03"])
    g = tmp_path / "grid.json"
    g.write_text(json.dumps({"median": [0, 3], "min_area": [12]}))
    out = tmp_path / "t"
    res = CliRunner().invoke(cli, ["tune", str(data), "--grid", str(g), "--out", str(out), "--method", "knn",
                                   "--cv", "2", "--jobs", "1"])
    assert res.exit_code == 0, res.output
    for f in ("best.json", "settings.png", "filter_sizes.png", "index.html", "tune.json"):
        assert (out / f).exists(), f
    best = json.loads((out / "best.json").read_text())
    ranking = json.loads((out / "tune.json").read_text())["ranking"]
    # best.json is the top of the ranking, and the ranking is ordered by (halving iteration, CV accuracy)
    assert best["preprocess"] == ranking[0]["preprocess"]
    keys = [(r["iteration"], r["cv_mean"]) for r in ranking]
    assert keys == sorted(keys, reverse=True)
    assert "default" in res.output and "tuned" in res.output
    # best.json feeds train and preprocess
    res = CliRunner().invoke(cli, ["preprocess", str(data), str(tmp_path / "p"), "--config", str(out / "best.json")])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["train", str(data), "--method", "knn", "--config", str(out / "best.json"),
                                   "--model", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    # settings tune pinned are kept; those left "auto" are measured on the data and stored resolved
    pinned = {k: v for k, v in best["preprocess"].items() if v != "auto"}
    assert {k: meta["preprocess"][k] for k in pinned} == pinned
    assert "auto" not in meta["preprocess"].values()
