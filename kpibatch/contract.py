"""Template contract v1: which sheets, keys and columns a division workbook has, in English or Thai.

Labels match case- and space-insensitively (see ``kpibatch.text.normalize_label``); a header cell may
hold several labels separated by a line break or ``/`` (the template writes ``รหัส / code``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kpibatch.text import normalize_label

CONTRACT_VERSION = 1
"""The newest template contract this program reads."""

TEMPLATE_VERSION_NAME = "KPIBATCH_TEMPLATE_VERSION"
"""Defined name in which a generated template records its contract version."""

SHEETS: Mapping[str, tuple[str, ...]] = {
    "division": ("Division", "หน่วยงาน"),
    "kpis": ("KPIs", "ตัวชี้วัด"),
    "reallocations": ("Reallocations", "การโอนน้ำหนัก"),
}

DIVISION_KEYS: Mapping[str, tuple[str, ...]] = {
    "division": ("division", "ชื่อหน่วยงาน"),
    "short_name": ("short_name", "ชื่อย่อ"),
    "fiscal_year": ("fiscal_year", "ปีงบประมาณ"),
    "round": ("round", "รอบการประเมิน", "รอบ"),
    # optional: who reported the figures and who certified them, as an official form is signed
    "reporter": ("reporter", "ผู้รายงานข้อมูล", "ผู้รายงาน"),
    "reporter_position": ("reporter_position", "ตำแหน่งผู้รายงานข้อมูล", "ตำแหน่งผู้รายงาน"),
    "reported_on": ("reported_on", "วันที่รายงานข้อมูล", "วันที่รายงาน"),
    "certifier": ("certifier", "ผู้รับรองข้อมูล", "ผู้รับรอง"),
    "certifier_position": ("certifier_position", "ตำแหน่งผู้รับรองข้อมูล", "ตำแหน่งผู้รับรอง"),
    "certified_on": ("certified_on", "วันที่รับรองข้อมูล", "วันที่รับรอง"),
}
SIGNATORIES: Mapping[str, tuple[str, str, str]] = {
    "reporter": ("reporter", "reporter_position", "reported_on"),
    "certifier": ("certifier", "certifier_position", "certified_on"),
}
"""Each signatory's keys on the division sheet: name, position, date."""

LEVELS = ("level1", "level2", "level3", "level4", "level5")

KPI_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "code": ("code", "ตัวชี้วัด", "รหัส"),
    "name": ("name", "รายละเอียดตัวชี้วัด"),
    "unit": ("unit", "หน่วยวัด"),
    "weight": ("weight", "น้ำหนัก"),
    "method": ("method", "วิธีให้คะแนน"),
    "direction": ("direction", "ทิศทาง"),
    **{
        f"level{k}": (f"level{k}", f"level {k}", f"ระดับ {k}", f"เกณฑ์ระดับ {k}", f"ระดับที่ {k}")
        for k in range(1, 6)
    },
    "result": ("result", "ผลการดำเนินงาน"),
    "verified_result": ("verified_result", "ผลการตรวจประเมิน"),
    "status": ("status", "สถานะ"),
    "note": ("note", "หมายเหตุ"),
    # optional: who answers for the KPI, as the official KPI description names them
    "supervisor": ("supervisor", "ผู้กำกับดูแลตัวชี้วัด", "ผู้กำกับดูแล"),
    "supervisor_phone": ("supervisor_phone", "เบอร์ติดต่อผู้กำกับดูแล", "โทรศัพท์ผู้กำกับดูแล"),
    "collector": ("collector", "ผู้จัดเก็บข้อมูล", "data_collector"),
    "collector_phone": ("collector_phone", "เบอร์ติดต่อผู้จัดเก็บข้อมูล", "โทรศัพท์ผู้จัดเก็บข้อมูล"),
}
CONTACT_COLUMNS = ("supervisor", "supervisor_phone", "collector", "collector_phone")
PHONE_LABELS = ("phone", "เบอร์ติดต่อ", "เบอร์โทร", "เบอร์โทรศัพท์", "โทรศัพท์")
"""A phone column headed only ``เบอร์ติดต่อ`` (as on the official form) is the phone of the person in
the column to its left: the supervisor's or the data collector's."""
PHONE_OF = {"supervisor": "supervisor_phone", "collector": "collector_phone"}
REQUIRED_KPI_COLUMNS = ("code", "name", "weight")

REALLOCATION_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "from": ("from", "จากข้อ"),
    "to": ("to", "ไปข้อ"),
    "weight": ("weight", "น้ำหนัก"),
    "reason": ("reason", "เหตุผล"),
}
REQUIRED_REALLOCATION_COLUMNS = ("from", "to", "weight")

METHODS: Mapping[str, tuple[str, ...]] = {
    "threshold": ("threshold", "เกณฑ์", "เทียบเกณฑ์", "ช่วงคะแนน", "linear"),
    "milestone": ("milestone", "ขั้นตอน", "ระดับขั้น", "ระดับขั้นของความสำเร็จ", "ระดับขั้นความสำเร็จ"),
    "score": ("score", "คะแนน", "ค่าคะแนน"),
}

DIRECTIONS: Mapping[str, tuple[str, ...]] = {
    "higher": ("higher", "higher is better", "มาก", "มากดี", "ยิ่งมากยิ่งดี", "สูง", "↑"),
    "lower": ("lower", "lower is better", "น้อย", "น้อยดี", "ยิ่งน้อยยิ่งดี", "ต่ำ", "↓"),
}


def _index(aliases: Mapping[str, Iterable[str]]) -> dict[str, str]:
    return {normalize_label(label): key for key, labels in aliases.items() for label in labels}


_SHEET_INDEX = _index(SHEETS)
_DIVISION_INDEX = _index(DIVISION_KEYS)
_KPI_INDEX = _index(KPI_COLUMNS)
_REALLOCATION_INDEX = _index(REALLOCATION_COLUMNS)
_METHOD_INDEX = _index(METHODS)
_DIRECTION_INDEX = _index(DIRECTIONS)


def _lookup(index: Mapping[str, str], label: object) -> str | None:
    text = "" if label is None else str(label)
    whole = index.get(normalize_label(text))
    if whole is not None:
        return whole
    for part in text.replace("/", "\n").replace("|", "\n").splitlines():
        found = index.get(normalize_label(part))
        if found is not None:
            return found
    return None


def sheet_role(name: str) -> str | None:
    """``division``, ``kpis`` or ``reallocations`` for a sheet name, else None."""
    return _SHEET_INDEX.get(normalize_label(name))


def division_key(label: object) -> str | None:
    return _lookup(_DIVISION_INDEX, label)


def kpi_column(label: object) -> str | None:
    return _lookup(_KPI_INDEX, label)


_PHONE_INDEX = {normalize_label(label) for label in PHONE_LABELS}


def is_phone_label(label: object) -> bool:
    """Whether a header is a bare phone heading (``เบอร์ติดต่อ``), whose person is the column left of it."""
    return label is not None and normalize_label(str(label)) in _PHONE_INDEX


def reallocation_column(label: object) -> str | None:
    return _lookup(_REALLOCATION_INDEX, label)


def method_name(label: object) -> str | None:
    return _lookup(_METHOD_INDEX, label)


def direction_name(label: object) -> str | None:
    return _lookup(_DIRECTION_INDEX, label)
