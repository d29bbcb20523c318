"""``report.html``: the mail's HTML part saved beside the workbook on every run, email or not.

It is self-contained (inline styles, CSS bars, no scripts, fonts or images from elsewhere), so it can
be copied onto an intranet page as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kpibatch.config import Mail, ReportStyle
from kpibatch.deliver.render import render
from kpibatch.deliver.summary import Summary, build_summary
from kpibatch.fsutil import write_text_atomic

REPORT_HTML = "report.html"


def summarize(data: dict[str, Any], workbook: Path, style: ReportStyle) -> Summary:
    return build_summary(data, workbook, expected=style.expected_divisions, thai_digits=style.thai_digits)


def write_report_html(workbook: Path, data: dict[str, Any], style: ReportStyle, mail: Mail) -> Path:
    """Write ``report.html`` beside ``workbook`` from the group's results (``results.json`` data)."""
    html = render(summarize(data, workbook, style), mail).html
    return write_text_atomic(workbook.parent / REPORT_HTML, html)
