"""Does synthetic pretraining help the CNN on small real sets?  Learning curves with and without it.

For each shared real set (``captcha_images_v2``, ``lzu_digits``; 80/20
split, seed 0) and each share of the training part (seeded subset), the CNN
is trained with no flags (``pretrain="none"``) and with
``pretrain="synthetic"`` and read on the same held-out 20%.  Sets that are
absent are skipped.

Usage: python benchmarks/pretrain.py [--sets v2,lzu] [--fractions 0.1,0.3,1.0] [--modes none,synthetic]
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from _common import machine, table  # noqa: E402

from captchakit.compare import split_data  # noqa: E402
from captchakit.data import load_labelled  # noqa: E402
from captchakit.metrics import summarize  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
SETS = {"v2": "captcha_images_v2", "lzu": "lzu_digits"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="v2,lzu")
    ap.add_argument("--fractions", default="0.1,0.3,1.0")
    ap.add_argument("--modes", default="none,synthetic", help="which of none,synthetic to run")
    a = ap.parse_args()
    from captchakit.cnn_baseline import CNNRecognizer

    print(f"machine: {machine()}", flush=True)
    rows = []
    for key in a.sets.split(","):
        folder = SHARED / SETS[key]
        if not folder.is_dir():
            print(f"{folder} not found: skipped")
            continue
        images, labels, _, _ = load_labelled(folder)
        (Xtr, ytr), (Xte, yte), note = split_data(images, labels, 0.2, 0, SETS[key])
        order = np.random.default_rng(0).permutation(len(Xtr))
        for frac in (float(f) for f in a.fractions.split(",")):
            k = max(16, int(round(frac * len(Xtr))))
            X, y = [Xtr[i] for i in order[:k]], [ytr[i] for i in order[:k]]
            for mode in a.modes.split(","):
                t0 = time.perf_counter()
                rec = CNNRecognizer(pretrain=mode, verbose=0, seed=0).fit(X, y)
                fit_s = time.perf_counter() - t0
                m = summarize(yte, rec.predict(Xte))
                s = rec.fit_summary_
                rows.append({"data": SETS[key], "training images": k, "pretrain": mode, "head": s["head"],
                             "whole-string": f"{m['string_accuracy']:.1%}", "per-char": f"{m['char_accuracy']:.1%}",
                             "epochs": s["epochs_run"], "restart": "yes" if s.get("restart") else "no",
                             "fit s": f"{fit_s:.0f}"})
                print(rows[-1], flush=True)
        print(f"test: {note}", flush=True)
    if rows:
        print(table(rows, list(rows[0])))


if __name__ == "__main__":
    main()
