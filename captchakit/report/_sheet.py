"""Contact sheets and overlays built as arrays (no I/O)."""

import cv2
import numpy as np


def _to_rgb(a):
    a = np.asarray(a)
    if a.dtype == bool:
        a = np.where(a, 0, 255).astype(np.uint8)
    elif a.dtype.kind == "f":
        a = np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    return np.ascontiguousarray(a[:, :, :3])


def _fit(a, h, w):
    out = np.full((h, w, 3), 255, np.uint8)
    ah, aw = a.shape[:2]
    s = min(h / ah, w / aw)
    nh, nw = max(1, int(ah * s)), max(1, int(aw * s))
    r = cv2.resize(a, (nw, nh), interpolation=cv2.INTER_NEAREST)
    out[:nh, :nw] = r
    return out


def contact_sheet(rows, titles=None, cell=(60, 160), pad=4, header=18, row_labels=None):
    """Tile images into one RGB sheet: one row per sample, one column per stage.

    Parameters
    ----------
    rows : list of list of ndarray
        Images (grey, bool or RGB); rows may differ in length.
    titles : list of str, optional
        Column headers.
    cell : (int, int)
        Height and width of each cell.
    row_labels : list of str, optional
        Text under each row's first cell.

    Returns
    -------
    (H, W, 3) uint8 ndarray

    Examples
    --------
    >>> contact_sheet([[np.zeros((10, 20), bool)]], ["binary"]).shape[2]
    3
    """
    ch, cw = cell
    ncol = max(len(r) for r in rows) if rows else 1
    lab = 14 if row_labels else 0
    top = header if titles else 0
    H = top + len(rows) * (ch + pad + lab) + pad
    W = ncol * (cw + pad) + pad
    sheet = np.full((H, W, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    if titles:
        for j, t in enumerate(titles[:ncol]):
            cv2.putText(sheet, str(t)[:24], (pad + j * (cw + pad), header - 5), font, 0.38,
                        (0, 0, 0), 1, cv2.LINE_AA)
    for i, r in enumerate(rows):
        y = top + pad + i * (ch + pad + lab)
        for j, img in enumerate(r):
            x = pad + j * (cw + pad)
            sheet[y:y + ch, x:x + cw] = _fit(_to_rgb(img), ch, cw)
        if row_labels:
            cv2.putText(sheet, str(row_labels[i])[:40], (pad, y + ch + lab - 3), font, 0.38,
                        (0, 0, 160), 1, cv2.LINE_AA)
    return sheet


def draw_boxes(image, boxes, color=(255, 0, 0)):
    """Return an RGB copy of *image* with the boxes ``(x0, y0, x1, y1)`` drawn."""
    out = _to_rgb(image).copy()
    for x0, y0, x1, y1 in np.asarray(boxes).reshape(-1, 4):
        cv2.rectangle(out, (int(x0), int(y0)), (int(x1) - 1, int(y1) - 1), color, 1)
    return out
