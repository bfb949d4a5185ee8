"""Folder-level jobs: generated and noisy datasets written to disk."""

import re
from pathlib import Path

from captchakit._errors import CaptchakitError
from captchakit.data._generate import CHUNK, check_count, prepare_generation, render_captchas, run_chunks
from captchakit.data._io import (
    LOCK, OutputFolder, atomic_write, encode_image, find_labelled_images, lock, read_image, read_labels_file, safe_name,
)
from captchakit.data._noise import apply_noise, parse_noise


def _render_png(labels, seeds, width, height, fonts, noise):
    """PNG bytes of one chunk (run in a worker process or on a Dask worker: it touches no file)."""
    return [encode_image(im, ".png") for im in render_captchas(labels, seeds, width, height, fonts, noise)]


_INDEX = re.compile(r"_(\d+)\.png$")


def _next_index(folder):
    """One past the highest index among the folder's generated images (listed or not)."""
    top = -1
    for p in folder.path.glob("*.png"):
        m = _INDEX.search(p.name)
        if m:
            top = max(top, int(m.group(1)))
    return top + 1


def generate_to_folder(out, count, alphabet="digits", length=4, width=160, height=60, fonts=None,
                       seed=0, noise=None, n_jobs=1, append=False, overwrite=False, progress=None, scheduler=None):
    """Generate *count* captchas into *out* as ``<label>_<index>.png`` plus ``labels.csv``.

    Chunks of images are rendered (and encoded) by *n_jobs* processes, or on
    a Dask cluster with *scheduler* (see
    :func:`captchakit._cluster.parallel_runner`); this process writes them,
    so the bytes are the same wherever they were drawn.

    The folder stays consistent if the run is interrupted: every image is
    written under a temporary name and renamed, and ``labels.csv`` is
    rewritten (atomically) after every chunk.  With *append*, numbering and
    the seeded sequence continue after the highest index already there.  A
    lock file makes a second concurrent writer refuse.  With *overwrite*,
    only files that captchakit wrote are replaced, and its own images that
    this run does not rewrite are removed.  Returns ``(n_written, first_index)``.
    """
    # check every option before OUT is created
    check_count(count)
    prepare_generation(0, alphabet, length, width, height, fonts, seed, noise)
    folder = OutputFolder(out, overwrite=overwrite, append=append)
    with lock(folder.path / LOCK):
        start = _next_index(folder) if append else 0
        labels, seeds, fonts, noise = prepare_generation(count, alphabet, length, width, height, fonts, seed,
                                                         noise, start)
        names = [f"{safe_name(lab)}_{start + i}.png" for i, lab in enumerate(labels)]
        for name in names:
            folder.check(name)
        for name in ("labels.csv",):
            folder.check(name)
        chunks = [(labels[i:i + CHUNK], seeds[i:i + CHUNK], width, height, fonts, noise)
                  for i in range(0, count, CHUNK)]
        old_rows = []
        if append and (folder.path / "labels.csv").is_file():
            old_rows = list(read_labels_file(folder.path / "labels.csv").items())
        rows = []
        try:
            for k, pngs in enumerate(run_chunks(_render_png, chunks, n_jobs, progress, count, scheduler)):
                for j, data in enumerate(pngs):
                    i = k * CHUNK + j
                    atomic_write(folder.path / names[i], data)
                    folder.mark(names[i])
                    rows.append((names[i], labels[i]))
                folder.write_manifest("labels.csv", old_rows + rows)
        finally:
            # interrupted between a chunk's images and its manifest update: list every complete image
            # (each was written atomically), so labels.csv and the folder agree
            done = [(n, lab) for n, lab in zip(names, labels) if (folder.path / n).is_file()]
            if len(done) != len(rows):
                rows = done
                for name, _ in done:
                    folder.mark(name)
                folder.write_manifest("labels.csv", old_rows + rows)
            folder.save_record(drop_stale=overwrite and len(rows) == count)
    return len(rows), start


def noise_folder(src, out, noise, seed=0, overwrite=False, progress=None):
    """Write noisy copies of a labelled folder; the originals are not touched.

    Returns ``(n_written, problems)``.
    """
    noise = parse_noise(noise)
    if not noise:
        raise CaptchakitError("no noise model given")
    src = Path(src)
    folder = OutputFolder(out, overwrite=overwrite, append=None, inputs=[src])
    items, problems = find_labelled_images(src)
    rows = []
    it = progress(items) if progress else items
    with lock(folder.path / LOCK):
        try:
            for i, (path, label) in enumerate(it):
                try:
                    img = read_image(path)
                except CaptchakitError as exc:
                    problems.append(str(exc))
                    continue
                rel = Path(path).relative_to(src).with_suffix(".png")
                folder.write_image(rel.as_posix(), apply_noise(img, noise, seed=seed * 1_000_003 + i))
                rows.append((rel.as_posix(), label))
            folder.write_manifest("labels.csv", rows)
        finally:
            folder.save_record()
    return len(rows), problems
