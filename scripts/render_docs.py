"""Render a division's printed pages to ``docs/division-page-<n>.png`` for the README.

Usage:  python scripts/render_docs.py [--division กองบริหารทรัพยากรบุคคล] [--dpi 100]

Runs kpibatch on the shipped examples, prints the workbook to PDF with LibreOffice (headless) and
turns each page of the division's sheet into a PNG with pdftoppm (Debian: libreoffice-calc, poppler-utils,
fonts-thai-tlwg, fonts-crosextra-carlito). TH Sarabun New is not packaged for Debian, so it is
rendered with Laksaman, the TLWG font derived from TH Sarabun PSK; Carlito stands in for Calibri,
whose digit width is the unit of column width (docs/decisions/0003-print-font.md). Both are checked
before rendering: a fallback font would draw other pages than a user's LibreOffice does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kpibatch.config import Settings  # noqa: E402
from kpibatch.pipeline import inbox_files, run_batch  # noqa: E402

FONTCONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <alias binding="same"><family>TH Sarabun New</family><prefer><family>Laksaman</family></prefer></alias>
</fontconfig>
"""


def plain(text: str) -> str:
    """Text without spaces and Thai marks, as pdftotext's output can be compared."""
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Mn")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--division", default="กองบริหารทรัพยากรบุคคล")
    parser.add_argument("--dpi", type=int, default=100)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    for tool in ("soffice", "pdftoppm", "pdftotext", "fc-match"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: apt-get install libreoffice-calc poppler-utils fontconfig")
    for family, stand_in, package in (
        ("TH Sarabun New", "Laksaman", "fonts-thai-tlwg"),
        ("Calibri", "Carlito", "fonts-crosextra-carlito"),
    ):
        found = subprocess.run(["fc-match", "-f", "%{family}", family], capture_output=True, text=True).stdout
        if stand_in not in found and family not in found:
            sys.exit(f"{family} is drawn with {found or 'nothing'}: apt-get install {package}")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        report = run_batch(inbox_files(ROOT / "input_templates" / "examples"), work / "out", Settings())
        workbook = report.outputs[0].workbook
        (work / "fonts.conf").write_text(FONTCONFIG, encoding="utf-8")
        env = {**os.environ, "FONTCONFIG_FILE": str(work / "fonts.conf")}
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation={(work / 'profile').as_uri()}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(work),
                str(workbook),
            ],
            check=True,
            capture_output=True,
            env=env,
            timeout=300,
        )
        pdf = work / (workbook.stem + ".pdf")
        pages = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True
        ).stdout.decode("utf-8")
        wanted = plain(args.division)
        numbers = [
            n
            for n, page in enumerate(pages.split("\f"), start=1)
            if wanted in plain(page) and plain("รายละเอียดตัวชี้วัด") in plain(page)
        ]
        args.out.mkdir(parents=True, exist_ok=True)
        for k, number in enumerate(numbers, start=1):
            stem = work / f"page-{k}"
            pages_wanted = ["-f", str(number), "-l", str(number), "-singlefile"]
            subprocess.run(
                ["pdftoppm", "-png", "-r", str(args.dpi), *pages_wanted, str(pdf), str(stem)], check=True
            )
            target = args.out / f"division-page-{k}.png"
            shutil.copy(stem.with_suffix(".png"), target)
            print(target)


if __name__ == "__main__":
    main()
