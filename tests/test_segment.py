import numpy as np
import pytest

from captchakit import CaptchakitError
from captchakit.segment import Segmenter, best_cuts, crop_to_square

from conftest import blob_image


def test_blank_image_gives_no_pieces():
    for method in ("components", "projection"):
        s = Segmenter(method=method).segment(np.zeros((30, 80), bool), n_chars=4)
        assert len(s) == 0 and s.crops.shape == (0, 32, 32)


def test_one_character():
    b = blob_image([(5, 25, 10, 20)])
    s = Segmenter().segment(b)
    assert len(s) == 1 and s.n_natural == 1
    assert tuple(s.boxes[0]) == (10, 5, 20, 25)


def test_all_ink_image_split_when_count_known():
    b = np.ones((30, 80), bool)
    s = Segmenter().segment(b, n_chars=4)
    assert len(s) == 4 and s.n_natural == 1


def test_touching_characters_split_at_projection_minimum():
    # two blobs joined by a thin bridge at column 33 (not the middle 30)
    b = blob_image([(5, 35, 10, 33), (5, 35, 34, 50), (18, 20, 33, 34)])
    s = Segmenter().segment(b, n_chars=2)
    assert len(s) == 2
    assert s.boxes[0][2] == 33


def test_more_blobs_than_expected_are_merged():
    b = blob_image([(5, 30, 5, 12), (5, 30, 20, 27), (5, 30, 35, 42), (5, 30, 50, 57)])
    s = Segmenter().segment(b, n_chars=3)
    assert len(s) == 3 and s.n_natural == 4


def test_fragments_merged_dot_of_i():
    b = blob_image([(2, 5, 10, 14), (8, 30, 10, 14), (5, 30, 30, 40)])
    s = Segmenter(min_area=5).segment(b)
    assert len(s) == 2


def test_flat_fragments_dropped():
    b = blob_image([(5, 30, 5, 15), (15, 17, 20, 40), (5, 30, 45, 55)])
    assert len(Segmenter().segment(b)) == 2


def test_a_short_character_comes_back_when_dropping_it_leaves_too_few():
    # two tall characters, an x-height one a third as tall beside them, and a flat dash: with the count
    # known (3), the short character is a character, not noise; the dash stays out; without the count
    # both are dropped as before
    b = blob_image([(2, 32, 5, 15), (22, 32, 20, 28), (2, 32, 35, 45), (15, 17, 52, 72)])
    s = Segmenter().segment(b, n_chars=3)
    assert [tuple(box[[0, 2]]) for box in s.boxes] == [(5, 15), (20, 28), (35, 45)] and s.n_natural == 2
    assert len(Segmenter().segment(b)) == 2
    off = Segmenter().segment(b, n_chars=3, restore_short=False)  # the recognition lattice's training splits
    assert len(off) == 3 and (20, 28) not in [tuple(box[[0, 2]]) for box in off.boxes]
    # a sliver (narrower than half the kept pieces) is noise: a kept piece is split instead
    b = blob_image([(2, 32, 5, 15), (22, 32, 20, 23), (2, 32, 35, 45)])
    s = Segmenter().segment(b, n_chars=3)
    assert len(s) == 3 and (20, 23) not in [tuple(box[[0, 2]]) for box in s.boxes]


def test_projection_method_widths():
    b = blob_image([(5, 30, 5, 15), (5, 30, 20, 60)])
    assert len(Segmenter(method="projection").segment(b)) == 2
    assert len(Segmenter(method="projection", max_width=20).segment(b)) == 3
    b2 = blob_image([(5, 30, 5, 15), (5, 30, 17, 18), (5, 30, 25, 35)])
    assert len(Segmenter(method="projection", min_width=3, min_area=1).segment(b2)) == 2


def test_crop_keeps_aspect_and_centres():
    c = crop_to_square(np.ones((20, 5), bool), 20, margin=0)
    cols = np.flatnonzero(c.max(axis=0) > 0.5)
    assert c.shape == (20, 20) and 7 <= cols[0] <= 8 and 11 <= cols[-1] <= 12


def test_best_cuts_prefers_valley():
    prof = np.array([9, 9, 9, 9, 9, 9, 2, 9, 9, 9])
    assert best_cuts(prof, 2) == [6]


def test_segmenter_validation():
    with pytest.raises(CaptchakitError, match="segmentation method"):
        Segmenter(method="magic").segment(np.zeros((5, 5), bool))
    with pytest.raises(CaptchakitError, match="unknown segmentation setting"):
        Segmenter.from_dict({"nope": 1})
