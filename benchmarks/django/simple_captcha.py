"""Write N seeded django-simple-captcha images and their labels to a folder (benchmarks/real_sets.py).

django-simple-captcha 0.7.0 with its defaults: 4 random letters shown in upper case, each turned by -35 to 35
degrees, in its bundled Vera font at 22 pt, dark green on white, two noise arcs and dots, then smoothed.  Its
image function (``captcha.views._captcha_image``) reads only the challenge text of the store object it is given,
so no database is set up.  Runs in its own environment (``benchmarks/django/requirements.txt``): its import
name, ``captcha``, is python-captcha's too.

Usage: python simple_captcha.py OUT_DIR N SEED
"""

import csv
import os
import random
import sys

import django
from django.conf import settings

settings.configure(INSTALLED_APPS=["captcha"], DATABASES={}, USE_TZ=True)
django.setup()

from captcha.helpers import random_char_challenge  # noqa: E402
from captcha.views import _captcha_image  # noqa: E402


class _Store:
    def __init__(self, challenge):
        self.challenge = challenge


def main(out, n, seed):
    os.makedirs(out, exist_ok=True)
    rows = []
    for i in range(n):
        random.seed(f"{seed}-{i}")  # the module draws with the random module
        text = random_char_challenge()[0]
        random.seed(f"{seed}-{i}-img")
        name = f"{i:05d}.png"
        with open(os.path.join(out, name), "wb") as f:
            f.write(_captcha_image(_Store(text), 1).content)
        rows.append((name, text))
    with open(os.path.join(out, "labels.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["filename", "label"])
        w.writerows(rows)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
