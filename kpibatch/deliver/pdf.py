"""The printed PDF: LibreOffice (headless) prints a workbook kpibatch wrote, beside it, atomically.

``pdf = true`` in the settings (or ``kpibatch run --pdf``) prints the consolidated workbook to
``OUT/<year>-r<round>/<workbook name>.pdf``; ``division_pdf`` prints one division's summary page(s)
alone (for its receipt). Each conversion runs ``soffice --headless --convert-to pdf`` with a private
profile directory (another LibreOffice the user has open, or a second run, cannot block it) under a
time limit, into a private folder; the PDF is then copied over its target through
``kpibatch.fsutil.write_atomic``, so a reader never sees half a PDF.

``require_soffice`` is the one place that checks for LibreOffice: a run asked for a PDF stops before
doing anything when it is missing, and says what to install.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from kpibatch.config import Printing, ReportStyle
from kpibatch.consolidate import Group
from kpibatch.fsutil import write_atomic

INSTALL_HINT = (
    "ต้องติดตั้ง LibreOffice เพื่อพิมพ์ PDF (pdf = true): บน Debian/Ubuntu ใช้ "
    "`apt-get install libreoffice-calc` บน Windows ใช้ตัวติดตั้งจาก https://www.libreoffice.org/download/ "
    "/ LibreOffice is needed to print the PDF (pdf = true): on Debian/Ubuntu "
    "`apt-get install libreoffice-calc`, on Windows the installer from https://www.libreoffice.org/download/"
)
_WINDOWS_PLACES = (
    Path(os.environ.get("PROGRAMFILES", r"C:\Program Files")) / "LibreOffice" / "program" / "soffice.exe",
    Path(os.environ.get("PROGRAMFILES(X86)", r"C:\Program Files (x86)")) / "LibreOffice/program/soffice.exe",
)


class PdfUnavailable(RuntimeError):
    """LibreOffice is not installed, so no PDF can be printed."""


class PdfFailed(RuntimeError):
    """LibreOffice ran but made no PDF (or ran out of time)."""


def find_soffice() -> str | None:
    """The LibreOffice program: on the PATH, else (Windows) where its installer puts it."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None and sys.platform == "win32":
        found = next((str(p) for p in _WINDOWS_PLACES if p.is_file()), None)
    return found


def require_soffice() -> str:
    """The LibreOffice program, or ``PdfUnavailable`` saying what to install."""
    found = find_soffice()
    if found is None:
        raise PdfUnavailable(INSTALL_HINT)
    return found


def pdf_path(workbook: Path) -> Path:
    """Where the PDF of a workbook goes: beside it, with the same name."""
    return workbook.with_suffix(".pdf")


def convert(workbook: Path, target: Path, *, timeout_s: float = 300.0) -> Path:
    """Print ``workbook`` to ``target`` with LibreOffice; returns where the PDF really is."""
    program = require_soffice()
    with tempfile.TemporaryDirectory(prefix="kpibatch-pdf-") as private:
        profile = Path(private) / "profile"
        outdir = Path(private) / "out"
        command = [
            program,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(outdir),
            str(workbook),
        ]
        # its own process group: on a timeout the whole LibreOffice (soffice and soffice.bin) is ended
        posix = os.name == "posix"
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=posix,
        )
        try:
            _, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            if posix:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
            proc.communicate()
            raise PdfFailed(
                f"LibreOffice พิมพ์ {workbook.name} ไม่เสร็จใน {timeout_s:g} วินาที / "
                f"LibreOffice did not print {workbook.name} within {timeout_s:g} s"
            ) from None
        produced = outdir / (workbook.stem + ".pdf")
        if proc.returncode != 0 or not produced.is_file():
            detail = stderr.decode("utf-8", "replace").strip()[-500:]
            raise PdfFailed(
                f"LibreOffice พิมพ์ {workbook.name} เป็น PDF ไม่ได้ / LibreOffice could not print "
                f"{workbook.name} to PDF (exit {proc.returncode}): {detail}"
            )
        return write_atomic(target, lambda tmp: shutil.copyfile(produced, tmp) and None)


def workbook_pdf(workbook: Path, printing: Printing) -> Path:
    """The consolidated workbook's PDF, beside it."""
    return convert(workbook, pdf_path(workbook), timeout_s=printing.timeout_s)


def division_pdf(
    group: Group,
    division: str,
    target: Path,
    style: ReportStyle,
    printing: Printing,
    generated_at: dt.datetime,
) -> Path:
    """One division's summary page(s) alone as a PDF: a workbook with only its sheet, printed."""
    from kpibatch.text import division_key
    from kpibatch.write import write_report
    from kpibatch.write.division import DivisionSheets

    key = division_key(division)
    scores = [s for s in group.divisions if division_key(s.division) == key]
    if not scores:
        raise KeyError(division)
    alone = dataclasses.replace(group, divisions=scores[:1])
    with tempfile.TemporaryDirectory(prefix="kpibatch-division-") as private:
        workbook = Path(private) / (target.stem + ".xlsx")
        write_report(alone, workbook, style, generated_at, sheets=(DivisionSheets(),))
        return convert(workbook, target, timeout_s=printing.timeout_s)
