"""Side-by-side benchmark: `captcha-cli compare` on three sets.

Sets: the built-in 4-digit default; 4-character lowercase alphanumeric;
../shared/datasets/captcha_images_v2 (80/20 split, seed 0) when present.

Every set runs with no flags (the alphanumeric set only names its learning-curve point);
``--with-flags`` also runs captcha_images_v2 with the hand-picked CNN flags of captchakit 0.2.

``speed``: the CNN's speed on the 4-digit set (4,000 training images, 2 epochs, test 500): training
images/s, batched inference ms/image and single-image inference ms, for the default network and a few
variants (input size, widths, recurrent layer, augmentation, batch size).  Speed only: two epochs say
nothing about accuracy (the README gives the accuracy of the variants that were tried in full).

``fresh``: the CNN on the built-in generated sets (train 10,000 seed 0 / test 1,000 seed 10,000), 4 digits
and 4-character lowercase alphanumeric, with a fixed training set and with ``--fresh`` (new seeded images
every epoch), side by side; the built-in recipe either way (with the fixed set 10 epochs for digits, without
augmentation, and at most 30 for alnum; with fresh images at most 30 and 60).  ``--fresh-sets digits,alnum`` and
``--fixed-digits PCT`` (the CNN figure of the ``default`` set, to skip that run) trim it.

Usage: python benchmarks/compare.py [--sets default,alnum,v2,speed,fresh] [--out bench_out] [--with-flags]
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import SHARED_V2, machine  # noqa: E402

CLI = [sys.executable, "-m", "captchakit.cli"]


def run(args):
    t0 = time.perf_counter()
    p = subprocess.run(CLI + args, capture_output=True, text=True)
    table = [line for line in p.stdout.splitlines() if line.startswith("|")]
    print("\n".join(table) if table else p.stdout[-2000:] + p.stderr[-2000:])
    print(f"(wall {time.perf_counter() - t0:.0f} s, exit {p.returncode})\n", flush=True)


SPEED_VARIANTS = [
    ("default (40x100, widths 16-96, GRU 64, augment, batch 64)", {}),
    ("no augmentation", {"augment": False}),
    ("input 32x80", {"height": 32, "width": 80}),
    ("batch 128", {"batch_size": 128}),
    ("no recurrent layer", {"rnn_units": 0}),
    ("widths 8-64", {"filters": (8, 16, 32, 64)}),
    ("input 32x80 + widths 8-64", {"height": 32, "width": 80, "filters": (8, 16, 32, 64)}),
]


def speed(n_train=4000, n_test=500):
    """Training images/s and inference times of the CNN and a few variants."""
    import numpy as np

    from _common import table
    from captchakit.cnn_baseline import CNNRecognizer
    from captchakit.data import generate_captchas

    X, y = generate_captchas(n_train, seed=0, n_jobs=2)
    Xt, _ = generate_captchas(n_test, seed=10_000, n_jobs=2)
    rows = []
    for name, kw in SPEED_VARIANTS:
        params = dict(height=40, width=100, head="positions", batch_size=64, epochs=2, patience=2, warmup_steps=0,
                      verbose=0, seed=0)
        params.update(kw)
        rec = CNNRecognizer(**params).fit(X, y)
        s = rec.fit_summary_
        train_ips = s["n_images"] * s["epochs_run"] / s["seconds"]
        rec.predict(Xt[:64])  # warm the graph
        t0 = time.perf_counter()
        rec.predict(Xt)
        batched = 1000 * (time.perf_counter() - t0) / len(Xt)
        single = []
        for im in Xt[:30]:
            t0 = time.perf_counter()
            rec.predict([im])
            single.append(1000 * (time.perf_counter() - t0))
        rows.append({"variant": name, "train img/s": f"{train_ips:.0f}", "batched ms/image": f"{batched:.2f}",
                     "single image ms": f"{float(np.median(single)):.1f}",
                     "parameters": f"{rec.model_.count_params():,}"})
        print(rows[-1], flush=True)
    print(f"CNN speed, python-captcha 4 digits: {n_train} training images x 2 epochs (validation included), "
          f"inference on {n_test} test images; TensorFlow's own threads")
    print(table(rows, list(rows[0])))


def fresh(out, alphabets=("digits", "alnum"), fixed_digits=None):
    """The CNN on the built-in sets, fixed training set against fresh images every epoch."""
    import json

    from _common import table

    rows = []
    for alphabet in alphabets:
        for mode in ("fresh", "fixed"):
            if alphabet == "digits" and mode == "fixed" and fixed_digits:
                rows.append({"set": "4 digits", "training data": "fixed 10,000 (from the default set's run)",
                             "whole-string": fixed_digits, "per-char": "-", "CER": "-", "epochs": "10",
                             "images seen": "-", "train s": "-"})
                continue
            rep = out / f"fresh_{alphabet}_{mode}"
            # fixed and fresh data compared at their full recipes: the demo's time limit lifted for both
            args = ["compare", "--methods", "cnn", "--alphabet", alphabet, "--train-sizes", "none", "--time-limit",
                    "none", "--report", str(rep), "--overwrite"] + (["--fresh"] if mode == "fresh" else [])
            t0 = time.perf_counter()
            p = subprocess.run(CLI + args, capture_output=True, text=True)
            if p.returncode:
                print(p.stdout[-2000:] + p.stderr[-2000:])
                continue
            res = json.loads((rep / "results.json").read_text())
            row = res["rows"][0]
            summary = json.loads((rep / "models" / "cnn" / "model.json").read_text())["training"]
            seen = summary["n_images"] + ((summary.get("fresh") or {}).get("images_drawn") or 0)
            rows.append({"set": "4 digits" if alphabet == "digits" else "4 lowercase alnum",
                         "training data": "fixed 10,000" if mode == "fixed" else "fresh every epoch",
                         "whole-string": f"{row['string_accuracy']:.2%}", "per-char": f"{row['char_accuracy']:.2%}",
                         "CER": f"{row['cer']:.4f}", "epochs": str(summary["epochs_run"]),
                         "images seen": f"{seen:,}" if mode == "fresh" else f"{summary['n_images']:,} x epochs",
                         "train s": f"{row['train_seconds']:.0f}"})
            print(rows[-1], f"(wall {time.perf_counter() - t0:.0f} s)", flush=True)
    print("CNN, built-in python-captcha sets: train 10,000 (seed 0; 9,000 + 1,000 for early stopping), test 1,000 "
          "(seed 10,000); built-in recipe (40x100; 48x128 for fresh alnum; batch 64; fixed digits: 10 epochs, the "
          "last two annealed, no augmentation, patience 8; otherwise patience 4, at most 30 epochs for alnum, and "
          "30 and 60 with fresh images)")
    print(table(rows, list(rows[0])) if rows else "no rows")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="default,alnum,v2,speed,fresh")
    ap.add_argument("--out", default="bench_out")
    ap.add_argument("--with-flags", action="store_true", help="also captcha_images_v2 with the 0.2 hand-picked flags")
    ap.add_argument("--fresh-sets", default="digits,alnum")
    ap.add_argument("--fixed-digits", default=None, help="fresh: the 4-digit fixed-set CNN figure, to skip that run")
    a = ap.parse_args()
    out = Path(a.out)
    print(f"machine: {machine()}\n")
    sets = a.sets.split(",")
    if "default" in sets:
        print("## built-in 4-digit default (train 10,000 seed 0 / test 1,000 seed 10,000)")
        run(["compare", "--report", str(out / "default"), "--overwrite"])
    if "alnum" in sets:
        data = out / "alnum_data"
        if not data.exists():
            subprocess.run(CLI + ["generate", str(data), "--count", "6000", "--alphabet", "alnum", "--seed", "1",
                                  "--jobs", "2"], check=True, capture_output=True)
        print("## 4-character lowercase alphanumeric (6,000 generated, seed 1; 80/20 split seed 0)")
        run(["compare", str(data), "--report", str(out / "alnum"), "--overwrite", "--train-sizes", "1000"])
    if "v2" in sets:
        if SHARED_V2.is_dir():
            print("## captcha_images_v2 (80/20 split, seed 0), no flags (every setting measured from the data)")
            run(["compare", str(SHARED_V2), "--report", str(out / "v2"), "--overwrite", "--train-sizes", "200,400"])
            if "--with-flags" in sys.argv:
                print("## captcha_images_v2, the 0.2 hand-picked CNN flags")
                run(["compare", str(SHARED_V2), "--report", str(out / "v2_flags"), "--overwrite", "--image-size",
                     "48x192", "--head", "ctc", "--batch-size", "16", "--patience", "10", "--epochs", "80",
                     "--train-sizes", "200,400"])
        else:
            print("captcha_images_v2 not found: skipped")
    if "speed" in sets:
        print("## CNN speed")
        speed()
    if "fresh" in sets:
        print("## CNN: fixed training set against fresh images every epoch")
        fresh(out, a.fresh_sets.split(","), a.fixed_digits)


if __name__ == "__main__":
    main()
