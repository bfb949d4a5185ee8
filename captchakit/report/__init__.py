"""Figures and reports: contact sheets, overlays, plots and HTML pages."""

from captchakit.report._sheet import contact_sheet, draw_boxes

__all__ = ["contact_sheet", "draw_boxes"]

from captchakit.report._plots import (  # noqa: E402
    save_bars, save_confusion, save_error_gallery, save_lines, table_md, write_html,
)

__all__ += ["save_bars", "save_confusion", "save_error_gallery", "save_lines", "table_md", "write_html"]
