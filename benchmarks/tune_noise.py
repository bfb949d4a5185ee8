"""Denoise-tuning benchmark: what noise costs and how much tuning wins back.

Data: the 4-digit default with salt-and-pepper 5% + 3 lines (seeded),
train 4,000 / test 1,000.  Prints clean/default, noisy/default and
noisy/tuned whole-string test accuracy and the wall time of the tune run.

Usage: python benchmarks/tune_noise.py [--quick]
"""

import argparse
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import machine, table  # noqa: E402

from captchakit import make_recognizer  # noqa: E402
from captchakit.data import generate_captchas  # noqa: E402
from captchakit.tune import DEFAULT_GRID, tune  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    n = 500 if a.quick else 5000
    noise = {"salt": 0.05, "lines": 3}
    print(f"machine: {machine()}")
    clean, labels = generate_captchas(n, seed=11, n_jobs=2)
    noisy, labels2 = generate_captchas(n, seed=11, noise=noise, n_jobs=2)
    assert labels == labels2
    t0 = time.perf_counter()
    res = tune(noisy, labels, DEFAULT_GRID, "svm", cv=3, test_split=0.2, seed=0, n_jobs=2,
               echo=lambda m: print(m, flush=True))
    wall = time.perf_counter() - t0
    # clean data, default preprocessing, the same split
    from captchakit.data import train_test_split_indices

    tr, te = train_test_split_indices(n, 0.2, seed=0)
    rec = make_recognizer("svm").fit([clean[i] for i in tr], [labels[i] for i in tr])
    clean_acc = rec.score([clean[i] for i in te], [labels[i] for i in te])
    rows = [
        {"data": "clean", "preprocessing": "default", "whole-string (test)": f"{clean_acc:.1%}"},
        {"data": "salt 5% + 3 lines", "preprocessing": "default", "whole-string (test)": f"{res['test']['default']:.1%}"},
        {"data": "salt 5% + 3 lines", "preprocessing": "tuned", "whole-string (test)": f"{res['test']['tuned']:.1%}"},
    ]
    print(f"data: python-captcha 4 digits, seed 11, {len(tr)} train / {len(te)} test (split seed 0); noise {noise}")
    print(table(rows, list(rows[0])))
    lost = clean_acc - res["test"]["default"]
    won = res["test"]["tuned"] - res["test"]["default"]
    print(f"noise cost {lost:.1%}; tuning recovered {won:.1%}"
          + (f" ({won / lost:.0%} of the loss)" if lost > 0 else ""))
    print(f"best setting: {res['best']['params']} (CV {res['best']['cv_mean']:.1%})")
    print(f"tune wall time with the default grid ({res['n_candidates']} settings, 3-fold CV): {wall:.0f} s")


if __name__ == "__main__":
    main()
