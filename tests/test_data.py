import json

import numpy as np
import pytest
from PIL import Image

from captchakit import CaptchakitError, ImageReadError, LabelError
from captchakit.data import (
    check_label, find_labelled_images, generate_captchas, label_from_name, load_labelled, parse_length,
    read_image, resolve_alphabet, train_test_split_indices, verify_dataset,
)


def test_resolve_alphabet_names_and_literals():
    assert resolve_alphabet("digits") == "0123456789"
    assert resolve_alphabet("alnum") == "0123456789abcdefghijklmnopqrstuvwxyz"
    assert len(resolve_alphabet("alnum-mixed")) == 62
    assert resolve_alphabet("xyzx") == "xyz"


def test_parse_length():
    assert parse_length("4") == (4, 4)
    assert parse_length("4-6") == (4, 6)
    with pytest.raises(CaptchakitError):
        parse_length("6-4")
    with pytest.raises(CaptchakitError):
        parse_length("four")


def test_check_label_names_file_and_problem():
    with pytest.raises(LabelError, match="a.png.*outside the alphabet.*'x'"):
        check_label("12x4", "0123456789", None, source="a.png")
    with pytest.raises(LabelError, match="length 3, expected 4"):
        check_label("123", "0123456789", (4, 4))


def test_generation_is_seeded_and_shaped():
    a, la = generate_captchas(4, length="4-6", alphabet="lower", width=120, height=40, seed=7)
    b, lb = generate_captchas(4, length="4-6", alphabet="lower", width=120, height=40, seed=7)
    c, lc = generate_captchas(4, length="4-6", alphabet="lower", width=120, height=40, seed=8)
    assert la == lb and la != lc
    assert all((x == y).all() for x, y in zip(a, b))
    assert not all((x == y).all() for x, y in zip(a, c) if x.shape == y.shape)
    assert a[0].shape == (40, 120, 3) and a[0].dtype == np.uint8
    assert all(4 <= len(s) <= 6 and set(s) <= set("abcdefghijklmnopqrstuvwxyz") for s in la)


def test_generation_same_with_jobs():
    a, la = generate_captchas(130, seed=2, n_jobs=1)
    b, lb = generate_captchas(130, seed=2, n_jobs=2)
    assert la == lb and all((x == y).all() for x, y in zip(a, b))


def test_generation_continues_sequence():
    _, full = generate_captchas(10, seed=4)
    imgs, tail = generate_captchas(4, seed=4, start=6)
    full_imgs, _ = generate_captchas(10, seed=4)
    assert tail == full[6:]
    assert (imgs[0] == full_imgs[6]).all()


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "I;16", "LA"])
def test_read_image_modes(tmp_path, mode):
    rgb = np.full((10, 20, 3), 255, np.uint8)
    rgb[2:8, 5:9] = 0
    im = Image.fromarray(rgb).convert("L")
    if mode == "I;16":
        im = Image.fromarray((np.asarray(im).astype(np.uint16) * 257))
    elif mode == "RGBA":
        a = np.zeros((10, 20, 4), np.uint8)
        a[2:8, 5:9] = (0, 0, 0, 255)  # transparent elsewhere -> white
        im = Image.fromarray(a, "RGBA")
    else:
        im = im.convert(mode)
    p = tmp_path / "x.png"
    im.save(p)
    out = read_image(p)
    assert out.shape == (10, 20, 3) and out.dtype == np.uint8
    assert out[0, 0].min() > 200 and out[4, 6].max() < 60


@pytest.mark.parametrize("alpha", [0, 1, 128, 255])
def test_an_alpha_the_same_everywhere_is_left_out_and_a_shaped_one_composited_on_white(tmp_path, alpha):
    # light ink on black under an alpha that draws nothing (jimp writes its composites of MNIST digits so, alpha 0-1):
    # on white the picture would be blank, so the colours are read as they are
    a = np.zeros((10, 20, 4), np.uint8)
    a[2:8, 5:9, :3] = 250
    a[..., 3] = alpha
    a[0, 0, 3] = min(alpha + 1, 255)  # nearly the same everywhere
    Image.fromarray(a, "RGBA").save(tmp_path / "x.png")
    out = read_image(tmp_path / "x.png")
    assert out[4, 6].min() >= 245 and out[1, 1].max() <= 5, out[1, 1]
    # a transparent background around opaque ink is still composited on white (the ink's black is kept)
    a[..., 3] = 0
    a[2:8, 5:9] = (0, 0, 0, 255)
    Image.fromarray(a, "RGBA").save(tmp_path / "y.png")
    out = read_image(tmp_path / "y.png")
    assert out[1, 1].min() == 255 and out[4, 6].max() == 0


@pytest.mark.parametrize("fmt, suffix", [("JPEG", "jpg"), ("JPEG", "jpeg"), ("GIF", "gif"), ("BMP", "bmp"),
                                         ("WEBP", "webp"), ("TIFF", "tif"), ("TIFF", "tiff")])
def test_read_image_formats(tmp_path, fmt, suffix):
    """Every format Pillow reads that a captcha comes in is read, and a folder's listing finds it."""
    from captchakit.data import list_images

    rgb = np.full((16, 16, 3), 250, np.uint8)
    rgb[4:12, 4:12] = 5
    p = tmp_path / f"x.{suffix.upper() if fmt == 'TIFF' else suffix}"
    Image.fromarray(rgb).save(p, format=fmt)
    out = read_image(p)
    assert out.shape == (16, 16, 3) and out[8, 8].max() < 80
    assert list_images(tmp_path) == [p]


def test_read_image_bad_files(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("hello")
    good = tmp_path / "good.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 60), dtype=np.uint8)).save(good)
    trunc = tmp_path / "trunc.png"
    trunc.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(ImageReadError, match="empty.png: empty file"):
        read_image(empty)
    with pytest.raises(ImageReadError, match="notes.png: not an image"):
        read_image(text)
    with pytest.raises(ImageReadError, match="trunc.png: corrupt"):
        read_image(trunc)
    with pytest.raises(ImageReadError, match="above the limit"):
        read_image(good, max_pixels=100)
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "missing.png")


def test_label_from_name():
    assert label_from_name("a/b/12ab_3.png") == "12ab"
    assert label_from_name("12ab.png") == "12ab"
    assert label_from_name("cap-12ab.png", pattern=r"cap-(\w+)") == "12ab"
    with pytest.raises(LabelError):
        label_from_name("zzz.png", pattern=r"\d+x")


def test_labels_from_csv_json_and_nested(tmp_path):
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    img = np.full((10, 10, 3), 255, np.uint8)
    Image.fromarray(img).save(sub / "one.png")
    Image.fromarray(img).save(tmp_path / "two.png")
    (tmp_path / "labels.json").write_text(json.dumps({"a/b/one.png": "11", "two.png": "22"}))
    items, problems = find_labelled_images(tmp_path / "labels.json")
    assert sorted(lab for _, lab in items) == ["11", "22"] and not problems
    (tmp_path / "l.csv").write_text("filename,label\na/b/one.png,33\nmissing.png,44\n")
    items, problems = find_labelled_images(tmp_path, labels_file=tmp_path / "l.csv")
    assert [lab for _, lab in items] == ["33"]
    assert "missing.png" in problems[0]
    items, _ = find_labelled_images(tmp_path)  # nested, from names
    assert {lab for _, lab in items} == {"one", "two"}


@pytest.mark.parametrize("header", ["file,label", "Image,Text", "image_path,answer", "path , labels"])
def test_a_labels_files_header_row_is_skipped_under_any_common_name(tmp_path, header):
    Image.fromarray(np.full((10, 10, 3), 255, np.uint8)).save(tmp_path / "one.png")
    (tmp_path / "l.csv").write_text(f"{header}\none.png,33\n")
    items, problems = find_labelled_images(tmp_path / "l.csv")
    assert [lab for _, lab in items] == ["33"] and problems == []
    # a first row that lists an image is data, whatever its label
    (tmp_path / "l.csv").write_text("one.png,text\n")
    items, problems = find_labelled_images(tmp_path / "l.csv")
    assert [lab for _, lab in items] == ["text"] and problems == []


def test_labels_files_with_semicolons_or_tabs_and_empty_ones(tmp_path):
    Image.fromarray(np.full((10, 10, 3), 255, np.uint8)).save(tmp_path / "one.png")
    for text in ("file;label\none.png;33\n", "one.png\t33\n"):
        (tmp_path / "l.csv").write_text(text)
        items, problems = find_labelled_images(tmp_path / "l.csv")
        assert [lab for _, lab in items] == ["33"] and problems == []
    # a file that lists nothing says so, naming itself (it said "no images found" of its folder, which has one)
    for text in ("", "filename,label\n", "\n\n"):
        (tmp_path / "l.csv").write_text(text)
        with pytest.raises(CaptchakitError, match=r"l\.csv: lists no images"):
            find_labelled_images(tmp_path / "l.csv")


def _blank_images(folder, *names):
    for name in names:
        Image.fromarray(np.full((10, 10, 3), 255, np.uint8)).save(folder / name)


def test_labels_txt_and_tsv_files_and_a_file_that_is_no_labels_file(tmp_path):
    _blank_images(tmp_path, "one.png", "two.png")
    # "name label" lines, as many data sets' labels.txt are written: cut at the first run of spaces only
    (tmp_path / "labels.txt").write_text("one.png  ab12\ntwo.png 3 + 4\n")
    items, problems = find_labelled_images(tmp_path / "labels.txt")
    assert [(p.name, lab) for p, lab in items] == [("one.png", "ab12"), ("two.png", "3 + 4")] and problems == []
    (tmp_path / "l.tsv").write_text("filename\tlabel\none.png\t33\n")
    items, _ = find_labelled_images(tmp_path / "l.tsv")
    assert [lab for _, lab in items] == ["33"]
    # an image (or any other file) given as DATA: one line naming it, not "not a folder"
    with pytest.raises(CaptchakitError, match=r"one\.png: not a folder, nor a labels file \(\.csv, \.tsv"):
        find_labelled_images(tmp_path / "one.png")


def test_a_label_with_a_control_character_is_left_out_with_one_line(tmp_path):
    _blank_images(tmp_path, "one.png", "two.png")
    (tmp_path / "l.csv").write_text("one.png,80\x0023\ntwo.png,8023\n")
    items, problems = find_labelled_images(tmp_path / "l.csv")
    assert [lab for _, lab in items] == ["8023"]
    assert problems == [f"{tmp_path / 'one.png'}: label '80\\x0023' has control characters ('\\x00'), "
                        "which no image draws"]

def test_load_labelled_skips_and_lists_bad_files(gen_dir):
    (gen_dir / "junk_1.png").write_text("not an image")
    (gen_dir / "labels.csv").unlink()
    images, labels, paths, problems = load_labelled(gen_dir, alphabet="0123456789", length=(4, 4))
    assert len(images) == 12
    assert len(problems) == 1 and "junk_1.png" in problems[0]


def test_empty_folder(tmp_path):
    with pytest.raises(CaptchakitError, match="no images found"):
        load_labelled(tmp_path)


def test_verify_reports(gen_dir):
    files = sorted(gen_dir.glob("*.png"))
    (gen_dir / "labels.csv").unlink()
    dup = gen_dir / f"{files[0].stem.split('_')[0]}_999.png"
    dup.write_bytes(files[0].read_bytes())
    (gen_dir / "12x4_5.png").write_bytes(files[1].read_bytes())
    before = sorted(p.name for p in gen_dir.iterdir())
    rep = verify_dataset(gen_dir, alphabet="0123456789", length=(4, 4))
    assert rep["sizes"] == {"160x60": 14}
    assert any("12x4" in p for p in rep["problems"])
    assert [str(files[0])] == [g for g in rep["duplicates"][0] if g == str(files[0])]
    assert sorted(p.name for p in gen_dir.iterdir()) == before  # nothing moved


def test_split_disjoint_and_seeded():
    a = train_test_split_indices(100, 0.2, seed=1)
    b = train_test_split_indices(100, 0.2, seed=1)
    assert (a[0] == b[0]).all() and len(a[1]) == 20
    assert not set(a[0]) & set(a[1])
    with pytest.raises(CaptchakitError):
        train_test_split_indices(1, 0.5)
