"""Raw sheets -> a ``Submission``: find the sheets, the header row and the columns of contract v1.

Every problem found in the file is collected (never only the first), each naming its sheet and cell.
A submission is returned even when some cells were bad, so that the validator can report the rest of
the file too; the pipeline rejects any file with an error.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from kpibatch import contract
from kpibatch.model import KpiContacts, KpiRow, Reallocation, SheetNames, Signatory, SourceFile, Submission
from kpibatch.problems import (
    CodeInvalid,
    ColumnMissing,
    DirectionUnknown,
    FileUnreadable,
    FiscalYearInvalid,
    FormulaWithoutValue,
    HeaderMissing,
    KeyMissing,
    MethodUnknown,
    NumberInvalid,
    Problem,
    ReallocationWeightInvalid,
    RoundInvalid,
    SheetMisnamed,
    SheetMissing,
    TemplateTooNew,
)
from kpibatch.read.archive import Archive
from kpibatch.read.numbers import NotANumber, parse_number
from kpibatch.read.workbook import RawBook, RawSheet, WorkbookError, open_book
from kpibatch.text import clean_text, normalize_code, normalize_label, to_arabic_digits

FIELD_LABELS: Mapping[str, tuple[str, str]] = {
    "weight": ("น้ำหนัก", "Weight"),
    **{f"level{k}": (f"เกณฑ์ระดับ {k}", f"Level {k}") for k in range(1, 6)},
    "result": ("ผลการดำเนินงาน", "Result"),
    "verified_result": ("ผลการตรวจประเมิน", "Verified result"),
    "code": ("รหัสตัวชี้วัด", "Code"),
    "name": ("รายละเอียดตัวชี้วัด", "Name"),
    "from": ("จากข้อ", "From"),
    "to": ("ไปข้อ", "To"),
    "division": ("ชื่อหน่วยงาน", "division"),
    "fiscal_year": ("ปีงบประมาณ", "fiscal_year"),
    "round": ("รอบการประเมิน", "round"),
}
HEADER_SEARCH_ROWS = 30
_TOTAL_ROW = re.compile(r"(รวม|total|คะแนนที่ได้รับ)", re.IGNORECASE)


@dataclass
class ReadOutcome:
    """What reading one file produced: a submission (possibly with problems) or only problems."""

    source: SourceFile | None
    submission: Submission | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.submission is not None and not any(p.severity == "error" for p in self.problems)


def column_letter(col: int) -> str:
    """``0`` -> ``A``, ``26`` -> ``AA`` (0-based; openpyxl's helper would pull all of openpyxl into
    every worker process)."""
    letters = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_name(row: int, col: int) -> str:
    return f"{column_letter(col)}{row + 1}"


class _Collector:
    """Problems for one file, stamped with the file name and the sheet being read."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, kind: type[Problem], sheet: str = "", cell: str = "", **params: Any) -> None:
        self.problems.append(kind(file=self.file, sheet=sheet, cell=cell, params=params))


def read_submission(path: Path, archive: Archive | None = None) -> ReadOutcome:
    """Read one workbook against template contract v1, collecting every problem; with ``archive``,
    the file as the precheck opened it (see ``kpibatch.read.archive``), which is closed after."""
    try:
        book = open_book(path, archive)
    except WorkbookError as exc:
        problem = FileUnreadable(file=path.name, params={"detail": str(exc)})
        return ReadOutcome(source=None, submission=None, problems=[problem])
    try:
        return _read_book(book)
    except WorkbookError as exc:  # a sheet that turns out damaged only when it is read
        from kpibatch.read.precheck import problem_for_exception  # precheck imports this package

        cause = exc.__cause__
        problem = (
            problem_for_exception(cause, path.name)
            if cause is not None and not isinstance(cause, WorkbookError)
            else FileUnreadable(file=path.name, params={"detail": str(exc)})
        )
        return ReadOutcome(source=book.source, submission=None, problems=[problem])
    finally:
        book.close()


def _read_book(book: RawBook) -> ReadOutcome:
    out = _Collector(book.source.name)
    _check_version(book, out)
    roles: dict[str, str] = {}
    for name in book.sheet_names:
        role = contract.sheet_role(name)
        if role and role not in roles:
            roles[role] = name
    for role in ("division", "kpis"):
        if role not in roles:
            _missing_sheet(role, book.sheet_names, out)
    if "division" not in roles or "kpis" not in roles:
        return ReadOutcome(book.source, None, out.problems)

    sheets = SheetNames(
        division=roles["division"],
        kpis=roles["kpis"],
        reallocations=roles.get("reallocations", "Reallocations"),
    )
    meta = _read_division(book.sheet(roles["division"]), out)
    kpis = _read_kpis(book.sheet(roles["kpis"]), out)
    moves = _read_reallocations(book.sheet(roles["reallocations"]), out) if "reallocations" in roles else []
    if meta is None or kpis is None:
        return ReadOutcome(book.source, None, out.problems)
    division, short_name, fiscal_year, round_, signatories = meta
    rows, has_verified = kpis
    submission = Submission(
        source=book.source,
        division=division,
        short_name=short_name,
        fiscal_year=fiscal_year,
        round=round_,
        kpis=tuple(rows),
        reallocations=tuple(moves),
        sheets=sheets,
        has_verified_results=has_verified,
        division_cell=_key_cell(book.sheet(roles["division"]), "division"),
        reporter=signatories["reporter"],
        certifier=signatories["certifier"],
    )
    return ReadOutcome(book.source, submission, out.problems)


def _key_cell(sheet: RawSheet, key: str) -> str:
    """The cell holding the value of ``key`` on the division sheet (column B of its row)."""
    for r, row in enumerate(sheet.rows):
        if row and contract.division_key(row[0]) == key:
            return cell_name(r, 1)
    return ""


def _check_version(book: RawBook, out: _Collector) -> None:
    raw = book.defined_names.get(contract.TEMPLATE_VERSION_NAME)
    if raw is None:
        return
    digits = re.sub(r"[^0-9]", "", raw)
    if digits and int(digits) > contract.CONTRACT_VERSION:
        # The version lives in a workbook-level name, not a cell: the name is what the message points at.
        out.add(
            TemplateTooNew,
            cell=contract.TEMPLATE_VERSION_NAME,
            found=int(digits),
            supported=contract.CONTRACT_VERSION,
        )


def _missing_sheet(role: str, present: list[str], out: _Collector) -> None:
    expected = " / ".join(contract.SHEETS[role])
    candidates = {normalize_label(n): n for n in present}
    wanted = [normalize_label(n) for n in contract.SHEETS[role]]
    close: list[str] = []
    for label in wanted:
        close += difflib.get_close_matches(label, list(candidates), n=1, cutoff=0.6)
    if close:
        found = candidates[close[0]]
        canonical = contract.SHEETS[role][0]
        out.add(SheetMisnamed, sheet=found, expected=expected, found=found, canonical=canonical)
    else:
        out.add(SheetMissing, expected=expected)


# --- Division sheet ------------------------------------------------------------------------------


def typed_text(value: Any) -> str | None:
    """A free-text cell (a name, a position, a phone number, a date) as text: a date cell as
    ``YYYY-MM-DD``, a whole number without ``.0`` (a phone typed as a number), anything else as typed."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(value)


def _signatory(found: Mapping[str, tuple[Any, str]], keys: tuple[str, str, str]) -> Signatory | None:
    name, position, date = (typed_text(found.get(key, (None, ""))[0]) for key in keys)
    if name is None and position is None and date is None:
        return None
    return Signatory(name=name, position=position, date=date)


DivisionMeta = tuple[str, str | None, int, int, dict[str, Signatory | None]]
"""The division's name, short name, fiscal year, round and signatories (``contract.SIGNATORIES``)."""


def _read_division(sheet: RawSheet, out: _Collector) -> DivisionMeta | None:
    found: dict[str, tuple[Any, str]] = {}
    for r, row in enumerate(sheet.rows):
        if not row:
            continue
        key = contract.division_key(row[0])
        if key and key not in found:
            found[key] = (row[1] if len(row) > 1 else None, cell_name(r, 1))
    for key in ("division", "fiscal_year", "round"):
        value = found.get(key, (None, ""))[0]
        if clean_text(value) is None:
            th, en = FIELD_LABELS[key]
            cell = found[key][1] if key in found else "A:B"
            out.add(KeyMissing, sheet=sheet.name, cell=cell, key_th=th, key_en=en)

    division = clean_text(found.get("division", (None, ""))[0])
    short_name = clean_text(found.get("short_name", (None, ""))[0])
    fiscal_year = _fiscal_year(found.get("fiscal_year"), sheet.name, out)
    round_ = _round(found.get("round"), sheet.name, out)
    if division is None or fiscal_year is None or round_ is None:
        return None
    signatories = {role: _signatory(found, keys) for role, keys in contract.SIGNATORIES.items()}
    return division, short_name, fiscal_year, round_, signatories


def _first_integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    match = re.search(r"\d+", to_arabic_digits(str(value)))
    return int(match.group()) if match else None


def fiscal_year_be(value: Any) -> int | None:
    """A Buddhist-era year from 2563, ``๒๕๖๓``, ``พ.ศ. 2563`` or a Common-era 2020."""
    year = _first_integer(value)
    if year is None:
        return None
    if 2400 <= year <= 2800:
        return year
    if 1900 <= year < 2400:
        return year + 543
    return None


def _fiscal_year(found: tuple[Any, str] | None, sheet: str, out: _Collector) -> int | None:
    if found is None or clean_text(found[0]) is None:
        return None
    year = fiscal_year_be(found[0])
    if year is None:
        out.add(FiscalYearInvalid, sheet=sheet, cell=found[1], value=found[0])
    return year


def _round(found: tuple[Any, str] | None, sheet: str, out: _Collector) -> int | None:
    if found is None or clean_text(found[0]) is None:
        return None
    value = _first_integer(found[0])
    if value not in (6, 9, 12):
        out.add(RoundInvalid, sheet=sheet, cell=found[1], value=found[0])
        return None
    return value


# --- KPI sheet -----------------------------------------------------------------------------------


def _find_header(
    sheet: RawSheet, classify: Callable[[Any], str | None], anchor: str, others: tuple[str, ...]
) -> tuple[int, dict[str, int]] | None:
    """The first row with the anchor column and at least one other known column."""
    for r, row in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
        columns: dict[str, int] = {}
        for c, value in enumerate(row):
            if value is None:
                continue
            key = classify(value)
            if key and key not in columns:
                columns[key] = c
        if anchor in columns and any(k in columns for k in others):
            return r, columns
    return None


def _missing_columns(
    sheet: RawSheet, header_row: int, columns: dict[str, int], required: tuple[str, ...], out: _Collector
) -> bool:
    """Report each required column the header row lacks; True when any is missing."""
    missing = [c for c in required if c not in columns]
    for column in missing:
        th, en = FIELD_LABELS[column]
        out.add(
            ColumnMissing,
            sheet=sheet.name,
            cell=f"{header_row + 1}:{header_row + 1}",
            column_th=th,
            column_en=en,
        )
    return bool(missing)


def _read_kpis(sheet: RawSheet, out: _Collector) -> tuple[list[KpiRow], bool] | None:
    header = _find_header(sheet, contract.kpi_column, "code", ("name", "weight", "result"))
    if header is None:
        out.add(HeaderMissing, sheet=sheet.name, cell="A1")
        return None
    header_row, columns = header
    if _missing_columns(sheet, header_row, columns, contract.REQUIRED_KPI_COLUMNS, out):
        return None
    _bare_phone_columns(sheet.rows[header_row], columns)

    rows: list[KpiRow] = []
    for r in range(header_row + 1, len(sheet.rows)):
        row = _read_kpi_row(sheet, r, columns, out)
        if row is not None:
            rows.append(row)
    # The template always has the column; only a verified result typed in it makes the file a
    # verified one (the printed summary then shows the self-assessed score beside it).
    return rows, any(row.verified_result is not None for row in rows)


def _bare_phone_columns(header: list[Any], columns: dict[str, int]) -> None:
    """A column headed only ``เบอร์ติดต่อ`` right of the supervisor's or the collector's column is
    that person's phone (the official form's layout)."""
    left_of = {c: key for key, c in columns.items()}
    for c, label in enumerate(header):
        person = left_of.get(c - 1)
        if person in contract.PHONE_OF and contract.is_phone_label(label):
            columns.setdefault(contract.PHONE_OF[person], c)


def _contacts(raw: Callable[[str], Any]) -> KpiContacts | None:
    values = {key: typed_text(raw(key)) for key in contract.CONTACT_COLUMNS}
    if all(v is None for v in values.values()):
        return None
    return KpiContacts(**values)


def _number(sheet: RawSheet, r: int, c: int | None, field_name: str, out: _Collector) -> Decimal | None:
    if c is None:
        return None
    formula = sheet.formulas.get((r, c))
    if formula is not None:
        out.add(FormulaWithoutValue, sheet=sheet.name, cell=cell_name(r, c), formula=formula)
        return None
    raw = sheet.value(r, c)
    try:
        return parse_number(raw, percent_format=sheet.is_percent(r, c))
    except NotANumber:
        th, en = FIELD_LABELS[field_name]
        out.add(NumberInvalid, sheet=sheet.name, cell=cell_name(r, c), field_th=th, field_en=en, value=raw)
        return None


def _read_kpi_row(sheet: RawSheet, r: int, columns: dict[str, int], out: _Collector) -> KpiRow | None:
    def raw(key: str) -> Any:
        c = columns.get(key)
        return None if c is None else sheet.value(r, c)

    def where(key: str) -> str:
        c = columns.get(key)
        return "" if c is None else cell_name(r, c)

    values = [raw(k) for k in columns]
    if all(clean_text(v) is None for v in values):
        return None
    code_raw = raw("code")
    code = normalize_code(code_raw)
    name = clean_text(raw("name"))
    measured = [k for k in ("weight", "result", *contract.LEVELS) if clean_text(raw(k)) is not None]
    if code is None:
        if not measured:
            return None  # a section heading such as "มิติที่ 1" or a note line
        if clean_text(code_raw) is None and name and _TOTAL_ROW.search(name):
            return None  # a total row a division added at the bottom
        out.add(CodeInvalid, sheet=sheet.name, cell=where("code"), value=clean_text(code_raw) or "")
        return None

    kpi_label = code
    method_raw = clean_text(raw("method"))
    method = contract.method_name(method_raw) if method_raw else None
    if method_raw and method is None:
        out.add(MethodUnknown, sheet=sheet.name, cell=where("method"), kpi=kpi_label, value=method_raw)
    direction_raw = clean_text(raw("direction"))
    direction = contract.direction_name(direction_raw) if direction_raw else None
    if direction_raw and direction is None:
        out.add(
            DirectionUnknown, sheet=sheet.name, cell=where("direction"), kpi=kpi_label, value=direction_raw
        )

    cells = {key: cell_name(r, c) for key, c in columns.items()}
    cells["row"] = str(r + 1)
    return KpiRow(
        code=code,
        name=name or "",
        weight=_number(sheet, r, columns.get("weight"), "weight", out),
        row=r + 1,
        unit=clean_text(raw("unit")),
        method=method,
        direction=direction,
        levels=tuple(_number(sheet, r, columns.get(level), level, out) for level in contract.LEVELS),
        result=_number(sheet, r, columns.get("result"), "result", out),
        verified_result=_number(sheet, r, columns.get("verified_result"), "verified_result", out),
        status=clean_text(raw("status")),
        note=clean_text(raw("note")),
        cells=cells,
        contacts=_contacts(raw),
    )


# --- Reallocations sheet -------------------------------------------------------------------------


def _read_reallocations(sheet: RawSheet, out: _Collector) -> list[Reallocation]:
    header = _find_header(sheet, contract.reallocation_column, "from", ("to", "weight"))
    if header is None:
        if any(clean_text(v) for row in sheet.rows for v in row):
            out.add(HeaderMissing, sheet=sheet.name, cell="A1")
        return []
    header_row, columns = header
    if _missing_columns(sheet, header_row, columns, contract.REQUIRED_REALLOCATION_COLUMNS, out):
        return []

    moves: list[Reallocation] = []
    for r in range(header_row + 1, len(sheet.rows)):
        raw = {key: sheet.value(r, c) for key, c in columns.items()}
        if all(clean_text(v) is None for v in raw.values()):
            continue
        cells = {key: cell_name(r, c) for key, c in columns.items()}
        codes: dict[str, str | None] = {}
        for key in ("from", "to"):
            codes[key] = normalize_code(raw[key])
            if codes[key] is None:
                out.add(CodeInvalid, sheet=sheet.name, cell=cells[key], value=clean_text(raw[key]) or "")
        weight = _number(sheet, r, columns["weight"], "weight", out)
        source, target = codes["from"], codes["to"]
        if source is None or target is None:
            continue
        if weight is None:
            if clean_text(raw["weight"]) is None:
                out.add(ReallocationWeightInvalid, sheet=sheet.name, cell=cells["weight"], value="")
            continue
        moves.append(
            Reallocation(
                source=source,
                target=target,
                weight=weight,
                row=r + 1,
                reason=clean_text(raw.get("reason")),
                cells=cells,
            )
        )
    return moves
