"""The HTTP recognition API and its web page (FastAPI; imported only by ``captcha-cli serve``).

Models are loaded once and only read while serving: every request reads its
images, decodes them as ``captcha-cli predict`` does (same pixel limit, same
reduction of huge images) and asks the model for ``predict_details``, in a
worker thread so that the event loop never waits on CPU work.  A lock per
model keeps one model's predictions one at a time (Keras models are not
documented as thread-safe); nothing is kept between requests.
"""

import base64
import binascii
import json
import os
import threading
import time
from pathlib import Path

from captchakit._errors import CaptchakitError, ImageReadError, ImageTooLargeError
from captchakit.data._io import DEFAULT_MAX_PIXELS, decode_image, encode_image

STATIC = Path(__file__).parent / "static"
#: Default upload limit per request, in bytes.
DEFAULT_MAX_UPLOAD_BYTES = 8 * 1024 * 1024
#: Most images in one request.
MAX_IMAGES = 64
#: Environment variable that carries the configuration to worker processes (``--workers N``).
ENV_CONFIG = "CAPTCHAKIT_SERVE_CONFIG"


class HTTPProblem(Exception):
    """A bad request: its status code and a message for ``{"error": ...}``."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def parse_model_args(args):
    """``[(name, path)]`` from ``NAME=PATH`` or ``PATH`` (the name is the folder name).

    Examples
    --------
    >>> parse_model_args(["models/svm", "fast=models/knn"])
    [('svm', 'models/svm'), ('fast', 'models/knn')]
    """
    out, seen = [], set()
    for a in args:
        name, path = a.split("=", 1) if "=" in a and not Path(a).exists() else (Path(a.rstrip("/")).name, a)
        if not name:
            raise CaptchakitError(f"model {a!r}: empty name (use NAME=PATH)")
        if name in seen:
            raise CaptchakitError(f"model name {name!r} given twice (use NAME=PATH to tell them apart)")
        seen.add(name)
        out.append((name, path))
    return out


def model_info(name, rec):
    """What ``/models`` says about one model."""
    meta = getattr(rec, "meta_", {}) or {}
    val = meta.get("validation") or {}
    return {
        "name": name,
        "method": meta.get("method"),
        "alphabet": getattr(rec, "alphabet_", None),
        "length": list(getattr(rec, "length_", ()) or ()),
        "task": getattr(rec, "task", "text"),
        "fold": getattr(rec, "fold", None),
        "validation": {k: val[k] for k in ("string_accuracy", "char_accuracy", "cer", "n_images", "data") if k in val},
        "training": meta.get("training") or {},
        "explains_stages": hasattr(rec, "explain"),
    }


def _png_url(image):
    import numpy as np

    a = np.asarray(image)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif a.dtype != np.uint8:
        a = np.clip(a * (255.0 if a.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    return "data:image/png;base64," + base64.b64encode(encode_image(a)).decode("ascii")


def _explained(ex):
    """The stages of one reading (from ``explain``) as PNG data URLs."""
    return {"stages": [{"name": n, "image": _png_url(a)} for n, a in ex["stages"]],
            "spans": [[int(a), int(b)] for a, b in ex["spans"]],
            "crops": [_png_url(c) for c in ex["crops"]]}


class Server:
    """The loaded models and the limits; :meth:`app` builds the FastAPI application."""

    def __init__(self, models, max_upload_bytes=DEFAULT_MAX_UPLOAD_BYTES, max_pixels=DEFAULT_MAX_PIXELS):
        if not models:
            raise CaptchakitError("no model to serve")
        self.models = dict(models)
        self.locks = {name: threading.Lock() for name in self.models}
        self.max_upload_bytes = int(max_upload_bytes)
        self.max_pixels = int(max_pixels)

    # ------------------------------------------------------------------ the work (worker threads)
    def pick(self, name):
        if name is None:
            return next(iter(self.models))
        if name not in self.models:
            raise HTTPProblem(404, f"unknown model {name!r}; known: {', '.join(self.models)}")
        return name

    def read(self, name, items, stages=False):
        """Decode and read ``[(filename, bytes)]`` with model *name*: one answer per image."""
        rec = self.models[name]
        images = []
        for fname, data in items:
            if len(data) > self.max_upload_bytes:
                raise HTTPProblem(413, f"{fname}: {len(data)} bytes, above the limit of {self.max_upload_bytes}")
            try:
                images.append(decode_image(data, fname, self.max_pixels, shrink_to=rec.input_shape))
            except ImageTooLargeError as exc:
                raise HTTPProblem(413, str(exc)) from None
            except ImageReadError as exc:
                raise HTTPProblem(400, str(exc)) from None
        out = []
        for (fname, _), im in zip(items, images):
            t0 = time.perf_counter()
            with self.locks[name]:
                # explain() reads the image too: one reading either way
                ex = rec.explain(im) if stages and hasattr(rec, "explain") else None
                d = ex["detail"] if ex is not None else rec.predict_details([im])[0]
            entry = {"file": fname, "text": d["text"], "confidence": round(d["confidence"], 6),
                     "char_confidences": [round(c, 6) for c in d["char_confidences"]],
                     "ms": round(1000 * (time.perf_counter() - t0), 2)}
            if "answer" in d["extra"]:
                entry.update(answer=d["extra"]["answer"], answer_note=d["extra"]["answer_note"])
            if ex is not None:
                entry["explain"] = _explained(ex)
            out.append(entry)
        return out

    # ------------------------------------------------------------------ the application
    def app(self):
        from fastapi import FastAPI, Request
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import HTMLResponse, JSONResponse
        from starlette.concurrency import run_in_threadpool
        from starlette.exceptions import HTTPException as StarletteHTTPException

        from captchakit import __version__

        app = FastAPI(title="captchakit", version=__version__,
                      description="Read text captchas with captchakit models. `POST /predict` with a multipart "
                                  "field `image` (one or several files) or JSON `{\"image\": \"<base64>\"}` / "
                                  "`{\"images\": [...]}`.")
        server = self

        @app.exception_handler(HTTPProblem)
        async def _problem(request, exc):
            return JSONResponse({"error": exc.message}, status_code=exc.status)

        @app.exception_handler(RequestValidationError)
        async def _invalid(request, exc):
            return JSONResponse({"error": f"bad request: {exc.errors()[0].get('msg', 'invalid')}"}, status_code=400)

        @app.exception_handler(StarletteHTTPException)
        async def _http(request, exc):
            return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

        @app.exception_handler(Exception)
        async def _internal(request, exc):  # never expected: still JSON, and the server keeps running
            return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)

        @app.get("/health")
        def health():
            """Liveness: ``{"status": "ok", "models": [...]}``."""
            return {"status": "ok", "models": list(server.models)}

        @app.get("/models")
        def models():
            """Each model's name, method, alphabet, length, validation figures and training summary."""
            return [model_info(n, r) for n, r in server.models.items()]

        @app.get("/", response_class=HTMLResponse)
        def page():
            """The web page: drop, paste or pick a captcha and see how it is read."""
            return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

        @app.post("/predict")
        async def predict(request: Request, model: str | None = None, stages: bool = False):
            """Read one or several images: ``text``, ``confidence``, ``char_confidences``, ``ms`` each.

            ``stages=true`` adds, for a classic model, every preprocessing stage,
            the character pieces and the crops fed to the classifier (PNG data URLs).
            """
            name = server.pick(model)
            items = await server._items(request)
            answers = await run_in_threadpool(server.read, name, items, stages)
            return {"model": name, "results": answers}

        return app

    async def _items(self, request):
        """``[(filename, bytes)]`` from a multipart or JSON request, within the size limit."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in ("multipart/form-data", "application/json"):
            raise HTTPProblem(415, f"content type {ctype or 'none'!r} not accepted: send multipart/form-data "
                                   "(field 'image') or application/json ({\"image\": base64})")
        declared = request.headers.get("content-length")
        limit = self.max_upload_bytes * (MAX_IMAGES if ctype == "multipart/form-data" else 2) + 65536
        if declared and declared.isdigit() and int(declared) > limit:
            raise HTTPProblem(413, f"request of {declared} bytes, above the limit of {limit}")
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > limit:
                raise HTTPProblem(413, f"request above the limit of {limit} bytes")
        request._body = bytes(body)  # the form parser reads the body already received
        if ctype == "application/json":
            try:
                doc = json.loads(bytes(body))
            except ValueError:
                raise HTTPProblem(400, "body is not valid JSON") from None
            if not isinstance(doc, dict) or ("image" not in doc and "images" not in doc):
                raise HTTPProblem(400, "JSON body must be {\"image\": \"<base64>\"} or {\"images\": [...]}")
            raw = [doc["image"]] if "image" in doc else doc["images"]
            if not isinstance(raw, list) or not raw:
                raise HTTPProblem(400, "'images' must be a non-empty list of base64 strings")
            items = []
            for i, v in enumerate(raw):
                if not isinstance(v, str):
                    raise HTTPProblem(400, f"image {i}: expected a base64 string")
                if v.startswith("data:") and "," in v:
                    v = v.split(",", 1)[1]
                try:
                    items.append((f"image {i}", base64.b64decode(v, validate=True)))
                except (binascii.Error, ValueError):
                    raise HTTPProblem(400, f"image {i}: not valid base64") from None
        else:
            try:
                form = await request.form(max_files=MAX_IMAGES, max_part_size=self.max_upload_bytes)
            except Exception as exc:  # noqa: BLE001 - the multipart parser's errors are the client's
                raise HTTPProblem(400, f"bad multipart body: {getattr(exc, 'detail', exc)}") from None
            files = [f for f in form.getlist("image") if hasattr(f, "read")]
            if not files:
                raise HTTPProblem(400, "no file in the multipart field 'image'")
            items = [(f.filename or f"image {i}", await f.read()) for i, f in enumerate(files)]
        if len(items) > MAX_IMAGES:
            raise HTTPProblem(413, f"{len(items)} images in one request, above the limit of {MAX_IMAGES}")
        return items


def load_server(model_args, max_upload_bytes=DEFAULT_MAX_UPLOAD_BYTES, max_pixels=DEFAULT_MAX_PIXELS):
    """Load every model of ``NAME=PATH`` / ``PATH`` arguments into a :class:`Server`."""
    from captchakit import load_model

    models = {name: load_model(path) for name, path in parse_model_args(model_args)}
    return Server(models, max_upload_bytes, max_pixels)


def app_from_env():
    """Application factory for uvicorn worker processes (``--workers N``): the config is in the environment."""
    cfg = json.loads(os.environ[ENV_CONFIG])
    return load_server(cfg["models"], cfg["max_upload_bytes"], cfg["max_pixels"]).app()
