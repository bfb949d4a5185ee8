"""Scale-out benchmark: the default tune grid on this machine (loky) and on a 2-worker Dask LocalCluster.

Data: the 4-digit default (python-captcha, seed 21), 4,000 images, SVM,
3-fold CV, split seed 0.  Both runs happen in the same process, one after
the other, with the same seed; the table gives their wall times, the
ratio, and what the cluster adds per task (the wall-time difference over
the number of fits, and the round trip of an empty task).

Usage: python benchmarks/scale.py [--n 4000] [--workers 2] [--quick]
"""

import argparse
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import machine, table  # noqa: E402

from captchakit.data import generate_captchas  # noqa: E402
from captchakit.tune import DEFAULT_GRID, _halving_fits, n_candidates, tune, validate_grid  # noqa: E402


def _noop(i):
    return i


def empty_task_ms(scheduler, n=400):
    """Milliseconds per empty task through joblib on *scheduler* (round trip, 2 workers)."""
    from joblib import Parallel, delayed

    from captchakit._cluster import parallel_runner

    with parallel_runner(scheduler, 2) as runner:
        Parallel(n_jobs=runner.n_jobs)(delayed(_noop)(i) for i in range(20))  # warm the workers
        t0 = time.perf_counter()
        Parallel(n_jobs=runner.n_jobs)(delayed(_noop)(i) for i in range(n))
        return 1000 * (time.perf_counter() - t0) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="400 images and a 4-setting grid (a smoke run)")
    a = ap.parse_args()
    n = 400 if a.quick else a.n
    grid = {"median": [0, 3], "min_area": [12, 30]} if a.quick else DEFAULT_GRID
    print(f"machine: {machine()}")
    X, y = generate_captchas(n, seed=21, n_jobs=2)
    n_train = n - int(round(n * 0.2))
    max_res = n_train - n_train // 3
    fits = _halving_fits(n_candidates(validate_grid(grid)), 3, min(300, max_res), max_res, 3)
    print(f"data: python-captcha 4 digits, seed 21, {n} images; tune: SVM, {n_candidates(validate_grid(grid))} "
          f"settings, 3-fold CV, successive halving, {fits} fits, seed 0", flush=True)
    rows, results = [], {}
    for name, scheduler in (("this machine (loky, 2 processes)", None),
                            (f"Dask LocalCluster ({a.workers} workers)", f"local:{a.workers}")):
        t0 = time.perf_counter()
        res = tune(X, y, grid, "svm", cv=3, test_split=0.2, seed=0, n_jobs=2, scheduler=scheduler,
                   echo=lambda m: print(m, flush=True))
        wall = time.perf_counter() - t0
        results[name] = (res, wall)
        rows.append({"where": name, "wall (s)": f"{wall:.0f}", "search (s)": f"{res['search_seconds']:.0f}",
                     "best CV": f"{res['best']['cv_mean']:.2%}", "tuned test": f"{res['test']['tuned']:.2%}",
                     "empty task (ms)": f"{empty_task_ms(scheduler):.1f}"})
        print(rows[-1], flush=True)
    (loc, t_loc), (dsk, t_dsk) = results.values()
    print(table(rows, list(rows[0])))
    same = (loc["best"]["params"] == dsk["best"]["params"]
            and [r["cv_mean"] for r in loc["ranking"]] == [r["cv_mean"] for r in dsk["ranking"]])
    print(f"cluster / local wall time: {t_dsk / t_loc:.2f}x; cluster overhead per fit: "
          f"{1000 * (dsk['search_seconds'] - loc['search_seconds']) / fits:+.0f} ms over {fits} fits; "
          f"same best setting and CV scores: {same}")


if __name__ == "__main__":
    main()
