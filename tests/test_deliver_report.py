"""``report.html``: written beside every workbook, self-contained, the same as the mail's HTML part."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import EXAMPLES
from helpers import simple_kpis, write_submission
from hypothesis import given
from hypothesis import strategies as st
from mailserver import mail_settings
from test_mail_message import SIX

from kpibatch.config import Settings
from kpibatch.consolidate import competition_ranks as ranks
from kpibatch.deliver.message import envelope
from kpibatch.deliver.service import message_for
from kpibatch.deliver.summary import missing_divisions
from kpibatch.pipeline import inbox_files, run_batch

RANKED = [SIX[i] for i in (0, 1, 3, 5, 4, 2)]
"""The examples best first: three at 5.0000 (rank 1, in file order), then 4.9, 4.8 and 4.55."""
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


class Visible(HTMLParser):
    """The text a reader sees, and each table row's cells."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.rows: list[list[str]] = []
        self.headings: list[str] = []
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = tag

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell == "td":
            self.rows[-1].append(data.strip())
        elif self._cell == "th":
            self.headings.append(data.strip())


class Rows(HTMLParser):
    """Division names (``td.name`` in ``tr.division``) and every element name, from HTML or a DOM dump."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.tags: list[str] = []
        self._in_name = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "td" and ("class", "name") in attrs:
            self._in_name = True
            self.names.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_name = False

    def handle_data(self, data: str) -> None:
        if self._in_name:
            self.names[-1] += data


def parse(html: str) -> Rows:
    rows = Rows()
    rows.feed(html)
    return rows


def test_report_html_is_written_on_every_run_and_is_self_contained(tmp_path: Path) -> None:
    out = run_batch(inbox_files(EXAMPLES), tmp_path, Settings()).outputs[0]
    assert out.html == out.workbook.parent / "report.html"
    html = out.html.read_text(encoding="utf-8")
    assert parse(html).names == RANKED
    for external in (r"<script", r"<link", r"\bsrc\s*=", r"\bhref\s*=", r"url\(", r"@import"):
        assert not re.search(external, html, re.IGNORECASE), external
    assert "<style" not in html  # inline styles only: mail clients drop style blocks
    assert 'class="bar" style="background:#2b6cb0;height:14px;width:91.0%"' in html  # 4.55 of 5


def test_report_html_is_the_html_part_of_the_mail(tmp_path: Path) -> None:
    settings = mail_settings(expected_divisions=("กองบริหารการคลัง", "กองที่ยังไม่ส่ง"))
    out = run_batch(inbox_files(EXAMPLES), tmp_path, settings).outputs[0]
    html_part = message_for(out.workbook, settings, envelope(settings.mail)).get_body(("html",))
    assert html_part is not None
    # Mail has CRLF line ends on the wire; the file keeps the platform's.
    assert html_part.get_content().replace("\r\n", "\n") == out.html.read_text(encoding="utf-8")


def test_rows_in_rank_order_thai_time_and_thai_digits_for_every_number(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLES, inbox)
    write_submission(inbox / "bad.xlsx", simple_kpis({"1": 5, "2": 4}, {"1": 60, "2": 30}), division="กองผิด")
    at = dt.datetime(2020, 10, 15, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    out = run_batch(inbox_files(inbox), tmp_path / "out", Settings(thai_digits=True), now=lambda: at)
    html = out.outputs[0].html.read_text(encoding="utf-8")
    page = Visible()
    page.feed(html)
    table = [row for row in page.rows if row]
    assert [row[1] for row in table] == RANKED
    # one number column, the rank, and it rises down the table: ties share a rank
    assert "ลำดับ" not in page.headings and page.headings[0] == "อันดับ"
    assert [row[0] for row in table] == ["๑", "๑", "๑", "๔", "๕", "๖"]
    # the time as the workbook's overview writes it, not ISO 8601
    assert "สร้างเมื่อ ๑๕ ตุลาคม ๒๕๖๓ เวลา ๐๙:๓๐ น." in " ".join("".join(page.text).split())
    # every number a reader sees is in Thai digits; file names and paths are names, not numbers
    shown = "".join(page.text)
    for name in [str(out.outputs[0].workbook.resolve()), out.outputs[0].workbook.name, "bad.xlsx"]:
        shown = shown.replace(name, "")
    shown = re.sub(r"\b[A-Z]{1,3}[0-9]+(:[A-Z]{1,3}[0-9]+)?\b", "", shown)  # cell references
    assert not re.findall(r".{0,20}[0-9].{0,20}", shown)
    assert "๙๐" in shown  # the weight-sum message's numbers too


def test_rejected_files_are_listed_with_their_reasons(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    write_submission(inbox / "good.xlsx", simple_kpis({"1": 5}, {"1": 100}), division="กองดี")
    write_submission(inbox / "bad.xlsx", simple_kpis({"1": 5, "2": 4}, {"1": 60, "2": 30}), division="กองผิด")
    out = run_batch(inbox_files(inbox), tmp_path / "out", Settings()).outputs[0]
    html = out.html.read_text(encoding="utf-8")
    assert "ไฟล์ที่ไม่ผ่านการตรวจสอบ" in html and "bad.xlsx" in html
    assert "90" in html  # the weight-sum message names the sum that is wrong
    assert parse(html).names == ["กองดี"]


@given(st.lists(st.none() | st.decimals(min_value=0, max_value=5, places=4), max_size=60))
def test_a_rank_is_one_more_than_the_totals_above_it(totals: list) -> None:
    expected = [None if t is None else 1 + sum(1 for o in totals if o is not None and o > t) for t in totals]
    assert ranks(totals) == expected


def test_ranks_and_missing_divisions() -> None:
    from decimal import Decimal

    assert ranks([Decimal(5), Decimal("4.9"), Decimal(5), None, Decimal("4.9")]) == [1, 3, 1, None, 3]
    assert missing_divisions(("กอง ก", "กอง  ข", "Finance"), ["กอง ก", "FINANCE"]) == ("กอง  ข",)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package `chromium`)")
def test_report_html_renders_in_headless_chromium(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLES, inbox)
    write_submission(
        inbox / "07_hostile.xlsx", simple_kpis({"1": 3}, {"1": 100}), division="<script>alert(1)</script>"
    )
    out = run_batch(inbox_files(inbox), tmp_path / "out", Settings()).outputs[0]
    assert CHROMIUM is not None
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium'}",
            "--dump-dom",
            out.html.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = parse(result.stdout)
    assert dom.names == [*RANKED, "<script>alert(1)</script>"]
    assert "table" in dom.tags and "script" not in dom.tags
