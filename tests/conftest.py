import os
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one pytest-xdist worker per core (make test): each worker's BLAS and OpenMP in one thread, set before numpy
    # loads them. Two threads per worker on two cores spun against each other: the suite took 11 min 47 s, and
    # 4 min 45 s in one thread each (docs/measurements.md, footnote 55). Subprocesses inherit it.
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "captcha_images_v2"


@pytest.fixture(scope="session")
def small_set():
    from captchakit.data import generate_captchas

    return generate_captchas(120, seed=3)


@pytest.fixture(scope="session")
def trained_knn(small_set):
    from captchakit.classifiers import SegmentingRecognizer

    X, y = small_set
    return SegmentingRecognizer(classifier="knn").fit(X[:100], y[:100])


@pytest.fixture
def gen_dir(tmp_path):
    from captchakit.data import generate_to_folder

    d = tmp_path / "gen"
    generate_to_folder(d, 12, seed=1)
    return d


def blob_image(boxes, shape=(40, 100)):
    """A binary image with filled rectangles (y0, y1, x0, x1)."""
    b = np.zeros(shape, bool)
    for y0, y1, x0, x1 in boxes:
        b[y0:y1, x0:x1] = True
    return b
