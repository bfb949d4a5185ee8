"""Side-by-side comparison of recognizers on one seeded split."""

import math
import time
from pathlib import Path

import numpy as np

from captchakit._api import make_recognizer as _make
from captchakit._errors import CaptchakitError
from captchakit.evaluate import evaluate

ALL_METHODS = ("knn", "svm", "cnn")


def parse_methods(text):
    methods = [m.strip() for m in str(text).split(",") if m.strip()]
    bad = [m for m in methods if m not in ALL_METHODS]
    if bad or not methods:
        raise CaptchakitError(f"--methods takes a comma list of {', '.join(ALL_METHODS)}; got {text!r}")
    return methods


def parse_sizes(text):
    """``"500,2000"`` → ``[500, 2000]``; ``"none"`` → no learning curve.

    Examples
    --------
    >>> parse_sizes("2000,500"), parse_sizes("none")
    ([500, 2000], [])
    """
    if not text or str(text).strip().lower() == "none":
        return []
    try:
        sizes = sorted({int(v) for v in str(text).split(",") if v.strip()})
    except ValueError:
        raise CaptchakitError(f"--train-sizes takes a comma list of numbers, got {text!r}") from None
    if any(s < 2 for s in sizes):
        raise CaptchakitError(f"--train-sizes must be >= 2, got {text!r}")
    return sizes


def make_recognizer(method, cnn_params=None, seed=0, alphabet=None, classic_params=None):
    """A fresh recognizer for *method* with the comparison's settings.

    Each method takes the parameters it knows from *cnn_params* and
    *classic_params* (``preprocessor``, ``segmenter``).
    """
    return _make(method, **{**(cnn_params or {}), **(classic_params or {}), "seed": seed, "alphabet": alphabet})


#: The built-in 4-digit set's CNN training time limit (seconds): a safety net that its 10 epochs reach only on a
#: machine about 2.7 times slower than the 2-core one they were measured on (146 s there).
BUILTIN_TIME_LIMIT = 400
#: A CNN learning-curve point halves its recipe's batch until an epoch has this many steps (:func:`curve_batch_size`).
CURVE_LEAST_STEPS = 16
#: ... and runs at most this many epochs (:func:`curve_epochs`).
CURVE_MOST_EPOCHS = 150


def builtin_cnn_recipe(alphabet="digits", quick=False, fresh=False):
    """The CNN settings of the built-in generated set (its tested recipe, which keeps the demo's budget).

    15 epochs for 10 characters or fewer (10 for the 4-digit demo, below), 30 for larger alphabets
    (4-character lowercase alphanumeric text, 36 characters, read 94.1% after 15 epochs with the validation
    loss still falling, 96.6% after 30); 2 for ``--quick``.  With *fresh* images every epoch there is no
    fixed set to overfit, so the most epochs double and early stopping decides (4 digits: 99.0% after 15
    epochs, 99.6% when let run; it stopped itself after 22).  The input is 40x100, except for larger
    alphabets with *fresh* images: 48x128, the size the CNN measures for python-captcha's 160x60 images
    (4-character lowercase alphanumeric with fresh images: 96.7% at 40x100, 98.2% at 48x128; on the fixed
    10,000 images the larger input overfit sooner: 96.6% at 40x100, 95.1% at 48x128; one run each).

    The 4-digit recipe (what ``make demo`` runs) is a fixed amount of work: 10 epochs, the last two at
    half the learning rate of the one before (``time_limit`` anneals the end of the budget as it does the
    end of the clock), without augmentation, which only slowed it there (seeds 0-4: 98.90, 98.90, 99.10,
    97.80 and 98.70% with it, 99.10, 99.40, 99.30, 98.70 and 98.80% without).  A slower machine takes longer and trains the same
    way, where a limit of 160 s gave 10 epochs on a fast hour (99.10-99.50% of the strings) but 4-5 on a
    slow one (97.70-98.50%).  On the 2-core machine the 10 epochs take about 140 s and keep the demo
    inside 4 minutes; ``BUILTIN_TIME_LIMIT`` is a safety net that ends them only on a machine about 2.7
    times slower.  Early stopping waits 8 epochs: a demo that patience 4 stopped after 10 epochs without
    the halvings read 98.50%.  The other recipes, which are asked for by name, have no time limit.

    Examples
    --------
    >>> builtin_cnn_recipe("digits")["epochs"], builtin_cnn_recipe("alnum")["epochs"]
    (10, 30)
    >>> builtin_cnn_recipe("digits", fresh=True)["epochs"]
    30
    >>> builtin_cnn_recipe("digits")["time_limit"], builtin_cnn_recipe("alnum")["time_limit"]
    (400, None)
    >>> builtin_cnn_recipe("digits")["patience"], builtin_cnn_recipe("alnum")["patience"]
    (8, 4)
    >>> builtin_cnn_recipe("digits")["augment"], builtin_cnn_recipe("alnum")["augment"]
    (False, True)
    >>> [builtin_cnn_recipe(a, fresh=f)["image_size"] for a in ("digits", "alnum") for f in (False, True)]
    ['40x100', '40x100', '40x100', '48x128']
    """
    from captchakit.data import resolve_alphabet

    small = len(resolve_alphabet(alphabet or "digits")) <= 10
    demo = small and not (quick or fresh)  # the fixed 10 epochs that make demo runs
    epochs = 2 if quick else (10 if demo else 15 if small else 30)
    if fresh and not quick:
        epochs *= 2
    size = "48x128" if fresh and not (small or quick) else "40x100"
    # demo: early stopping waits 8 epochs instead of 4, since the budget ends the run and the learning-rate halvings
    # near its end do much of the late work (a demo stopped by patience 4 after 10 epochs read 98.50%); and no
    # augmentation: in those 10 epochs the network does not yet overfit (its validation loss stays below its training
    # loss), and augmentation only slows it (seeds 0-4: 97.80-99.10% with it, 98.70-99.40% without)
    return {"epochs": epochs, "image_size": size, "batch_size": 64, "patience": 8 if demo else 4,
            "warmup_steps": 0, "time_limit": BUILTIN_TIME_LIMIT if demo else None, "augment": not demo}


def curve_time_limit(limit, size, n_train, least=60.0, share=0.8):
    """A learning-curve point's CNN time limit: *share* times its part of *limit* by training images, at least *least*.

    The built-in 4-digit limit (:data:`BUILTIN_TIME_LIMIT`, 400 s) is a safety net about 2.7 times what its
    run takes; 0.8 of each point's part of it gives the points what they had when the limit was 160 s and
    twice its part (64 s for 2,000 of 10,000 images, 60 for 500).

    Examples
    --------
    >>> curve_time_limit(400, 2000, 10000), curve_time_limit(400, 500, 10000), curve_time_limit(None, 500, 10000)
    (64.0, 60.0, None)
    """
    if limit is None:
        return None
    return max(float(least), share * limit * size / max(n_train, 1))


def curve_batch_size(batch, size, least_steps=CURVE_LEAST_STEPS, smallest=16):
    """A learning-curve point's CNN batch size: *batch* halved until an epoch of *size* images has *least_steps*.

    A recipe's batch is chosen for its full training set; on a small subset it leaves each epoch a few
    updates, and a point under a time limit few epochs: on 500 of the built-in set's images, batch 64
    (8 steps per epoch) sat on the CTC blank plateau until its 60 s ran out (1.0%), batch 16 read 88%.
    It is never halved below *smallest*, and a batch that is not a number (``"auto"``) is kept.

    Examples
    --------
    >>> curve_batch_size(64, 500), curve_batch_size(64, 2000), curve_batch_size(64, 100), curve_batch_size("auto", 500)
    (16, 64, 16, 'auto')
    """
    if not isinstance(batch, (int, np.integer)):
        return batch
    while batch > smallest and size / batch < least_steps:
        batch = max(smallest, batch // 2)
    return batch


def curve_epochs(epochs, size, n_train, most=CURVE_MOST_EPOCHS):
    """A learning-curve point's most CNN epochs: *epochs* of *n_train* images, in epochs of *size*, at most *most*.

    A recipe's epochs are chosen for its full training set: a subset run for as many epochs gets a fraction
    of its updates, and its point then says more about that than about the images. On the built-in set (15
    epochs), the 2,000-image point read 92.0-97.4% in the demos of 2026-12-02 and 12-03, often no better than
    the 500-image point, which had as many updates (28 steps per epoch: its batch is halved twice,
    :func:`curve_batch_size`). A point may now see as many images as the full run; its time limit, early
    stopping or *most* ends it sooner. Epochs that are not a number (``"auto"``: measured from the subset
    itself) are kept.

    Examples
    --------
    >>> curve_epochs(15, 2000, 10000), curve_epochs(15, 500, 10000), curve_epochs(15, 10000, 10000)
    (75, 150, 15)
    >>> curve_epochs("auto", 500, 10000)
    'auto'
    """
    if not isinstance(epochs, (int, np.integer)):
        return epochs
    return int(min(most, max(epochs, math.ceil(epochs * n_train / max(size, 1)))))


def builtin_data(count, test, alphabet="digits", length=4, seed=0, progress=None):
    """The built-in seeded python-captcha set: training images (seed) and test images (seed + 10,000).

    Returns ``(train, test, note)`` with ``train``/``test`` as ``(images, labels)``.
    """
    from captchakit.data import generate_captchas

    Xtr, ytr = generate_captchas(count, alphabet, length, seed=seed, n_jobs=2,
                                 progress=progress("generating training images") if progress else None)
    # the test images come from a different seed stream: never seen in training
    Xte, yte = generate_captchas(test, alphabet, length, seed=seed + 10_000, n_jobs=2,
                                 progress=progress("generating test images") if progress else None)
    note = (f"built-in python-captcha {length}-{alphabet} set: train {len(Xtr)} "
            f"(seed {seed}), test {len(Xte)} (seed {seed + 10_000})")
    return (Xtr, ytr), (Xte, yte), note


def split_data(images, labels, test_share=0.2, seed=0, source="data"):
    """A seeded train/test split of a labelled folder's images: ``(train, test, note)``."""
    from captchakit.data._split import train_test_split_indices

    tr, te = train_test_split_indices(len(images), test_share, seed)
    train = ([images[i] for i in tr], [labels[i] for i in tr])
    test = ([images[i] for i in te], [labels[i] for i in te])
    return train, test, f"{source}: train {len(tr)} / test {len(te)} (test share {test_share}, seed {seed})"


def report_names(methods):
    """The files a comparison report writes (checked before any work, so no user file is replaced)."""
    names = ["report.html", "report.md", "results.json", "accuracy.png", "learning_curves.png"]
    for m in methods:
        names += [f"confusion_{m}.png", f"errors_{m}.png", f"training_{m}.png"]
    return names


def _dir_size(path):
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def run_compare(train, test, methods=ALL_METHODS, train_sizes=(), cnn_params=None, seed=0,
                model_dir=None, data_note="", echo=print, progress=None, classic_params=None, curve_methods=None):
    """Train every method on the same training images, test on the same test images.

    Parameters
    ----------
    train, test : (images, labels)
    methods : sequence of str
    train_sizes : sequence of int
        Learning-curve points (subsets of the training images, smaller first).
    curve_methods : sequence of str, optional
        The methods that get those points (default: every method); the others' curves have one point,
        their full training set.
    cnn_params : dict
        Extra :class:`CNNRecognizer` parameters (epochs, image size...).
    classic_params : dict, optional
        ``preprocessor`` and ``segmenter`` settings of the classic methods.
    model_dir : Path, optional
        Where the trained models are saved (their size is reported).

    Returns
    -------
    dict
        ``rows`` (one per method), ``curves``, ``evaluations``, ``histories``.
    """
    Xtr, ytr = list(train[0]), list(train[1])
    Xte, yte = list(test[0]), list(test[1])
    alphabet = "".join(sorted(set("".join(ytr)) | set("".join(yte))))
    rows, evals, histories, curves, said = [], {}, {}, {}, {}
    order = np.random.default_rng(seed).permutation(len(Xtr))
    sizes = [s for s in train_sizes if s < len(Xtr)]
    for method in methods:
        echo(f"[{method}] training on {len(Xtr)} images")
        rec = make_recognizer(method, cnn_params, seed, alphabet, classic_params)
        t0 = time.perf_counter()
        rec.fit(Xtr, ytr, progress=progress(f"{method}: segmenting") if progress else None)
        train_s = time.perf_counter() - t0
        if getattr(rec, "history_", None):
            histories[method] = rec.history_
        if not getattr(rec, "verbose", 0):  # a verbose CNN said each one as it came (RESTART:, TIME LIMIT:...)
            for w in rec.warnings_:
                echo(f"warning: {w}")
        if rec.warnings_:
            said[method] = list(rec.warnings_)
        res = evaluate(rec, Xte, yte, data_note)
        m = res["metrics"]
        size = None
        if model_dir is not None:
            path = Path(model_dir) / method
            rec.save(path, validation=m, data={"note": data_note, "n_train": len(Xtr), "seed": seed})
            size = _dir_size(path)
        rows.append({"method": method, "string_accuracy": m["string_accuracy"], "char_accuracy": m["char_accuracy"],
                     "cer": m["cer"], "segmentation_rate": m.get("segmentation_rate"),
                     "train_seconds": train_s, "ms_per_image": m["ms_per_image"], "model_bytes": size,
                     **({"answer_accuracy": m["answer_accuracy"]} if "answer_accuracy" in m else {})})
        evals[method] = res
        answer = f", answer {m['answer_accuracy']:.2%}" if "answer_accuracy" in m else ""
        echo(f"[{method}] whole-string {m['string_accuracy']:.2%}, per-char {m['char_accuracy']:.2%}{answer}, "
             f"train {train_s:.1f} s")
        pts = []
        for s in sizes if curve_methods is None or method in curve_methods else ():
            sub = order[:s]
            # a learning-curve point trains on its subset only (no fresh images: they would make it unlimited)
            limit = curve_time_limit((cnn_params or {}).get("time_limit"), s, len(Xtr))
            point = {**(cnn_params or {}), "verbose": 0, "fresh": None, "time_limit": limit}
            if "batch_size" in point:
                point["batch_size"] = curve_batch_size(point["batch_size"], s)
            if "epochs" in point:
                point["epochs"] = curve_epochs(point["epochs"], s, len(Xtr))
            r = make_recognizer(method, point, seed, alphabet, classic_params)
            try:
                r.fit([Xtr[i] for i in sub], [ytr[i] for i in sub])
                acc = r.score(Xte, yte)
            except CaptchakitError as exc:
                echo(f"[{method}] learning curve at {s}: {exc}")
                acc = float("nan")
            pts.append((s, acc))
            echo(f"[{method}] learning curve: {s} training images -> {acc:.2%} whole-string")
        pts.append((len(Xtr), m["string_accuracy"]))
        curves[method] = pts
    return {"rows": rows, "curves": curves, "evaluations": evals, "histories": histories, "alphabet": alphabet,
            "warnings": said}


def format_rows(rows):
    """Rows with human-readable numbers, for tables."""
    out = []
    for r in rows:
        out.append({
            "method": r["method"],
            "whole-string": f"{r['string_accuracy']:.2%}",
            "per-char": f"{r['char_accuracy']:.2%}",
            "CER": f"{r['cer']:.4f}",
            **({"answer": f"{r['answer_accuracy']:.2%}"} if "answer_accuracy" in r else {}),
            "segmentation": "-" if r["segmentation_rate"] is None else f"{r['segmentation_rate']:.1%}",
            "train s": f"{r['train_seconds']:.1f}",
            "ms/image": f"{r['ms_per_image']:.2f}",
            "model size": "-" if r["model_bytes"] is None else f"{r['model_bytes'] / 1024:.0f} KiB",
        })
    return out


def write_report(result, out, title, notes, test_images, test_labels):
    """Write report.html, report.md, results.json and the figures into *out*; training's warnings join *notes*."""
    from captchakit.data._io import atomic_write, write_json
    from captchakit.report import save_bars, save_confusion, save_error_gallery, save_lines, table_md, write_html

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # what training said (a restart, a stuck run, the time limit) belongs beside the figures it explains
    notes = list(notes) + [f"Warning ({m}): {w}" for m, ws in (result.get("warnings") or {}).items() for w in ws]
    rows = format_rows(result["rows"])
    cols = list(rows[0]) if rows else []
    figs = []
    save_bars(out / "accuracy.png", [r["method"] for r in result["rows"]],
              [r["string_accuracy"] for r in result["rows"]], title="Whole-string accuracy on the test images")
    figs.append(("Accuracy", "accuracy.png"))
    curves = {m: ([p[0] for p in pts], [p[1] for p in pts]) for m, pts in result["curves"].items()}
    save_lines(out / "learning_curves.png", curves, "training images", "whole-string accuracy (test)",
               "How many labelled samples do I need?", logx=True)
    figs.append(("Learning curves", "learning_curves.png"))
    for method, res in result["evaluations"].items():
        save_confusion(out / f"confusion_{method}.png", res["confusion"], res["alphabet"], f"{method}: confusion")
        save_error_gallery(out / f"errors_{method}.png", test_images, test_labels, res["predictions"],
                           title=f"{method}: wrong readings (true / read)")
        figs.append((f"{method}: confusion matrix", f"confusion_{method}.png"))
        figs.append((f"{method}: error gallery", f"errors_{method}.png"))
    for method, hist in result["histories"].items():
        series = {k: (list(range(1, len(v) + 1)), v) for k, v in hist.items() if k.endswith("loss")}
        save_lines(out / f"training_{method}.png", series, "epoch", "loss", f"{method} training curves")
        figs.append((f"{method}: training curves", f"training_{method}.png"))
    write_json(out / "results.json", {"title": title, "notes": notes, "rows": result["rows"],
                                      "learning_curves": result["curves"], "histories": result["histories"]})
    md = [f"# {title}", "", *[f"- {n}" for n in notes], "", table_md(rows, cols), ""]
    md += [f"## {h}\n\n![{h}]({f})\n" for h, f in figs]
    atomic_write(out / "report.md", "\n".join(md))
    sections = [("Results", notes, (cols, rows), [])] + [(h, [], None, [f]) for h, f in figs]
    write_html(out / "report.html", title, sections)
    return out / "report.html"


def compare_task(train, test, methods, train_sizes, cnn_params, seed, data_note, classic_params):
    """One data set's comparison, self-contained so that a Dask worker can run it.

    It writes nothing outside a temporary folder: the trained models come
    back as bytes (``{relative path: bytes}``) for the caller to write.

    Returns
    -------
    (dict, dict)
        :func:`run_compare`'s result and the model files.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        result = run_compare(train, test, methods, train_sizes, {**(cnn_params or {}), "verbose": 0}, seed,
                             Path(tmp), data_note, echo=lambda *_: None, progress=None,
                             classic_params=classic_params)
        files = {p.relative_to(tmp).as_posix(): p.read_bytes() for p in sorted(Path(tmp).rglob("*")) if p.is_file()}
    return result, files


def run_sets(sets, methods, cnn_params=None, seed=0, classic_params=None, scheduler=None, progress=None):
    """Compare the methods on several data sets, one after the other or side by side on a Dask cluster.

    Parameters
    ----------
    sets : list of (name, train, test, note, train_sizes)
    scheduler : str, optional
        ``local:N`` or a Dask scheduler address: each set becomes one task
        (its images are sent to the cluster; the workers need no access to
        the user's folders).

    Yields
    ------
    (name, result, model_files)
        As each set finishes (in the given order on this machine).
    """
    bar = iter(progress(range(len(sets)))) if progress is not None else None

    def tick():
        if bar is not None:
            next(bar, None)

    if scheduler is None:
        for name, train, test, note, sizes in sets:
            result, files = compare_task(train, test, methods, sizes, cnn_params, seed, note, classic_params)
            tick()
            yield name, result, files
    else:
        from distributed import as_completed

        from captchakit._cluster import parallel_runner

        with parallel_runner(scheduler) as runner:
            client, futures = runner.client, {}
            for name, train, test, note, sizes in sets:
                ftr, fte = client.scatter([train, test])
                fut = client.submit(compare_task, ftr, fte, methods, sizes, cnn_params, seed, note, classic_params,
                                    pure=False)
                futures[fut] = name
            for fut in as_completed(futures):
                result, files = fut.result()
                tick()
                yield futures[fut], result, files
    if bar is not None:
        for _ in bar:
            pass


def summary_rows(results):
    """One row per (data set, method) for the summary table of a many-set comparison."""
    rows = []
    for name, result in results:
        for r in format_rows(result["rows"]):
            rows.append({"data set": name, **{k: v for k, v in r.items() if k != "model size"}})
    return rows
