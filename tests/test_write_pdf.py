"""Print the consolidated workbook with LibreOffice (headless) to PDF: A4 pages, each division's
summary one page wide, the planning officer's columns outside the print."""

from __future__ import annotations

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
