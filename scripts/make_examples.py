"""Build the shipped example workbooks from the seed summary data (fiscal year 2563, 12 months).

Usage:  python scripts/make_examples.py [--seed ../shared/seed_divisions_2563.json] [--out DIR]

Each KPI gets realistic criteria (milestones, percent thresholds, lower-is-better rates, counts) and a
result that reproduces the printed score, and the six files use the contract's different spellings
(English and Thai labels, Thai digits, percent cells, Common-era years) so the examples exercise the
reader too. The program never reads the seed; only this script and the golden tests do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import xlsxwriter

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEED = ROOT.parent / "shared" / "seed_divisions_2563.json"
DEFAULT_OUT = ROOT / "input_templates" / "examples"
THAI = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
FIXED_TIME = dt.datetime(2020, 10, 15, 9, 0, 0)

PERCENT_SETS = [(74, 77, 80, 83, 86), (80, 85, 90, 95, 100), (92, 93, 94, 95, 96), (60, 70, 80, 90, 100)]
LOWER_SET = (5, 4, 3, 2, 1)
COUNT_SETS = [(4, 6, 8, 10, 12), (600, 700, 800, 900, 1000), (1, 2, 3, 4, 5)]

# Per-file spelling of the contract: sheet names, header language, how numbers are typed.
STYLES: list[dict[str, Any]] = [
    {
        "file": "01_secretariat.xlsx",
        "lang": "en",
        "short": "สลก.",
        "year": 2563,
        "round": 12,
        "title_rows": 2,
        "numbers": "plain",
    },
    {
        "file": "02_enforcement_appraisal.xlsx",
        "lang": "th",
        "short": None,
        "year": "๒๕๖๓",
        "round": "รอบ ๑๒ เดือน",
        "title_rows": 0,
        "numbers": "thai_text",
    },
    {
        "file": "03_human_resources.xlsx",
        "lang": "both",
        "short": "กบค.",
        "year": 2020,
        "round": "12",
        "title_rows": 1,
        "numbers": "percent_cells",
    },
    {
        "file": "04_bankruptcy_assets.xlsx",
        "lang": "th",
        "short": None,
        "year": 2563,
        "round": 12,
        "title_rows": 0,
        "numbers": "percent_text",
        "thai_codes": True,
    },
    {
        "file": "05_finance.xlsx",
        "lang": "en",
        "short": "กค.",
        "year": "2563",
        "round": 12,
        "title_rows": 0,
        "numbers": "percent_cells",
    },
    {
        "file": "06_ict_centre.xlsx",
        "lang": "both",
        "short": "ศทส.",
        "year": 2563,
        "round": "12 เดือน",
        "title_rows": 3,
        "numbers": "plain",
        "extra_column": True,
    },
]

SHEETS = {
    "en": ("Division", "KPIs", "Reallocations"),
    "th": ("หน่วยงาน", "ตัวชี้วัด", "การโอนน้ำหนัก"),
    "both": ("Division", "ตัวชี้วัด", "Reallocations"),
}
KPI_HEADERS = {
    "code": ("code", "ตัวชี้วัด"),
    "name": ("name", "รายละเอียดตัวชี้วัด"),
    "unit": ("unit", "หน่วยวัด"),
    "weight": ("weight", "น้ำหนัก"),
    "method": ("method", "วิธีให้คะแนน"),
    "direction": ("direction", "ทิศทาง"),
    **{f"level{k}": (f"level{k}", f"ระดับ {k}") for k in range(1, 6)},
    "result": ("result", "ผลการดำเนินงาน"),
    "status": ("status", "สถานะ"),
    "note": ("note", "หมายเหตุ"),
}
DIVISION_KEYS = {
    "division": ("division", "ชื่อหน่วยงาน"),
    "short_name": ("short_name", "ชื่อย่อ"),
    "fiscal_year": ("fiscal_year", "ปีงบประมาณ"),
    "round": ("round", "รอบการประเมิน"),
}
REALLOC_HEADERS = {
    "from": ("from", "จากข้อ"),
    "to": ("to", "ไปข้อ"),
    "weight": ("weight", "น้ำหนัก"),
    "reason": ("reason", "เหตุผล"),
}


def label(pair: tuple[str, str], lang: str) -> str:
    en, th = pair
    return {"en": en, "th": th, "both": f"{th} / {en}"}[lang]


def pick(key: str, options: list[Any]) -> Any:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return options[digest[0] % len(options)]


def criteria(kpi: dict[str, Any], division: str) -> dict[str, Any]:
    """Method, unit, direction, levels and a result that scores exactly the printed score."""
    name, score = kpi["name"], kpi["score"]
    key = f"{division}/{kpi['code']}"
    if any(w in name for w in ("ไม่สามารถ", "ผิดพลาด", "ชำรุดหรือสูญหาย", "มีข้อร้องเรียนเกี่ยวกับการปฏิบัติงาน")):
        levels = LOWER_SET
        result = None if score is None else (levels[int(score) - 1] if score < 5 else 0.8)
        return {
            "method": "threshold",
            "unit": "ร้อยละ",
            "direction": "lower",
            "levels": levels,
            "result": result,
            "kind": "percent",
        }
    if name.startswith(("ระดับความสำเร็จ", "ระดับคะแนน")):
        return {
            "method": "milestone",
            "unit": "ระดับ",
            "direction": None,
            "levels": (None,) * 5,
            "result": score,
            "kind": "level",
        }
    if name.startswith("จำนวน"):
        levels = pick(key, COUNT_SETS)
        result = None if score is None else (levels[int(score) - 1] if score < 5 else levels[-1] + 250)
        unit = "ครั้ง" if "ประชุม" in name else "เรื่อง"
        return {
            "method": "threshold",
            "unit": unit,
            "direction": "higher",
            "levels": levels,
            "result": result,
            "kind": "count",
        }
    if name.startswith("ร้อยละ") or "ร้อยละ" in name:
        levels = pick(key, PERCENT_SETS)
        if score is None:
            result = None
        elif score < 5:
            result = levels[int(score) - 1]
        else:
            result = min(100, levels[-1] + 1.5) if levels[-1] < 100 else 100
        return {
            "method": "threshold",
            "unit": "ร้อยละ",
            "direction": None,
            "levels": levels,
            "result": result,
            "kind": "percent",
        }
    return {
        "method": "score",
        "unit": "คะแนน",
        "direction": None,
        "levels": (None,) * 5,
        "result": score,
        "kind": "level",
    }


def build(seed: dict[str, Any], style: dict[str, Any], out: Path) -> Path:
    path = out / style["file"]
    lang = style["lang"]
    wb = xlsxwriter.Workbook(
        str(path), {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
    )
    wb.set_properties({"created": FIXED_TIME, "author": seed["division"]})
    font = {"font_name": "TH Sarabun New", "font_size": 14}
    bold = wb.add_format({**font, "bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True})
    text = wb.add_format({**font, "num_format": "@"})
    plain = wb.add_format(font)
    percent = wb.add_format({**font, "num_format": "0.00%"})
    division_sheet, kpi_sheet, realloc_sheet = SHEETS[lang]

    ws = wb.add_worksheet(division_sheet)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 60)
    pairs = [
        ("division", seed["division"]),
        ("short_name", style["short"]),
        ("fiscal_year", style["year"]),
        ("round", style["round"]),
    ]
    for r, (key, value) in enumerate(pairs):
        ws.write_string(r, 0, label(DIVISION_KEYS[key], lang), bold)
        if value is None:
            continue
        if isinstance(value, str):
            ws.write_string(r, 1, value, text)
        else:
            ws.write_number(r, 1, value, plain)

    ws = wb.add_worksheet(kpi_sheet)
    columns = list(KPI_HEADERS)
    if style.get("extra_column"):
        columns.insert(4, "owner")
    top = style["title_rows"]
    for r in range(top):
        ws.write_string(r, 0, f"ตัวชี้วัดตามคำรับรองการปฏิบัติราชการ ปีงบประมาณ พ.ศ. ๒๕๖๓ ({r + 1})", plain)
    for c, column in enumerate(columns):
        caption = "ผู้รับผิดชอบ / owner" if column == "owner" else label(KPI_HEADERS[column], lang)
        ws.write_string(top, c, caption, bold)
    ws.set_column(1, 1, 60)
    numbers = style["numbers"]
    for i, kpi in enumerate(seed["kpis"], start=top + 1):
        spec = criteria(kpi, seed["division"])
        code = kpi["code"].translate(THAI) if style.get("thai_codes") else kpi["code"]
        cells: dict[str, Any] = {
            "code": code,
            "name": kpi["name"],
            "unit": spec["unit"],
            "weight": kpi["original_weight"],
            "method": spec["method"],
            "direction": {"lower": "น้อย", "higher": "มาก"}.get(spec["direction"] or ""),
            "status": kpi["status"],
            "owner": seed["division"],
        }
        for k, value in enumerate(spec["levels"], start=1):
            cells[f"level{k}"] = value
        cells["result"] = spec["result"] if kpi["status"] is None else None
        for c, column in enumerate(columns):
            value = cells.get(column)
            if value is None or value == "":
                continue
            as_percent = spec["kind"] == "percent" and (column == "result" or column.startswith("level"))
            if isinstance(value, str):
                ws.write_string(i, c, value, text)
            elif as_percent and numbers == "percent_cells":
                ws.write_number(i, c, value / 100, percent)
            elif as_percent and numbers == "percent_text":
                ws.write_string(i, c, f"{value:g}%", text)
            elif column == "result" and numbers == "thai_text":
                shown = f"{value:,.2f}" if spec["kind"] == "count" else f"{value:g}"
                ws.write_string(i, c, shown.translate(THAI), text)
            elif column == "result" and spec["kind"] == "count" and value >= 1000:
                ws.write_string(i, c, f"{value:,}", text)
            else:
                ws.write_number(i, c, value, plain)

    if seed["reallocations"]:
        ws = wb.add_worksheet(realloc_sheet)
        for c, column in enumerate(REALLOC_HEADERS):
            ws.write_string(0, c, label(REALLOC_HEADERS[column], lang), bold)
        for r, move in enumerate(seed["reallocations"], start=1):
            ws.write_string(r, 0, move["from"], text)
            ws.write_string(r, 1, move["to"], text)
            ws.write_number(r, 2, move["weight"], plain)
            ws.write_string(r, 3, "ไม่ได้ประเมินในรอบ ๑๒ เดือน", text)
    wb.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=Path, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    seeds = json.loads(args.seed.read_text(encoding="utf-8"))
    args.out.mkdir(parents=True, exist_ok=True)
    for seed, style in zip(seeds, STYLES, strict=True):
        print(build(seed, style, args.out))


if __name__ == "__main__":
    main()
