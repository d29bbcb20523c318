"""Print the consolidated workbook with LibreOffice (headless) to PDF: A4 pages, each division's
summary one page wide, the planning officer's columns outside the print."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from write_helpers import examples_workbook

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFTOTEXT = shutil.which("pdftotext")
A4 = (595, 842)

pytestmark = pytest.mark.skipif(
    SOFFICE is None, reason="LibreOffice (soffice) is not installed; apt-get install libreoffice-calc"
)


def _font(family: str) -> str:
    fc = shutil.which("fc-match")
    if fc is None:
        return ""
    return subprocess.run([fc, "-f", "%{family}", family], capture_output=True, text=True).stdout


# what a user's LibreOffice prints with (docs/decisions/0003-print-font.md): measuring layout under
# any other fallback font would measure that font
PRINT_FONTS = _font("TH Sarabun New").startswith("Laksaman") and _font("Calibri").startswith("Carlito")
needs_print_fonts = pytest.mark.skipif(
    not PRINT_FONTS,
    reason="the print fonts are missing: apt-get install fonts-thai-tlwg fonts-crosextra-carlito",
)


def to_pdf(workbook: Path, folder: Path) -> Path:
    profile = (
        folder / "lo-profile"
    )  # a private profile: another soffice running elsewhere cannot block this one
    subprocess.run(
        [
            str(SOFFICE),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            str(workbook),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    return folder / (workbook.stem + ".pdf")


def page_sizes(pdf: Path) -> list[tuple[int, int]]:
    """The MediaBox of every page object (not of the page tree, which holds the largest of them)."""
    sizes = []
    for obj in pdf.read_bytes().split(b"endobj"):
        if not re.search(rb"/Type\s*/Page(?![a-zA-Z])", obj):
            continue
        box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", obj)
        assert box, obj[:200]
        sizes.append((round(float(box[1])), round(float(box[2]))))
    return sizes


def plain(text: str) -> str:
    """Text without spaces and Thai marks: pdftotext places marks apart from their consonants."""
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Mn")


def page_texts(pdf: Path) -> list[str]:
    assert PDFTOTEXT is not None
    text = subprocess.run(
        [PDFTOTEXT, "-layout", str(pdf), "-"], check=True, capture_output=True, timeout=60
    ).stdout.decode("utf-8")
    return text.split("\f")


WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="[\d.]+">([^<]*)</word>')


def page_lines(pdf: Path) -> list[list[str]]:
    """Each page's lines of text, top to bottom, from the words' positions: ``-layout`` splits a
    line where a Thai mark sits apart from its consonant, the positions do not."""
    assert PDFTOTEXT is not None
    out = subprocess.run(
        [PDFTOTEXT, "-bbox", str(pdf), "-"], check=True, capture_output=True, timeout=60
    ).stdout.decode("utf-8")
    pages = []
    for page in out.split("<page ")[1:]:
        lines: dict[float, list[tuple[float, str]]] = {}
        for x, y, word in WORD.findall(page):
            lines.setdefault(round(float(y)), []).append((float(x), html.unescape(word)))
        pages.append([" ".join(w for _, w in sorted(words)) for _, words in sorted(lines.items())])
    return pages


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pdf = to_pdf(examples_workbook(tmp_path_factory).workbook, tmp_path_factory.mktemp("pdf"))
    assert pdf.is_file() and pdf.stat().st_size > 10_000
    return pdf


def test_every_page_is_a4(printed: Path):
    sizes = page_sizes(printed)
    assert sizes, "no page found in the PDF"
    assert all(size in (A4, A4[::-1]) for size in sizes)
    assert A4 in sizes and A4[::-1] in sizes  # portrait summaries, landscape comparison and issues


@pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext (poppler-utils) is not installed")
def test_division_summaries_print_one_page_wide_with_their_headings_on_every_page(
    printed: Path, seed: list[dict]
):
    pages = page_texts(printed)
    headings = plain("รายละเอียดตัวชี้วัด คะแนนที่ทำได้ น้ำหนัก")
    for division in seed:
        name = plain(division["division"])
        mine = [page for page in pages if name in plain(page) and plain("รายละเอียดตัวชี้วัด") in plain(page)]
        assert mine, division["division"]
        for page in mine:
            # the headings repeat on every page, all three columns side by side on the same line
            assert headings in plain(page), division["division"]
            # the officer's columns stay on screen
            assert plain("ระดับ 1") not in plain(page) and plain("น้ำหนักเดิม") not in plain(page)
        text = "\n".join(mine)
        assert plain("คะแนนที่ได้รับตามคำรับรองฯ") in plain(text)
        total = f"{division['printed_total']:.4f}"
        assert re.search(rf"{re.escape(total)}\s+100\b", text), division["division"]
        assert plain(text).count(plain("ตัวชี้วัด ข้อ ")) >= len(division["notes_th"])


# --- what the printed pages look like -------------------------------------------------------------

TITLES = (
    "สรุปผลคะแนน ตามคำรับรองการปฏิบัติราชการ ประจำปีงบประมาณ พ.ศ. 2563 รอบ 12 เดือน",
    "ภาพรวมผลคะแนน ตามคำรับรองการปฏิบัติราชการ ประจำปีงบประมาณ พ.ศ. 2563 รอบ 12 เดือน",
    "เปรียบเทียบคะแนนตัวชี้วัดที่หลายหน่วยงานมีร่วมกัน ประจำปีงบประมาณ พ.ศ. 2563 รอบ 12 เดือน",
)


@needs_print_fonts
@pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext (poppler-utils) is not installed")
def test_a_title_never_leaves_one_word_alone_on_its_second_line(printed: Path):
    seen = 0
    for lines in page_lines(printed):
        for title in TITLES:
            if len(lines) < 2 or not plain(title).startswith(plain(lines[0])):
                continue
            seen += 1
            if plain(lines[0]) != plain(title):  # on two lines: the second is the whole period
                assert plain(lines[0] + lines[1]) == plain(title), lines[:2]
                assert len(lines[1].split()) > 1, lines[:2]
                assert plain(lines[1]).startswith(plain("ประจำปีงบประมาณ")), lines[:2]
    assert seen >= 8  # the overview, the comparison and every division's pages


@pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext (poppler-utils) is not installed")
def test_the_overview_chart_prints_on_a_page_of_its_own(printed: Path):
    from kpibatch.write.overview import CHART_TITLE

    [chart] = [page for page in page_texts(printed) if plain(CHART_TITLE) in plain(page)]
    assert plain("ตัวชี้วัดที่คะแนนต่ำสุด") not in plain(chart)  # no repeated, empty table headings
    assert plain("สำนักงานเลขาธิการกรม") in plain(chart)  # and the chart itself, with its labels


@pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext (poppler-utils) is not installed")
def test_the_overview_footer_prints_whole_and_not_under_empty_headings(printed: Path):
    pages = page_texts(printed)
    [footer] = [n for n, page in enumerate(pages) if plain("ไฟล์ต้นฉบับ / Source file") in plain(page)]
    for name in ("01_secretariat.xlsx", "06_ict_centre.xlsx"):
        assert name in pages[footer]  # the list of source files is not split across pages
    if footer > 0:  # on a page after the table: no repeated, empty table headings above it
        assert plain("ตัวชี้วัดที่คะแนนต่ำสุด") not in plain(pages[footer])


@needs_print_fonts
@pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext (poppler-utils) is not installed")
def test_a_total_row_is_never_alone_on_a_page(tmp_path: Path):
    """Divisions of 20 to 45 one-line KPIs: whichever way a long table splits, the page that holds
    the total holds the last three KPI rows too (and the reallocation sentence under it)."""
    from helpers import kpi, write_submission
    from write_helpers import run_report

    inbox = tmp_path / "in"
    names: dict[str, list[str]] = {}
    for count in range(20, 46):
        division = f"กองทดสอบจำนวน{count}ข้อ"
        kpis = [
            kpi(str(i), 1, f"ตัวชี้วัดของ{division}ลำดับที่{i}", method="score", result=4) for i in range(1, count)
        ]
        kpis.append(
            kpi(str(count), 100 - (count - 1), f"ตัวชี้วัดของ{division}ลำดับที่{count}", method="score", result=4)
        )
        names[division] = [k["name"] for k in kpis]
        write_submission(inbox / f"{count}.xlsx", kpis, division=division)
    _, workbook = run_report(inbox, tmp_path / "out")
    pages = [plain(page) for page in page_texts(to_pdf(workbook, tmp_path))]
    total = plain("คะแนนที่ได้รับตามคำรับรองฯ")
    for division, kpi_names in names.items():
        [page] = [p for p in pages if plain(division) in p and total in p]
        for name in kpi_names[-3:]:
            assert plain(name) in page, (division, name)


def page_words(pdf: Path) -> list[list[tuple[float, float, float, str]]]:
    """Each page's words as (left, right, top, text), in points from the page's top left corner."""
    assert PDFTOTEXT is not None
    out = subprocess.run(
        [PDFTOTEXT, "-bbox", str(pdf), "-"], check=True, capture_output=True, timeout=60
    ).stdout.decode("utf-8")
    box = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>')
    return [
        [(float(x0), float(x1), float(y), html.unescape(w)) for x0, y, x1, w in box.findall(page)]
        for page in out.split("<page ")[1:]
    ]


def lines_at(tops: list[float]) -> int:
    """How many lines of text words at these heights make (words of one line differ by a point)."""
    count, last = 0, None
    for top in sorted(tops):
        if last is None or top - last > 4:
            count += 1
        last = top
    return count


def name_lines(pdf: Path, divisions: list[str]) -> dict[str, dict[str, int]]:
    """The lines each KPI's name takes on the printed pages, by division and code.

    A KPI's name lies right of its code and left of the first score, from its code's height down to
    the next code (or the total row, or the page's footer)."""
    found: dict[str, dict[str, int]] = {}
    for words in page_words(pdf):
        text = plain(" ".join(w for *_, w in words))
        division = next((d for d in divisions if plain(d) in text), None)
        if division is None or plain("รายละเอียดตัวชี้วัด") not in text:
            continue
        codes = sorted(
            (top, right, w) for left, right, top, w in words if re.fullmatch(r"\d+(\.\d+)+", w) and left < 90
        )
        scores = [left for left, _, _, w in words if re.fullmatch(r"\d\.\d{4}", w)]
        below = [top for top, _, _ in codes]
        # the table ends at the total row (คะแนนที่ได้รับ…) or at the page's footer (หน้า 4 / 24)
        ends = [t for _, _, t, w in words if below and t > below[0] and plain(w).startswith(plain("คะแนนท"))]
        end = min([*ends, *(t for _, _, t, w in words if w == "หน้า")])
        codes = [c for c in codes if c[0] < end]  # not the codes the sentences under the total name
        if not codes or not scores:
            continue
        left_edge, right_edge = max(r for _, r, _ in codes) + 1, min(scores) - 1
        for (top, _, code), following in zip(codes, [*codes[1:], (end, 0.0, "")], strict=True):
            tops = [
                t
                for left, _, t, w in words
                if left_edge < left < right_edge
                and top - 4 <= t < following[0] - 4
                and not (left > left_edge + 200 and plain(w) in STATUS_WORDS)
            ]
            found.setdefault(division, {})[code] = lines_at(tops)
    return found


STATUS_WORDS = plain("รายงานรอบ ๑๒ เดือน สำรวจปีละ๑ครั้ง")
"""Statuses printed in the score column, which may start left of the scores' digits."""


@needs_print_fonts
@pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext (poppler-utils) is not installed")
def test_each_kpi_row_is_as_tall_as_the_lines_its_name_prints_on(
    printed: Path, tmp_path_factory: pytest.TempPathFactory
):
    """The lines each printed KPI name really takes (from the words' positions in the PDF) against the
    lines its row holds: no name is cut and no row is a line taller than its name needs (on the
    examples, 5 of 107 rows were a line too tall while Thai line breaks were estimated without ICU's
    dictionary, 13 before the row heights counted LibreOffice's wider column unit)."""
    from write_helpers import load

    from kpibatch.write import widths

    book = load(examples_workbook(tmp_path_factory).workbook)
    holds: dict[str, dict[str, int]] = {}
    status: dict[tuple[str, str], int] = {}  # a status (รายงานรอบ ๑๒ เดือน) may need two lines itself
    for ws in book.worksheets[1:7]:
        rows = holds.setdefault(ws.cell(3, 2).value, {})
        score_width = ws.column_dimensions["C"].width - 5 / 7
        for row in range(5, ws.max_row + 1):
            code = ws.cell(row, 1).value
            if code is None or not re.fullmatch(r"[\d.]+", str(code)):
                break
            line = 16 * widths.LINE_HEIGHT
            rows[str(code)] = int((ws.row_dimensions[row].height - widths.ROW_PADDING_PT + 1) // line)
            if isinstance(ws.cell(row, 3).value, str):
                status[ws.cell(3, 2).value, str(code)] = widths.line_count(
                    ws.cell(row, 3).value, score_width, 16
                )
    printed_lines = name_lines(printed, list(holds))
    assert set(printed_lines) == set(holds)
    cut, tall, count = [], [], 0
    for division, rows in holds.items():
        for code, lines in rows.items():
            shown = printed_lines[division][code]
            count += 1
            if shown > lines:
                cut.append((division, code, shown, lines))
            elif max(shown, status.get((division, code), 1)) < lines:
                tall.append((division, code, shown, lines))
    assert count >= 100  # every example KPI row was found on the printed pages
    assert not cut
    assert not tall


def sentence_lines(pdf: Path, divisions: list[str]) -> dict[str, list[int]]:
    """The lines each reallocation sentence under a division's total prints on, in order.

    A sentence starts with ``ตัวชี้วัด ข้อ`` at the left margin and runs to the next one (or to the
    page's footer)."""
    start = plain("ตัวชี้วัด ข้อ")
    found: dict[str, list[int]] = {}
    for words in page_words(pdf):
        text = plain(" ".join(w for *_, w in words))
        division = next((d for d in divisions if plain(d) in text), None)
        totals = [t for _, _, t, w in words if plain(w).startswith(plain("คะแนนท"))]
        if division is None or not totals:
            continue
        lines: dict[int, list[tuple[float, str]]] = {}
        footer = min((t for _, _, t, w in words if w == "หน้า"), default=1e9)
        for left, _, top, w in words:
            if max(totals) + 4 < top < footer - 4:
                lines.setdefault(round(top), []).append((left, w))
        counts: list[int] = []
        for _, line in sorted(lines.items()):
            if plain(" ".join(w for _, w in sorted(line))).startswith(start):
                counts.append(1)
            elif counts:
                counts[-1] += 1
        found[division] = counts
    return found


@needs_print_fonts
@pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext (poppler-utils) is not installed")
def test_each_reallocation_sentence_row_is_as_tall_as_the_lines_it_prints_on(
    printed: Path, tmp_path_factory: pytest.TempPathFactory
):
    """Under each total, the sentences' rows against the lines LibreOffice prints them on (on the
    examples: 14 sentences; one, ending ``แผนงาน/โครงการ``, printed a line taller than its row while
    a break after a slash was taken where LibreOffice moves it back to the space before)."""
    from write_helpers import load

    from kpibatch.write import widths
    from kpibatch.write.division import SENTENCE_GAP_PT

    book = load(examples_workbook(tmp_path_factory).workbook)
    holds: dict[str, list[int]] = {}
    for ws in book.worksheets[1:7]:
        rows = holds.setdefault(ws.cell(3, 2).value, [])
        for row in range(5, ws.max_row + 1):
            text = ws.cell(row, 1).value
            if isinstance(text, str) and text.startswith("ตัวชี้วัด ข้อ"):
                height = ws.row_dimensions[row].height - SENTENCE_GAP_PT - widths.ROW_PADDING_PT
                rows.append(int((height + 1) // (16 * widths.LINE_HEIGHT)))
    shown = sentence_lines(printed, list(holds))
    assert sum(len(rows) for rows in holds.values()) >= 10
    assert shown == holds
