"""Front-end benchmark: natural segmentation rate and speed, generation speed.

Usage: python benchmarks/front_end.py [--n 1000]
Prints a Markdown table. Speeds are measured on one core (threadpoolctl).
"""

import argparse
import shutil
import sys
import tempfile
import time

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import load_v2, machine, table  # noqa: E402

from captchakit.data import generate_captchas, generate_to_folder  # noqa: E402
from captchakit.preprocess import Preprocessor  # noqa: E402
from captchakit.segment import Segmenter  # noqa: E402


def front_end(images, labels, method, pre=None):
    pre = pre or Preprocessor()
    seg = Segmenter(method=method)
    t0 = time.perf_counter()
    natural = 0
    for im, lab in zip(images, labels):
        s = seg.segment(pre.transform_one(im), len(lab))
        natural += s.n_natural == len(lab)
    dt = time.perf_counter() - t0
    return natural / len(images), len(images) / dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(f"machine: {machine()}")
    rows = []
    sets = [(f"python-captcha 4 digits, n={a.n}, seed {a.seed}", *generate_captchas(a.n, seed=a.seed))]
    v2 = load_v2()
    if v2 is not None:
        sets.append((f"captcha_images_v2 (all {len(v2[0])})", *v2))
    else:
        print("captcha_images_v2 not found: skipped")
    with threadpool_limits(1):
        for name, ims, labs in sets:
            for method in ("components", "projection"):
                rate, ips = front_end(ims, labs, method)
                rows.append({"data": name, "method": method, "natural segmentation": f"{rate:.1%}",
                             "preprocess+segment img/s (1 core)": f"{ips:.0f}"})
    print(table(rows, list(rows[0])))
    tmp = tempfile.mkdtemp()
    try:
        for jobs in (1, 2):
            out = f"{tmp}/g{jobs}"
            t0 = time.perf_counter()
            generate_to_folder(out, a.n, seed=a.seed, n_jobs=jobs)
            dt = time.perf_counter() - t0
            print(f"generation to PNG files, {a.n} images, --jobs {jobs}: {a.n / dt:.0f} images/s")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
