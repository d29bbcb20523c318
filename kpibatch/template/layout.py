"""Where everything sits in the generated template: sheets, rows, columns, labels and drop-down lists.

The labels are the contract's own (``kpibatch.contract``), Thai first and English after a slash, so
the reader recognises every header and key of a template it generated. Row and column positions are
0-based, as xlsxwriter counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kpibatch import contract

INSTRUCTIONS_SHEET = "คำแนะนำ (Instructions)"
DIVISION_SHEET = contract.SHEETS["division"][0]
KPI_SHEET = contract.SHEETS["kpis"][0]
REALLOCATION_SHEET = contract.SHEETS["reallocations"][0]

DEFAULT_KPI_ROWS = 200
"""Input rows on the KPI sheet; the largest agreement in the seed data has about 40 KPIs."""
SPARE_KPI_ROWS = 50
"""Blank rows left under the KPIs of a next-round template, for KPIs added this round."""
REALLOCATION_ROWS = 50

# KPI sheet rows: a title, the weight-sum check, a hint, then the header and the input rows.
KPI_TITLE_ROW = 0
KPI_CHECK_ROW = 1
KPI_HINT_ROW = 2
KPI_HEADER_ROW = 3
KPI_FIRST_ROW = 4

REALLOCATION_TITLE_ROW = 0
REALLOCATION_HEADER_ROW = 1
REALLOCATION_FIRST_ROW = 2

DIVISION_TITLE_ROW = 0
DIVISION_FIRST_ROW = 2
DIVISION_KEYS = (
    "division",
    "short_name",
    "fiscal_year",
    "round",
    "reporter",
    "reporter_position",
    "reported_on",
    "certifier",
    "certifier_position",
    "certified_on",
)


def bilingual(thai: str, english: str) -> str:
    """A label the reader matches by either half (``contract.kpi_column`` and friends split on ``/``)."""
    return f"{thai} / {english}"


@dataclass(frozen=True)
class Column:
    """One column of the KPI sheet: the contract key, its header and how its input cells behave."""

    key: str
    thai: str
    english: str
    width: float
    kind: str
    """``code``, ``text``, ``wrap``, ``weight``, ``number`` or ``choice``."""

    @property
    def header(self) -> str:
        return bilingual(self.thai, self.english)


KPI_COLUMNS: tuple[Column, ...] = (
    Column("code", "รหัส", "code", 9, "code"),
    Column("name", "รายละเอียดตัวชี้วัด", "name", 55, "wrap"),
    Column("unit", "หน่วยวัด", "unit", 11, "text"),
    Column("weight", "น้ำหนัก", "weight", 10, "weight"),
    Column("method", "วิธีให้คะแนน", "method", 20, "choice"),
    Column("direction", "ทิศทาง", "direction", 13, "choice"),
    *(Column(f"level{k}", f"เกณฑ์ระดับ {k}", f"level {k}", 10, "number") for k in range(1, 6)),
    Column("result", "ผลการดำเนินงาน", "result", 14, "number"),
    Column("verified_result", "ผลการตรวจประเมิน", "verified_result", 18, "number"),
    Column("status", "สถานะ", "status", 22, "choice"),
    Column("note", "หมายเหตุ", "note", 30, "wrap"),
)
KPI_COLUMN_INDEX: Mapping[str, int] = {column.key: i for i, column in enumerate(KPI_COLUMNS)}
TOP_LEVEL_COLUMN = len(KPI_COLUMNS)
"""Hidden helper column: 1 on a row whose code has no parent in the sheet, for the weight-sum check."""
TOP_LEVEL_HEADER = "(ใช้ตรวจน้ำหนัก / used by the weight check)"
CODE_TEXT_COLUMN = TOP_LEVEL_COLUMN + 1
"""Hidden helper column: "#" and the code cell as text in Arabic digits, trimmed."""
CODE_KEY_COLUMN = TOP_LEVEL_COLUMN + 2
"""Hidden helper column: "#" and the code as the reader reads it (``ข้อ ๑๓.๑.`` is ``#13.1``)."""
WEIGHT_VALUE_COLUMN = TOP_LEVEL_COLUMN + 3
"""Hidden helper column: the weight as the reader reads it (``๒``, ``5%``, a percent cell)."""
CONTACT_COLUMNS: tuple[Column, ...] = (
    Column("supervisor", "ผู้กำกับดูแลตัวชี้วัด", "supervisor", 24, "wrap"),
    Column("supervisor_phone", "เบอร์ติดต่อผู้กำกับดูแล", "supervisor_phone", 18, "text"),
    Column("collector", "ผู้จัดเก็บข้อมูล", "collector", 24, "wrap"),
    Column("collector_phone", "เบอร์ติดต่อผู้จัดเก็บข้อมูล", "collector_phone", 18, "text"),
)
"""Optional: who answers for each KPI, as the official KPI description names them."""
CONTACT_FIRST_COLUMN = WEIGHT_VALUE_COLUMN + 1
"""The contact columns follow the hidden helpers (on screen, right after the note), so the helpers
keep the columns they had in templates made before the contacts."""
HELPER_HEADERS = {
    TOP_LEVEL_COLUMN: TOP_LEVEL_HEADER,
    CODE_TEXT_COLUMN: "(ข้อความรหัส / code text)",
    CODE_KEY_COLUMN: "(รหัสที่อ่านได้ / code as read)",
    WEIGHT_VALUE_COLUMN: "(ค่าน้ำหนักที่อ่านได้ / weight as read)",
}

REALLOCATION_COLUMNS: tuple[Column, ...] = (
    Column("from", "จากข้อ", "from", 12, "code"),
    Column("to", "ไปข้อ", "to", 12, "code"),
    Column("weight", "น้ำหนัก", "weight", 12, "weight"),
    Column("reason", "เหตุผล", "reason", 60, "wrap"),
)

DIVISION_LABELS: Mapping[str, tuple[str, str]] = {
    "division": ("ชื่อหน่วยงาน", "division"),
    "short_name": ("ชื่อย่อ", "short_name"),
    "fiscal_year": ("ปีงบประมาณ", "fiscal_year"),
    "round": ("รอบการประเมิน", "round"),
    "reporter": ("ผู้รายงานข้อมูล", "reporter"),
    "reporter_position": ("ตำแหน่งผู้รายงานข้อมูล", "reporter_position"),
    "reported_on": ("วันที่รายงานข้อมูล", "reported_on"),
    "certifier": ("ผู้รับรองข้อมูล", "certifier"),
    "certifier_position": ("ตำแหน่งผู้รับรองข้อมูล", "certifier_position"),
    "certified_on": ("วันที่รับรองข้อมูล", "certified_on"),
}

METHOD_CHOICES: Mapping[str, str] = {
    "threshold": bilingual("เทียบเกณฑ์", "threshold"),
    "milestone": bilingual("ระดับขั้น", "milestone"),
    "score": bilingual("คะแนน", "score"),
}
DIRECTION_CHOICES: Mapping[str, str] = {
    "higher": bilingual("มาก", "higher"),
    "lower": bilingual("น้อย", "lower"),
}
STATUS_CHOICES = (
    "รายงานรอบ ๖ เดือน",
    "รายงานรอบ ๙ เดือน",
    "รายงานรอบ ๑๒ เดือน",
    "สำรวจปีละ ๑ ครั้ง",
    "ไม่ได้ประเมินในรอบนี้",
)
"""Status texts divisions use most; any other text is accepted too (any text = not assessed)."""
ROUNDS = (6, 9, 12)
FISCAL_YEAR_RANGE = (2500, 2700)
NUMBER_LIMIT = 1_000_000_000
"""Bounds of the numeric validation on levels and results: any real figure, but not text."""
