"""Folder-level jobs behind the command line: read a folder, run the library, write results.

Each job takes paths and settings objects and returns plain results; the CLI
only parses options, calls one of these and prints.  Every write goes
through :class:`captchakit.data._io.OutputFolder` (atomic, confined to the
folder, never over a user's file).
"""

import time
from pathlib import Path

from captchakit._errors import CaptchakitError
from captchakit.data._io import (
    LOCK, OutputFolder, check_separate, check_writable, label_from_name, list_images, lock, no_images, read_image,
    safe_name,
)

#: Images read and recognised at a time by predict (bounds memory) ...
BATCH = 64
#: ... and at most this many pixels (one 4000x4000 image alone fills a batch).
BATCH_PIXELS = 4_000_000


def image_files(src):
    """The image files of *src* (a file or a folder), or a one-line error when there are none."""
    src = Path(src)
    files = [src] if src.is_file() else list_images(src)
    if not files:
        raise no_images(src)
    return files


def resolve_on_folder(preprocessor, files, n=100):
    """Measure the ``"auto"`` settings on (up to *n* of) the readable images among *files*.

    Returns ``(resolved Preprocessor, measurements or None)``.
    """
    if preprocessor.is_resolved:
        return preprocessor, None
    sample = []
    for f in files[: 3 * n]:
        try:
            sample.append(read_image(f))
        except CaptchakitError:
            continue
        if len(sample) >= n:
            break
    if not sample:
        return preprocessor, None
    return preprocessor.resolve(sample)


def preprocess_folder(src, out, preprocessor, overwrite=False, preview_count=0, progress=None):
    """Clean every image of *src* into a binary image in *out*, plus ``preprocess.json``.

    Returns
    -------
    dict
        ``n`` (images written), ``problems`` (one line per bad file) and
        ``preview`` (up to *preview_count* rows of stages, titles and names
        for a contact sheet).
    """
    files = image_files(src)
    folder = OutputFolder(out, overwrite=overwrite, append=None, inputs=[src])
    preprocessor, measured = resolve_on_folder(preprocessor, files)
    root = Path(src) if Path(src).is_dir() else Path(src).parent
    problems, rows, titles, names, n = [], [], None, [], 0
    with lock(folder.path / LOCK):
        try:
            for f in (progress(files) if progress else files):
                try:
                    img = read_image(f)
                except CaptchakitError as exc:
                    problems.append(str(exc))
                    continue
                stages = preprocessor.stages(img)
                folder.write_image(f.relative_to(root).with_suffix(".png").as_posix(), stages[-1][1])
                n += 1
                if len(rows) < preview_count:
                    rows.append([a for _, a in stages])
                    names.append(f.name)
                    if titles is None or len(stages) > len(titles):
                        titles = [t for t, _ in stages]
            folder.write_json("preprocess.json", {"preprocess": preprocessor.to_dict(), "measured": measured})
        finally:
            folder.save_record()
    return {"n": n, "problems": problems, "preview": (rows, titles, names), "preprocess": preprocessor.to_dict(),
            "measured": measured}


def segment_folder(src, out, preprocessor, segmenter, n_chars=None, pattern=None, overwrite=False,
                   progress=None):
    """Cut the captchas of *src* into crops ``out/<char>/`` and overlays ``out/overlays/``.

    Labels come from the file names.  Returns ``n_images``, ``n_natural``
    (images that fell into as many pieces as their label has characters),
    ``n_crops``, ``images_per_s`` and ``problems``.
    """
    from captchakit.preprocess import enlarge
    from captchakit.report import draw_boxes

    files = image_files(src)
    folder = OutputFolder(out, overwrite=overwrite, append=None, inputs=[src])
    preprocessor, measured = resolve_on_folder(preprocessor, files)
    if measured:
        segmenter = segmenter.resolve(measured["stroke_width"])
    problems, natural, total, n_crops, busy = [], 0, 0, 0, 0.0
    with lock(folder.path / LOCK):
        try:
            for f in (progress(files) if progress else files):
                try:
                    img = read_image(f)
                    label = label_from_name(f, pattern)
                except CaptchakitError as exc:
                    problems.append(str(exc))
                    continue
                t0 = time.perf_counter()
                result = segmenter.segment(preprocessor.transform_one(img), n_chars)
                busy += time.perf_counter() - t0
                total += 1
                natural += result.n_natural == len(label)
                # boxes count pixels of the preprocessed image, which may be enlarged
                shown = enlarge(img, int(preprocessor.enlarge)) if preprocessor.enlarge != 1 else img
                folder.write_image(f"overlays/{safe_name(f.stem)}.png", draw_boxes(shown, result.boxes))
                if len(result) == len(label):
                    for i, (ch, crop) in enumerate(zip(label, result.crops)):
                        folder.write_image(f"{safe_name(ch)}/{safe_name(f.stem)}_{i}.png", 1.0 - crop)
                        n_crops += 1
        finally:
            folder.save_record()
    return {"n_images": total, "n_natural": natural, "n_crops": n_crops,
            "images_per_s": total / max(busy, 1e-9), "problems": problems, "method": segmenter.method}


def write_split_manifests(data, items, test_share, seed, out_dir=None):
    """Write seeded ``train.csv`` / ``test.csv`` manifests of *items* ``(path, label)``.

    The manifests go into the data folder (*out_dir*, when given, must be
    that folder: a labels file may only name images in its own folder, so a
    manifest elsewhere could not be read back) and never replace an
    existing file.  Paths are relative to the data folder.
    """
    from captchakit.data._io import write_manifest
    from captchakit.data._split import train_test_split_indices

    tr, te = train_test_split_indices(len(items), test_share, seed)
    root = Path(data) if Path(data).is_dir() else Path(data).parent
    dest = Path(out_dir) if out_dir else root
    if dest.exists() and not dest.is_dir():
        raise CaptchakitError(f"{dest}: exists and is a file, not a folder")
    if dest.resolve() != root.resolve():
        raise CaptchakitError(f"--out {dest}: split manifests must sit in the data folder {root} (a labels file "
                              f"may only name images in its own folder); leave out --out")
    for name in ("train.csv", "test.csv"):
        if (dest / name).exists():
            raise CaptchakitError(f"{dest / name}: already exists; choose another --out folder")
    for name, idx in (("train.csv", tr), ("test.csv", te)):
        rows = [(Path(items[i][0]).resolve().relative_to(root.resolve()).as_posix(), items[i][1]) for i in idx]
        write_manifest(dest / name, rows)
    return len(tr), len(te), dest


def predict_files(model, inputs, progress=None):
    """Read the images named by *inputs* (files or folders) with *model*, in bounded batches.

    Returns
    -------
    list of dict
        One entry per file, in order: ``path`` and either the reading
        (``text``, ``confidence``, ``char_confidences``) or ``error``.
    """
    entries = []
    for i in inputs:
        p = Path(i)
        if p.is_dir():
            try:
                entries.extend({"path": f} for f in image_files(p))
            except CaptchakitError as exc:  # a folder with no image
                entries.append({"path": p, "error": str(exc)})
        elif p.exists():
            entries.append({"path": p})
        else:
            entries.append({"path": p, "error": f"{p}: no such file or folder"})
    todo = [e for e in entries if "error" not in e]
    batch, images, pixels = [], [], 0

    def flush():
        for e, d in zip(batch, model.predict_details(images) if images else []):
            e.update(text=d["text"], confidence=d["confidence"], char_confidences=d["char_confidences"])
            if "answer" in d["extra"]:
                e.update(answer=d["extra"]["answer"], answer_note=d["extra"]["answer_note"])
        batch.clear()
        images.clear()

    for e in (progress(todo) if progress else todo):
        try:
            im = read_image(e["path"], shrink_to=model.input_shape)
        except CaptchakitError as exc:
            e["error"] = str(exc)
            continue
        batch.append(e)
        images.append(im)
        pixels += im.shape[0] * im.shape[1]
        if len(images) >= BATCH or pixels >= BATCH_PIXELS:
            flush()
            pixels = 0
    flush()
    return entries


def write_evaluation_report(folder, model_path, result, images, labels, model_meta=None):
    """``metrics.json``, ``confusion.png`` and ``errors.png`` in *folder* (an :class:`OutputFolder`, made
    before the reading so that a folder that cannot take them is refused before any work)."""
    from captchakit.report import save_confusion, save_error_gallery

    try:
        folder.write_json("metrics.json", {"model": str(model_path), **result["metrics"],
                                           "model_data": (model_meta or {}).get("data")})
        p, key = folder.target("confusion.png")
        save_confusion(p, result["confusion"], result["alphabet"])
        folder.mark(key)
        p, key = folder.target("errors.png")
        save_error_gallery(p, images, labels, result["predictions"])
        folder.mark(key)
    finally:
        folder.save_record()
    return folder.path


def check_model_target(path, overwrite):
    """Check before any training that a bundle can be written at *path*."""
    from captchakit._bundle import check_replaceable

    path = Path(path)
    if path.exists() and not overwrite:
        raise CaptchakitError(f"{path}: already exists; pass --overwrite to replace it")
    check_replaceable(path)
    check_writable(path)
    return path

