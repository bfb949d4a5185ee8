"""Checking a labelled folder without changing it."""

from collections import Counter, defaultdict

from captchakit._errors import ImageReadError, LabelError
from captchakit.data._alphabet import check_label
from captchakit.data._io import DEFAULT_MAX_PIXELS, file_digest, find_labelled_images, read_image


def verify_dataset(source, alphabet=None, length=None, labels_file=None, pattern=None,
                   max_pixels=DEFAULT_MAX_PIXELS, progress=None):
    """Check a labelled folder: readability, sizes, labels and duplicates.

    Returns
    -------
    dict
        ``n_files``, ``n_ok``, ``sizes`` (``"WxH"`` to count),
        ``label_lengths``, ``characters`` (found), ``problems`` (one line per
        bad file or label), ``duplicates`` (groups of identical files),
        ``items`` (the good ``(path, label)`` pairs).
    """
    items, problems = find_labelled_images(source, labels_file, pattern)
    sizes, lengths, chars = Counter(), Counter(), Counter()
    by_digest = defaultdict(list)
    good = []
    it = progress(items) if progress else items
    for path, label in it:
        try:
            img = read_image(path, max_pixels)
        except ImageReadError as exc:
            problems.append(str(exc))
            continue
        sizes[f"{img.shape[1]}x{img.shape[0]}"] += 1
        lengths[len(label)] += 1
        chars.update(label)
        by_digest[file_digest(path)].append(str(path))
        try:
            check_label(label, alphabet, length, source=path)
        except LabelError as exc:
            problems.append(str(exc))
            continue
        good.append((path, label))
    dups = [sorted(v) for v in by_digest.values() if len(v) > 1]
    return {
        "n_files": len(items),
        "n_ok": len(good),
        "sizes": dict(sizes.most_common()),
        "label_lengths": dict(sorted(lengths.items())),
        "characters": "".join(sorted(chars)),
        "problems": problems,
        "duplicates": dups,
        "items": good,
    }
