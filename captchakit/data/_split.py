"""Seeded train/test splits."""

import numpy as np

from captchakit._errors import CaptchakitError


def train_test_split_indices(n, test_size=0.2, seed=0):
    """Split ``range(n)`` into seeded, disjoint train and test index arrays.

    Parameters
    ----------
    n : int
    test_size : float or int
        Share (0-1) or number of test items.
    seed : int

    Examples
    --------
    >>> tr, te = train_test_split_indices(10, 0.2, seed=0)
    >>> len(tr), len(te), len(set(tr) & set(te))
    (8, 2, 0)
    """
    if isinstance(test_size, float) and not 0 < test_size < 1:
        raise CaptchakitError(f"test/validation share must be between 0 and 1, got {test_size}")
    n_test = int(round(n * test_size)) if isinstance(test_size, float) else int(test_size)
    if n_test < 1 or n_test >= n:
        raise CaptchakitError(
            f"cannot split {n} images into train and test with test_size={test_size}"
        )
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])
