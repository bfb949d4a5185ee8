"""Classic pipeline benchmark: KNN and SVM on seeded and real sets.

Usage: python benchmarks/classic.py [--quick] [--sets digits,alnum,v2]
Prints one Markdown table. ms/image is measured on one core.
"""

import argparse
import sys
import time

from threadpoolctl import threadpool_limits

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import load_v2, machine, table  # noqa: E402

from captchakit import make_recognizer  # noqa: E402
from captchakit._api import fixed_front_end  # noqa: E402
from captchakit.data import generate_captchas, train_test_split_indices  # noqa: E402
from captchakit.evaluate import evaluate  # noqa: E402


def sets(names, quick):
    k = 10 if quick else 1
    if "digits" in names:
        tr = generate_captchas(5000 // k, "digits", 4, seed=1, n_jobs=2)
        te = generate_captchas(1000 // k, "digits", 4, seed=2, n_jobs=2)
        yield f"python-captcha 4 digits (train {len(tr[0])} seed 1 / test {len(te[0])} seed 2)", tr, te
    if "alnum" in names:
        tr = generate_captchas(10000 // k, "alnum", 4, seed=1, n_jobs=2)
        te = generate_captchas(1000 // k, "alnum", 4, seed=2, n_jobs=2)
        yield f"python-captcha 4 lowercase alnum (train {len(tr[0])} seed 1 / test {len(te[0])} seed 2)", tr, te
    if "v2" in names:
        v2 = load_v2()
        if v2 is None:
            print("captcha_images_v2 not found: skipped")
            return
        X, y = v2
        tr, te = train_test_split_indices(len(X), 0.2, seed=0)
        yield (f"captcha_images_v2 (80/20 split seed 0: {len(tr)}/{len(te)})",
               ([X[i] for i in tr], [y[i] for i in tr]), ([X[i] for i in te], [y[i] for i in te]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sets", default="digits,alnum,v2")
    ap.add_argument("--front-ends", default="auto,fixed",
                    help="auto: no flags (measured front end); fixed: the former fixed front end")
    a = ap.parse_args()
    print(f"machine: {machine()}")
    rows = []
    for name, (Xtr, ytr), (Xte, yte) in sets(a.sets.split(","), a.quick):
        for fe, method in [(fe, m) for fe in a.front_ends.split(",") for m in ("knn", "svm")]:
            rec = make_recognizer(method, **(fixed_front_end() if fe == "fixed" else {}))
            t0 = time.perf_counter()
            rec.fit(Xtr, ytr)
            train_s = time.perf_counter() - t0
            with threadpool_limits(1):
                m = evaluate(rec, Xte, yte, name)["metrics"]
            rows.append({"data": name, "front end": "no flags" if fe == "auto" else "--front-end default",
                         "method": method, "segmentation mode": rec.segmentation_, "whole-string": f"{m['string_accuracy']:.1%}",
                         "per-char": f"{m['char_accuracy']:.1%}", "CER": f"{m['cer']:.3f}",
                         "natural segmentation": f"{m['segmentation_rate']:.1%}", "train s": f"{train_s:.1f}",
                         "ms/image (1 core)": f"{m['ms_per_image']:.2f}"})
            print(rows[-1], flush=True)
    print()
    print(table(rows, list(rows[0])))


if __name__ == "__main__":
    main()
