"""Load on ``captcha-cli serve``: N concurrent clients for T seconds against one model.

Starts the server (uvicorn, one process) on a free port with a classic model
trained on the built-in python-captcha set (or ``--model PATH``), drives
``POST /predict`` with N concurrent httpx2 (or httpx) async clients, and prints
requests/s, p50/p95/p99 latency, errors and the server's resident memory
after warm-up and at the end; in the same run, the offline single-image
``predict_details`` time of the same model on the same images.

Usage::

    python benchmarks/serve_load.py [--clients 64] [--seconds 60] [--model PATH]
"""

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from captchakit import load_model, make_recognizer  # noqa: E402
from captchakit.data import generate_captchas  # noqa: E402
from captchakit.data._io import encode_image  # noqa: E402


def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _httpx():
    """httpx2 (what the test extra installs: Starlette's test client deprecated httpx for it), else httpx."""
    try:
        import httpx2 as httpx
    except ImportError:
        import httpx
    return httpx


async def drive(url, payloads, clients, seconds):
    httpx = _httpx()

    lat, errors, stop = [], [], time.perf_counter() + seconds

    async def one(k):
        async with httpx.AsyncClient(timeout=60) as c:
            i = k
            while time.perf_counter() < stop:
                data = payloads[i % len(payloads)]
                t0 = time.perf_counter()
                try:
                    r = await c.post(url, files={"image": ("c.png", data, "image/png")})
                    if r.status_code != 200:
                        errors.append(r.status_code)
                    else:
                        lat.append(time.perf_counter() - t0)
                except Exception as exc:  # noqa: BLE001 - counted as an error
                    errors.append(type(exc).__name__)
                i += clients

    t0 = time.perf_counter()
    await asyncio.gather(*(one(k) for k in range(clients)))
    return lat, errors, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--model", default=None, help="a model bundle (default: SVM on 2,000 built-in images)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    model_path = args.model
    if model_path is None:
        model_path = tmp / "svm"
        make_recognizer("svm").fit(*generate_captchas(2000, seed=1)).save(model_path)
    X, _ = generate_captchas(200, seed=99)
    payloads = [encode_image(im) for im in X]
    model = load_model(model_path)
    t = []
    for im in X:
        t0 = time.perf_counter()
        model.predict_details([im])
        t.append(time.perf_counter() - t0)
    offline_ms = 1000 * float(np.median(t))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "captchakit.cli", "serve", str(model_path), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    try:
        httpx = _httpx()
        for _ in range(600):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/predict"
        asyncio.run(drive(url, payloads, args.clients, args.warmup))
        rss0 = rss_mb(proc.pid)
        lat, errors, wall = asyncio.run(drive(url, payloads, args.clients, args.seconds))
        rss1 = rss_mb(proc.pid)
        # one client, one image at a time: the served latency of a single image
        single, _, _ = asyncio.run(drive(url, payloads, 1, min(10.0, args.seconds)))
    finally:
        proc.terminate()
        proc.wait(10)
    lat_ms = 1000 * np.array(lat)
    p50, p95, p99 = np.percentile(lat_ms, [50, 95, 99]) if len(lat_ms) else (float("nan"),) * 3
    s50 = 1000 * float(np.median(single))
    print(f"model {model_path} ({model.meta_.get('method')}); {args.clients} clients for {args.seconds:.0f} s, "
          f"after {args.warmup:.0f} s warm-up")
    print("| clients | requests/s | p50 ms | p95 ms | p99 ms | errors | RSS after warm-up MB | RSS at end MB | "
          "growth | served p50, 1 client, ms | offline single-image ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.clients} | {len(lat) / wall:.0f} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {len(errors)} | "
          f"{rss0:.0f} | {rss1:.0f} | {100 * (rss1 / rss0 - 1):+.1f}% | {s50:.2f} | {offline_ms:.2f} |")


if __name__ == "__main__":
    main()
