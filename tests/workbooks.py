"""Workbooks written as raw parts, for what openpyxl and xlsxwriter refuse or take long to write:
a sheet that claims every cell of the grid, and sheets with hundreds of thousands of rows."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def rewrite_part(source: Path, target: Path, part: str, edit: object) -> Path:
    """Copy the package ``source`` to ``target`` with ``edit(text)`` applied to one XML part."""
    assert callable(edit)
    with zipfile.ZipFile(source) as zin:
        items = [(info, zin.read(info.filename)) for info in zin.infolist()]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in items:
            if info.filename == part:
                data = edit(data.decode("utf-8")).encode("utf-8")
            zout.writestr(info, data)
    return target


def claims_whole_grid(source: Path, target: Path, part: str = "xl/worksheets/sheet2.xml") -> Path:
    """The sheet gets a cell at XFD1048576: python-calamine then allocates the whole grid and aborts."""

    def edit(text: str) -> str:
        text = re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:XFD1048576"/>', text)
        corner = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
        return text.replace("</sheetData>", corner + "</sheetData>")

    return rewrite_part(source, target, part, edit)


def long_workbook(path: Path, rows: int) -> Path:
    """A contract-shaped workbook whose KPI sheet has ``rows`` KPI rows (small on disk, slow to check)."""
    division = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>division</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>กองทดสอบ</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>fiscal_year</t></is></c><c r="B2"><v>2563</v></c></row>'
        '<row r="3"><c r="A3" t="inlineStr"><is><t>round</t></is></c><c r="B3"><v>12</v></c></row>'
    )
    header = "".join(
        f'<c r="{col}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for col, name in zip("ABCDE", ("code", "name", "weight", "method", "result"), strict=True)
    )
    body = "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{r}</t></is></c>'
        f'<c r="B{r}" t="inlineStr"><is><t>ตัวชี้วัด</t></is></c><c r="C{r}"><v>1</v></c>'
        f'<c r="D{r}" t="inlineStr"><is><t>score</t></is></c><c r="E{r}"><v>3</v></c></row>'
        for r in range(2, rows + 2)
    )
    sheets = {"Division": division, "KPIs": f'<row r="1">{header}</row>{body}'}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                for i in (1, 2)
            )
            + "</Types>",
        )
        zf.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        zf.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
            + "".join(f'<sheet name="{n}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(sheets, 1))
            + "</sheets></workbook>",
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in (1, 2)
            )
            + "</Relationships>",
        )
        for i, data in enumerate(sheets.values(), 1):
            zf.writestr(
                f"xl/worksheets/sheet{i}.xml",
                f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>{data}</sheetData></worksheet>',
            )
    return path
