"""Matplotlib figures written as PNG (Agg backend, no screen needed)."""

import functools
import html
from pathlib import Path

import numpy as np

from captchakit.data._io import atomic_write


def _save(fig, path, dpi):
    """Render a figure to PNG bytes and write them atomically."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, dpi=dpi, format="png")
    atomic_write(path, buf.getvalue())


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


#: Where fonts are looked for besides matplotlib's own list (Debian's CJK font packages).
_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts"))


def _font_files():
    from matplotlib import font_manager

    files = {f.fname for f in font_manager.fontManager.ttflist}
    for d in _FONT_DIRS:
        if Path(d).is_dir():
            files.update(str(p) for p in Path(d).rglob("*") if p.suffix.lower() in (".ttf", ".ttc", ".otf"))
    # LastResort maps every code point to a placeholder box: it draws nothing
    return sorted(f for f in files if "lastresort" not in Path(f).name.lower())


@functools.lru_cache(maxsize=None)
def _charmap(fname):
    """The code points a font file draws (cached per process)."""
    from matplotlib.ft2font import FT2Font

    try:
        return frozenset(FT2Font(fname).get_charmap())
    except Exception:  # noqa: BLE001 - an unreadable font file covers nothing
        return frozenset()


def glyph_font(chars):
    """A font that draws every character of *chars*, for figure labels (CJK alphabets).

    Returns
    -------
    font : matplotlib FontProperties or None
        None when matplotlib's default font draws them all, or no font does.
    missing : str
        Characters no font on this machine draws ('' when all are covered).
    """
    from matplotlib import font_manager

    need = {ord(c) for c in set(str(chars)) if not c.isspace()}
    default = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    if need <= _charmap(default):
        return None, ""
    best, best_cov = _best_font_file(need)
    missing = "".join(sorted(chr(c) for c in need - (_charmap(best) if best else frozenset())))
    if best is None or best_cov <= len(need & _charmap(default)):
        return None, "".join(sorted(chr(c) for c in need - _charmap(default)))
    return font_manager.FontProperties(fname=best), missing


def _best_font_file(need):
    """The font file on this machine that draws the most of the code points *need*, and how many."""
    best, best_cov = None, -1
    for f in _font_files():
        cov = len(need & _charmap(f))
        if cov > best_cov:
            best, best_cov = f, cov
            if cov == len(need):
                break
    return best, best_cov


def font_file_covering(chars, default=None):
    """A font file that draws every character of *chars*: *default* when it does, else one found here.

    Returns
    -------
    path : str or None
        None when *default* (or, without one, no font file) covers them.
    missing : str
        Characters the returned font (or *default*) does not draw.
    """
    need = {ord(c) for c in set(str(chars)) if not c.isspace()}
    if default is not None and need <= _charmap(str(default)):
        return None, ""
    best, _ = _best_font_file(need)
    if best is None:
        return None, "".join(sorted(chr(c) for c in need))
    return best, "".join(sorted(chr(c) for c in need - _charmap(best)))


def _warn_missing(missing, path):
    if missing:
        import warnings

        warnings.warn(f"{Path(path).name}: no font on this machine draws {missing[:20]!r}"
                      f"{'...' if len(missing) > 20 else ''}; they show as boxes (install a CJK font, e.g. "
                      "Debian's fonts-wqy-microhei or fonts-noto-cjk)", stacklevel=3)


def save_confusion(path, matrix, alphabet, title="Per-character confusion"):
    """Confusion matrix heat map (rows true, columns predicted; last = missing).

    Characters the default font cannot draw (e.g. CJK) use a font found on the
    machine that can (:func:`glyph_font`); a warning names those none can draw.
    """
    plt = _plt()
    font, missing = glyph_font(alphabet + "∅")
    _warn_missing(missing, path)
    labels = list(alphabet) + ["∅"]
    m = np.asarray(matrix, float)
    k = len(labels)
    fig, ax = plt.subplots(figsize=(max(4, 0.32 * k + 2), max(3.5, 0.32 * k + 1.5)))
    norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), labels, fontsize=7, fontproperties=font)
    ax.set_yticks(range(k), labels, fontsize=7, fontproperties=font)
    if font is not None:
        for t in ax.get_xticklabels() + ax.get_yticklabels():
            t.set_fontsize(7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    if k <= 20:
        for i in range(k):
            for j in range(k):
                if m[i, j]:
                    ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=6,
                            color="white" if norm[i, j] > 0.5 else "black")
    fig.tight_layout()
    _save(fig, path, 110)
    plt.close(fig)
    return Path(path)


def save_error_gallery(path, images, truths, preds, max_items=24, title="Errors"):
    """A grid of wrong predictions with truth and prediction under each."""
    from captchakit.metrics import failure_counts, failure_kind

    plt = _plt()
    font, missing = glyph_font("".join(map(str, truths)) + "".join(map(str, preds)) + "∅")
    _warn_missing(missing, path)
    # grouped by why they failed: wrong number of characters first (segmentation), then wrong characters
    wrong = [(im, t, p) for im, t, p in zip(images, truths, preds) if t != p]
    items = ([w for w in wrong if failure_kind(w[1], w[2]) == "length"][: max_items // 2]
             + [w for w in wrong if failure_kind(w[1], w[2]) == "chars"])[:max_items]
    counts = failure_counts(truths, preds)
    title = (f"{title} - {counts['length']} with the wrong number of characters (segmentation), "
             f"{counts['chars']} with a wrong character")
    cols = 4
    rows = max(1, int(np.ceil(len(items) / cols)))
    # two lines of title per image: on one, long labels (6-8 characters) ran into the next image's title
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 2.4, rows * 1.45), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (im, t, p) in zip(axes.ravel(), items):
        ax.imshow(im, cmap="gray")
        kind = "pieces" if failure_kind(t, p) == "length" else "char"
        ax.set_title(f"[{kind}] true {t}\nread {p or '∅'}", fontsize=7, fontproperties=font,
                     color="darkred" if kind == "pieces" else "darkblue")
    if not items:
        axes[0, 0].text(0, 0.5, "no errors", fontsize=10)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    _save(fig, path, 100)
    plt.close(fig)
    return Path(path)


def save_bars(path, names, values, ylabel="whole-string accuracy", title=""):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 2, 3))
    bars = ax.bar(names, values, color=["#4c72b0", "#dd8452", "#55a868", "#c44e52"][:len(names)])
    for b, v in zip(bars, values):
        ax.text(b.get_x() + b.get_width() / 2, v, f"{v:.1%}", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    _save(fig, path, 110)
    plt.close(fig)
    return Path(path)


def save_lines(path, series, xlabel, ylabel, title="", logx=False):
    """Line plot of ``{name: (xs, ys)}``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for name, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o", label=name)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path, 110)
    plt.close(fig)
    return Path(path)


def table_md(rows, columns):
    """A Markdown table from a list of dicts."""
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    return head + "".join("| " + " | ".join(str(r.get(c, "")) for c in columns) + " |\n" for r in rows)


def write_html(path, title, sections):
    """A self-contained HTML page from ``[(heading, text_or_table_rows, images)]``.

    Each section is ``(heading, paragraphs, table, images)`` where *table* is
    ``(columns, rows)`` or None and *images* file names relative to the page.
    """
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
             "img{max-width:100%;border:1px solid #eee;margin:4px}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    for heading, paras, table, images in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        for p in paras or []:
            parts.append(f"<p>{html.escape(p)}</p>")
        if table:
            cols, rows = table
            parts.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cols) + "</tr>")
            for r in rows:
                parts.append("<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in cols) + "</tr>")
            parts.append("</table>")
        for im in images or []:
            parts.append(f"<div><img src='{html.escape(im)}' alt='{html.escape(im)}'></div>")
    parts.append("</body></html>")
    atomic_write(path, "\n".join(parts))
    return Path(path)
