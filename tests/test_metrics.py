import numpy as np

from captchakit.metrics import align, cer, char_accuracy, confusion, levenshtein, string_accuracy, summarize


def test_levenshtein():
    assert levenshtein("", "abc") == 3
    assert levenshtein("kitten", "sitting") == 3


def test_accuracies_with_different_lengths():
    truth, pred = ["1234", "5678", "0000"], ["1234", "568", "00000"]
    assert string_accuracy(truth, pred) == 1 / 3
    # 4 + 3 (one deletion) + 4 matched of 12
    assert char_accuracy(truth, pred) == 11 / 12
    assert cer(truth, pred) == 2 / 12


def test_align_gap():
    assert align("5678", "568") == [("5", "5"), ("6", "6"), ("7", None), ("8", "8")]


def test_confusion_counts():
    m = confusion(["12", "11"], ["12", "1"], "12")
    assert m[0, 0] == 2 and m[1, 1] == 1 and m[0, 2] == 1
    assert m.sum() == 4


def test_summarize():
    s = summarize(["12"], ["13"], seconds=0.5)
    assert s["ms_per_image"] == 500 and s["char_accuracy"] == 0.5 and np.isclose(s["cer"], 0.5)


def test_error_gallery_titles_do_not_run_into_each_other(tmp_path, monkeypatch):
    # eight-character labels (text-captcha's) in four columns: each image's title stays within its own column
    import captchakit.report._plots as plots

    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, path, dpi: figures.append(fig))
    im = np.full((40, 160), 255, np.uint8)
    truths = ["WMWMWMWM", "abcdefgh", "MWMWMWMW", "qwertyui", "WWWWWWWW"]
    preds = ["MWMWMWMW", "abcdefgx", "WMWMWMWM", "qwertyu", "MMMMMMMM"]
    plots.save_error_gallery(tmp_path / "errors.png", [im] * 5, truths, preds)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = figures[0]
    canvas = FigureCanvasAgg(fig)  # pyplot closed the figure: a canvas of its own to measure the titles on
    canvas.draw()
    renderer = canvas.get_renderer()
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert len(titled) == 5
    rows = {}
    for ax in titled:
        rows.setdefault(round(ax.get_position().y0, 3), []).append(ax)
    for axes in rows.values():
        axes.sort(key=lambda ax: ax.get_position().x0)
        boxes = [ax.title.get_window_extent(renderer) for ax in axes]
        assert boxes[0].x0 >= 0 and boxes[-1].x1 <= renderer.width
        for left, right in zip(boxes, boxes[1:]):
            assert left.x1 <= right.x0, (left, right)

