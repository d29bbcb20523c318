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
