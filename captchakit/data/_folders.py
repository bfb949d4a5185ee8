"""Folder-level jobs: generated and noisy datasets written to disk."""

import csv
from pathlib import Path

from captchakit._errors import CaptchakitError
from captchakit.data._generate import CHUNK, prepare_generation, render_captchas, run_chunks
from captchakit.data._io import (
    find_labelled_images, prepare_output_dir, read_image, safe_name, write_image, write_manifest,
)
from captchakit.data._noise import apply_noise, parse_noise


def _render_and_write(out, labels, seeds, indices, width, height, fonts, noise):
    images = render_captchas(labels, seeds, width, height, fonts, noise)
    rows = []
    for im, label, i in zip(images, labels, indices):
        name = f"{safe_name(label)}_{i}.png"
        write_image(Path(out) / name, im)
        rows.append((name, label))
    return rows


def _next_index(out):
    manifest = Path(out) / "labels.csv"
    if not manifest.is_file():
        return 0
    with open(manifest, newline="", encoding="utf-8") as f:
        return max(sum(1 for _ in csv.reader(f)) - 1, 0)


def generate_to_folder(out, count, alphabet="digits", length=4, width=160, height=60, fonts=None,
                       seed=0, noise=None, n_jobs=1, append=False, overwrite=False, progress=None):
    """Generate *count* captchas into *out* as ``<label>_<index>.png`` plus ``labels.csv``.

    With *append*, numbering continues after the existing manifest (and the
    seeded sequence continues with it).  Returns ``(n_written, first_index)``.
    """
    # check every option before OUT is created
    prepare_generation(0, alphabet, length, width, height, fonts, seed, noise)
    out = prepare_output_dir(out, overwrite=overwrite, append=append)
    start = _next_index(out) if append else 0
    labels, seeds, fonts, noise = prepare_generation(count, alphabet, length, width, height, fonts, seed,
                                                     noise, start)
    chunks = [(out, labels[i:i + CHUNK], seeds[i:i + CHUNK], range(start + i, start + i + CHUNK),
               width, height, fonts, noise) for i in range(0, count, CHUNK)]
    rows = []
    for r in run_chunks(_render_and_write, chunks, n_jobs, progress, count):
        rows.extend(r)
    write_manifest(out / "labels.csv", rows, append=append)
    return len(rows), start


def noise_folder(src, out, noise, seed=0, overwrite=False, progress=None):
    """Write noisy copies of a labelled folder; the originals are not touched.

    Returns ``(n_written, problems)``.
    """
    noise = parse_noise(noise)
    if not noise:
        raise CaptchakitError("no noise model given")
    src, out = Path(src), Path(out)
    if out.resolve() == src.resolve():
        raise CaptchakitError(f"{out}: OUT must differ from the input folder (originals are never overwritten)")
    items, problems = find_labelled_images(src)
    out = prepare_output_dir(out, overwrite=overwrite)
    rows = []
    it = progress(items) if progress else items
    for i, (path, label) in enumerate(it):
        try:
            img = read_image(path)
        except CaptchakitError as exc:
            problems.append(str(exc))
            continue
        rel = Path(path).relative_to(src).with_suffix(".png")
        write_image(out / rel, apply_noise(img, noise, seed=seed * 1_000_003 + i))
        rows.append((rel.as_posix(), label))
    write_manifest(out / "labels.csv", rows)
    return len(rows), problems
