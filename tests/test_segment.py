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


def _crop_by_any(mask, size):
    """crop_to_square as first written (the bounding box from any() and flatnonzero): the reference."""
    import cv2

    mask = np.asarray(mask, bool)
    out = np.zeros((size, size), np.float32)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return out
    m = mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(np.float32)
    h, w = m.shape
    scale = (size - 4) / max(h, w)
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    r = cv2.resize(m, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    out[(size - nh) // 2:(size - nh) // 2 + nh, (size - nw) // 2:(size - nw) // 2 + nw] = r
    return out


def test_crop_bounding_box_is_the_inks_on_any_mask():
    """The crop finds the ink's box with OpenCV (faster); on every kind of mask it crops as the reference."""
    rng = np.random.default_rng(0)
    masks = [np.zeros((0, 5), bool), np.zeros((7, 0), bool), np.zeros((9, 9), bool), np.eye(1, dtype=bool)]
    for _ in range(200):
        m = np.zeros(tuple(rng.integers(1, 60, 2)), bool)
        y0, x0 = rng.integers(0, m.shape[0]), rng.integers(0, m.shape[1])
        m[y0:y0 + rng.integers(1, 30), x0:x0 + rng.integers(1, 30)] = rng.random() < 0.5
        m |= rng.random(m.shape) < rng.choice([0, 0.01, 0.2])
        masks += [m, m[:, ::2], m.T, np.asfortranarray(m)]  # also views that are not C-contiguous
    for m in masks:
        for size in (16, 32):
            assert np.array_equal(crop_to_square(m, size), _crop_by_any(m, size)), m.shape


def test_best_cuts_prefers_valley():
    prof = np.array([9, 9, 9, 9, 9, 9, 2, 9, 9, 9])
    assert best_cuts(prof, 2) == [6]


def test_segmenter_validation():
    with pytest.raises(CaptchakitError, match="segmentation method"):
        Segmenter(method="magic").segment(np.zeros((5, 5), bool))
    with pytest.raises(CaptchakitError, match="unknown segmentation setting"):
        Segmenter.from_dict({"nope": 1})


def test_without_crops_the_same_pieces_are_measured():
    # segmentation by recognition reads only the pieces' columns: crops=False measures the same ones
    rng = np.random.default_rng(4)
    for k in range(40):
        b = rng.random((30, 90)) < 0.08
        for x0 in rng.integers(0, 80, 4):
            b[rng.integers(2, 10):rng.integers(20, 29), x0:x0 + rng.integers(3, 10)] = True
        for method in ("components", "projection"):
            for n in (None, 3, 5):
                seg = Segmenter(method=method).segment(b, n)
                cols = Segmenter(method=method).segment(b, n, crops=False)
                assert len(cols) == len(seg) and cols.n_natural == seg.n_natural
                assert np.array_equal(cols.boxes[:, [0, 2]], seg.boxes[:, [0, 2]])
                assert (cols.boxes[:, 1] == 0).all() and (cols.boxes[:, 3] == 30).all()
                assert cols.crops.shape == (len(seg), 0, 0)


def test_central_ink_cuts_a_mask_as_it_cuts_the_same_ink_in_float32():
    """A uint8 mask's counts are totalled in Python (the lattice's fast path), a float crop's in numpy; both
    compare them with float32 limits, as ``trim_crops`` does, so the same ink is cut the same way."""
    from captchakit.segment._segment import central_ink

    rng = np.random.default_rng(5)
    cut = 0
    for _ in range(3000):
        m = (rng.random((int(rng.integers(1, 50)), int(rng.integers(1, 50)))) < rng.random()).astype(np.uint8)
        for share in (0.03, 0.08, 0.25):
            a, b = central_ink(m, share), central_ink(m.astype(np.float32), share)
            assert a.shape == b.shape and np.array_equal(a, b)
            cut += a.shape != m.shape
            if m.any():  # at most the share of the ink goes on each of the four sides
                assert a.sum() >= (1 - 4 * share) * m.sum() - 1e-6 * m.sum()
    assert cut > 1000
    assert central_ink(np.zeros((3, 4), np.uint8), 0.08).shape == (3, 4)
    assert central_ink(np.ones((3, 4), np.uint8), 0.0).shape == (3, 4)


def test_the_scorers_soft_crops_are_the_soft_crops_and_each_place_has_its_own():
    """With the ink channel, ``crops`` and ``unique_crops`` give each piece's soft crop (as ``ink_crops`` makes
    it, trimmed where asked), and two pieces with the same binary ink in different places, which share one
    binary crop, get their own soft crops."""
    from captchakit.segment._lattice import PieceCropper
    from captchakit.segment._segment import central_ink, square_ink

    b = np.zeros((30, 60), bool)
    b[5:25, 10:14] = True
    b[5:25, 40:44] = True  # the same bar further right ...
    ink = np.where(b, 0, 255).astype(np.uint8)
    ink[5:25, 43] = 128  # ... whose right column is paler
    c = PieceCropper(b, 12)
    spans = [(8, 16), (38, 46), (9, 15)]
    uniq, index = c.unique_crops(spans, 16)
    assert len(uniq) == 1 and index.tolist() == [0, 0, 0]  # one binary crop for all three
    uniq, index = c.unique_crops(spans, 16, ink=ink)
    assert len(uniq) == 2 and index.tolist() == [0, 1, 0]
    soft = c.ink_crops(ink, spans, 16)
    assert all(np.array_equal(uniq[i], s) for i, s in zip(index, soft))
    assert all(np.array_equal(a, s) for a, s in zip(c.crops(spans, 16, ink=ink), soft))
    assert soft[0].max() == soft[1].max() == 1.0 and soft[1].sum() < soft[0].sum()  # the paler column
    # trimmed: the soft window cut to its central ink, then squared
    shade = (255.0 - ink[5:25, 40:44]) / 255
    assert np.allclose(c.crops([(38, 46)], 16, 0.2, ink)[0], square_ink(central_ink(shade, 0.2), 16), atol=1e-6)
    assert c.crops([(50, 56)], 16, ink=ink)[0].max() == 0  # an empty piece crops empty


def test_a_cropper_that_remembers_crops_the_same_pieces_again_as_a_fresh_one():
    """With ``remember``, the pieces cut once (binary or soft, trimmed or not) crop again at another size to
    the same numbers as a new cropper cuts them, in ``crops`` and in ``crop_pairs``; ``forget`` keeps only the
    pieces asked for, and a piece not kept is cut as usual."""
    from captchakit.segment._lattice import PieceCropper

    rng = np.random.default_rng(5)
    for _ in range(30):
        b = rng.random((int(rng.integers(10, 40)), int(rng.integers(20, 100)))) < 0.3
        ink = np.where(b, rng.integers(0, 120, b.shape), rng.integers(150, 256, b.shape)).astype(np.uint8)
        spans = [tuple(int(v) for v in sorted(rng.integers(0, b.shape[1] + 1, 2))) for _ in range(15)]
        trim = float(rng.choice([0.0, 0.05]))
        for channel in (None, ink):
            kept = PieceCropper(b, 12, remember=True)
            first, _ = kept.unique_crops(spans, 16, trim, channel)
            chosen = spans[:4]
            kept.forget(chosen)
            assert {key[:2] for key in kept._parts} <= set(chosen)
            fresh = PieceCropper(b, 12)
            for again, new in zip(kept.crops(chosen, 32, trim, channel), fresh.crops(chosen, 32, trim, channel)):
                assert again.dtype == new.dtype and np.array_equal(again, new)
            if channel is not None:
                for a, n in zip(kept.crop_pairs(ink, chosen, 32), fresh.crop_pairs(ink, chosen, 32)):
                    assert all(np.array_equal(x, z) for x, z in zip(a, n))
            other = [spans[-1], (0, b.shape[1])]
            assert all(np.array_equal(x, z) for x, z in zip(kept.crops(other, 24, 0.0, channel),
                                                             fresh.crops(other, 24, 0.0, channel)))


def test_a_cropper_leaves_out_the_rows_without_ink_and_crops_the_same():
    """The rows above and below all the ink are left out before any piece is cut: the same binary and soft
    crops and the same full-size masks as the ink alone gives, with the ink channel's rows matched (a wrong
    offset would shade the crops from the wrong rows)."""
    from captchakit.segment._lattice import PieceCropper

    rng = np.random.default_rng(8)
    for _ in range(20):
        core = rng.random((int(rng.integers(5, 30)), int(rng.integers(20, 90)))) < 0.3
        core[0, 0] = core[-1, -1] = True  # ink in its first and last rows
        above, below = (int(v) for v in rng.integers(0, 25, 2))
        b = np.pad(core, ((above, below), (0, 0)))
        ink = np.where(b, rng.integers(0, 120, b.shape), rng.integers(150, 256, b.shape)).astype(np.uint8)
        spans = [tuple(int(v) for v in sorted(rng.integers(0, b.shape[1] + 1, 2))) for _ in range(12)]
        tall, short = PieceCropper(b, 12), PieceCropper(core, 12)
        assert tall.top == above and tall.binary.shape == core.shape
        core_ink = ink[above:above + core.shape[0]]
        for got, want in ((tall.crops(spans, 16), short.crops(spans, 16)),
                          (tall.ink_crops(ink, spans, 16), short.ink_crops(core_ink, spans, 16)),
                          (tall.crop_pairs(ink, spans, 16)[1], short.crop_pairs(core_ink, spans, 16)[1])):
            assert all(np.array_equal(g, w) for g, w in zip(got, want))
        for x0, x1 in spans:
            assert np.array_equal(tall.mask(x0, x1), np.pad(short.mask(x0, x1), ((above, below), (0, 0))))
    empty = PieceCropper(np.zeros((6, 9), bool), 4)
    assert empty.mask(0, 9).shape == (6, 9) and not empty.crops([(0, 9)], 8)[0].any()


def test_soft_crops_keep_the_shades_that_cleaning_lost_inside_the_piece():
    """A soft crop is the ink channel's darkness under the piece's ink grown by one pixel, in the piece's box:
    a gap that cleaning cut into a stroke (line removal) comes back, with the stroke's shades; dark ink outside
    the piece's box stays out."""
    from captchakit.segment._lattice import PieceCropper
    from captchakit.segment._segment import square_ink

    ink = np.full((30, 40), 255, np.uint8)
    ink[5:25, 10:14] = 0  # a bar 4 px wide ...
    ink[5:25, 13] = 128  # ... its right column paler
    ink[5:25, 14:16] = 0  # dark ink beside it that cleaning dropped
    ink[5:25, 20:22] = 0  # another stroke
    b = np.zeros((30, 40), bool)
    b[5:25, 10:14] = True
    b[14:16, 10:14] = False  # a line removed across the bar took two rows
    b[5:25, 20:22] = True
    c = PieceCropper(b, 12)
    soft = c.ink_crops(ink, [(8, 17)], 32)[0]
    shade = (255.0 - ink[5:25, 10:14]) / 255  # the whole bar, the gap filled, the pale column at half
    assert np.allclose(soft, square_ink(shade, 32), atol=1e-6) and soft.max() == 1.0
    assert not np.array_equal(soft > 0, c.crops([(8, 17)], 32)[0] > 0)  # the binary crop keeps the gap
    cols = np.flatnonzero(soft.any(axis=0))
    assert 0.4 < soft[16, cols[-1]] < 0.6 and soft[16, cols[0]] == 1.0
    # the other stroke alone; an empty piece crops empty
    assert np.allclose(c.ink_crops(ink, [(18, 24)], 32)[0], square_ink(np.ones((20, 2), np.float32), 32))
    assert c.ink_crops(ink, [(30, 36)], 32)[0].max() == 0


def test_a_pieces_mask_is_its_components_whether_it_holds_few_or_many():
    # pieces that took in dozens of specks are masked by a table lookup, those of a few components by comparisons
    from captchakit.segment._segment import PIECE_IDS_COMPARED

    rng = np.random.default_rng(0)
    seg = Segmenter()
    counts = set()
    for _ in range(500):
        labels = rng.integers(0, int(rng.integers(2, 300)), (int(rng.integers(5, 40)), int(rng.integers(5, 80))))
        labels = labels.astype(np.int32)
        ids = sorted(set(rng.integers(1, 320, int(rng.integers(1, 40))).tolist()))
        x0 = int(rng.integers(0, labels.shape[1] - 1))
        x1 = int(rng.integers(x0 + 1, labels.shape[1] + 1))
        got = seg._piece_mask({"x0": x0, "x1": x1, "ids": ids}, labels > 0, labels)
        np.testing.assert_array_equal(got, np.isin(labels[:, x0:x1], ids))
        counts.add(len(ids) > PIECE_IDS_COMPARED)
    assert counts == {True, False}


def test_segment_counts_is_segment_once_per_count():
    from captchakit.data import generate_captchas
    from captchakit.preprocess import Preprocessor

    X, _ = generate_captchas(12, length="4-6", seed=3)
    pre = Preprocessor().resolve(X)[0]
    for seg in (Segmenter(), Segmenter(method="projection")):
        for im in X:
            b = pre.transform_one(im)
            counts = [None, 2, 4, 5, 6, 8]
            for crops in (True, False):
                for k, got in zip(counts, seg.segment_counts(b, counts, crops=crops)):
                    want = seg.segment(b, k, crops=crops)
                    assert got.n_natural == want.n_natural
                    np.testing.assert_array_equal(got.boxes, want.boxes)
                    np.testing.assert_array_equal(got.crops, want.crops)


def test_a_whole_components_piece_carries_the_rows_of_its_ink():
    """The rows that ``_components`` gives each piece (merged components too) are the first and last rows of
    its ink: the flat-piece test reads its height from them instead of from the piece's mask."""
    from captchakit.segment._segment import Segmenter

    rng = np.random.default_rng(3)
    merged = 0
    for _ in range(300):
        b = rng.random((int(rng.integers(5, 40)), int(rng.integers(10, 120)))) < rng.uniform(0.05, 0.4)
        seg = Segmenter(connectivity=int(rng.choice([4, 8])))
        pieces, labels = seg._components(b)
        for p in pieces:
            rows = np.flatnonzero(seg._piece_mask(p, b, labels).any(axis=1))
            assert (p["y0"], p["y1"]) == (rows[0], rows[-1] + 1)
            merged += len(p["ids"]) > 1
    assert merged > 100
