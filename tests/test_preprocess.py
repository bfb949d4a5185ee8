import numpy as np
import pytest

from captchakit import CaptchakitError
from captchakit.preprocess import (
    Preprocessor, binarize, mean_filter, median_filter, remove_lines, remove_specks, to_gray,
)


def _text_image(light_bg=True):
    g = np.full((30, 60), 230 if light_bg else 20, np.uint8)
    g[5:25, 10:18] = 20 if light_bg else 230
    g[5:25, 30:40] = 20 if light_bg else 230
    return g


@pytest.mark.parametrize("method", ["otsu", "multiotsu", "triangle", "adaptive", "fixed"])
@pytest.mark.parametrize("light_bg", [True, False])
def test_binarize_ink_is_foreground(method, light_bg):
    b = binarize(_text_image(light_bg), method=method, block_size=31, offset=5)
    assert b.dtype == bool
    assert b[15, 12] and b[15, 35]
    assert not b[2, 2] and not b[15, 25]


def test_binarize_blank_and_all_ink():
    assert not binarize(np.full((10, 10), 255, np.uint8)).any()
    assert not binarize(np.zeros((10, 10), np.uint8)).any()  # constant: nothing stands out
    with pytest.raises(CaptchakitError, match="threshold method"):
        binarize(_text_image(), method="magic")


def test_multiotsu_threshold_is_scikit_images():
    """The lower threshold of Otsu's three classes is scikit-image's on every kind of grey image: random levels,
    a few levels with noise, smooth ramps, a narrow range away from 0, three levels exactly."""
    from skimage.filters import threshold_multiotsu

    from captchakit.preprocess._stages import multiotsu_threshold

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (30, 80), dtype=np.uint8) for _ in range(60)]
    images += [(rng.integers(0, 5, (30, 80)) * 50 + rng.integers(0, 3, (30, 80))).astype(np.uint8)
               for _ in range(60)]
    images += [np.clip(rng.normal(m, s, (40, 100)), 0, 255).astype(np.uint8)
               for m, s in rng.uniform((60, 2), (200, 60), (60, 2))]
    images += [(100 + rng.integers(0, 7, (20, 50))).astype(np.uint8) for _ in range(30)]
    g = _text_image()
    g[14:17, :] = np.minimum(g[14:17, :], 120)
    images += [g, np.tile(np.arange(256, dtype=np.uint8), (4, 1))]
    for img in images:
        assert multiotsu_threshold(img) == threshold_multiotsu(img, classes=3)[0]
    assert multiotsu_threshold(_text_image()) is None  # two grey levels
    assert multiotsu_threshold(np.full((5, 5), 7, np.uint8)) is None


def test_multiotsu_keeps_the_strokes_and_drops_a_paler_line_of_their_colour():
    from captchakit.cli import _threshold_option

    g = _text_image()
    g[14:17, :] = np.minimum(g[14:17, :], 120)  # a line in the ink's colour, paled by smoothing
    assert binarize(g)[15, 25]  # Otsu's two classes: the line is ink and joins the strokes
    b = binarize(g, "multiotsu")
    assert not b[15, 25] and not b[2, 2] and b[15, 12] and b[15, 35] and b[5:25, 10:18].all()
    assert np.array_equal(binarize(_text_image(), "multiotsu"), binarize(_text_image()))  # two grey levels: Otsu
    assert not binarize(np.full((10, 10), 255, np.uint8), "multiotsu").any()
    p = Preprocessor(threshold="multiotsu", channel="luminance", polarity="dark", frame=0, line_thickness=0,
                     min_area=0).validate()
    assert p.stages(np.stack([g] * 3, axis=2))[2][0] == "binary (multiotsu)"
    assert np.array_equal(p.transform([np.stack([g] * 3, axis=2)])[0], b)
    assert _threshold_option("multiotsu") == {"threshold": "multiotsu"}
    with pytest.raises(CaptchakitError, match="multiotsu"):
        Preprocessor(threshold="three").validate()


def test_triangle_keeps_pale_faces_that_otsu_leaves_on_the_paper():
    from captchakit.cli import _threshold_option

    g = np.full((30, 60), 248, np.uint8)
    g[5:25, 10:18] = 232  # a pale face, barely off the paper
    g[5:25, 18] = 60  # with a dark rim (svg-captcha's shading)
    g[5:25, 30:38] = 232
    g[5:25, 38] = 60
    otsu, tri = binarize(g), binarize(g, "triangle")
    assert otsu[15, 18] and not otsu[15, 12]  # Otsu: the rims only
    assert tri[5:25, 10:19].all() and tri[5:25, 30:39].all() and not tri[2, 2] and not tri[15, 25]
    assert not binarize(np.full((10, 10), 248, np.uint8), "triangle").any()
    p = Preprocessor(threshold="triangle", channel="luminance", polarity="dark", frame=0, line_thickness=0,
                     min_area=0).validate()
    assert p.stages(np.stack([g] * 3, axis=2))[2][0] == "binary (triangle)"
    assert _threshold_option("triangle") == {"threshold": "triangle"}


def test_triangle_leaves_a_jpeg_papers_noise_on_the_paper():
    # pale discs of several colours and a line on tinted paper, saved as JPEG: the blocks' noise spreads the paper
    # 0-20 levels off it in the distance channel, and the triangle's foot (1-2 levels) made it ink
    import cv2

    from captchakit.preprocess._stages import paper_foot

    im = np.full((50, 150, 3), (240, 242, 244), np.uint8)
    for colour, x in zip([(230, 220, 120), (130, 220, 190), (200, 120, 230), (240, 130, 100)], range(15, 150, 35)):
        cv2.circle(im, (x, 25), 11, colour, -1)
    cv2.line(im, (0, 40), (150, 10), (120, 230, 150), 1)
    jpeg = cv2.imdecode(cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, 75])[1], cv2.IMREAD_COLOR)
    drawn = np.abs(im.astype(int) - (240, 242, 244)).sum(axis=2) > 0
    far = ~cv2.dilate(drawn.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)  # paper 3 px from anything
    p = Preprocessor(channel="distance", threshold="triangle", polarity="dark", frame=0, remove_lines=False,
                     min_area=0).validate()
    stages = dict(p.stages(jpeg))
    ink = stages["binary (triangle)"]
    assert ink[drawn].mean() > 0.98 and ink[far].mean() < 0.01
    assert paper_foot(stages["ink (distance)"]) < 235  # the noise measured: 255 on flat paper
    flat = dict(p.stages(im))["binary (triangle)"]
    assert (flat == drawn).mean() > 0.99  # the PNG reads as before


def test_otsu_finds_pale_text_among_dark_specks():
    # pale grey characters on white paper, sprinkled with dark 2x2 dots (python-captcha draws some texts so)
    g = np.full((40, 80), 245, np.uint8)
    g[8:32, 10:20] = 200
    g[8:32, 40:50] = 200
    rng = np.random.default_rng(0)
    for r, c in zip(rng.integers(0, 38, 60), rng.integers(0, 78, 60)):
        g[r:r + 2, c:c + 2] = 70
    first = binarize(g)
    assert not first[20, 15] and not first[20, 45]  # one pass: the threshold falls between dots and text
    b = binarize(g, speck_area=12)
    assert b[20, 15] and b[20, 45] and not b[2:6, 25:35].all()
    # dark text with a few specks: the second pass does not run, the result is the first pass's
    t = _text_image()
    t[0:2, 0:2] = 20
    assert np.array_equal(binarize(t, speck_area=12), binarize(t))


def test_to_gray_does_not_modify_input():
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 255
    g = to_gray(rgb)
    assert g.shape == (4, 5) and rgb[..., 0].min() == 255


def test_median_removes_salt_mean_smooths():
    g = np.full((9, 9), 200, np.uint8)
    g[4, 4] = 0
    assert median_filter(g, 3)[4, 4] == 200
    m = mean_filter(g, 3)
    assert 170 < m[4, 4] < 200
    assert g[4, 4] == 0
    with pytest.raises(CaptchakitError):
        median_filter(g, 4)


def test_remove_specks_and_lines():
    b = np.zeros((20, 40), bool)
    b[2:18, 5:12] = True      # a stroke
    b[10, :] = True           # a 1-px line across
    b[1, 30] = True           # a speck
    no_line = remove_lines(b, thickness=2)
    assert not no_line[10, 25] and no_line[10, 8]
    clean = remove_specks(no_line, min_area=5)
    assert not clean[1, 30] and clean[5:15, 5:12].all()


def test_preprocessor_roundtrip_and_stages():
    p = Preprocessor(threshold="adaptive", median=3, mean=3, filter_order="mean-first", min_area=4)
    assert Preprocessor.from_dict(p.to_dict()).get_params() == p.get_params()
    img = np.repeat(_text_image()[..., None], 3, axis=2)
    names = [n for n, _ in p.stages(img)]
    assert names[:2] == ["original", "gray"]
    assert names.index("mean 3") < names.index("median 3")
    assert p.transform_one(img)[15, 12]
    pb = Preprocessor(median=3, filter_stage="binary")
    assert [n for n, _ in pb.stages(img)].index("binary (otsu)") < [n for n, _ in pb.stages(img)].index("median 3")


def test_preprocessor_rejects_bad_settings():
    with pytest.raises(CaptchakitError, match="unknown preprocessing setting.*bogus"):
        Preprocessor.from_dict({"bogus": 1})
    with pytest.raises(CaptchakitError, match="median must be"):
        Preprocessor(median=4).validate()
    with pytest.raises(CaptchakitError, match="threshold must be one of"):
        Preprocessor(threshold="x").validate()


def test_label_components_counts_past_what_16_bits_hold():
    """16-bit labels only where they cannot overflow: 90,000 single-pixel components on a 600 x 600 image are
    all counted, and a small image gets the same labels and areas as OpenCV's 32-bit labelling."""
    import cv2

    from captchakit.preprocess._stages import label_components

    b = np.zeros((600, 600), bool)
    b[::2, ::2] = True
    n, labels, stats = label_components(b)
    assert n == 90_001 and labels.max() == 90_000 and (stats[1:, cv2.CC_STAT_AREA] == 1).all()
    small = np.random.default_rng(0).random((60, 90)) < 0.4
    n16, l16, s16 = label_components(small)
    n32, l32, s32, _ = cv2.connectedComponentsWithStats(small.astype(np.uint8), connectivity=8)
    assert l16.dtype == np.uint16 and n16 == n32 and (l16 == l32).all() and (s16 == s32).all()
