"""``report.html``: the mail's HTML part saved beside the workbook on every run, email or not.

It is self-contained (inline styles, CSS bars, no scripts, fonts or images from elsewhere), so it can
be copied onto an intranet page as it is.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from kpibatch.config import Divisions, Mail, ReportStyle
from kpibatch.deadlines import read_standings
from kpibatch.deliver.render import render
from kpibatch.deliver.summary import Summary, build_summary
from kpibatch.fsutil import write_text_atomic
from kpibatch.registry import expected_names

REPORT_HTML = "report.html"


def expected_of(data: dict[str, Any], divisions: Divisions) -> tuple[str, ...]:
    """The divisions expected in the group ``data`` (the registry's, else ``expected_divisions``)."""
    return expected_names(divisions, [d["division"] for d in data.get("divisions", [])])


def summarize(
    data: dict[str, Any], workbook: Path, style: ReportStyle, expected: tuple[str, ...] = ()
) -> Summary:
    summary = build_summary(data, workbook, expected=expected, thai_digits=style.thai_digits)
    return dataclasses.replace(summary, standings=read_standings(workbook.parent))


def write_report_html(
    workbook: Path, data: dict[str, Any], style: ReportStyle, mail: Mail, divisions: Divisions
) -> Path:
    """Write ``report.html`` beside ``workbook`` from the group's results (``results.json`` data)."""
    html = render(summarize(data, workbook, style, expected_of(data, divisions)), mail).html
    return write_text_atomic(workbook.parent / REPORT_HTML, html)
