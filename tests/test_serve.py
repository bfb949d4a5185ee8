"""captcha-cli serve: the HTTP API answers as offline predict does, and bad requests never give a 500."""

import base64

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("fastapi")
pytest.importorskip("httpx2")  # the client of Starlette's TestClient (plain httpx is deprecated there)

from fastapi.testclient import TestClient  # noqa: E402

from captchakit import load_model, make_recognizer  # noqa: E402
from captchakit.data import generate_captchas, write_image  # noqa: E402
from captchakit.data._io import encode_image  # noqa: E402
from captchakit.serve import Server, parse_model_args  # noqa: E402


@pytest.fixture(scope="module")
def images():
    return generate_captchas(100, seed=21)


@pytest.fixture(scope="module")
def classic(tmp_path_factory, small_set):
    X, y = small_set
    p = tmp_path_factory.mktemp("m") / "knn"
    make_recognizer("knn").fit(X, y).save(p, validation={"string_accuracy": 0.5, "n_images": 10})
    return p


@pytest.fixture(scope="module")
def client(classic):
    return TestClient(Server({"knn": load_model(classic)}, max_upload_bytes=200_000, max_pixels=500_000).app())


def _png(im):
    return encode_image(im)


def test_health_models_page_and_openapi(client):
    assert client.get("/health").json() == {"status": "ok", "models": ["knn"]}
    m = client.get("/models").json()[0]
    assert m["name"] == "knn" and m["method"] == "knn" and m["alphabet"] == "0123456789"
    assert m["length"] == [4, 4] and m["validation"]["string_accuracy"] == 0.5
    page = client.get("/")
    assert page.status_code == 200 and "drop" in page.text.lower()
    assert "/predict" in client.get("/openapi.json").json()["paths"]


def test_served_answers_equal_offline_predict(client, classic, images, tmp_path):
    from captchakit.jobs import predict_files

    X, _ = images
    paths = []
    for i, im in enumerate(X):
        paths.append(tmp_path / f"{i}.png")
        write_image(paths[-1], im)
    offline = {e["path"].name: e for e in predict_files(load_model(classic), [tmp_path])}
    # 100 images: one per request (multipart), and in batches of 20 (multipart and JSON)
    served = {}
    for p in paths[:40]:
        r = client.post("/predict", files={"image": (p.name, p.read_bytes(), "image/png")})
        assert r.status_code == 200, r.text
        served[p.name] = r.json()["results"][0]
    for k in range(40, 100, 20):
        batch = paths[k:k + 20]
        if k == 60:
            r = client.post("/predict", json={"images": [base64.b64encode(p.read_bytes()).decode() for p in batch]})
            res = r.json()["results"]
        else:
            r = client.post("/predict?model=knn", files=[("image", (p.name, p.read_bytes(), "image/png")) for p in batch])
            res = r.json()["results"]
        assert r.status_code == 200, r.text
        served.update({p.name: e for p, e in zip(batch, res)})
    assert len(served) == 100
    for name, e in served.items():
        assert e["text"] == offline[name]["text"], name
        assert e["confidence"] == pytest.approx(offline[name]["confidence"], abs=1e-5)
        assert e["ms"] >= 0


def test_stages_for_a_classic_model(client, images):
    r = client.post("/predict?stages=true", files={"image": ("a.png", _png(images[0][0]), "image/png")})
    ex = r.json()["results"][0]["explain"]
    assert [s["name"] for s in ex["stages"]][:2] == ["original", "gray"]
    assert all(s["image"].startswith("data:image/png;base64,") for s in ex["stages"])
    assert len(ex["spans"]) == len(ex["crops"]) == len(r.json()["results"][0]["text"])


@pytest.mark.parametrize("kwargs,status,words", [
    ({"files": {"image": ("x.png", b"not an image", "image/png")}}, 400, "not an image"),
    ({"files": {"image": ("x.png", b"", "image/png")}}, 400, "empty"),
    ({"files": {"other": ("x.png", b"abc", "image/png")}}, 400, "field 'image'"),
    ({"json": {"image": "%%%not base64"}}, 400, "base64"),
    ({"json": {"picture": "abc"}}, 400, "JSON body must be"),
    ({"json": {"images": []}}, 400, "non-empty list"),
    ({"content": b"{", "headers": {"content-type": "application/json"}}, 400, "not valid JSON"),
    ({"content": b"abc", "headers": {"content-type": "text/plain"}}, 415, "content type"),
    ({"content": b"abc"}, 415, "content type"),
])
def test_bad_requests_say_what_was_wrong(client, kwargs, status, words):
    r = client.post("/predict", **kwargs)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]
    assert client.get("/health").status_code == 200  # the server is still up


def test_too_large_and_unknown_model(client, images):
    big = np.zeros((800, 800, 3), np.uint8)  # 640,000 pixels > 500,000
    r = client.post("/predict", files={"image": ("big.png", _png(big), "image/png")})
    assert r.status_code == 413 and "pixels" in r.json()["error"]
    noise = np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8)  # ~270 kB as PNG
    r = client.post("/predict", files={"image": ("n.png", _png(noise), "image/png")})
    assert r.status_code == 413 and "bytes" in r.json()["error"]
    r = client.post("/predict?model=nope", files={"image": ("a.png", _png(images[0][0]), "image/png")})
    assert r.status_code == 404 and "unknown model 'nope'" in r.json()["error"]


def test_truncated_image_is_400_and_requests_do_not_leak(client, images):
    data = _png(images[0][0])
    r = client.post("/predict", files={"image": ("t.png", data[: len(data) // 2], "image/png")})
    assert r.status_code == 400 and "t.png" in r.json()["error"]
    a = client.post("/predict", files={"image": ("a.png", data, "image/png")}).json()["results"][0]
    client.post("/predict", files={"image": ("b.png", _png(images[0][1]), "image/png")})
    again = client.post("/predict", files={"image": ("a.png", data, "image/png")}).json()["results"][0]
    assert {k: v for k, v in a.items() if k != "ms"} == {k: v for k, v in again.items() if k != "ms"}


def test_model_names(tmp_path):
    assert parse_model_args(["a/b/svm", "x=a/knn"]) == [("svm", "a/b/svm"), ("x", "a/knn")]
    with pytest.raises(Exception, match="given twice"):
        parse_model_args(["a/svm", "b/svm"])


def test_serve_command_refuses_a_bad_model_in_one_line(tmp_path):
    from captchakit.cli import cli

    res = CliRunner().invoke(cli, ["serve", str(tmp_path / "missing")])
    assert res.exit_code != 0 and "missing" in res.output and "Traceback" not in res.output


def test_cnn_served_equals_offline(tmp_path, images):
    pytest.importorskip("tensorflow")
    X, y = generate_captchas(60, seed=4)
    rec = make_recognizer("cnn", epochs=1, height=32, width=64, filters=(8, 16, 16, 16), rnn_units=0, verbose=0)
    rec.fit(X, y).save(tmp_path / "cnn")
    model = load_model(tmp_path / "cnn")
    client = TestClient(Server({"cnn": model}).app())
    Xt, _ = images
    offline = model.predict_details(Xt)
    for k in range(0, 100, 25):
        r = client.post("/predict?model=cnn", json={"images": [base64.b64encode(_png(im)).decode()
                                                                for im in Xt[k:k + 25]]})
        assert r.status_code == 200, r.text
        for e, d in zip(r.json()["results"], offline[k:k + 25]):
            assert e["text"] == d["text"]
            assert e["confidence"] == pytest.approx(d["confidence"], abs=1e-4)
