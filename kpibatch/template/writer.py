"""Write the division template (contract v1) with xlsxwriter: instructions, Division, KPIs, Reallocations.

Everything that helps a person fill it without help is in the file itself: yellow input cells (the
only unlocked ones; the sheets are protected without a password), drop-downs for method, direction,
status, round and reallocation codes, number-only validation on weights, levels and results (that lets
through Thai digits and the other spellings the reader accepts), a weight-sum check that turns red
until the top-level weights make 100, frozen headers and the Thai font. A hidden
defined name records the template version so that an older kpibatch can refuse a newer template.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from kpibatch import contract
from kpibatch.model import KpiRow
from kpibatch.safety import write_text
from kpibatch.score import hierarchy
from kpibatch.template import instructions
from kpibatch.template.layout import (
    CODE_KEY_COLUMN,
    CODE_TEXT_COLUMN,
    CONTACT_COLUMNS,
    CONTACT_FIRST_COLUMN,
    DEFAULT_KPI_ROWS,
    DIRECTION_CHOICES,
    DIVISION_FIRST_ROW,
    DIVISION_KEYS,
    DIVISION_LABELS,
    DIVISION_SHEET,
    DIVISION_TITLE_ROW,
    FISCAL_YEAR_RANGE,
    HELPER_HEADERS,
    INSTRUCTIONS_SHEET,
    KPI_CHECK_ROW,
    KPI_COLUMN_INDEX,
    KPI_COLUMNS,
    KPI_FIRST_ROW,
    KPI_HEADER_ROW,
    KPI_HINT_ROW,
    KPI_SHEET,
    KPI_TITLE_ROW,
    METHOD_CHOICES,
    NUMBER_LIMIT,
    REALLOCATION_COLUMNS,
    REALLOCATION_FIRST_ROW,
    REALLOCATION_HEADER_ROW,
    REALLOCATION_ROWS,
    REALLOCATION_SHEET,
    REALLOCATION_TITLE_ROW,
    ROUNDS,
    SPARE_KPI_ROWS,
    STATUS_CHOICES,
    TOP_LEVEL_COLUMN,
    WEIGHT_VALUE_COLUMN,
    Column,
    bilingual,
)
from kpibatch.text import normalize_code
from kpibatch.validate import WEIGHT_TOLERANCE, WEIGHT_TOTAL
from kpibatch.write import WORKBOOK_OPTIONS

INPUT_FILL = "#FFF2CC"
HEADER_FILL = "#D9E1F2"
BAD_FILL, BAD_FONT = "#FFC7CE", "#9C0006"
GOOD_FILL, GOOD_FONT = "#C6EFCE", "#006100"
PROTECTION = {"format_columns": True, "format_rows": True}
"""Locked cells stay locked, but a person may still widen columns and rows to read long names."""


@dataclass(frozen=True)
class TemplateSpec:
    """What goes into a template: pre-filled division details and, for a next round, the KPIs."""

    division: str | None = None
    short_name: str | None = None
    fiscal_year: int | None = None
    round: int | None = None
    kpis: tuple[KpiRow, ...] = ()
    kpi_rows: int = DEFAULT_KPI_ROWS

    @property
    def input_rows(self) -> int:
        """Room for every pre-filled KPI and at least as many blank rows again as the default allows."""
        return max(self.kpi_rows, len(self.kpis) + SPARE_KPI_ROWS)


class _Formats:
    """The template's cell formats, created once per workbook."""

    def __init__(self, workbook: Any) -> None:
        add = workbook.add_format
        size = workbook.default_format_properties["font_size"]
        # Thai script needs room above and below the line; Excel does not grow rows for it by itself.
        self.row_height = round(size * 1.5, 1)
        self.title = add({"bold": True, "font_size": size + 4})
        self.heading = add({"bold": True})
        self.text = add({})
        self.help = add({"italic": True, "font_color": "#595959", "text_wrap": True, "valign": "top"})
        self.hint = add({"italic": True, "font_color": "#595959"})
        self.header = add(
            {"bold": True, "text_wrap": True, "align": "center", "valign": "vcenter", "border": 1}
            | {"bg_color": HEADER_FILL}
        )
        self.label = add({"bold": True, "border": 1, "bg_color": HEADER_FILL, "valign": "top"})
        self.check = add({"bold": True, "border": 1, "align": "center"})
        self.check_text = add({"bold": True})
        self.hidden_formula = add({"hidden": True})
        self.bad = add({"bg_color": BAD_FILL, "font_color": BAD_FONT})
        self.good = add({"bg_color": GOOD_FILL, "font_color": GOOD_FONT})
        input_ = {"locked": False, "bg_color": INPUT_FILL, "border": 1, "valign": "top"}
        example = {"border": 1, "valign": "top"}
        self.input = {kind: add(input_ | props) for kind, props in _KIND_PROPS.items()}
        self.example = {kind: add(example | props) for kind, props in _KIND_PROPS.items()}


_KIND_PROPS: Mapping[str, dict[str, Any]] = {
    # Codes are text so that 2.10 stays 2.10; numbers keep General so 87.5 and 87.5% both show as typed.
    "code": {"num_format": "@", "align": "center"},
    "text": {"num_format": "@"},
    "wrap": {"num_format": "@", "text_wrap": True},
    "choice": {"num_format": "@", "text_wrap": True},
    "weight": {"num_format": "General", "align": "center"},
    "number": {"num_format": "General", "align": "center"},
}


def _validate(ws: Any, first: tuple[int, int], last: tuple[int, int], options: dict[str, Any]) -> None:
    # xlsxwriter only warns and skips a validation it cannot write; a template without it is wrong.
    if ws.data_validation(*first, *last, options) != 0:
        raise ValueError(f"data validation not written: {options}")


def _write_value(ws: Any, row: int, col: int, value: Any, fmt: Any) -> None:
    """Text typed by a division stays text (``safety.write_text``: never a formula or markup);
    numbers stay numbers."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_string(row, col, str(value), fmt)
    elif isinstance(value, int | float | Decimal):
        ws.write_number(row, col, float(value), fmt)
    else:
        write_text(ws, row, col, str(value), fmt)


def _write_row(
    ws: Any,
    row: int,
    columns: Sequence[Column],
    values: Mapping[str, Any],
    formats: Mapping[str, Any],
    first_col: int = 0,
) -> None:
    for col, column in enumerate(columns, start=first_col):
        _write_value(ws, row, col, values.get(column.key), formats[column.kind])


def _write_header(
    ws: Any, row: int, columns: Sequence[Column], fmt: Any, *, widths: bool = True, first_col: int = 0
) -> None:
    for col, column in enumerate(columns, start=first_col):
        ws.write_string(row, col, column.header, fmt)
        if widths:
            ws.set_column(col, col, column.width)


def kpi_values(row: KpiRow) -> dict[str, Any]:
    """A KPI row as the template shows it: methods and directions as their drop-down labels."""
    values: dict[str, Any] = {
        "code": row.code,
        "name": row.name,
        "unit": row.unit,
        "weight": row.weight,
        "method": METHOD_CHOICES.get(row.method or ""),
        "direction": DIRECTION_CHOICES.get(row.direction or ""),
        "result": row.result,
        "verified_result": row.verified_result,
        "status": row.status,
        "note": row.note,
        # who answers for a KPI stays from round to round, like its definition
        **(row.contacts.as_dict() if row.contacts else {}),
    }
    values.update({level: value for level, value in zip(contract.LEVELS, row.levels, strict=True)})
    return values


def weight_check_text(total: Decimal) -> str:
    """What the check cell's formula shows for ``total`` (the value cached for a reader that cannot
    calculate)."""
    gap = (total - WEIGHT_TOTAL).quantize(Decimal("0.01"))
    shown = format(abs(gap).normalize(), "f")
    if abs(total - WEIGHT_TOTAL) <= WEIGHT_TOLERANCE:
        return "ครบ 100 / OK"
    if gap < 0:
        return f"ขาด {shown} / {shown} short"
    return f"เกิน {shown} / {shown} over"


def _letter(col: int) -> str:
    return xl_rowcol_to_cell(0, col)[:-1]


_THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
_CODE_PREFIXES = ("ตัวชี้วัดที่", "ตัวชี้วัด", "ข้อ", "kpi")
"""The words the reader drops in front of a code (``kpibatch.text.normalize_code``), longest first."""


def _arabic(expr: str) -> str:
    """``expr`` with Thai digits replaced by Arabic ones, as ``kpibatch.text.to_arabic_digits`` does."""
    for arabic, thai in enumerate(_THAI_DIGITS):
        expr = f'SUBSTITUTE({expr},"{thai}","{arabic}")'
    return expr


NBSP = "\u00a0"


def _helper_formulas(row: int, keys: str) -> dict[int, str]:
    """The hidden columns' formulas on ``row``: the code and the weight as the reader reads them,
    and whether the code is top level, so that the weight check adds what the reader adds.

    Plain functions only (SUBSTITUTE, TRIM, VALUE, CELL, SUMPRODUCT), which Excel and LibreOffice
    both calculate the same way.
    """
    n = row + 1
    code = f"${_letter(KPI_COLUMN_INDEX['code'])}{n}"
    weight = f"${_letter(KPI_COLUMN_INDEX['weight'])}{n}"
    text = f"${_letter(CODE_TEXT_COLUMN)}{n}"
    key = f"${_letter(CODE_KEY_COLUMN)}{n}"
    # Both code columns start with "#", so that a blank code is "#" rather than an empty text (which
    # xlsxwriter cannot store as a calculated value) and "#13" is still a prefix of "#13.1".
    # A non-breaking space is white space to the reader (str.strip), not to TRIM.
    code_text = '"#"&TRIM(' + _arabic(f'SUBSTITUTE({code}&"","{NBSP}"," ")') + ")"
    bare = f"MID({text},2,999)"
    unprefixed = bare
    for word in reversed(_CODE_PREFIXES):
        size = len(word)
        unprefixed = f'IF(LEFT({bare},{size})="{word}",TRIM(MID({bare},{size + 1},999)),{unprefixed})'
    # the reader drops trailing dots (2.1. is 2.1); two are dropped here, more would be a typo anyway
    x = f"({unprefixed})"
    stripped = f'IF(RIGHT({x},2)="..",LEFT({x},LEN({x})-2),IF(RIGHT({x},1)=".",LEFT({x},LEN({x})-1),{x}))'
    typed = _arabic(f'SUBSTITUTE({weight}&"","{NBSP}","")')
    for old, new in ((" ", ""), (",", ""), ("%", ""), ("\u2212", "-")):
        typed = f'SUBSTITUTE({typed},"{old}","{new}")'
    return {
        # 1 when no other code on the sheet is this code's prefix followed by a dot (so: a top level)
        TOP_LEVEL_COLUMN: (
            f'=IF({key}="#",0,IF(SUMPRODUCT(({keys}<>"#")*(LEFT({key},LEN({keys})+1)={keys}&"."))>0,0,1))'
        ),
        CODE_TEXT_COLUMN: f"={code_text}",
        CODE_KEY_COLUMN: f'="#"&{stripped}',
        # a number formatted as a percentage holds 0.05 for 5 %; weights are in percent units
        WEIGHT_VALUE_COLUMN: (
            f'=IF(ISNUMBER({weight}),{weight}*IF(LEFT(CELL("format",{weight}),1)="P",100,1),'
            f"IFERROR(VALUE({typed}),0))"
        ),
    }


def _weight_check_formula(total_cell: str) -> str:
    gap_short = f"ROUND({WEIGHT_TOTAL}-{total_cell},2)"
    gap_over = f"ROUND({total_cell}-{WEIGHT_TOTAL},2)"
    return (
        f'=IF(ABS({total_cell}-{WEIGHT_TOTAL})<={WEIGHT_TOLERANCE},"ครบ 100 / OK",'
        f'IF({total_cell}<{WEIGHT_TOTAL},"ขาด "&{gap_short}&" / "&{gap_short}&" short",'
        f'"เกิน "&{gap_over}&" / "&{gap_over}&" over"))'
    )


# --- sheets --------------------------------------------------------------------------------------


def _instructions_sheet(wb: Any, fmt: _Formats) -> None:
    ws = wb.add_worksheet(INSTRUCTIONS_SHEET)
    ws.set_default_row(fmt.row_height)
    # Text lines span the example table's width so that they show and print whole.
    span = len(KPI_COLUMNS) - 1
    ws.merge_range(0, 0, 0, span, instructions.TITLE, fmt.title)
    row = 2
    for block in (instructions.THAI, instructions.ENGLISH):
        ws.merge_range(row, 0, row, span, block[0], fmt.heading)
        for line in block[1:]:
            row += 1
            ws.merge_range(row, 0, row, span, line, fmt.text)
        row += 2
    ws.merge_range(row, 0, row, span, instructions.EXAMPLE_TITLE, fmt.heading)
    row += 1
    ws.set_row(row, fmt.row_height * 2)
    _write_header(ws, row, KPI_COLUMNS, fmt.header)
    for example in instructions.EXAMPLE_KPIS:
        row += 1
        _write_row(ws, row, KPI_COLUMNS, example, fmt.example)
    row += 2
    ws.set_row(row, fmt.row_height * 2)
    _write_header(ws, row, REALLOCATION_COLUMNS, fmt.header, widths=False)
    for example in instructions.EXAMPLE_REALLOCATIONS:
        row += 1
        _write_row(ws, row, REALLOCATION_COLUMNS, example, fmt.example)
    _print_setup(ws)
    ws.protect("", PROTECTION)
    ws.activate()


def _print_setup(ws: Any) -> None:
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)


def _division_sheet(wb: Any, fmt: _Formats, spec: TemplateSpec) -> None:
    ws = wb.add_worksheet(DIVISION_SHEET)
    ws.set_default_row(fmt.row_height)
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 50)
    ws.set_column(2, 2, 70)
    ws.write_string(DIVISION_TITLE_ROW, 0, "ข้อมูลหน่วยงาน (Division details)", fmt.title)
    values: dict[str, Any] = {
        "division": spec.division,
        "short_name": spec.short_name,
        "fiscal_year": spec.fiscal_year,
        "round": spec.round,
    }  # a next round's signatories sign again: their cells start blank
    help_texts = {
        "division": "ชื่อเต็มของหน่วยงาน / the division's full name",
        "short_name": "ไม่บังคับ ใช้เป็นชื่อชีตในรายงาน / optional: the sheet name in the report",
        "fiscal_year": "ปี พ.ศ. เช่น 2563 / Buddhist-era year, e.g. 2563",
        "round": "เลือก 6, 9 หรือ 12 (เดือน) / choose 6, 9 or 12 (months)",
        "reporter": "ไม่บังคับ ชื่อผู้รายงานข้อมูล / optional: who reported the figures",
        "reporter_position": "ไม่บังคับ / optional",
        "reported_on": "ไม่บังคับ เช่น 15 ต.ค. 2563 / optional, e.g. 15 Oct 2020",
        "certifier": "ไม่บังคับ ชื่อผู้รับรองข้อมูล พิมพ์ใต้สรุปผลคะแนน / optional: printed under the summary",
        "certifier_position": "ไม่บังคับ เช่น ผู้อำนวยการกอง / optional, e.g. director",
        "certified_on": "ไม่บังคับ เช่น 15 ต.ค. 2563 / optional, e.g. 15 Oct 2020",
    }
    for i, key in enumerate(DIVISION_KEYS):
        row = DIVISION_FIRST_ROW + i
        ws.write_string(row, 0, bilingual(*DIVISION_LABELS[key]), fmt.label)
        kind = "number" if key in ("fiscal_year", "round") else "text"
        _write_value(ws, row, 1, values.get(key), fmt.input[kind])
        ws.write_string(row, 2, help_texts[key], fmt.help)
    year_row = DIVISION_FIRST_ROW + DIVISION_KEYS.index("fiscal_year")
    _validate(
        ws,
        (year_row, 1),
        (year_row, 1),
        {
            "validate": "integer",
            "criteria": "between",
            "minimum": FISCAL_YEAR_RANGE[0],
            "maximum": FISCAL_YEAR_RANGE[1],
            "input_title": "ปีงบประมาณ / fiscal year",
            "input_message": "ปี พ.ศ. เช่น 2563\nBuddhist-era year, e.g. 2563",
            "error_title": "ปีงบประมาณ / fiscal year",
            "error_message": "ใส่ปี พ.ศ. เช่น 2563\nType a Buddhist-era year such as 2563.",
        },
    )
    round_row = DIVISION_FIRST_ROW + DIVISION_KEYS.index("round")
    _validate(
        ws,
        (round_row, 1),
        (round_row, 1),
        {
            "validate": "list",
            "source": [str(r) for r in ROUNDS],
            "input_title": "รอบการประเมิน / round",
            "input_message": "6, 9 หรือ 12 เดือน\n6, 9 or 12 months",
            "error_title": "รอบการประเมิน / round",
            "error_message": "เลือก 6, 9 หรือ 12\nChoose 6, 9 or 12.",
        },
    )
    _print_setup(ws)
    ws.protect("", PROTECTION)


NUMBER_CHARACTERS = "0123456789" + _THAI_DIGITS + ".,%+-\u2212\u2013\u2014 " + NBSP
"""What a number typed as text may be made of: Arabic and Thai digits, a decimal point, thousands
separators, a percent sign, a sign, the dashes a blank is marked with, and spaces."""
TEXT_CHECKED = 99
"""Characters of a typed text the validation looks at (no figure is longer)."""
NUMBER_ERROR = (
    "พิมพ์ตัวเลข เช่น 87.5, ๘๗.๕ หรือ 87.5% (ใช้จุดเป็นทศนิยม)\n"
    "Type a number such as 87.5, ๘๗.๕ or 87.5% (a dot is the decimal separator)."
)


def number_rule(cell: str, bounds: str) -> str:
    """A custom validation formula for a number cell whose top-left cell is ``cell``: a number must
    pass ``bounds`` (written with ``{}`` for the cell), and text must be made of
    ``NUMBER_CHARACTERS`` only, so ``๒``, ``๑,๒๕๐`` and ``5%`` typed as text pass as the reader
    reads them, and words do not.

    A decimal-type validation would refuse every text, Thai digits included; Excel caps a validation
    formula at 255 characters, too few to spell out the reader's Thai-digit conversion, so the text
    is checked character by character (the reader still names any cell it cannot read)."""
    characters = NUMBER_CHARACTERS.replace('"', '""')
    # past the text's end MID gives "", which Excel finds in any text and LibreOffice in none
    positions = f"ROW($1:${TEXT_CHECKED})"
    each = f"MID({cell},{positions},1)"
    text_ok = f'SUMPRODUCT(ISERROR(FIND({each},"{characters}"))*({positions}<=LEN({cell})))=0'
    return f"=IF(ISNUMBER({cell}),{bounds.format(cell)},{text_ok})"


def _kpi_validations(ws: Any, first: int, last: int) -> None:
    def col(key: str) -> int:
        return KPI_COLUMN_INDEX[key]

    def span(key: str, end_key: str | None = None) -> tuple[tuple[int, int], tuple[int, int]]:
        return (first, col(key)), (last, col(end_key or key))

    codes = f"$A${first + 1}:$A${last + 1}"
    _validate(
        ws,
        *span("code"),
        {
            "validate": "custom",
            "value": f"=COUNTIF({codes},A{first + 1})<=1",
            "input_title": "รหัส / code",
            "input_message": "เช่น 2.1 หรือ 15.1.2 (ตัวชี้วัดย่อยใช้รหัสต่อจากตัวชี้วัดหลัก)\n"
            "e.g. 2.1 or 15.1.2 (a sub-KPI extends its parent's code)",
            "error_title": "รหัสซ้ำ / code repeated",
            "error_message": "รหัสนี้มีแล้วในชีตนี้\nThis code is already used on this sheet.",
        },
    )

    def top(key: str) -> str:
        return f"{_letter(col(key))}{first + 1}"

    _validate(
        ws,
        *span("weight"),
        {
            "validate": "custom",
            "value": number_rule(top("weight"), f"AND({{0}}>=0,{{0}}<={int(WEIGHT_TOTAL)})"),
            "input_title": "น้ำหนัก / weight",
            "input_message": "น้ำหนักเดิมตามคำรับรองฯ ระดับบนรวมเป็น 100\n"
            "The agreed weight; top-level weights sum to 100.",
            "error_title": "น้ำหนัก / weight",
            "error_message": "ใส่ตัวเลข 0 ถึง 100 (เลขไทยได้)\nType a number from 0 to 100 (Thai digits too).",
        },
    )

    def number(key: str) -> dict[str, Any]:
        return {
            "validate": "custom",
            "value": number_rule(top(key), f"ABS({{0}})<={NUMBER_LIMIT}"),
            "error_title": "ตัวเลข / number",
            "error_message": NUMBER_ERROR,
        }

    _validate(
        ws,
        *span("level1", "level5"),
        number("level1")
        | {
            "input_title": "เกณฑ์ระดับ / levels",
            "input_message": "ตัวเลข เว้นว่างถ้าไม่กำหนดระดับนี้\nA number; leave blank when not defined.",
        },
    )
    _validate(
        ws,
        *span("result"),
        number("result")
        | {
            "input_title": "ผลการดำเนินงาน / result",
            "input_message": "ตัวเลข (ระดับขั้น/คะแนน: 0-5)\nA number (milestone or score: 0-5).",
        },
    )
    _validate(
        ws,
        *span("verified_result"),
        number("verified_result")
        | {
            "input_title": "ผลการตรวจประเมิน",
            "input_message": "คณะกรรมการกรอก ใช้คิดคะแนนแทนผลการดำเนินงาน\n"
            "Filled by the committee; scored instead of the result.",
        },
    )
    choices = {
        "method": (
            tuple(METHOD_CHOICES.values()),
            "วิธีให้คะแนน / method",
            "เว้นว่าง = เทียบเกณฑ์เมื่อมีเกณฑ์\nBlank = threshold when levels are given.",
        ),
        "direction": (
            tuple(DIRECTION_CHOICES.values()),
            "ทิศทาง / direction",
            "ไม่บังคับ ต้องตรงกับเกณฑ์\nOptional; must agree with the levels.",
        ),
    }
    for key, (source, title, message) in choices.items():
        _validate(
            ws,
            *span(key),
            {
                "validate": "list",
                "source": list(source),
                "input_title": title,
                "input_message": message,
                "error_title": title,
                "error_message": "เลือกจากรายการ\nChoose from the list.",
            },
        )
    _validate(
        ws,
        *span("status"),
        {
            "validate": "list",
            "source": list(STATUS_CHOICES),
            "input_title": "สถานะ / status",
            "input_message": "เว้นว่างถ้าประเมินในรอบนี้ หรือเลือก/พิมพ์ข้อความ\n"
            "Blank = assessed this round; otherwise pick or type a text.",
            # Any text means "not assessed", so the list only suggests.
            "show_error": False,
        },
    )


def _kpi_sheet(wb: Any, fmt: _Formats, spec: TemplateSpec) -> None:
    ws = wb.add_worksheet(KPI_SHEET)
    ws.set_default_row(fmt.row_height)
    first, last = KPI_FIRST_ROW, KPI_FIRST_ROW + spec.input_rows - 1
    weight_col = KPI_COLUMN_INDEX["weight"]
    ws.write_string(
        KPI_TITLE_ROW, 0, "ตัวชี้วัดตามคำรับรองการปฏิบัติราชการ (KPIs of the performance agreement)", fmt.title
    )
    ws.merge_range(
        KPI_CHECK_ROW,
        0,
        KPI_CHECK_ROW,
        weight_col - 1,
        "น้ำหนักรวมของตัวชี้วัดระดับบน (ต้องเป็น 100) / Top-level weights (must be 100)",
        fmt.label,
    )
    ws.write_string(
        KPI_HINT_ROW,
        0,
        "กรอกเฉพาะช่องสีเหลือง หนึ่งแถวต่อหนึ่งตัวชี้วัด ดูชีตคำแนะนำ / "
        "Fill in the yellow cells, one row per KPI; see the instructions sheet.",
        fmt.hint,
    )
    ws.set_row(KPI_HEADER_ROW, fmt.row_height * 2)
    _write_header(ws, KPI_HEADER_ROW, KPI_COLUMNS, fmt.header)
    for col, header in HELPER_HEADERS.items():
        ws.write_string(KPI_HEADER_ROW, col, header, fmt.header)
    ws.set_column(TOP_LEVEL_COLUMN, WEIGHT_VALUE_COLUMN, 12, None, {"hidden": True})
    _write_header(ws, KPI_HEADER_ROW, CONTACT_COLUMNS, fmt.header, first_col=CONTACT_FIRST_COLUMN)

    key_col = _letter(CODE_KEY_COLUMN)
    keys = f"${key_col}${first + 1}:${key_col}${last + 1}"
    parent_of = hierarchy.parents(k.code for k in spec.kpis)
    total = Decimal(0)
    for i in range(spec.input_rows):
        row = first + i
        kpi = spec.kpis[i] if i < len(spec.kpis) else None
        values = kpi_values(kpi) if kpi else {}
        _write_row(ws, row, KPI_COLUMNS, values, fmt.input)
        _write_row(ws, row, CONTACT_COLUMNS, values, fmt.input, CONTACT_FIRST_COLUMN)
        formulas = _helper_formulas(row, keys)
        key = normalize_code(kpi.code) if kpi is not None else None
        flag = 1 if kpi is not None and parent_of.get(kpi.code, "") is None else 0
        weight = kpi.weight if kpi is not None and kpi.weight is not None else Decimal(0)
        if flag:
            total += weight
        cached = {
            TOP_LEVEL_COLUMN: flag,
            CODE_TEXT_COLUMN: f"#{key or ''}",
            CODE_KEY_COLUMN: f"#{key or ''}",
            WEIGHT_VALUE_COLUMN: float(weight),
        }
        for col, formula in formulas.items():
            ws.write_formula(row, col, formula, fmt.hidden_formula, cached[col])

    weight_letter = _letter(WEIGHT_VALUE_COLUMN)
    flag_letter = xl_rowcol_to_cell(0, TOP_LEVEL_COLUMN)[:-1]
    total_cell = xl_rowcol_to_cell(KPI_CHECK_ROW, weight_col, row_abs=True, col_abs=True)
    ws.write_formula(
        KPI_CHECK_ROW,
        weight_col,
        f"=SUMPRODUCT(${weight_letter}${first + 1}:${weight_letter}${last + 1},"
        f"${flag_letter}${first + 1}:${flag_letter}${last + 1})",
        fmt.check,
        float(total),
    )
    check_text = weight_check_text(total)
    ws.write_formula(
        KPI_CHECK_ROW, weight_col + 1, _weight_check_formula(total_cell), fmt.check_text, check_text
    )
    check_range = (KPI_CHECK_ROW, weight_col, KPI_CHECK_ROW, weight_col + 1)
    off = f"ABS({total_cell}-{WEIGHT_TOTAL})>{WEIGHT_TOLERANCE}"
    ws.conditional_format(*check_range, {"type": "formula", "criteria": f"={off}", "format": fmt.bad})
    ws.conditional_format(*check_range, {"type": "formula", "criteria": f"=NOT({off})", "format": fmt.good})

    _kpi_validations(ws, first, last)
    ws.freeze_panes(KPI_FIRST_ROW, KPI_COLUMN_INDEX["name"] + 1)
    _print_setup(ws)
    ws.repeat_rows(KPI_HEADER_ROW)
    ws.protect("", PROTECTION)


def _reallocation_sheet(wb: Any, fmt: _Formats, spec: TemplateSpec) -> None:
    ws = wb.add_worksheet(REALLOCATION_SHEET)
    ws.set_default_row(fmt.row_height)
    first = REALLOCATION_FIRST_ROW
    last = first + REALLOCATION_ROWS - 1
    ws.write_string(
        REALLOCATION_TITLE_ROW,
        0,
        "การโอนน้ำหนักของตัวชี้วัดที่ไม่ได้ประเมินในรอบนี้ (Reallocations of weight)",
        fmt.title,
    )
    ws.set_row(REALLOCATION_HEADER_ROW, fmt.row_height * 2)
    _write_header(ws, REALLOCATION_HEADER_ROW, REALLOCATION_COLUMNS, fmt.header)
    for row in range(first, last + 1):
        _write_row(ws, row, REALLOCATION_COLUMNS, {}, fmt.input)

    kpi_first = KPI_FIRST_ROW + 1
    kpi_last = KPI_FIRST_ROW + spec.input_rows
    codes = f"={KPI_SHEET}!$A${kpi_first}:$A${kpi_last}"
    for key, title in (("from", "จากข้อ / from"), ("to", "ไปข้อ / to")):
        col = next(i for i, c in enumerate(REALLOCATION_COLUMNS) if c.key == key)
        _validate(
            ws,
            (first, col),
            (last, col),
            {
                "validate": "list",
                "source": codes,
                "input_title": title,
                "input_message": "เลือกรหัสจากชีต KPIs\nPick a code from the KPIs sheet.",
                "error_title": title,
                "error_message": "ไม่มีรหัสนี้ในชีต KPIs\nThis code is not on the KPIs sheet.",
            },
        )
    weight_col = next(i for i, c in enumerate(REALLOCATION_COLUMNS) if c.key == "weight")
    _validate(
        ws,
        (first, weight_col),
        (last, weight_col),
        {
            "validate": "custom",
            "value": number_rule(f"{_letter(weight_col)}{first + 1}", "{0}>0"),
            "input_title": "น้ำหนักที่โอน / weight moved",
            "input_message": "จำนวนบวก ไม่เกินน้ำหนักของข้อต้นทาง\nPositive, at most the source's weight.",
            "error_title": "น้ำหนัก / weight",
            "error_message": "ใส่จำนวนบวก\nType a positive number.",
        },
    )
    ws.freeze_panes(first, 0)
    _print_setup(ws)
    ws.repeat_rows(REALLOCATION_HEADER_ROW)
    ws.protect("", PROTECTION)


def _version_name(wb: Any) -> None:
    wb.define_name(contract.TEMPLATE_VERSION_NAME, f"={contract.CONTRACT_VERSION}")
    # xlsxwriter has no option for a hidden name; its entries are [name, sheet, formula, hidden].
    wb.defined_names[-1][3] = True


def write_template(
    path: Path,
    spec: TemplateSpec,
    *,
    font_name: str,
    font_size: int,
    created: dt.datetime | None = None,
) -> Path:
    """Write the template to ``path`` (overwriting it) and return the path."""
    font = {"font_name": font_name, "font_size": font_size}
    options = WORKBOOK_OPTIONS | {"default_format_properties": font}
    wb = xlsxwriter.Workbook(str(path), options)
    properties: dict[str, Any] = {
        "title": "KPI template / แบบฟอร์มตัวชี้วัด",
        "comments": f"kpibatch template contract v{contract.CONTRACT_VERSION}",
    }
    if created is not None:
        properties["created"] = created
    wb.set_properties(properties)
    fmt = _Formats(wb)
    _instructions_sheet(wb, fmt)
    _division_sheet(wb, fmt, spec)
    _kpi_sheet(wb, fmt, spec)
    _reallocation_sheet(wb, fmt, spec)
    _version_name(wb)
    wb.close()
    return path
