"""Cross-validated search of the denoising settings of the classic recognizer."""

import math
import threading
import time

import numpy as np

from captchakit._errors import CaptchakitError
from captchakit.preprocess import Preprocessor
from captchakit.segment import Segmenter

#: The default grid: threshold, median and average sizes, their order, speck area, line removal.
DEFAULT_GRID = {
    "threshold": ["otsu", "adaptive"],
    "median": [0, 3, 5],
    "mean": [0, 3, 5],
    "filter_order": ["median-first", "mean-first"],
    "min_area": [12, 30],
    "remove_lines": [False, True],
    "line_thickness": [2, 5],
}


#: Fewest training images per cross-validation fold :func:`tune` accepts.
MIN_PER_FOLD = 5


def _param_name(key):
    if key.startswith("segment."):
        return "segmenter__" + key.split(".", 1)[1]
    return "preprocessor__" + key.split(".", 1)[-1] if key.startswith("preprocess.") else "preprocessor__" + key


def validate_grid(grid, source="grid"):
    """Check a grid ``{setting: [values]}`` (or a list of them); one-line errors name the entry.

    Returns
    -------
    list of dict
        Parameter grids for scikit-learn (``preprocessor__median`` ...), with
        ``filter_order`` only varied where both filters are on.
    """
    grids = grid if isinstance(grid, list) else [grid]
    pre_known = set(Preprocessor().get_params())
    seg_known = set(Segmenter().get_params())
    out = []
    for g in grids:
        if not isinstance(g, dict) or not g:
            raise CaptchakitError(f"{source}: expected a mapping of setting -> list of values")
        norm = {}
        for key, values in g.items():
            name = key.split(".", 1)[-1]
            known = seg_known if key.startswith("segment.") else pre_known
            if name not in known:
                raise CaptchakitError(
                    f"{source}: unknown parameter {key!r}; known: {', '.join(sorted(pre_known))} "
                    f"(or segment.<{'|'.join(sorted(seg_known))}>)")
            if not isinstance(values, list) or not values:
                raise CaptchakitError(f"{source}: entry {key!r} must be a non-empty list of values")
            for v in values:
                try:
                    if key.startswith("segment."):
                        Segmenter(**{name: v}).validate()
                    else:
                        Preprocessor(**{name: v}).validate()
                except (CaptchakitError, TypeError) as exc:
                    raise CaptchakitError(f"{source}: entry {key!r} has a bad value {v!r}: {exc}") from None
            norm[_param_name(key)] = values
        for g2 in _split_order(norm):
            out.extend(_split_lines(g2))
    return out


def _split_lines(g):
    """Vary the line thickness only where line removal is on."""
    rl, lt = "preprocessor__remove_lines", "preprocessor__line_thickness"
    if rl not in g or lt not in g:
        return [g]
    out = []
    if False in g[rl]:
        out.append({**{k: v for k, v in g.items() if k != lt}, rl: [False]})
    if True in g[rl]:
        out.append({**g, rl: [True]})
    return out


def _split_order(g):
    """Vary the filter order only where both filters are on (avoids duplicate candidates)."""
    ok = "preprocessor__filter_order"
    med, mean = g.get("preprocessor__median"), g.get("preprocessor__mean")
    if ok not in g or med is None or mean is None:
        return [g]
    both = {**g, "preprocessor__median": [v for v in med if v > 1], "preprocessor__mean": [v for v in mean if v > 1]}
    grids = []
    if both["preprocessor__median"] and both["preprocessor__mean"]:
        grids.append(both)
    base = {k: v for k, v in g.items() if k != ok}
    for mv in med:
        for av in mean:
            if mv > 1 and av > 1:
                continue
            grids.append({**base, "preprocessor__median": [mv], "preprocessor__mean": [av]})
    return _merge(grids)


def _merge(grids):
    return [g for g in grids if all(g.values())]


def n_candidates(grids):
    return sum(math.prod(len(v) for v in g.values()) for g in grids)


def _halving_fits(n_cand, cv, min_res, max_res, factor):
    n_iter = min(1 + int(math.floor(math.log(max(n_cand, 1), factor))),
                 1 + int(math.floor(math.log(max(max_res // min_res, 1), factor))))
    total, c = 0, n_cand
    for _ in range(n_iter):
        total += c * cv
        c = math.ceil(c / factor)
    return total


class _Scorer:
    """Whole-string accuracy that also reports each finished fit (picklable for worker processes)."""

    def __init__(self, queue):
        self.queue = queue

    def __call__(self, est, X, y):
        acc = est.score(X, y)
        if self.queue is not None:
            self.queue.put(1)
        return acc


class _Ticks:
    """Moves the progress bar from fits finished elsewhere (worker processes, a Dask cluster)."""

    def __init__(self, bar_it, runner):
        self.bar_it = bar_it
        self.queue = self.handle = self.thread = None
        self._close_queue = None
        if bar_it is None:
            return
        self.queue, self.handle, self._close_queue = runner.queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.queue.get() is not None:
            next(self.bar_it, None)

    def close(self):
        if self.thread is None:
            return
        self.queue.put(None)
        self.thread.join()
        for _ in self.bar_it:
            pass
        self._close_queue()


def _settings_of(params, base_pre, base_seg):
    pre = dict(base_pre.get_params())
    seg = dict(base_seg.get_params())
    for k, v in params.items():
        if k.startswith("preprocessor__"):
            pre[k.split("__", 1)[1]] = v
        elif k.startswith("segmenter__"):
            seg[k.split("__", 1)[1]] = v
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in pre.items()}, seg


def tune(images, labels, grid=None, method="svm", cv=3, test_split=0.2, seed=0, n_jobs=2,
         min_resources=300, factor=3, top=5, progress=None, echo=print, scheduler=None, source=None):
    """Search the denoising settings; score the best and the default once on held-out images.

    *scheduler* (``local:N`` or a Dask scheduler address, see
    :func:`captchakit._cluster.parallel_runner`) runs the fits on a Dask
    cluster through joblib's Dask backend; the result is the same as on
    this machine with the same seed.

    The search is :class:`~sklearn.model_selection.HalvingGridSearchCV` over a
    :class:`SegmentingRecognizer`, scoring whole-string accuracy by *cv*-fold
    cross-validation on the training part only.  The test part is touched
    once, at the end.

    *source* (the data's path) starts the messages about the data.

    Returns
    -------
    dict
        ``ranking`` (top settings with mean/std CV accuracy and segmentation
        rate), ``best`` (settings), ``test`` (best vs default on the test
        part), ``by_filter`` (CV accuracy against filter size), ``split``.
    """
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV, KFold

    from captchakit._api import make_recognizer
    from captchakit._cluster import describe, parallel_runner
    from captchakit.data._split import train_test_split_indices

    grids = validate_grid(grid if grid is not None else DEFAULT_GRID)
    images, labels = list(images), [str(v) for v in labels]
    tr, te = train_test_split_indices(len(images), test_split, seed)
    Xtr, ytr = [images[i] for i in tr], [labels[i] for i in tr]
    Xte, yte = [images[i] for i in te], [labels[i] for i in te]
    where = f"{source}: " if source else ""
    if len(Xtr) < MIN_PER_FOLD * cv:
        # each fold would score a setting on a handful of images: every setting scores about 0, and the whole
        # grid would run before saying so (156 settings x 3 folds took about 6 minutes on 7 images)
        raise CaptchakitError(
            f"{where}{len(Xtr)} training images are too few for {cv}-fold cross-validation: tune needs at least "
            f"{MIN_PER_FOLD * cv} ({MIN_PER_FOLD} per fold) besides the {len(Xte)} held out for the test; "
            "label more images or lower --cv")
    # the grid is the search here: no front-end search inside each fit
    base = make_recognizer(method, preprocessor=Preprocessor(), segmenter=Segmenter(), front_end_search=False)
    n_cand = n_candidates(grids)
    max_res = len(Xtr) - len(Xtr) // cv
    min_res = min(min_resources, max_res)
    total = _halving_fits(n_cand, cv, min_res, max_res, factor)
    echo(f"tuning {n_cand} settings by {cv}-fold CV on {len(Xtr)} training images "
         f"(successive halving from {min_res} images, factor {factor}) on {describe(scheduler)}; "
         f"test part: {len(Xte)} images, seed {seed}")
    import warnings

    from sklearn.exceptions import FitFailedWarning

    with parallel_runner(scheduler, n_jobs) as runner:
        bar = progress(range(total)) if progress else None
        bar_it = iter(bar) if bar is not None else None
        ticks = _Ticks(bar_it, runner)
        search = HalvingGridSearchCV(base, grids, factor=factor, resource="n_samples", min_resources=min_res,
                                     max_resources=max_res, cv=KFold(cv, shuffle=True, random_state=seed),
                                     scoring=_Scorer(ticks.handle), refit=False, n_jobs=runner.n_jobs,
                                     random_state=seed, error_score=0.0)
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                # a setting under which nothing segments fails its fit; it scores 0 and is reported below
                warnings.simplefilter("ignore", FitFailedWarning)
                warnings.simplefilter("ignore", UserWarning)
                search.fit(Xtr, ytr)
        except ValueError as exc:
            if "fits failed" not in str(exc):
                raise
            search.cv_results_ = {"mean_test_score": [0.0]}
        finally:
            ticks.close()
    if not np.any(np.asarray(search.cv_results_["mean_test_score"]) > 0):
        raise CaptchakitError(
            f"{where}no setting of the grid read any of the {len(Xtr)} training images (most likely none of them "
            "segments into as many pieces as its label has characters); check the data and the grid")
    search_s = time.perf_counter() - t0
    res = search.cv_results_
    last = max(res["iter"])
    order = sorted(range(len(res["params"])), key=lambda i: (res["iter"][i], res["mean_test_score"][i]), reverse=True)
    ranking = []
    for i in order[:top]:
        pre, seg = _settings_of(res["params"][i], base.preprocessor, base.segmenter)
        ranking.append({"params": {k.split("__", 1)[1]: v for k, v in res["params"][i].items()},
                        "preprocess": pre, "segment": seg,
                        "cv_mean": float(res["mean_test_score"][i]), "cv_std": float(res["std_test_score"][i]),
                        "n_images": int(res["n_resources"][i]), "iteration": int(res["iter"][i])})
    # segmentation rate of the top settings on (up to 1,000 of) the training images
    for r in ranking:
        p, s = Preprocessor(**r["preprocess"]), Segmenter(**r["segment"])
        r["segmentation_rate"] = float(np.mean([s.segment(p.transform_one(im)).n_natural == len(lab)
                                                for im, lab in zip(Xtr[:1000], ytr[:1000])]))
    by_filter = {}
    first = [i for i in range(len(res["params"])) if res["iter"][i] == 0]
    for name in ("median", "mean"):
        key = f"preprocessor__{name}"
        pts = {}
        for i in first:
            v = res["params"][i].get(key)
            if v is not None:
                pts[v] = max(pts.get(v, 0.0), float(res["mean_test_score"][i]))
        by_filter[name] = sorted(pts.items())
    best = ranking[0]
    echo("scoring the best and the default settings once on the held-out test part")
    test = {}
    for name, pre, seg in (("default", Preprocessor(), Segmenter()),
                           ("tuned", Preprocessor(**best["preprocess"]), Segmenter(**best["segment"]))):
        rec = make_recognizer(method, preprocessor=pre, segmenter=seg, front_end_search=False).fit(Xtr, ytr)
        test[name] = rec.score(Xte, yte)
    return {"ranking": ranking, "best": best, "test": test, "by_filter": by_filter, "search_seconds": search_s,
            "n_candidates": n_cand, "last_iteration": int(last),
            "split": {"n_train": len(Xtr), "n_test": len(Xte), "test_split": test_split, "seed": seed, "cv": cv},
            "method": method, "test_images": Xte[:6]}


def write_tune_report(result, out, samples):
    """best.json, the settings grid PNG, the filter-size plot and index.html in *out*."""
    from pathlib import Path

    from captchakit.data._io import write_image, write_json
    from captchakit.report import contact_sheet, save_lines, write_html

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    best = result["best"]
    write_json(out / "best.json", {"preprocess": best["preprocess"], "segment": best["segment"],
                                   "tuned": {"method": result["method"], "cv_mean": best["cv_mean"],
                                             "split": result["split"]}})
    rows, names = [], []
    for name, pre in [("default", Preprocessor())] + [
            (f"#{i + 1} cv {r['cv_mean']:.1%}", Preprocessor(**r["preprocess"])) for i, r in enumerate(result["ranking"])]:
        rows.append([pre.transform_one(im) for im in samples])
        names.append(name)
    write_image(out / "settings.png", contact_sheet([[im for im in samples]] + rows,
                                                    row_labels=["original"] + names))
    save_lines(out / "filter_sizes.png",
               {f"{k} filter": ([p[0] for p in v], [p[1] for p in v]) for k, v in result["by_filter"].items() if v},
               "filter size (0 = off)", "best CV whole-string accuracy", "Accuracy against filter size")
    cols = ["rank", "CV accuracy", "± std", "segmentation", "settings"]
    table = [{"rank": i + 1, "CV accuracy": f"{r['cv_mean']:.2%}", "± std": f"{r['cv_std']:.2%}",
              "segmentation": f"{r['segmentation_rate']:.1%}",
              "settings": ", ".join(f"{k}={v}" for k, v in r["params"].items())}
             for i, r in enumerate(result["ranking"])]
    sp = result["split"]
    notes = [f"{sp['cv']}-fold CV on {sp['n_train']} training images; test part {sp['n_test']} images "
             f"(seed {sp['seed']}), used once at the end.",
             f"Held-out whole-string accuracy: default {result['test']['default']:.2%}, "
             f"tuned {result['test']['tuned']:.2%}.",
             f"Search: {result['n_candidates']} settings, {result['search_seconds']:.0f} s."]
    write_html(out / "index.html", "captchakit denoising tuning", [
        ("Top settings", notes, (cols, table), []),
        ("Same samples under each setting (first row: originals, then default, then the top settings)",
         [], None, ["settings.png"]),
        ("Accuracy against filter size", [], None, ["filter_sizes.png"]),
        ("Best settings", ["best.json works with `captcha-cli train --config best.json` and "
                           "`captcha-cli preprocess --config best.json`."], None, []),
    ])
    write_json(out / "tune.json", {k: v for k, v in result.items() if k != "test_images"})
    return table
