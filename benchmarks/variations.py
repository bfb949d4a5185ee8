"""One scheme, changed the ways real schemes differ from it: does the no-flag classic pipeline follow?

python-captcha 4 digits (train 2,000 seed 1 / test 500 seed 2) as generated, and the same images
inverted (light ink on dark paper), half of them inverted at random, inside a 1-px or 3-px frame, on paper darkened towards the right,
at half and twice the size, with 3% black pepper, saved as JPEG at quality 20, blurred, strewn with dots of
random colours, and with ink and paper close in grey. Each variation trains ``make_recognizer(M)``
with no options on its training images and reads its test images; the table shows what the front end
measured and chose.

Usage: python benchmarks/variations.py [--methods svm] [--only invert,frame]
"""

import argparse
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import machine, table  # noqa: E402

from captchakit import make_recognizer  # noqa: E402
from captchakit.data import generate_captchas  # noqa: E402
from captchakit.evaluate import evaluate  # noqa: E402


def _framed(x, width, colour):
    x = np.array(x)
    x[:width], x[-width:], x[:, :width], x[:, -width:] = colour, colour, colour, colour
    return x


def _darkened(x):
    ramp = np.linspace(1.0, 0.6, x.shape[1])[None, :, None]
    return (np.asarray(x, float) * ramp).astype(np.uint8)


def _peppered(x, rng):
    x = np.array(x)
    x[rng.random(x.shape[:2]) < 0.03] = 0
    return x


def _jpeg(x, quality):
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(np.asarray(x)[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1].copy()


def _dots(x, rng):
    x = np.array(x)
    where = rng.random(x.shape[:2]) < 0.05
    x[where] = rng.integers(0, 256, (int(where.sum()), 3))
    return x


def _low_contrast(x):
    g = np.asarray(x, float)
    return (170 + g * (70 / 255)).astype(np.uint8)  # ink and paper within 170-240


VARIATIONS = {
    "as generated": lambda x, rng: x,
    "inverted": lambda x, rng: 255 - np.asarray(x),
    "half inverted at random (as Gregwar/Captcha does)": lambda x, rng: (255 - np.asarray(x) if rng.random() < 0.5
                                                                        else x),
    "dark 1-px frame": lambda x, rng: _framed(x, 1, 20),
    "inverted, light 1-px frame": lambda x, rng: _framed(255 - np.asarray(x), 1, 230),
    "dark 3-px frame": lambda x, rng: _framed(x, 3, 40),
    "paper darkened 40% to the right": lambda x, rng: _darkened(x),
    "half size": lambda x, rng: cv2.resize(np.asarray(x), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA),
    "twice the size": lambda x, rng: cv2.resize(np.asarray(x), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC),
    "3% black pepper": _peppered,
    "JPEG quality 20": lambda x, rng: _jpeg(x, 20),
    "blurred (Gaussian sigma 1.5)": lambda x, rng: cv2.GaussianBlur(np.asarray(x), (0, 0), 1.5),
    "5% dots of random colours": _dots,
    "low contrast (all within 170-240)": lambda x, rng: _low_contrast(x),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", default="svm")
    ap.add_argument("--only", default=None, help="comma list of variation names (default: all)")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(VARIATIONS)
    Xtr, ytr = generate_captchas(2000, seed=1)
    Xte, yte = generate_captchas(500, seed=2)
    rows = []
    for name in names:
        change = VARIATIONS[name]
        rng = np.random.default_rng(0)
        tr = [change(x, rng) for x in Xtr]
        te = [change(x, rng) for x in Xte]
        for m in args.methods.split(","):
            rec = make_recognizer(m, n_jobs=2)  # as the command line builds it (--jobs 2)
            t0 = time.perf_counter()
            rec.fit(tr, ytr)
            fit_s = time.perf_counter() - t0
            s = evaluate(rec, te, yte)["metrics"]
            fe = rec.front_end_
            rows.append({"variation": name, "method": m,
                         "whole-string": f"{s['string_accuracy']:.1%}", "per-char": f"{s['char_accuracy']:.1%}",
                         "measured": f"{fe.get('polarity')} ink, {fe.get('channel')}, frame {fe.get('frame')}",
                         "search chose": fe.get("search", {}).get("chosen", "-"),
                         "segmentation": rec.segmentation_, "fit s": f"{fit_s:.0f}"})
            print(rows[-1], flush=True)
    print(f"\npython-captcha 4 digits, train 2000 seed 1 / test 500 seed 2, no flags; {machine()}\n")
    print(table(rows, ["variation", "method", "whole-string", "per-char", "measured", "search chose", "segmentation",
                       "fit s"]))


if __name__ == "__main__":
    main()
