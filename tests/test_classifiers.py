import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from captchakit import CaptchakitError
from captchakit._errors import LabelError, ModelFileError
from captchakit.classifiers import (
    CombinedFeatures, HOGFeatures, InkPairFeatures, PixelFeatures, ProfileFeatures, SegmentingRecognizer,
    trim_crops,
)
from captchakit.classifiers._recognizer import _features_name
from captchakit.preprocess import Preprocessor
from captchakit.segment import crop_to_square


@parametrize_with_checks([HOGFeatures(pixels_per_cell=2, cells_per_block=1), PixelFeatures(size=0),
                          ProfileFeatures(zones=2), HOGFeatures(pixels_per_cell=(2, 3), cells_per_block=1),
                          HOGFeatures(pixels_per_cell=2, cells_per_block=1, pixels=2),
                          HOGFeatures(pixels_per_cell=2, cells_per_block=1, trim=0.05),
                          InkPairFeatures(HOGFeatures(pixels_per_cell=2, cells_per_block=1, pixels=2))])
def test_sklearn_checks(estimator, check):
    # Every check runs: flat rows of any length are zero-padded to a square crop.
    check(estimator)


def test_feature_shapes():
    X = np.random.default_rng(0).random((3, 32, 32)).astype(np.float32)
    assert HOGFeatures().fit_transform(X).shape == (3, 324)
    assert PixelFeatures(size=16).fit_transform(X).shape == (3, 256)
    assert ProfileFeatures().fit_transform(X).shape == (3, 16 + 64)
    assert CombinedFeatures().fit_transform(X).shape == (3, 404)
    # several cell sizes: their HOGs side by side
    both = HOGFeatures(pixels_per_cell=(8, 6)).fit_transform(X)
    assert np.array_equal(both, np.hstack([HOGFeatures(pixels_per_cell=c).fit_transform(X) for c in (8, 6)]))


def test_recognizer_learns_and_generalises(small_set, trained_knn):
    X, y = small_set
    # 20 images never seen in training: far better than chance (0.01% for 4 digits)
    assert trained_knn.score(X[100:], y[100:]) >= 0.3
    texts, conf = trained_knn.predict(X[100:103], return_confidence=True)
    assert all(len(t) == 4 for t in texts)
    assert all(len(c) == 4 and all(0 <= v <= 1 for v in c) for c in conf)
    assert trained_knn.fit_summary_["n_used"] + trained_knn.fit_summary_["n_left_out"] == 100


def test_recognizer_estimator_contract(small_set):
    rec = SegmentingRecognizer(preprocessor=Preprocessor(), classifier=SVC(C=1.0))
    params = rec.get_params()
    assert "classifier__C" in params and "preprocessor__median" in params
    c = clone(rec)
    assert c.get_params()["classifier__C"] == 1.0 and c.classifier is not rec.classifier
    X, y = small_set
    gs = GridSearchCV(rec, {"classifier__C": [1.0, 10.0], "preprocessor__median": [0, 3]}, cv=2)
    gs.fit(X[:60], y[:60])
    assert set(gs.best_params_) == {"classifier__C", "preprocessor__median"}


def test_resizes_other_sizes(trained_knn, small_set):
    import cv2

    X, _ = small_set
    big = cv2.resize(X[0], (320, 120))
    assert len(trained_knn.predict([big])[0]) == 4


def test_images_of_several_sizes_are_read_at_the_commonest_and_the_note_says_so(small_set):
    import cv2

    X, y = small_set
    # images cropped to their text, as some schemes serve them: 60 of 160x60, 20 of 140x60, 20 of 180x60
    mixed = [x if i < 60 else cv2.resize(x, (140 if i < 80 else 180, 60)) for i, x in enumerate(X[:100])]
    rec = SegmentingRecognizer(classifier="knn").fit(mixed, y[:100])
    assert rec.image_shape_ == (60, 160)
    assert rec.fit_summary_["image_sizes"] == {"count": 3, "commonest": [60, 160], "commonest_share": 0.6,
                                               "heights": [60, 60], "widths": [140, 180]}
    assert "images of 3 sizes (140-180 x 60 px): each one stretched or squeezed to the commonest, 160x60 (60% of " \
           "them)" in rec.training_note()
    assert "image_sizes" not in SegmentingRecognizer(classifier="knn").fit(X[:60], y[:60]).fit_summary_


def test_unknown_labels_and_empty_training_set(small_set):
    X, y = small_set
    with pytest.raises(LabelError, match="outside the alphabet"):
        SegmentingRecognizer(alphabet="0123").fit(X[:10], y[:10])
    blank = [np.full((60, 160, 3), 255, np.uint8)] * 3
    with pytest.raises(CaptchakitError, match="empty training set"):
        SegmentingRecognizer().fit(blank, ["1234"] * 3)


def test_bundle_roundtrip_identical(tmp_path, trained_knn, small_set):
    X, _ = small_set
    trained_knn.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    for key in ("alphabet", "length", "preprocess", "segment", "features", "versions", "format_version"):
        assert key in meta
    loaded = SegmentingRecognizer.load(tmp_path / "m")
    assert loaded.predict(X[100:]) == trained_knn.predict(X[100:])
    assert isinstance(loaded.pipeline_[-1], KNeighborsClassifier)


def test_bundle_failures(tmp_path, trained_knn):
    trained_knn.save(tmp_path / "m")
    with pytest.raises(ModelFileError, match="model not found"):
        SegmentingRecognizer.load(tmp_path / "nope")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(ModelFileError, match="not a captchakit model bundle"):
        SegmentingRecognizer.load(tmp_path / "f.txt")
    # unknown format version
    mj = tmp_path / "m" / "model.json"
    meta = json.loads(mj.read_text())
    meta["format_version"] = 99
    mj.write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="version 99 is not supported"):
        SegmentingRecognizer.load(tmp_path / "m")
    from captchakit._bundle import FORMAT_VERSION

    meta["format_version"] = FORMAT_VERSION
    mj.write_text(json.dumps(meta))
    # tampered payload
    payload = tmp_path / "m" / "classifier.skops"
    data = bytearray(payload.read_bytes())
    data[-10] ^= 0xFF
    payload.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="tampered"):
        SegmentingRecognizer.load(tmp_path / "m")


def test_untrusted_types_refused(tmp_path):
    import skops.io as sio

    from captchakit._bundle import load_sklearn

    class Evil:
        pass

    f = tmp_path / "evil.skops"
    sio.dump({"x": Evil()}, f)
    with pytest.raises(ModelFileError, match="untrusted type"):
        load_sklearn(f, trusted=())


def test_version_difference_warns(tmp_path, trained_knn):
    trained_knn.save(tmp_path / "m")
    mj = tmp_path / "m" / "model.json"
    meta = json.loads(mj.read_text())
    meta["versions"]["scikit-learn"] = "0.0.1"
    mj.write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="scikit-learn 0.0.1"):
        SegmentingRecognizer.load(tmp_path / "m")


@pytest.mark.parametrize("n_classes, gamma", [(3, "scale"), (10, 0.05), (2, "scale"), (40, "scale")])
def test_svc_decision_function_matches_libsvm(n_classes, gamma, monkeypatch):
    from captchakit.classifiers import _svm
    from captchakit.classifiers._svm import svc_decision_function

    monkeypatch.setattr(_svm, "KERNEL_BLOCK", 7000)  # blocks of a few rows: the blocks join up right

    rng = np.random.default_rng(1)
    y = rng.integers(0, n_classes, 400)
    X = rng.normal(size=(400, 12)) + y[:, None] * 0.4
    clf = SVC(C=10.0, gamma=gamma).fit(X[:300], y[:300])
    got = svc_decision_function(clf, X[300:])
    want = clf.decision_function(X[300:])
    # the pairs' and one-vs-rest values in blocks of a few rows: the blocks join up right
    monkeypatch.setattr(_svm, "PAIRS_BLOCK", 20)
    np.testing.assert_array_equal(svc_decision_function(clf, X[300:]), got)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)
    if got.ndim == 2:  # the reading (argmax) is the same as with libsvm's values
        assert np.array_equal(got.argmax(axis=1), want.argmax(axis=1))
    # another classifier goes to its own decision function
    linear = SVC(kernel="linear").fit(X[:300], y[:300])
    np.testing.assert_array_equal(svc_decision_function(linear, X[300:]), linear.decision_function(X[300:]))


def test_an_svc_fitted_once_per_distinct_row_is_the_svc_of_every_copy():
    from captchakit.classifiers._svm import svc_once_per_row

    rng = np.random.default_rng(4)
    base = rng.normal(size=(150, 6))
    # rows that come 1-4 times, a few of them with both labels (a crop good in one split and not in another)
    X = np.repeat(base, rng.integers(1, 5, len(base)), axis=0)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    X = np.concatenate([X, base[:5]])
    y = np.concatenate([y, 1 - (base[:5, 0] + 0.5 * base[:5, 1] > 0).astype(int)])
    order = rng.permutation(len(X))
    X, y = X[order], y[order]

    def transform(a):  # a feature step, applied to the distinct rows only
        return np.tanh(a * 1.5)

    once = svc_once_per_row(X, y, transform)
    every = SVC(random_state=0).fit(transform(X), y)
    assert len(once.support_vectors_) < len(every.support_vectors_)
    assert once._gamma == pytest.approx(every._gamma, rel=1e-9)  # "scale" over every copy, not the distinct rows
    test = transform(rng.normal(size=(200, 6)))
    np.testing.assert_allclose(once.decision_function(test), every.decision_function(test), atol=2e-3)
    assert np.array_equal(once.predict(test), every.predict(test))


@pytest.mark.parametrize("n_classes", [3, 4, 7, 30])
def test_one_vs_rest_values_from_pairs_are_scikit_learns(n_classes):
    # votes and squashed confidences summed over each class's runs of pairs, ties (values of exactly 0) included
    from sklearn.utils.multiclass import _ovr_decision_function

    from captchakit.classifiers._svm import _ovr_from_pairs

    rng = np.random.default_rng(n_classes)
    pi, pj = np.triu_indices(n_classes, 1)
    dec = rng.normal(size=(60, len(pi)))
    dec[rng.random(dec.shape) < 0.1] = 0.0
    np.testing.assert_allclose(_ovr_from_pairs(dec, pi, pj, n_classes),
                               _ovr_decision_function(dec < 0, -dec, n_classes), rtol=0, atol=1e-12)
    assert _ovr_from_pairs(dec[:0], pi, pj, n_classes).shape == (0, n_classes)


def test_rbf_decision_in_single_precision_reads_as_libsvm():
    from captchakit.classifiers._svm import RBFDecision

    rng = np.random.default_rng(2)
    y = rng.integers(0, 8, 600)
    X = rng.normal(size=(600, 40)) + y[:, None] * 0.3
    clf = SVC(C=10.0).fit(X[:400], y[:400])
    assert RBFDecision.takes(clf) and not RBFDecision.takes(SVC(kernel="linear").fit(X[:400], y[:400]))
    want = clf.decision_function(X[400:])
    got = RBFDecision(clf, np.float32)(X[400:])
    assert got.dtype == np.float64 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert np.array_equal(got.argmax(axis=1), want.argmax(axis=1))


def test_svm_reading_prepares_its_support_vectors_once_per_fit(small_set):
    from captchakit.classifiers import SegmentingRecognizer
    from captchakit.classifiers._svm import RBFDecision

    X, y = small_set
    rec = SegmentingRecognizer(classifier="svm", front_end_search=False).fit(X[:80], y[:80])
    got = rec.predict_details(X[100:])
    dec = rec._decision
    assert dec.dtype == np.float32 and dec.clf is rec.pipeline_.steps[-1][1]
    rec.predict(X[100:102])
    assert rec._decision is dec  # kept between readings
    rec._decision = RBFDecision(dec.clf, np.float64)  # libsvm's values to rounding: the same readings
    want = rec.predict_details(X[100:])
    assert [d["text"] for d in got] == [d["text"] for d in want]
    np.testing.assert_allclose([c for d in got for c in d["char_confidences"]],
                               [c for d in want for c in d["char_confidences"]], atol=1e-4)
    rec.fit(X[20:100], y[20:100])  # a new fit reads with its own support vectors
    rec.predict(X[100:102])
    assert rec._decision.clf is rec.pipeline_.steps[-1][1] and rec._decision.dtype == np.float32


def _bars(n, columns, seed):
    """Crops of one vertical bar, its column (jittered by a pixel) telling the class."""
    rng = np.random.default_rng(seed)
    X, y = np.zeros((n, 32, 32), np.float32), []
    for i in range(n):
        k = int(rng.integers(len(columns)))
        c = columns[k] + int(rng.integers(-1, 2))
        top = int(rng.integers(4, 9))
        X[i, top:top + 20, c:c + 2] = 1.0
        y.append(str(k))
    return X.reshape(n, -1), np.array(y)


def test_auto_features_choose_finer_hog_cells_only_where_they_read_better():
    from captchakit.classifiers._recognizer import CELLS_MARGIN, choose_hog_cells

    groups = np.arange(400) // 4  # four crops per "image"
    # bars 3 px apart inside one 8-px cell: the 4x4 cells cannot tell them apart, 6-px cells can
    X, y = _bars(400, (9, 12), 0)
    feats, report = choose_hog_cells(X, y, groups, SVC(C=10), 48, 32)
    acc = report["held_out_char_accuracy"]
    # the finer cells (alone or beside the coarse ones) win, the better of the two
    finer = max(("6-px cells", "8+6-px cells"), key=lambda k: acc[k])
    # ... and the pixels beside the chosen cells are weighed too
    assert set(acc) == {"8-px cells", "6-px cells", "8+6-px cells", f"{finer} and pixels 16x16"}
    assert report["n_images"] == 100
    assert report["chosen"] == f"hog, {finer}", report
    assert feats.pixels_per_cell == (6 if finer == "6-px cells" else (8, 6)) and feats.pixels is None
    assert acc[finer] > acc["8-px cells"] + CELLS_MARGIN
    # bars far apart: both read them all, and the default 8-px cells stay, without the pixels
    X, y = _bars(400, (4, 24), 0)
    feats, report = choose_hog_cells(X, y, groups, SVC(C=10), 48, 32)
    assert feats.pixels_per_cell == 8 and feats.pixels is None and report["chosen"] == "hog, 8-px cells", report
    assert report["held_out_char_accuracy"]["8-px cells"] == 1.0
    assert report["held_out_char_accuracy"]["8-px cells and pixels 16x16"] == 1.0
    # small crops are not weighed
    small = choose_hog_cells(X, y, groups, SVC(), 48, 16)[1]
    assert small == {"chosen": "hog, 8-px cells", "skipped": "crops of 16 px"}


def test_auto_features_add_the_pixels_where_they_read_held_out_characters_better():
    from captchakit.classifiers._recognizer import CELLS_MARGIN, choose_hog_cells

    groups = np.arange(400) // 4
    # two classes of the same bar, told apart only by how dark it is: the HOG normalises contrast away, the
    # pixels keep it
    X, y = _bars(400, (12, 12), 0)
    dark = np.random.default_rng(1).random(400) < 0.5
    X[~dark] *= 0.4
    y = np.where(dark, "dark", "pale")
    feats, report = choose_hog_cells(X, y, groups, SVC(C=10), 48, 32)
    acc = report["held_out_char_accuracy"]
    assert feats.pixels == 16 and feats.pixels_per_cell == 8, report
    assert report["chosen"] == "hog, 8-px cells and pixels 16x16"
    assert acc["8-px cells and pixels 16x16"] == 1.0 > acc["8-px cells"] + CELLS_MARGIN
    assert feats.fit_transform(X[:2]).shape == (2, 324 + 256)
    # segmentation by recognition weighs only its own cells, with and without the pixels
    feats, report = choose_hog_cells(X, y, groups, SVC(C=10), 0.95, 32, cells=((8, 6),))
    assert set(report["held_out_char_accuracy"]) == {"8+6-px cells", "8+6-px cells and pixels 16x16"}
    assert feats.pixels_per_cell == (8, 6) and feats.pixels == 16


def _specked(n, seed):
    """Crops of a bar 2 or 4 px wide (the class), with a speck somewhere around it that sets the crop's box."""
    rng = np.random.default_rng(seed)
    X, y = np.zeros((n, 32, 32), np.float32), []
    for i in range(n):
        wide = bool(rng.integers(2))
        m = np.zeros((60, 60), bool)
        m[20:40, 28:28 + (4 if wide else 2)] = True
        m[tuple(rng.integers(0, 60, 2))] = True
        X[i] = crop_to_square(m, 32)
        y.append("wide" if wide else "thin")
    return X.reshape(n, -1), np.array(y)


def test_auto_features_trim_the_crops_where_that_reads_held_out_characters_better():
    from captchakit.classifiers._recognizer import CELLS_MARGIN, TRIMS, choose_hog_cells

    groups = np.arange(400) // 4
    # the speck shrinks the bar by a random factor, so its width no longer tells the class; trimmed, it does
    X, y = _specked(400, 0)
    feats, report = choose_hog_cells(X, y, groups, SVC(C=10), 0.95, 32, cells=((8, 6),), trims=TRIMS)
    acc = report["held_out_char_accuracy"]
    assert feats.trim in TRIMS and report["chosen"].endswith(f"trimmed {100 * feats.trim:g}%"), report
    untrimmed = max(acc["8+6-px cells"], acc["8+6-px cells and pixels 16x16"])
    assert acc[_features_name(feats)] > untrimmed + CELLS_MARGIN
    assert len(acc) == 2 + len(TRIMS)
    # the bar's place tells the class: trimmed crops lose it, and the crops stay whole
    X, y = _bars(400, (8, 22), 0)
    feats, report = choose_hog_cells(X, y, groups, SVC(C=10), 0.95, 32, cells=((8, 6),), trims=TRIMS)
    assert feats.trim is None and "trimmed" not in report["chosen"], report
    assert len(report["held_out_char_accuracy"]) == 2 + len(TRIMS)


def test_auto_features_read_the_soft_crops_where_they_tell_held_out_characters_apart():
    from captchakit.classifiers._recognizer import CELLS_MARGIN, choose_hog_cells

    groups = np.arange(400) // 4
    rng = np.random.default_rng(3)
    # the same bar in every binary crop; its soft crop is darker at the top or at the bottom (the class)
    X, _ = _bars(400, (12, 12), 0)
    y = np.where(rng.random(400) < 0.5, "top", "bottom")
    shade = np.where(np.arange(32) < 16, 1.0, 0.3)[None, :, None]
    soft = X.reshape(-1, 32, 32) * np.where((y == "top")[:, None, None], shade, shade[:, ::-1])
    feats, report = choose_hog_cells(X, y, groups, SVC(C=10), 0.95, 32, cells=((8, 6),), soft=soft)
    acc = report["held_out_char_accuracy"]
    name = _features_name(feats.features if isinstance(feats, InkPairFeatures) else feats)
    assert report["ink"] in ("soft", "both"), report
    assert isinstance(feats, InkPairFeatures) == (report["ink"] == "both")
    suffix = " on soft crops" if report["ink"] == "soft" else " on binary and soft crops"
    assert report["chosen"] == f"hog, {name}{suffix}" and acc[name + suffix] > acc[name] + CELLS_MARGIN
    assert len(acc) == 2 + 2
    # the binary crops tell the class (the bar's place), the soft ones are noise: the binary crops stay
    X, y = _bars(400, (8, 22), 0)
    feats, report = choose_hog_cells(X, y, groups, SVC(C=10), 0.95, 32, cells=((8, 6),),
                                     soft=rng.random((400, 32, 32)).astype(np.float32))
    assert report["ink"] == "binary" and isinstance(feats, HOGFeatures) and "soft" not in report["chosen"], report
    # no soft crops: nothing more is weighed
    assert choose_hog_cells(X, y, groups, SVC(C=10), 0.95, 32, cells=((8, 6),))[1]["ink"] == "binary"


def test_ink_pair_features_describe_each_crop_apart():
    rng = np.random.default_rng(0)
    pairs = rng.random((3, 2, 32, 32)).astype(np.float32)
    hog = HOGFeatures(pixels=16)
    out = InkPairFeatures(hog).fit_transform(pairs)
    assert np.array_equal(out, np.concatenate([hog.fit_transform(pairs[:, 0]), hog.fit_transform(pairs[:, 1])], 1))
    assert np.array_equal(InkPairFeatures(hog).fit(pairs).transform(pairs.reshape(3, -1)), out)


def test_trimmed_crops_fill_the_crop_and_feed_the_hog():
    X = np.zeros((2, 32, 32), np.float32)
    X[:, 10:22, 14:18] = 1.0
    X[0, 0, 0] = 1.0  # a speck in a corner: the bar of crop 0 is trimmed to fill it, crop 1 has nothing to trim
    t = trim_crops(X, 0.03)
    rows = np.flatnonzero(t[0].sum(axis=1) > 0)
    assert (rows[0], rows[-1]) == (2, 29) and t[0, 0, 0] == 0
    np.testing.assert_array_equal(t[1], trim_crops(X[1:], 0.03)[0])
    assert trim_crops(np.zeros((1, 32, 32)), 0.08).sum() == 0
    np.testing.assert_array_equal(HOGFeatures(trim=0.03, pixels=16).fit_transform(X),
                                  HOGFeatures(pixels=16).fit_transform(t))


def test_a_hog_saved_before_the_pixels_and_trim_options_loads_without_them(tmp_path):
    import skops.io as sio

    old = HOGFeatures(pixels_per_cell=6).fit(np.zeros((2, 32, 32)))
    del old.pixels, old.trim  # as a bundle written before the options holds it
    sio.dump(old, tmp_path / "f.skops")
    loaded = sio.load(tmp_path / "f.skops", trusted=sio.get_untrusted_types(file=tmp_path / "f.skops"))
    assert loaded.pixels is None and loaded.trim is None and loaded.get_params()["pixels_per_cell"] == 6
    assert loaded.transform(np.ones((1, 32, 32))).shape == (1, 900 - 324)


def test_auto_features_are_stored_printed_and_pinnable(tmp_path, small_set):
    X, y = small_set
    rec = SegmentingRecognizer(classifier="knn", front_end_search=False).fit(X[:100], y[:100])
    assert rec.segmentation_ == "forced"
    choice = rec.features_
    used = rec.pipeline_.named_steps["features"]
    cells = used.pixels_per_cell
    name = ("+".join(map(str, cells)) if isinstance(cells, tuple) else str(cells)) + "-px cells"
    if used.pixels:
        name += f" and pixels {used.pixels}x{used.pixels}"
    assert choice["chosen"] == f"hog, {name}" and {"8-px cells", "6-px cells", "8+6-px cells"} < set(
        choice["held_out_char_accuracy"])
    assert f"features: hog, {name}" in rec.training_note()
    rec.save(tmp_path / "m")
    loaded = SegmentingRecognizer.load(tmp_path / "m")
    stored = loaded.describe()["features"]["params"]["pixels_per_cell"]
    assert loaded.features_ == choice and stored == (list(cells) if isinstance(cells, tuple) else cells)
    assert loaded.pipeline_.named_steps["features"].pixels_per_cell == cells
    assert loaded.pipeline_.named_steps["features"].pixels == used.pixels
    assert loaded.predict(X[100:]) == rec.predict(X[100:])
    pinned = SegmentingRecognizer(classifier="knn", features="hog", front_end_search=False).fit(X[:100], y[:100])
    assert pinned.features_ == {"chosen": "hog"} and pinned.pipeline_.named_steps["features"].pixels_per_cell == 8
    assert "features:" not in pinned.training_note()


def test_several_hog_cell_sizes_pinned_survive_the_bundle(tmp_path, small_set):
    """A pinned HOGFeatures with a tuple of cell sizes comes back as that tuple (the JSON keeps it as a list)."""
    from sklearn.base import clone

    from captchakit import load_model

    X, y = small_set
    rec = SegmentingRecognizer(classifier="knn", features=HOGFeatures(pixels_per_cell=(8, 6)),
                               front_end_search=False).fit(X[:100], y[:100])
    assert rec.features_ == {"chosen": "HOGFeatures(pixels_per_cell=(8, 6))"}
    rec.save(tmp_path / "m")
    back = load_model(tmp_path / "m")
    assert back.features.pixels_per_cell == (8, 6) and clone(back).features.pixels_per_cell == (8, 6)
    assert back.pipeline_.named_steps["features"].pixels_per_cell == (8, 6)
    assert back.predict(X[100:]) == rec.predict(X[100:])


def test_reject_pieces_are_those_under_the_overlap_with_every_aligned_piece():
    # the pieces the scorer learns as "not a character", against the definition one pair at a time
    from captchakit.classifiers._recognizer import REJECT_IOU, _iou, reject_pieces

    rng = np.random.default_rng(3)
    for _ in range(200):
        cuts = np.sort(rng.choice(120, rng.integers(3, 25), replace=False)).tolist()
        spans = [(cuts[i], cuts[j]) for i in range(len(cuts)) for j in range(i + 1, min(len(cuts), i + 5))]
        spans.append((cuts[0], cuts[0]))  # an empty piece overlaps nothing
        path = sorted(rng.choice(len(spans) - 1, rng.integers(1, min(4, len(spans) - 1) + 1), replace=False).tolist())
        expected = [p for p, sp in enumerate(spans)
                    if p not in path and max(_iou(sp, spans[a]) for a in path) < REJECT_IOU]
        got = reject_pieces(spans, path, np.random.default_rng(0), n=len(spans))
        assert sorted(got) == expected
        assert len(got) == len(set(got))
        assert reject_pieces(spans, path, np.random.default_rng(0), n=2) == got[:2]


def test_svc_predict_is_libsvms_predict_where_votes_tie():
    # many classes over overlapping data: pairs' votes often tie, and libsvm gives the tie to the first class
    from captchakit.classifiers._svm import svc_predict

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 6))
    y = rng.integers(0, 9, size=600)  # labels unrelated to X: a weak, tie-prone SVM
    clf = SVC(C=0.5).fit(X[:400], y[:400])
    test = rng.normal(size=(2000, 6))
    assert np.array_equal(svc_predict(clf, test), clf.predict(test))
    knn = KNeighborsClassifier(3).fit(X, y)  # not an SVM: its own predict
    assert np.array_equal(svc_predict(knn, test), knn.predict(test))
