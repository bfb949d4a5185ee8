"""Helpers shared by the benchmark scripts (not part of the package)."""

import os
import platform
from pathlib import Path

SHARED_V2 = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "captcha_images_v2"


def machine():
    """One line describing this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def table(rows, columns):
    """A Markdown table string."""
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    fmt = "| " + " | ".join(f"{{:<{w}}}" for w in widths) + " |"
    lines = [fmt.format(*columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt.format(*(str(r.get(c, "")) for c in columns)) for r in rows]
    return "\n".join(lines)


def load_v2():
    """The shared real captchas, or None when absent."""
    if not SHARED_V2.is_dir():
        return None
    from captchakit.data import load_labelled

    images, labels, _, problems = load_labelled(SHARED_V2)
    return images, labels
