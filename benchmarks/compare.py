"""Side-by-side benchmark: `captcha-cli compare` on three sets.

Sets: the built-in 4-digit default; 4-character lowercase alphanumeric;
../shared/datasets/captcha_images_v2 (80/20 split, seed 0) when present.

Every set runs with no flags (the alphanumeric set only names its learning-curve point);
``--with-flags`` also runs captcha_images_v2 with the hand-picked CNN flags of captchakit 0.2.

Usage: python benchmarks/compare.py [--sets default,alnum,v2] [--out bench_out] [--with-flags]
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", default="default,alnum,v2")
    ap.add_argument("--out", default="bench_out")
    ap.add_argument("--with-flags", action="store_true", help="also captcha_images_v2 with the 0.2 hand-picked flags")
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


if __name__ == "__main__":
    main()
