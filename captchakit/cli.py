"""``captcha-cli``: a thin command line over the captchakit library.

Each command parses its options, calls the library and prints or writes the
result.  Errors a user can cause come out as one line and exit code 1.
TensorFlow is imported only by the commands that train or load a CNN.
"""

import functools
import json
import sys
import time
from pathlib import Path

import click

from captchakit import __version__
from captchakit._api import REGISTRY
from captchakit._errors import CaptchakitError

#: Seeds: 0 to 2**31 - 1, so that the seeds derived from one (the test set's seed + 10,000, pretraining's
#: + 1,000, a restart's next seed) stay within what NumPy's legacy seeding (``keras.utils.set_random_seed``)
#: takes, 0 to 2**32 - 1. A negative seed stopped ``generate`` with an internal error.
SEED = click.IntRange(0, 2**31 - 1)


class _Group(click.Group):
    """A click group that turns library errors into one-line messages."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except CaptchakitError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            raise click.Abort() from None
        except BrokenPipeError:  # output piped into `head`: stop quietly
            sys.stderr.close()
            sys.exit(0)
        except MemoryError:
            raise click.ClickException("out of memory: try fewer or smaller images") from None
        except Exception as exc:  # noqa: BLE001 - last line of defence, never a traceback
            if ctx.obj and ctx.obj.get("debug"):
                raise
            raise click.ClickException(
                f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)") from None


def progress(label, total=None):
    """A progress bar with counts and an ETA, on stderr."""
    def wrap(items):
        n = total if total is not None else (len(items) if hasattr(items, "__len__") else None)
        with click.progressbar(items, length=n, label=label, show_pos=True, show_eta=True,
                               file=sys.stderr) as bar:
            yield from bar
    return wrap


def echo(msg=""):
    click.echo(msg)


# ---------------------------------------------------------------- shared options
def _with_options(f, opts):
    """Apply click options so that they show in list order in --help."""
    for o in reversed(opts):
        f = o(f)
    return f


def scheduler_option(f):
    return click.option(
        "--scheduler", default=None, metavar="local:N|ADDRESS",
        help="Run on Dask: local:N starts a local cluster of N worker processes; tcp://HOST:8786 uses a running "
             "one (dask scheduler / dask worker). Default: this machine. Needs pip install 'captchakit[dask]'.")(f)


def preprocess_options(f):
    """Options describing the preprocessing chain (shared by several commands)."""
    opts = [
        click.option("--threshold", default=None,
                     help="Binarization: otsu, multiotsu (the darkest of three classes: strokes darker than "
                          "paler lines and dots), triangle (the foot of the paper's peak: pale ink kept), "
                          "adaptive, adaptive-mean or fixed:N (grey level)."),
        click.option("--block-size", type=int, default=None, help="Adaptive threshold: odd neighbourhood size."),
        click.option("--offset", type=float, default=None, help="Adaptive threshold: offset below the local mean."),
        click.option("--median", type=int, default=None, help="Median filter size (0 = off, odd sizes)."),
        click.option("--mean", "mean_", type=int, default=None, help="Average filter size (0 = off, odd sizes)."),
        click.option("--filter-order", type=click.Choice(["median-first", "mean-first"]), default=None,
                     help="Which of the two filters runs first."),
        click.option("--filter-stage", type=click.Choice(["gray", "binary"]), default=None,
                     help="Run the filters on the grey image (before thresholding) or on the binary one."),
        click.option("--min-area", type=int, default=None,
                     help="Remove ink specks smaller than this (pixels; default: measured from the stroke width)."),
        click.option("--remove-lines/--keep-lines", default=None,
                     help="Remove thin lines drawn across the text."),
        click.option("--line-thickness", type=int, default=None,
                     help="Thickest line removed (pixels; 0 keeps lines; default: measured, one less than the "
                          "stroke width)."),
        click.option("--channel", type=click.Choice(["luminance", "saturation", "distance", "local", "clusters"]),
                     default=None, help="Ink channel thresholded (default: the most separable one, measured; "
                                        "clusters: colour clusters kept by shape, tried by the front-end search "
                                        "when the ink has several colours)."),
        click.option("--frame", type=int, default=None,
                     help="Clear a frame this many pixels wide around the image (default: measured; 0 = none)."),
        click.option("--straight-lines", type=int, default=None,
                     help="Remove long lines across the text (straight or bent) up to this thickness, even as thick as "
                          "the strokes (pixels; 0 = off, the default; the front-end search tries it when most "
                          "images have such a line)."),
        click.option("--enlarge", type=click.IntRange(1, 4), default=None,
                     help="Enlarge the images this many times before anything else (1 = off, the default; "
                          "pixel settings then count enlarged pixels; the front-end search tries 2 on small "
                          "images)."),
        click.option("--flatten", type=int, default=None,
                     help="Even out unevenly lit paper: the paper under a disc of this many pixels (odd; 0 = off, "
                          "the default; the front-end search tries it when the paper's grey level varies)."),
        click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
                     help="JSON/YAML settings file (e.g. tune's best.json); options given here override it."),
    ]
    return _with_options(f, opts)


def segment_options(f, flag="--segment-method"):
    opts = [
        click.option(flag, "seg_method", type=click.Choice(["components", "projection"]), default=None,
                     help="Segmentation: connected components or vertical projection."),
        click.option("--connectivity", type=click.Choice(["4", "8"]), default=None, help="Pixel connectivity."),
        click.option("--min-width", type=int, default=None, help="Projection: narrowest character (pixels)."),
        click.option("--max-width", type=int, default=None, help="Projection: widest character (pixels)."),
        click.option("--crop-size", type=int, default=None, help="Side of the square character crops."),
    ]
    return _with_options(f, opts)


def cnn_options(epochs, image_size, batch="measured from the data", patience="measured from the data",
                time_limit="none"):
    """The CNN's training options, shared by `train` and `compare`."""
    opts = [
        click.option("--epochs", type=click.IntRange(min=1), default=None,
                     help=f"CNN: most epochs; early stopping ends sooner (default {epochs})."),
        click.option("--batch-size", type=click.IntRange(min=1), default=None,
                     help=f"CNN: batch size (default {batch})."),
        click.option("--image-size", default=None, help=f"CNN: input HxW (default {image_size})."),
        click.option("--head", type=click.Choice(["auto", "positions", "ctc"]), default="auto", show_default=True,
                     help="CNN: one softmax per position, or CTC (auto: CTC for varying lengths or fewer than "
                          "3,000 images)."),
        click.option("--patience", type=click.IntRange(min=1), default=None,
                     help=f"CNN: early-stopping patience in epochs (default {patience})."),
        click.option("--width-pools", type=click.IntRange(0, 4), default=None,
                     help="CNN: how many conv blocks halve the width (the network reads width / 2**N columns; "
                          "default 2; 3 trained captcha_images_v2 faster but read other schemes worse)."),
        click.option("--cnn-input", type=click.Choice(["auto", "luminance", "local"]), default="auto",
                     show_default=True,
                     help="CNN: read the grey image (luminance), or each pixel's colour distance from its column's "
                          "paper (local: tiles of different colours); auto: measured on the training images."),
        click.option("--augment/--no-augment", default=None,
                     help="CNN: seeded rotation/shift/scale augmentation (default: on, except in compare's built-in "
                          "digits recipe, whose fixed 10 epochs it slowed: 97.8-99.1% with it, 98.7-99.4% without)."),
        click.option("--noise", type=click.FloatRange(min=0), default=0.04, show_default=True,
                     help="CNN: with --augment, Gaussian noise sigma on half of the images (0: none)."),
        click.option("--schedule", type=click.Choice(["plateau", "cosine"]), default="plateau", show_default=True,
                     help="CNN: ReduceLROnPlateau, or warm-up + cosine decay."),
        click.option("--distribute", type=click.Choice(["none", "mirrored"]), default="none", show_default=True,
                     help="CNN: mirrored trains with tf.distribute.MirroredStrategy over this machine's GPUs "
                          "(or its logical CPU devices when it has no GPU)."),
        click.option("--pretrain", type=click.Choice(["none", "synthetic", "auto"]), default="none",
                     show_default=True,
                     help="CNN: first train on 4,000 python-captcha look-alikes (your alphabet, lengths and image "
                          "size), then on your images; auto: below 2,000 training images."),
        click.option("--time-limit", default=None, metavar="SECONDS|none",
                     help=f"CNN: train for at most this many seconds, then keep the best weights seen "
                          f"(default {time_limit})."),
        click.option("--fresh", is_flag=True,
                     help="CNN on the built-in set (no DATA): after one pass over the generated training images, "
                          "every epoch draws as many new seeded images of the same kind."),
    ]
    return lambda f: _with_options(f, opts)


def parse_time_limit(text):
    """``--time-limit``: seconds (a number above 0), ``"none"`` for no limit, or None when not given.

    Examples
    --------
    >>> parse_time_limit("240"), parse_time_limit("none"), parse_time_limit(None)
    (240.0, 'none', None)
    """
    if text is None or str(text).strip().lower() == "none":
        return None if text is None else "none"
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise CaptchakitError(f"--time-limit must be a number of seconds above 0 or 'none', got {text!r}")
    return value


def _cnn_kwargs(epochs, batch_size, image_size, head, patience, augment, noise, schedule, defaults=None,
                distribute="none", pretrain="none", time_limit=None, cnn_input="auto", width_pools=None):
    """CNNRecognizer parameters from the CNN options; options not given stay "auto" (measured
    from the data) unless *defaults* names a value for them."""
    from captchakit.cnn_baseline import parse_image_size

    d = dict(defaults or {})
    limit = parse_time_limit(time_limit)
    limit = d.get("time_limit") if limit is None else (None if limit == "none" else limit)
    size = image_size or d.get("image_size")
    h, w = parse_image_size(size) if size else ("auto", "auto")
    return {"height": h, "width": w, "epochs": epochs or d.get("epochs", "auto"),
            "batch_size": batch_size or d.get("batch_size", "auto"), "head": head,
            "patience": patience or d.get("patience", "auto"),
            "augment": d.get("augment", True) if augment is None else augment, "noise": noise,
            "schedule": schedule, "warmup_steps": d.get("warmup_steps", "auto"),
            "distribute": None if distribute in (None, "none") else distribute, "pretrain": pretrain,
            "time_limit": limit, "ink": cnn_input,
            **({} if width_pools is None else {"width_pools": width_pools})}


def _threshold_option(text):
    """The CLI's ``--threshold`` shorthand (``fixed:N``, ``adaptive-mean``) as preprocessing settings."""
    if text is None:
        return {}
    if text.startswith("fixed"):
        out = {"threshold": "fixed"}
        if ":" in text:
            try:
                out["threshold_value"] = int(text.split(":", 1)[1])
            except ValueError:
                raise CaptchakitError(f"--threshold fixed:N needs a number, got {text!r}") from None
        return out
    if text == "adaptive-mean":
        return {"threshold": "adaptive", "adaptive": "mean"}
    if text in ("otsu", "multiotsu", "triangle", "adaptive"):
        return {"threshold": text}
    raise CaptchakitError(f"--threshold must be otsu, multiotsu, triangle, adaptive, adaptive-mean or fixed:N; "
                          f"got {text!r}")


def _settings_from_options(config_file, pre, seg):
    """A config file with the command-line options on top, through :func:`captchakit.load_settings`.

    Returns ``(Preprocessor, Segmenter)``.
    """
    from captchakit import load_settings

    pre = dict(pre)
    pre.update(_threshold_option(pre.pop("threshold", None)))
    seg = {k: (int(v) if k == "connectivity" and v is not None else v) for k, v in seg.items()}
    s = load_settings(config_file, preprocess=pre, segment=seg)
    return s["preprocessor"], s["segmenter"]


def _pre_kwargs(threshold, block_size, offset, median, mean_, filter_order, filter_stage, min_area,
                remove_lines, line_thickness, channel=None, frame=None, straight_lines=None,
                enlarge=None, flatten=None):
    return {"threshold": threshold, "block_size": block_size, "offset": offset, "median": median,
            "mean": mean_, "filter_order": filter_order, "filter_stage": filter_stage,
            "min_area": min_area, "remove_lines": remove_lines, "line_thickness": line_thickness,
            "channel": channel, "frame": frame, "straight_lines": straight_lines,
            "enlarge": enlarge, "flatten": flatten}


def front_end_options(f):
    """How the classic front end is chosen (train and compare)."""
    return _with_options(f, [
        click.option("--front-end", "front_end", default="auto", show_default=True,
                     help="Classic: auto (measure the images: ink channel, polarity, stroke width, frame), "
                          "default (the fixed python-captcha front end), or a settings FILE."),
        click.option("--segmentation", type=click.Choice(["auto", "recognition", "forced"]), default=None,
                     help="Classic: segmentation by recognition, the forced split, or auto (by recognition when "
                          "few training images fall apart naturally, or when both fitted on 90% of them read the "
                          "rest better by recognition). Default: auto."),
        click.option("--jobs", "-j", type=click.IntRange(min=1), default=2, show_default=True,
                     help="Classic: worker processes for the front-end search's fits and the piece scorer's MLPs "
                          "(segmentation by recognition); the model is the same for any number."),
    ])


def label_options(f):
    """What a label means (train and compare); stored in the model bundle."""
    return _with_options(f, [
        click.option("--ignore-case", is_flag=True,
                     help="Read letters without case (labels are folded to lower case at training and scoring)."),
        click.option("--fold", default=None,
                     help="Look-alike groups read as their first character, e.g. 0O,1lI (O reads as 0)."),
        click.option("--task", type=click.Choice(["text", "arithmetic"]), default="text", show_default=True,
                     help="arithmetic: readings are sums such as 14+4; predict and evaluate also give the answer."),
    ])


def _fold_spec(ignore_case, fold):
    """One fold spec from --ignore-case and --fold (None when neither)."""
    from captchakit.data._labels import parse_fold

    spec = ",".join(v for v in (("case" if ignore_case else None), fold) if v) or None
    parse_fold(spec)  # one-line error for a bad group
    return spec


def _front_end(front_end, config_file, pre, seg, segmentation):
    """(Preprocessor, Segmenter, segmentation) from --front-end, --config and the flags (the flags win)."""
    base_pre, base_seg, base_mode = {}, {}, "auto"
    if front_end == "default":
        from captchakit._api import FIXED_FRONT_END

        base_pre, base_seg = FIXED_FRONT_END["preprocess"], FIXED_FRONT_END["segment"]
        base_mode = FIXED_FRONT_END["segmentation"]
    elif front_end != "auto":
        if config_file:
            raise CaptchakitError("give the settings file once: --front-end FILE or --config FILE")
        config_file = front_end
    pre = {**base_pre, **{k: v for k, v in pre.items() if v is not None}}
    seg = {**base_seg, **{k: v for k, v in seg.items() if v is not None}}
    p, s = _settings_from_options(config_file, pre, seg)
    return p, s, segmentation or base_mode


def _seg_kwargs(method, connectivity, min_width, max_width, crop_size):
    return {"method": method, "connectivity": connectivity, "min_width": min_width,
            "max_width": max_width, "crop_size": crop_size}


def _report_problems(problems, limit=50):
    """List bad files on stderr (capped at *limit*; ``--json`` output lists every one)."""
    if not problems:
        return
    click.echo(f"{len(problems)} file(s) skipped:", err=True)
    for p in problems[:limit]:
        click.echo(f"  {p}", err=True)
    if len(problems) > limit:
        click.echo(f"  ... and {len(problems) - limit} more", err=True)


# ---------------------------------------------------------------- the group
@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="captcha-cli")
@click.option("--debug", is_flag=True, help="Show full tracebacks of internal errors.")
@click.pass_context
def cli(ctx, debug):
    """Read text captchas: generate, clean, segment, train, evaluate and compare.

    The classic pipeline (preprocess, segment, KNN/SVM per character) and an
    end-to-end CNN, measured side by side on the same held-out images.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


# ---------------------------------------------------------------- generate
@cli.command()
@click.argument("out", type=click.Path(file_okay=True, dir_okay=True))
@click.option("--count", "-n", type=click.IntRange(min=1), default=1000, show_default=True, help="Images to generate.")
@click.option("--length", default="4", show_default=True, help="Label length, fixed (4) or a range (4-6).")
@click.option("--alphabet", default="digits", show_default=True,
              help="digits, lower, upper, alnum (digits+lowercase), alnum-mixed, or literal characters.")
@click.option("--width", type=click.IntRange(min=16), default=160, show_default=True, help="Image width.")
@click.option("--height", type=click.IntRange(min=16), default=60, show_default=True, help="Image height.")
@click.option("--font", "fonts", multiple=True, type=click.Path(dir_okay=False),
              help="TTF font file (repeatable); default: the captcha library's bundled font.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Same seed, same labels and pixels.")
@click.option("--noise", default=None, help="Extra noise, e.g. salt:0.05,lines:3 (see `captcha-cli noise --help`).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option("--append", is_flag=True, help="Add to a non-empty OUT, continuing its numbering.")
@click.option("--overwrite", is_flag=True, help="Write into a non-empty OUT, replacing files of the same name.")
@scheduler_option
def generate(out, count, length, alphabet, width, height, fonts, seed, noise, jobs, append, overwrite, scheduler):
    """Generate labelled captchas into OUT as <label>_<index>.png plus labels.csv."""
    from captchakit._cluster import describe, parse_scheduler
    from captchakit.data._folders import generate_to_folder

    parse_scheduler(scheduler)  # a bad --scheduler fails before any work
    t0 = time.perf_counter()
    n, start = generate_to_folder(out, count, alphabet=alphabet, length=length, width=width,
                                  height=height, fonts=fonts, seed=seed, noise=noise, n_jobs=jobs,
                                  append=append, overwrite=overwrite,
                                  progress=progress("generating", count), scheduler=scheduler)
    dt = time.perf_counter() - t0
    where = describe(scheduler) if scheduler else f"{jobs} job(s)"
    echo(f"wrote {n} images (indices {start}-{start + n - 1}) to {out} with seed {seed} "
         f"in {dt:.1f} s ({n / dt:.0f} images/s, {where})")


# ---------------------------------------------------------------- noise
@cli.command()
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@click.argument("out", type=click.Path())
@click.option("--salt", type=float, default=None, help="Salt-and-pepper rate (0-1).")
@click.option("--gauss", type=float, default=None, help="Gaussian noise sigma (grey levels).")
@click.option("--lines", type=int, default=None, help="Number of random lines.")
@click.option("--line-width", type=int, default=None, help="Width of the random lines (pixels).")
@click.option("--dots", type=int, default=None, help="Number of random specks.")
@click.option("--blur", type=float, default=None, help="Gaussian blur sigma (pixels).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Noise seed.")
@click.option("--overwrite", is_flag=True, help="Write into a non-empty OUT.")
def noise(src, out, salt, gauss, lines, line_width, dots, blur, seed, overwrite):
    """Write noisy copies of the images in SRC to OUT (SRC is never touched)."""
    from captchakit.data._folders import noise_folder

    spec = {k: v for k, v in {"salt": salt, "gauss": gauss, "lines": lines, "line-width": line_width,
                              "dots": dots, "blur": blur}.items() if v is not None}
    if not spec:
        raise CaptchakitError("no noise chosen: give at least one of --salt, --gauss, --lines, --dots, --blur")
    n, problems = noise_folder(src, out, spec, seed=seed, overwrite=overwrite, progress=progress("noise"))
    _report_problems(problems)
    echo(f"wrote {n} noisy images to {out} (noise {spec}, seed {seed})")
    if problems:
        sys.exit(1)


# ---------------------------------------------------------------- verify
@cli.command()
@click.argument("data", type=click.Path(exists=True))
@click.option("--alphabet", default=None, help="Expected alphabet (name or characters).")
@click.option("--length", default=None, help="Expected label length (4 or 4-6).")
@click.option("--labels", "labels_file", type=click.Path(dir_okay=False), default=None,
              help="Labels file (CSV filename,label or JSON) instead of file names.")
@click.option("--pattern", default=None, help="Regex that takes the label out of a file name.")
@click.option("--split", type=float, default=None, help="Write train/test manifests with this train share, e.g. 0.8.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the split.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for the split manifests: DATA only (a labels file names images in its own folder).")
def verify(data, alphabet, length, labels_file, pattern, split, seed, out_dir):
    """Check a labelled folder: unreadable files, sizes, labels, duplicates.

    Exits non-zero when it finds problems. Files are never moved or changed.
    """
    from captchakit.data import parse_length, resolve_alphabet, verify_dataset

    alpha = resolve_alphabet(alphabet) if alphabet else None
    ln = parse_length(length) if length else None
    rep = verify_dataset(data, alpha, ln, labels_file, pattern, progress=progress("verifying"))
    echo(f"{data}: {rep['n_ok']} good image(s) of {rep['n_files']} file(s)")
    echo("image sizes: " + ", ".join(f"{k} ({v})" for k, v in rep["sizes"].items()))
    echo("label lengths: " + ", ".join(f"{k} ({v})" for k, v in rep["label_lengths"].items()))
    echo(f"characters found: {rep['characters']!r} ({len(rep['characters'])})")
    if rep["duplicates"]:
        echo(f"{len(rep['duplicates'])} group(s) of identical files:")
        for g in rep["duplicates"][:20]:
            echo("  " + " = ".join(g))
    if split is not None:
        from captchakit.jobs import write_split_manifests

        if not 0 < split < 1:
            raise CaptchakitError(f"--split must be between 0 and 1, got {split}")
        n_tr, n_te, dest = write_split_manifests(data, rep["items"], 1 - split, seed, out_dir)
        echo(f"split seed {seed}: {n_tr} train, {n_te} test -> {dest}/train.csv, test.csv")
    _report_problems(rep["problems"])
    if rep["problems"]:
        sys.exit(1)


# ---------------------------------------------------------------- preprocess
@cli.command()
@click.argument("src", type=click.Path(exists=True))
@click.argument("out", type=click.Path())
@preprocess_options
@click.option("--preview", type=click.Path(dir_okay=False), default=None,
              help="Write a contact sheet PNG: one row per sample, one column per stage.")
@click.option("--preview-count", type=int, default=8, show_default=True, help="Samples on the sheet.")
@click.option("--overwrite", is_flag=True, help="Write into a non-empty OUT.")
def preprocess(src, out, threshold, block_size, offset, median, mean_, filter_order, filter_stage,
               min_area, remove_lines, line_thickness, channel, frame, straight_lines, enlarge, flatten, config_file,
               preview, preview_count, overwrite):
    """Clean the images of SRC (file or folder) into binary images in OUT."""
    from captchakit.data._io import OutputFolder
    from captchakit.jobs import preprocess_folder
    from captchakit.report import contact_sheet

    pre, _ = _settings_from_options(config_file, _pre_kwargs(
        threshold, block_size, offset, median, mean_, filter_order, filter_stage, min_area,
        remove_lines, line_thickness, channel, frame, straight_lines, enlarge, flatten), {})
    sheet = None
    if preview:
        sheet = Path(preview)
        if sheet.suffix.lower() != ".png":
            raise CaptchakitError(f"--preview {preview}: the contact sheet is a PNG; give a name ending in .png")
        if sheet.exists() and not overwrite:
            raise CaptchakitError(f"--preview {preview}: already exists; pass --overwrite to replace it")
        src_dir = Path(src).resolve() if Path(src).is_dir() else Path(src).resolve().parent
        if src_dir == sheet.resolve().parent or src_dir in sheet.resolve().parents:
            raise CaptchakitError(f"--preview {preview}: lies inside the input folder {src}; write it elsewhere")
        sheet_folder = OutputFolder(sheet.parent, overwrite=True, append=None)
        if sheet.exists():
            sheet_folder.check(sheet.name)
    res = preprocess_folder(src, out, pre, overwrite=overwrite, preview_count=preview_count if preview else 0,
                            progress=progress("preprocessing"))
    rows, titles, names = res["preview"]
    if sheet is not None and rows:
        sheet_folder.write_image(sheet.name, contact_sheet(rows, titles, row_labels=names))
        sheet_folder.save_record()
        echo(f"preview sheet: {preview}")
    if res["measured"]:
        echo("measured on the images: " + ", ".join(f"{k} {v}" for k, v in res["measured"]["derived"].items()))
    echo(f"wrote {res['n']} binary images and preprocess.json to {out}")
    _report_problems(res["problems"])
    if res["problems"]:
        sys.exit(1)


# ---------------------------------------------------------------- segment
@cli.command()
@click.argument("src", type=click.Path(exists=True))
@click.argument("out", type=click.Path())
@functools.partial(segment_options, flag="--method")
@click.option("--n-chars", type=click.IntRange(min=1), default=None,
              help="Force this many characters (merge/split pieces); default: natural pieces.")
@preprocess_options
@click.option("--pattern", default=None, help="Regex that takes the label out of a file name.")
@click.option("--overwrite", is_flag=True, help="Write into a non-empty OUT.")
def segment(src, out, seg_method, connectivity, min_width, max_width, crop_size, n_chars,
            threshold, block_size, offset, median, mean_, filter_order, filter_stage, min_area,
            remove_lines, line_thickness, channel, frame, straight_lines, enlarge, flatten, config_file, pattern,
            overwrite):
    """Cut the captchas of SRC into characters: OUT/<char>/ crops and OUT/overlays/.

    Labels come from the file names (text before the first _). Prints the
    share of images that split naturally into as many pieces as their label
    has characters, and the speed.
    """
    from captchakit.jobs import segment_folder

    pre, seg = _settings_from_options(
        config_file,
        _pre_kwargs(threshold, block_size, offset, median, mean_, filter_order, filter_stage,
                    min_area, remove_lines, line_thickness, channel, frame, straight_lines, enlarge, flatten),
        _seg_kwargs(seg_method, connectivity, min_width, max_width, crop_size))
    res = segment_folder(src, out, pre, seg, n_chars, pattern, overwrite, progress("segmenting"))
    _report_problems(res["problems"])
    if res["n_images"]:
        echo(f"{res['n_images']} images, method {res['method']}: {res['n_natural'] / res['n_images']:.1%} split "
             f"naturally into as many pieces as their label has characters")
        echo(f"preprocess+segment: {res['images_per_s']:.0f} images/s; wrote {res['n_crops']} crops to {out}")
    if res["problems"]:
        sys.exit(1)


# ---------------------------------------------------------------- train / predict / evaluate
def _load_data(data, alphabet=None, length=None, labels_file=None, pattern=None, fold=None):
    from captchakit.data import load_labelled, parse_length, resolve_alphabet
    from captchakit.data._labels import unfold_alphabet

    alpha = unfold_alphabet(resolve_alphabet(alphabet), fold) if alphabet else None
    ln = parse_length(length) if length else None
    images, labels, paths, problems = load_labelled(data, labels_file, pattern, alpha, ln,
                                                    progress=progress("reading"))
    return images, labels, paths, problems


def _print_metrics(m, title):
    echo(title)
    echo(f"  whole-string accuracy {m['string_accuracy']:.2%}   per-character {m['char_accuracy']:.2%}   "
         f"CER {m['cer']:.4f}")
    extra = f"  {m['n_images']} images, {m.get('ms_per_image', float('nan')):.2f} ms/image"
    if "segmentation_rate" in m:
        extra += f", natural segmentation {m['segmentation_rate']:.1%}"
    echo(extra)
    if "exact" in m:
        echo(f"  labels as written (no folding): whole-string {m['exact']['string_accuracy']:.2%}, "
             f"per-character {m['exact']['char_accuracy']:.2%}")
    if "folded" in m:
        echo(f"  folded ({m['fold']}): whole-string {m['folded']['string_accuracy']:.2%}, "
             f"per-character {m['folded']['char_accuracy']:.2%}")
    if "answer_accuracy" in m:
        echo(f"  answer accuracy {m['answer_accuracy']:.2%} ({m['no_answer']} readings are not valid expressions)")


@cli.command()
@click.argument("data", required=False, type=click.Path(exists=True))
@click.option("--method", type=click.Choice(list(REGISTRY)), default="svm", show_default=True,
              help="Classic per-character SVM or KNN, or the end-to-end CNN.")
@click.option("--model", "model_path", type=click.Path(), required=True, help="Where to write the model bundle (a folder).")
@click.option("--features", type=click.Choice(["auto", "hog", "pixels", "profile", "hog+profile"]), default="auto",
              show_default=True, help="Classic: features of each character crop (auto: HOG, its cell size "
                                      "chosen on held-out training characters with the forced split; 8- and "
                                      "6-px cells together with segmentation by recognition; either way the "
                                      "crop's pixels beside it where they read those characters better).")
@click.option("--search", is_flag=True, help="Classic: cross-validate a wider grid of C/gamma or k on the training part.")
@segment_options
@preprocess_options
@click.option("--alphabet", default=None, help="Alphabet (default: the characters of the labels).")
@click.option("--length", default=None, help="Expected label length (4 or 4-6).")
@click.option("--labels", "labels_file", type=click.Path(dir_okay=False), default=None, help="Labels file (CSV/JSON).")
@click.option("--pattern", default=None, help="Regex that takes the label out of a file name.")
@click.option("--val-split", type=float, default=0.1, show_default=True, help="Share held out for validation.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the split and of training.")
@click.option("--count", type=click.IntRange(min=10), default=None,
              help="Without DATA: generated training+validation images (default 10,000).")
@cnn_options(epochs="measured from the data", image_size="measured from the data")
@front_end_options
@label_options
@click.option("--overwrite", is_flag=True, help="Replace an existing model bundle.")
def train(data, method, model_path, features, search, seg_method, connectivity, min_width, max_width, crop_size,
          threshold, block_size, offset, median, mean_, filter_order, filter_stage, min_area, remove_lines,
          line_thickness, channel, frame, straight_lines, enlarge, flatten, config_file, alphabet, length, labels_file,
          pattern, val_split, seed, count,
          epochs, batch_size, image_size, head, patience, width_pools, cnn_input, augment, noise, schedule, distribute,
          pretrain, time_limit, fresh, overwrite, front_end, segmentation, jobs, ignore_case, fold, task):
    """Train a recognizer on the labelled images of DATA and save a model bundle.

    A validation part (--val-split, seeded) is held out; its figures are
    printed and stored in the bundle.

    Without DATA it trains on a built-in generated set (python-captcha,
    --alphabet, default digits, --length, default 4, --count images, --seed);
    with --fresh the CNN draws new images of that kind every epoch.
    """
    from captchakit import make_recognizer
    from captchakit.data._io import lock
    from captchakit.data._split import train_test_split_indices
    from captchakit.evaluate import evaluate
    from captchakit.jobs import check_model_target

    mp = check_model_target(model_path, overwrite)
    pre, seg, seg_mode = _front_end(
        front_end, config_file,
        _pre_kwargs(threshold, block_size, offset, median, mean_, filter_order, filter_stage,
                    min_area, remove_lines, line_thickness, channel, frame, straight_lines, enlarge, flatten),
        _seg_kwargs(seg_method, connectivity, min_width, max_width, crop_size), segmentation)
    params = _cnn_kwargs(epochs, batch_size, image_size, head, patience, augment, noise, schedule,
                         distribute=distribute, pretrain=pretrain, time_limit=time_limit, cnn_input=cnn_input,
                         width_pools=width_pools)
    fold_spec = _fold_spec(ignore_case, fold)
    builtin = None
    if data is None:
        if labels_file or pattern:
            raise CaptchakitError("--labels and --pattern read a DATA folder; none was given")
        builtin = {"alphabet": alphabet or "digits", "length": length or "4", "count": count or 10_000}
        if fresh:
            if method != "cnn":
                raise CaptchakitError("--fresh draws new images every epoch of the CNN; use --method cnn")
            params["fresh"] = {"alphabet": builtin["alphabet"], "length": builtin["length"], "seed": seed,
                               "start": builtin["count"]}
    elif fresh or count:
        raise CaptchakitError(f"--{'fresh' if fresh else 'count'} is for the built-in generated set: "
                              "leave out DATA to use it")
    rec = make_recognizer(method, **params, preprocessor=pre, segmenter=seg, features=features, seed=seed,
                          alphabet=alphabet, segmentation=seg_mode, fold=fold_spec, task=task, n_jobs=jobs,
                          **({"front_end_search": False} if front_end != "auto" else {}))
    with lock(mp.parent / f".{mp.name}.lock", "model"):
        if builtin is None:
            images, labels, _, problems = _load_data(data, alphabet, length, labels_file, pattern, fold_spec)
        else:
            from captchakit.data import generate_captchas

            data = (f"built-in python-captcha {builtin['length']}-{builtin['alphabet']} set ({builtin['count']} "
                    f"images, seed {seed})")
            echo(f"no DATA: generating the {data}")
            images, labels = generate_captchas(builtin["count"], builtin["alphabet"], builtin["length"], seed=seed,
                                               n_jobs=2, progress=progress("generating"))
            problems = []
        _report_problems(problems)
        tr, va = train_test_split_indices(len(images), val_split, seed)
        Xtr, ytr = [images[i] for i in tr], [labels[i] for i in tr]
        Xva, yva = [images[i] for i in va], [labels[i] for i in va]
        echo(f"data {data}: {len(Xtr)} training, {len(Xva)} validation images (val-split {val_split}, seed {seed})")
        t0 = time.perf_counter()
        if search:
            from captchakit.classifiers._search import search_classifier

            best = search_classifier(rec, Xtr, ytr, seed=seed)
            echo(f"cross-validated choice on the training part: {best}")
        rec.fit(Xtr, ytr, progress=progress("segmenting"))
        echo(rec.training_note())
        for w_ in rec.warnings_:
            click.echo(f"warning: {w_}", err=True)
        train_s = time.perf_counter() - t0
        note = f"validation split of {data} ({len(Xva)} images, val-split {val_split}, seed {seed})"
        res = evaluate(rec, Xva, yva, note)
        res["metrics"]["train_seconds"] = train_s
        _print_metrics(res["metrics"], f"{method} on the {note}:")
        hint = _low_accuracy_hint(method, res["metrics"], mp, data)
        if hint:
            click.echo(hint, err=True)
        rec.save(mp, validation=res["metrics"],
                 data={"source": str(data), "n_train": len(Xtr), "n_validation": len(Xva),
                       "val_split": val_split, "seed": seed})
    echo(f"model bundle written to {mp} (trained in {train_s:.1f} s)")


#: Below this whole-string accuracy on at least ``HINT_MIN_IMAGES`` validation images, ``train`` says where to look.
HINT_BELOW = 0.5
HINT_MIN_IMAGES = 20


def _low_accuracy_hint(method, metrics, model, data):
    """What a user can do when the classic pipeline reads few validation images (``None`` otherwise)."""
    if method == "cnn" or metrics["n_images"] < HINT_MIN_IMAGES or metrics["string_accuracy"] >= HINT_BELOW:
        return None
    return (f"hint: the classic pipeline read {metrics['string_accuracy']:.1%} of the validation images. Why: "
            f"'captcha-cli evaluate {model} DATA --report DIR' on labelled images it never saw shows its error "
            "gallery by failure kind (wrong number of pieces, or a wrong character). Characters that touch or that "
            f"a line joins are often read better end to end: 'captcha-cli train {data} --method cnn'.")


def _load_model(path):
    import warnings

    from captchakit import load_model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load_model(path)
    for w_ in caught:
        click.echo(f"warning: {w_.message}", err=True)
    return model


@cli.command()
@click.argument("model_path", metavar="MODEL", type=click.Path())
@click.argument("inputs", metavar="IMAGE_OR_DIR...", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print JSON (bad files included, with their error).")
def predict(model_path, inputs, as_json):
    """Read images with a saved MODEL: one line per image (path, text, confidence).

    Images are read and recognised in batches of 64, so memory stays bounded
    whatever the number of files.
    """
    from captchakit.jobs import predict_files

    model = _load_model(model_path)
    entries = predict_files(model, inputs)
    problems = [e["error"] for e in entries if "error" in e]
    if as_json:
        click.echo(json.dumps([{"path": str(e["path"]), "error": e["error"]} if "error" in e else
                               {"path": str(e["path"]), "text": e["text"], "confidence": round(e["confidence"], 4),
                                "char_confidences": [round(c, 4) for c in e["char_confidences"]],
                                **({"answer": e["answer"], "answer_note": e["answer_note"]} if "answer" in e else {})}
                               for e in entries], indent=2, ensure_ascii=False))
    else:
        for e in entries:
            if "error" not in e:
                answer = ("\t= " + (e["answer"] if e["answer"] is not None else f"? ({e['answer_note']})")
                          if "answer" in e else "")
                echo(f"{e['path']}\t{e['text']}\t{e['confidence']:.3f}{answer}")
    _report_problems(problems)
    if problems:
        sys.exit(1)


@cli.command()
@click.argument("model_path", metavar="MODEL", type=click.Path())
@click.argument("data", type=click.Path(exists=True))
@click.option("--labels", "labels_file", type=click.Path(dir_okay=False), default=None, help="Labels file (CSV/JSON).")
@click.option("--pattern", default=None, help="Regex that takes the label out of a file name.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
              help="Write metrics.json, confusion.png and errors.png here.")
@click.option("--overwrite", is_flag=True, help="Replace a report captchakit wrote earlier in --report.")
@click.option("--ignore-case", is_flag=True, help="Also report accuracy with case folded on both sides.")
@click.option("--fold", default=None, help="Also report accuracy with these look-alike groups folded (e.g. 0O,1lI).")
def evaluate(model_path, data, labels_file, pattern, report_dir, overwrite, ignore_case, fold):
    """Score a saved MODEL on the labelled images of DATA (never seen in training)."""
    from captchakit.evaluate import evaluate as run_eval
    from captchakit.data._io import OutputFolder
    from captchakit.jobs import write_evaluation_report

    model = _load_model(model_path)
    # refuse before any work: inside an input, not empty without --overwrite, or not writable
    folder = None
    if report_dir:
        folder = OutputFolder(report_dir, overwrite=overwrite, append=None, inputs=[data, model_path])
    lo, hi = model.length_
    extra_fold = _fold_spec(ignore_case, fold)
    both = ",".join(v for v in (getattr(model, "fold", None), extra_fold) if v) or None
    images, labels, _, problems = _load_data(data, model.alphabet_, f"{lo}-{hi}", labels_file, pattern, both)
    note = f"{data} ({len(images)} images)"
    res = run_eval(model, images, labels, note, fold=extra_fold)
    _print_metrics(res["metrics"], f"{model_path} on {note}:")
    if folder is not None:
        out = write_evaluation_report(folder, model_path, res, images, labels, getattr(model, "meta_", {}))
        echo(f"report written to {out}/ (metrics.json, confusion.png, errors.png)")
    _report_problems(problems)
    if problems:
        sys.exit(1)


# ---------------------------------------------------------------- compare
DEFAULT_SET = {"count": 10000, "test": 1000, "alphabet": "digits", "length": 4}
QUICK_SET = {"count": 240, "test": 60, "alphabet": "digits", "length": 4}


@cli.command()
@click.argument("data", nargs=-1, type=click.Path(exists=True))
@click.option("--methods", default="knn,svm,cnn", show_default=True, help="Comma list of knn, svm, cnn.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default="report", show_default=True,
              help="Folder for report.html, report.md, results.json and the figures.")
@click.option("--train-sizes", default=None,
              help="Learning-curve points, e.g. 250,500,1000,2000, or none (default 500,2000 below the training "
                   "set's size; on the built-in set for KNN and SVM only, unless given).")
@click.option("--test-split", type=float, default=None,
              help="Share of DATA held out for testing (default 0.2; the built-in set uses a fixed test part).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the data, the split and training.")
@click.option("--count", type=int, default=None,
              help=f"Built-in set: training+validation images (default {DEFAULT_SET['count']}).")
@click.option("--alphabet", default=None,
              help=f"Built-in set: alphabet name or chars:... (default {DEFAULT_SET['alphabet']}).")
@click.option("--length", default=None, help=f"Built-in set: label length, 4 or 4-6 (default {DEFAULT_SET['length']}).")
@cnn_options(epochs="built-in set 10 (digits) or 30, with --fresh 30 or 60, --quick 2, your DATA measured", image_size="built-in set 40x100 (48x128 for --fresh with more than 10 characters), your DATA measured",
             batch="built-in set 64, your DATA measured", patience="built-in set 8 (4 without a time limit), your DATA measured",
             time_limit="built-in digits set 400 (a safety net: its 10 epochs take about 140 s), learning-curve "
                        "points a share of it; otherwise none")
@segment_options
@preprocess_options
@front_end_options
@label_options
@click.option("--quick", is_flag=True, help="A fast smoke run: tiny built-in set, few epochs, a small CNN with no "
              "recurrent layer and no restart.")
@click.option("--overwrite", is_flag=True, help="Write into a non-empty report folder.")
@scheduler_option
def compare(data, methods, report_dir, train_sizes, test_split, seed, count, alphabet, length, epochs, batch_size, image_size, head,
            patience, width_pools, cnn_input, augment, noise, schedule, distribute, pretrain, time_limit, fresh,
            seg_method, connectivity,
            min_width,
            max_width,
            crop_size,
            threshold, block_size, offset, median, mean_, filter_order, filter_stage, min_area, remove_lines,
            line_thickness, channel, frame, straight_lines, enlarge, flatten, config_file, quick, overwrite, front_end,
            segmentation, jobs, ignore_case, fold, task, scheduler):
    """Compare KNN, SVM and the CNN on one seeded split and write a report.

    Without DATA, a built-in seeded set is generated (python-captcha, 4
    digits), so this runs with nothing from the user. Every method trains on
    the same training images and is tested on the same held-out images.

    With several DATA folders, each gets its own report in a subfolder of
    the report folder, plus a summary table of all; with --scheduler the
    sets run side by side on a Dask cluster.
    """
    from captchakit.compare import (
        builtin_cnn_recipe, builtin_data, format_rows, parse_methods, parse_sizes, report_names, run_compare,
        split_data, write_report,
    )
    from captchakit.data._io import OutputFolder
    from captchakit.report._plots import table_md

    from captchakit._cluster import parse_scheduler

    t_start = time.perf_counter()
    meths = parse_methods(methods)
    parse_scheduler(scheduler)  # a bad --scheduler fails before any work
    data_sets = list(data)
    data = data_sets[0] if data_sets else None
    if scheduler and not data_sets:
        raise CaptchakitError("--scheduler runs a comparison of DATA folders; give one or more")
    # the built-in set keeps the demo's tested recipe (and its time budget); a user's DATA is measured
    builtin = builtin_cnn_recipe(alphabet, quick, fresh)
    cnn_params = _cnn_kwargs(epochs, batch_size, image_size, head, patience, augment, noise, schedule,
                             builtin if not data else None, distribute, pretrain, time_limit, cnn_input, width_pools)
    pre, seg, seg_mode = _front_end(
        front_end, config_file,
        _pre_kwargs(threshold, block_size, offset, median, mean_, filter_order, filter_stage,
                    min_area, remove_lines, line_thickness, channel, frame, straight_lines, enlarge, flatten),
        _seg_kwargs(seg_method, connectivity, min_width, max_width, crop_size), segmentation)
    fold_spec = _fold_spec(ignore_case, fold)  # a bad --fold fails before any work
    for name, given in (("fresh", fresh), ("count", count), ("alphabet", alphabet), ("length", length)):
        if given and data_sets:
            raise CaptchakitError(f"--{name} is for the built-in generated set: leave out DATA to use it")
    if len(data_sets) > 1 or scheduler:
        classic = {"preprocessor": pre, "segmenter": seg, "segmentation": seg_mode,
                   "front_end_search": front_end == "auto" and "auto", "fold": fold_spec, "task": task,
                   # on a cluster each set is one task on one worker: its search runs there, in that worker
                   **({} if scheduler else {"n_jobs": jobs})}
        return _compare_sets(data_sets, meths, report_dir, overwrite, train_sizes, test_split, seed, cnn_params,
                             classic, scheduler, t_start)
    folder = OutputFolder(report_dir, overwrite=overwrite, append=None, inputs=[data] if data else [])
    for name in report_names(meths):
        folder.check(name)
    out = folder.path
    if data is None:
        spec = dict(QUICK_SET if quick else DEFAULT_SET)
        if count:
            spec["count"] = count
        if alphabet:
            spec["alphabet"] = alphabet
        if length:
            spec["length"] = length
        echo(f"built-in data: python-captcha, {spec['length']} {spec['alphabet']}, "
             f"{spec['count']} training + {spec['test']} test images, seed {seed}")
        (Xtr, ytr), (Xte, yte), note = builtin_data(spec["count"], spec["test"], spec["alphabet"], spec["length"],
                                                    seed, progress)
        if fresh:
            # new images from the training seed's sequence, after the ones drawn (the test set has its own seed)
            cnn_params["fresh"] = {"alphabet": spec["alphabet"], "length": spec["length"], "seed": seed,
                                   "start": spec["count"]}
            note += "; CNN: fresh training images every epoch"
    else:
        images, labels, _, problems = _load_data(data)
        _report_problems(problems)
        if problems:
            echo(f"warning: {len(problems)} file(s) of {data} skipped (listed above); the exit code will be 1")
        (Xtr, ytr), (Xte, yte), note = split_data(images, labels, 0.2 if test_split is None else test_split,
                                                  seed, data)
    sizes = parse_sizes(train_sizes) if train_sizes else (
        [60, 120] if quick else [s for s in (500, 2000) if s < len(Xtr)])
    cnn_params["verbose"] = 1
    if quick:
        # a smoke run: a small network without the recurrent layer (tracing it doubled the run's CNN time),
        # and no restart after its two epochs at chance (the restart recipe would run two more)
        cnn_params.update(filters=(8, 16, 16, 16), rnn_units=0, restart=False)
        if not image_size:
            cnn_params.update(height=32, width=64)
        if not epochs:
            cnn_params.update(epochs=2)
    echo(f"data: {note}")
    curve_methods, curve_note = None, None
    sizes = [s for s in sizes if s < len(Xtr)]
    if data is None and not train_sizes and "cnn" in meths and len(meths) > 1 and sizes:
        # the demo's time budget: the CNN's two points would take about as long as its own training again
        curve_methods = [m for m in meths if m != "cnn"]
        curve_note = (f"Learning curves: {', '.join(curve_methods)} at {', '.join(map(str, sizes))} training images; "
                      f"the CNN's points are drawn only when asked (--train-sizes {','.join(map(str, sizes))}: "
                      "they take about as long as its own training again).")
        echo(curve_note[:1].lower() + curve_note[1:])
    result = run_compare((Xtr, ytr), (Xte, yte), meths, sizes, cnn_params, seed, out / "models", note,
                         echo=echo, progress=progress,
                         classic_params={"preprocessor": pre, "segmenter": seg, "segmentation": seg_mode,
                                         # the built-in set keeps its measured front end (the search kept it
                                         # there too, at 30 s per classic method of the demo's time budget)
                                         "front_end_search": front_end == "auto" and data is not None and "auto",
                                         "fold": fold_spec, "task": task, "n_jobs": jobs},
                         curve_methods=curve_methods)
    notes = [f"Data: {note}.", f"Seed: {seed}. Test images are never used for training, tuning or early stopping.",
             f"Classic methods: front end {front_end} (settings left 'auto' are measured on the training images; "
             f"each model's measured values are in its model.json), preprocessing {pre.to_dict()}, segmentation "
             f"{seg.to_dict()}, {seg_mode}. The CNN stops early on a validation part carved from the training images.",
             *([curve_note] if curve_note else []), f"Total wall time: {time.perf_counter() - t_start:.0f} s."]
    page = write_report(result, out, "captchakit comparison", notes, Xte, yte)
    for name in report_names(meths):
        if (out / name).exists():
            folder.mark(name)
    folder.save_record()
    rows = format_rows(result["rows"])
    echo("")
    echo(table_md(rows, list(rows[0])))
    echo(f"report: {page} (also report.md, results.json); total {time.perf_counter() - t_start:.0f} s")
    if data is not None and problems:
        sys.exit(1)


def _compare_sets(data_sets, meths, report_dir, overwrite, train_sizes, test_split, seed, cnn_params, classic,
                  scheduler, t_start):
    """compare DATA1 DATA2 ...: one report per set (a subfolder each) and a summary table."""
    from captchakit._cluster import describe
    from captchakit.compare import parse_sizes, report_names, run_sets, split_data, summary_rows, write_report
    from captchakit.data._io import OutputFolder, atomic_write, safe_name, write_json
    from captchakit.report._plots import table_md, write_html

    folder = OutputFolder(report_dir, overwrite=overwrite, append=None, inputs=data_sets)
    names, seen = [], set()
    for d in data_sets:
        base = safe_name(Path(d).resolve().name) or "data"
        name, k = base, 2
        while name in seen:
            name, k = f"{base}-{k}", k + 1
        seen.add(name)
        names.append(name if len(data_sets) > 1 else "")
    for sub in names:
        for rel in report_names(meths):
            folder.check(f"{sub}/{rel}" if sub else rel)
    for rel in ("summary.md", "summary.html", "summary.json"):
        folder.check(rel)
    sets, failed = [], 0
    for d, sub in zip(data_sets, names):
        images, labels, _, problems = _load_data(d)
        _report_problems(problems)
        failed += bool(problems)
        (Xtr, ytr), (Xte, yte), note = split_data(images, labels, 0.2 if test_split is None else test_split, seed, d)
        sizes = parse_sizes(train_sizes) if train_sizes else [s for s in (500, 2000) if s < len(Xtr)]
        sets.append((sub, (Xtr, ytr), (Xte, yte), note, sizes))
    tests = {sub: te for sub, _, te, _, _ in sets}
    notes_of = {sub: note for sub, _, _, note, _ in sets}
    echo(f"comparing {', '.join(meths)} on {len(sets)} data set(s) on {describe(scheduler)} (seed {seed})")
    done = []
    for sub, result, files in run_sets(sets, meths, cnn_params, seed, classic, scheduler, progress("data sets")):
        out = folder.path / sub if sub else folder.path
        for rel, blob in files.items():
            key = f"{sub}/models/{rel}" if sub else f"models/{rel}"
            p, _ = folder.target(key)
            p.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(p, blob)
            folder.mark(key)
        notes = [f"Data: {notes_of[sub]}.", f"Seed: {seed}. Test images are never used for training, tuning or "
                 "early stopping.", f"Run on {describe(scheduler)}."]
        write_report(result, out, f"captchakit comparison: {sub or Path(data_sets[0]).name}", notes, *tests[sub])
        for rel in report_names(meths):
            key = f"{sub}/{rel}" if sub else rel
            if (folder.path / key).exists():
                folder.mark(key)
        done.append((sub or Path(data_sets[0]).name, result))
        echo(f"[{sub or data_sets[0]}] done: " + ", ".join(
            f"{r['method']} {r['string_accuracy']:.2%}" for r in result["rows"]))
    order = {n or Path(data_sets[0]).name: i for i, n in enumerate(names)}
    done.sort(key=lambda nr: order[nr[0]])
    rows = summary_rows(done)
    cols = list(dict.fromkeys(k for r in rows for k in r))
    rows = [{c: r.get(c, "-") for c in cols} for r in rows]
    total = time.perf_counter() - t_start
    notes = [f"Seed {seed}; each set split {1 - (0.2 if test_split is None else test_split):.0%} train / test, "
             "whole-string accuracy on its held-out test part.", f"Run on {describe(scheduler)}; {total:.0f} s in all."]
    if len(data_sets) > 1:
        atomic_write(folder.path / "summary.md", "\n".join(["# captchakit: many data sets", "",
                                                           *[f"- {n}" for n in notes], "", table_md(rows, cols), ""]))
        write_html(folder.path / "summary.html", "captchakit: many data sets",
                   [("Summary", notes + [f"Per set: {n}/report.html" for n in names], (cols, rows), [])])
        write_json(folder.path / "summary.json", {"notes": notes, "rows": rows})
        for rel in ("summary.md", "summary.html", "summary.json"):
            folder.mark(rel)
    folder.save_record()
    echo("")
    echo(table_md(rows, cols))
    echo(f"reports: {folder.path}/{'<set>/' if len(data_sets) > 1 else ''}report.html"
         f"{' and summary.html' if len(data_sets) > 1 else ''}; total {total:.0f} s")
    if failed:
        sys.exit(1)


# ---------------------------------------------------------------- serve
@cli.command()
@click.argument("models", metavar="MODEL...", nargs=-1, required=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Server processes (each loads every model).")
@click.option("--max-upload-bytes", type=click.IntRange(min=1), default=8 * 1024 * 1024, show_default=True,
              help="Largest image file accepted (413 above).")
@click.option("--max-pixels", type=click.IntRange(min=1), default=4096 * 4096, show_default=True,
              help="Largest image accepted, in pixels (413 above).")
def serve(models, host, port, workers, max_upload_bytes, max_pixels):
    """Serve MODEL bundles over HTTP: POST /predict, GET /models, /health, a web page at / and the API at /docs.

    Give each model as PATH (named after its folder) or NAME=PATH.
    """
    import os

    import uvicorn

    from captchakit.serve._app import ENV_CONFIG, load_server, model_info

    server = load_server(models, max_upload_bytes, max_pixels)
    for name, rec in server.models.items():
        info = model_info(name, rec)
        acc = info["validation"].get("string_accuracy")
        echo(f"model {name}: {info['method']}, alphabet {info['alphabet']!r}, length "
             f"{'-'.join(map(str, info['length']))}, validation "
             f"{'-' if acc is None else f'{acc:.2%}'} whole-string")
    echo(f"serving on http://{host}:{port}/ (API: /docs; {workers} worker(s))")
    if workers == 1:
        uvicorn.run(server.app(), host=host, port=port, log_level="warning")
    else:
        os.environ[ENV_CONFIG] = json.dumps({"models": list(models), "max_upload_bytes": max_upload_bytes,
                                             "max_pixels": max_pixels})
        uvicorn.run("captchakit.serve._app:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="warning")


# ---------------------------------------------------------------- tune
@cli.command()
@click.argument("data", type=click.Path(exists=True))
@click.option("--method", type=click.Choice(["svm", "knn"]), default="svm", show_default=True,
              help="Classic recognizer whose accuracy is the objective.")
@click.option("--grid", "grid_file", type=click.Path(dir_okay=False), default=None,
              help="JSON or YAML grid {setting: [values]} replacing the default grid.")
@click.option("--cv", type=click.IntRange(min=2), default=3, show_default=True, help="Cross-validation folds.")
@click.option("--test-split", type=float, default=0.2, show_default=True, help="Share held out, scored once at the end.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the split and the folds.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=2, show_default=True, help="Parallel workers.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="tune", show_default=True,
              help="Folder for best.json, the PNGs and index.html.")
@click.option("--overwrite", is_flag=True, help="Write into a non-empty output folder.")
@scheduler_option
def tune(data, method, grid_file, cv, test_split, seed, jobs, out_dir, overwrite, scheduler):
    """Find the denoising settings that read DATA best, by cross-validation.

    Whole-string accuracy of the classic recognizer is cross-validated on the
    training part only; the held-out test part scores the best and the
    default settings once, at the end.
    """
    from captchakit.data._io import OutputFolder, read_config
    from captchakit.report._plots import table_md
    from captchakit.tune import DEFAULT_GRID, tune as run_tune, validate_grid, write_tune_report

    from captchakit._cluster import parse_scheduler

    parse_scheduler(scheduler)  # a bad --scheduler fails before any work
    grid = DEFAULT_GRID
    if grid_file:
        grid = read_config(grid_file)
        validate_grid(grid, source=str(grid_file))
    folder = OutputFolder(out_dir, overwrite=overwrite, append=None, inputs=[data])
    for name in ("best.json", "settings.png", "filter_sizes.png", "index.html", "tune.json"):
        folder.check(name)
    out = folder.path
    images, labels, _, problems = _load_data(data)
    _report_problems(problems)
    result = run_tune(images, labels, grid, method, cv, test_split, seed, jobs,
                      progress=progress("cross-validating"), echo=echo, scheduler=scheduler, source=data)
    table = write_tune_report(result, out, result["test_images"])
    for name in ("best.json", "settings.png", "filter_sizes.png", "index.html", "tune.json"):
        folder.mark(name)
    folder.save_record()
    echo(table_md(table, list(table[0])))
    echo(f"held-out test ({result['split']['n_test']} images, seed {seed}): default {result['test']['default']:.2%}, "
         f"tuned {result['test']['tuned']:.2%} whole-string")
    echo(f"best settings: {out}/best.json; page: {out}/index.html ({result['search_seconds']:.0f} s search)")


def main(argv=None):
    """Entry point of the ``captcha-cli`` console script."""
    cli.main(args=argv, prog_name="captcha-cli")


if __name__ == "__main__":  # pragma: no cover
    main()
