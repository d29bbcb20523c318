"""Hostile and broken workbooks, built from a valid one: the cases kpibatch must reject with a reason.

Shared by the tests (small sizes) and ``scripts/reliability.py`` (full sizes, such as the 20-million-
cell file). Every builder returns the file's bytes; nothing here needs a network or a fixture file.
``encrypted`` needs msoffcrypto-tool and ``old_xls`` needs xlwt (both in the ``test`` extra).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

KPI_SHEET = "xl/worksheets/sheet2.xml"
"""The KPI sheet of a workbook with Division, KPIs and Reallocations in that order (as the tests'
builders write it); ``kpi_sheet`` finds it in any workbook, such as the template-based examples."""
KPI_SHEET_NAMES = ("KPIs", "ตัวชี้วัด")
SHARED_STRINGS = "xl/sharedStrings.xml"

Edit = Callable[[str, bytes], bytes | None]


def rewrite(source: bytes, edit: Edit, extra: dict[str, bytes] | None = None) -> bytes:
    """A copy of the zip ``source`` with each member passed through ``edit`` (None drops it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = edit(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return out.getvalue()


def kpi_sheet(source: bytes) -> str:
    """The zip member holding the KPI sheet of the workbook ``source`` (by its name in workbook.xml)."""
    with zipfile.ZipFile(io.BytesIO(source)) as z:
        workbook = z.read("xl/workbook.xml").decode("utf-8")
        rels = z.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    for name in KPI_SHEET_NAMES:
        sheet = re.search(rf'<sheet [^>]*name="{re.escape(name)}"[^>]*/>', workbook)
        rid = sheet and re.search(r'r:id="([^"]+)"', sheet.group(0))
        if rid:
            for rel in re.findall(r"<Relationship [^>]*/>", rels):
                if f'Id="{rid.group(1)}"' in rel:
                    target = re.search(r'Target="([^"]+)"', rel)
                    if target:
                        return "xl/" + target.group(1).lstrip("/").removeprefix("xl/")
    return KPI_SHEET


def edit_member(source: bytes, member: str, change: Callable[[bytes], bytes]) -> bytes:
    return rewrite(source, lambda name, data: change(data) if name == member else data)


# --- not a workbook at all -----------------------------------------------------------------------


def empty() -> bytes:
    return b""


def csv_text() -> bytes:
    return "code,name,weight\n1,ตัวชี้วัด,100\n".encode()


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def html() -> bytes:
    return b"<html><body><table><tr><td>1</td></tr></table></body></html>"


def png() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def zip_of(members: dict[str, str | bytes]) -> bytes:
    """A zip holding ``members`` in order (stored, as small containers usually are)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def docx() -> bytes:
    return zip_of({"[Content_Types].xml": "<Types/>", "word/document.xml": "<document/>"})


def ods() -> bytes:
    """An OpenDocument spreadsheet: the ``mimetype`` member comes first."""
    return zip_of(
        {
            "mimetype": "application/vnd.oasis.opendocument.spreadsheet",
            "content.xml": "<office:document-content/>",
            "META-INF/manifest.xml": "<manifest/>",
        }
    )


def xlsb() -> bytes:
    return zip_of({"[Content_Types].xml": "<Types/>", "xl/workbook.bin": b"\x83\x01\x00"})


def old_xls() -> bytes:
    """A real Excel 97-2003 workbook (BIFF8 in an OLE container), written by xlwt."""
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("KPIs")
    sheet.write(0, 0, "code")
    sheet.write(1, 0, "1")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def encrypted(source: bytes, password: str = "secret") -> bytes:
    """``source`` encrypted the way Excel's File > Info > Encrypt with Password does (ECMA-376 agile)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(source)).encrypt(password, out)
    return out.getvalue()


# --- broken containers ---------------------------------------------------------------------------


def truncated(source: bytes, fraction: float = 0.6) -> bytes:
    """A file cut off part way, as a copy or a download that stopped."""
    return source[: int(len(source) * fraction)]


def crc_damaged(source: bytes, member: str | None = None) -> bytes:
    """A member stored with its bytes changed after the CRC was computed."""
    out = bytearray(source)
    with zipfile.ZipFile(io.BytesIO(source)) as z:
        info = z.getinfo(member or kpi_sheet(source))
    # local header: 30 bytes + name + extra; flip a byte in the middle of the compressed data
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    out[start + info.compress_size // 2] ^= 0xFF
    return bytes(out)


def zip_encrypted_flag(source: bytes) -> bytes:
    """Members marked as zip-encrypted (legacy ZipCrypto), which no Excel workbook uses."""
    out = bytearray(source)
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        for match in re.finditer(re.escape(signature), bytes(out)):
            out[match.start() + flag_offset] |= 0x01
    return bytes(out)


def many_members(count: int) -> bytes:
    return zip_of({"[Content_Types].xml": "<Types/>", **{f"xl/media/x{i}.bin": b"" for i in range(count)}})


def ratio_bomb(source: bytes, expanded_mb: int) -> bytes:
    """A workbook with an extra part of zeros that compresses about 1000 to 1."""
    out = io.BytesIO(source)
    out.seek(0, io.SEEK_END)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as z, z.open("xl/media/zeros.bin", "w") as handle:
        block = b"\x00" * (1024 * 1024)
        for _ in range(expanded_mb):
            handle.write(block)
    return out.getvalue()


# --- XML attacks ---------------------------------------------------------------------------------

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE sst [\n<!ENTITY a "ha">\n'
    + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n'.encode() for i in range(9))
    + b"]>\n"
)


def entity_expansion(source: bytes) -> bytes:
    """Billion laughs in the shared strings: 10^9 copies of "ha" if any parser expanded them."""

    def change(data: bytes) -> bytes:
        body = re.sub(rb"^<\?xml[^>]*\?>\s*", b"", data)
        body = body.replace(b"<t>", b"<t>&j;", 1)
        return BILLION_LAUGHS + body

    return edit_member(source, SHARED_STRINGS, change)


def external_entity(source: bytes) -> bytes:
    """An external entity that would read a local file into a cell."""

    def change(data: bytes) -> bytes:
        body = re.sub(rb"^<\?xml[^>]*\?>\s*", b"", data)
        body = body.replace(b"<t>", b"<t>&xxe;", 1)
        return b'<?xml version="1.0"?>\n<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n' + body

    return edit_member(source, SHARED_STRINGS, change)


def malformed_sheet(source: bytes) -> bytes:
    """The KPI sheet with its closing tags cut: a parser fails part way through."""
    return edit_member(source, kpi_sheet(source), lambda data: data[: len(data) * 2 // 3])


def bad_cell(source: bytes, cell: bytes = b'<c r="B5" s="2" t="s"><v>99999</v></c>') -> bytes:
    """Well-formed XML that openpyxl still fails on: a shared-string index past the table (IndexError),
    ``t="n"`` holding text (ValueError), a style index past the stylesheet (IndexError)."""
    return edit_member(
        source, kpi_sheet(source), lambda data: re.sub(rb'<c r="B5"[^>]*>.*?</c>', cell, data, count=1)
    )


# --- sheets too large to read --------------------------------------------------------------------


def dimension_bomb(source: bytes, ref: bytes = b"A1:XFD1048576") -> bytes:
    """A few kilobytes whose KPI sheet claims the whole grid (17 billion cells)."""
    return edit_member(
        source,
        kpi_sheet(source),
        lambda data: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="' + ref + b'"', data),
    )


def far_cell(source: bytes, ref: bytes = b"XFD1048576") -> bytes:
    """No dimension at all, and one cell at the far corner: a reader sizing its grid by the cells'
    bounding box allocates the whole sheet."""

    def change(data: bytes) -> bytes:
        data = re.sub(rb"<dimension [^>]*/>", b"", data)
        row = re.search(rb"\d+", ref).group().decode()  # type: ignore[union-attr]
        cell = f'<row r="{row}"><c r="{ref.decode()}" t="n"><v>1</v></c></row>'.encode()
        return data.replace(b"</sheetData>", cell + b"</sheetData>")

    return edit_member(source, kpi_sheet(source), change)


def many_cells(cells: int, columns: int = 16_384) -> bytes:
    """A minimal workbook whose KPI sheet holds ``cells`` numeric cells (20 million: about 600 KB)."""
    content_types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
        '"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
        'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships"><sheets><sheet name="KPIs" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    workbook_rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", content_types)
        z.writestr("_rels/.rels", rels)
        z.writestr("xl/workbook.xml", workbook)
        z.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as handle:
            handle.write(
                b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                b'spreadsheetml/2006/main"><sheetData>'
            )
            row_cells = b"<c><v>1</v></c>" * columns
            rows, rest = divmod(cells, columns)
            for _ in range(rows):
                handle.write(b"<row>" + row_cells + b"</row>")
            if rest:
                handle.write(b"<row>" + b"<c><v>1</v></c>" * rest + b"</row>")
            handle.write(b"</sheetData></worksheet>")
    return out.getvalue()


# --- accepted, with a warning --------------------------------------------------------------------


def with_macros(source: bytes) -> bytes:
    """``source`` as a macro-enabled workbook (.xlsm) holding a VBA project."""

    def change(name: str, data: bytes) -> bytes:
        if name == "[Content_Types].xml":
            data = data.replace(
                b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
            )
            data = data.replace(
                b"</Types>",
                b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
            )
        return data

    vba = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b'Attribute VB_Name = "Module1"\nSub AutoOpen(): Shell "calc": End Sub\n'
    )
    return rewrite(source, change, extra={"xl/vbaProject.bin": vba})
