"""Build the shipped example workbooks from the seed summary data (fiscal year 2563, 12 months).

Usage:  python scripts/make_examples.py [--seed ../shared/seed_divisions_2563.json] [--out DIR]

Each example walks the path a division walks: the blank template ``kpibatch template`` writes, filled
in its yellow cells the way a clerk types them (codes as text, numbers as numbers, percentages as
percent cells, drop-down labels, status texts, reallocation rows), then opened and saved by
LibreOffice headless, which recalculates the template's formulas and stores their values as any
spreadsheet program leaves them. Each KPI gets realistic criteria (milestones, percent thresholds,
lower-is-better rates, counts) and a result that reproduces the printed score. The files differ the
ways clerks differ (Thai-digit codes, percent cells, notes). LibreOffice (soffice) must be installed.
The program never reads the seed; only this script and the golden tests do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import openpyxl

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEED = ROOT.parent / "shared" / "seed_divisions_2563.json"
DEFAULT_OUT = ROOT / "input_templates" / "examples"
THAI = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
FIXED_TIME = dt.datetime(2020, 10, 15, 9, 0, 0)
SOFFICE_TIMEOUT_S = 300

PERCENT_SETS = [(74, 77, 80, 83, 86), (80, 85, 90, 95, 100), (92, 93, 94, 95, 96), (60, 70, 80, 90, 100)]
LOWER_SET = (5, 4, 3, 2, 1)
COUNT_SETS = [(4, 6, 8, 10, 12), (600, 700, 800, 900, 1000), (1, 2, 3, 4, 5)]

# How each division's clerk fills the template: short name, percentages typed as 87.5% (a percent
# cell) or as 87.5, codes in Thai digits, notes beside KPIs not assessed.
STYLES: list[dict[str, Any]] = [
    {"file": "01_secretariat.xlsx", "short": "สลก.", "percent_cells": False},
    {"file": "02_enforcement_appraisal.xlsx", "short": None, "percent_cells": False, "notes": True},
    {"file": "03_human_resources.xlsx", "short": "กบค.", "percent_cells": True},
    {"file": "04_bankruptcy_assets.xlsx", "short": None, "percent_cells": True, "thai_codes": True},
    {"file": "05_finance.xlsx", "short": "กค.", "percent_cells": True, "notes": True},
    {"file": "06_ict_centre.xlsx", "short": "ศทส.", "percent_cells": False, "thai_codes": True},
]
REASON = "ไม่ได้ประเมินในรอบ ๑๒ เดือน"


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


def template(path: Path) -> Path:
    """The blank template, as ``kpibatch template --out PATH`` writes it (fixed creation time)."""
    sys.path.insert(0, str(ROOT))
    from kpibatch.config import Settings
    from kpibatch.template import TemplateSpec, write_template

    defaults = Settings()
    return write_template(
        path, TemplateSpec(), font_name=defaults.font_name, font_size=defaults.font_size, created=FIXED_TIME
    )


def fill(blank: Path, seed: dict[str, Any], style: dict[str, Any], target: Path) -> Path:
    """Type one division's summary into the template's yellow cells, as a clerk does."""
    from kpibatch.template.layout import (
        DIRECTION_CHOICES,
        DIVISION_FIRST_ROW,
        DIVISION_KEYS,
        DIVISION_SHEET,
        KPI_COLUMN_INDEX,
        KPI_FIRST_ROW,
        KPI_SHEET,
        METHOD_CHOICES,
        REALLOCATION_COLUMNS,
        REALLOCATION_FIRST_ROW,
        REALLOCATION_SHEET,
    )

    wb = openpyxl.load_workbook(blank)
    wb.properties.creator = seed["division"]
    details = wb[DIVISION_SHEET]
    typed = {"division": seed["division"], "short_name": style["short"], "fiscal_year": 2563, "round": 12}
    for i, key in enumerate(DIVISION_KEYS):
        if key in typed:  # the reporter's and certifier's cells are optional: left blank, as in seed 000
            details.cell(DIVISION_FIRST_ROW + i + 1, 2).value = typed[key]

    def code(text: str) -> str:
        return text.translate(THAI) if style.get("thai_codes") else text

    ws = wb[KPI_SHEET]
    moved_to = {m["from"]: m["to"] for m in seed["reallocations"]}
    for row, kpi in enumerate(seed["kpis"], start=KPI_FIRST_ROW + 1):
        spec = criteria(kpi, seed["division"])
        assessed = kpi["status"] is None

        def put(key: str, value: Any, *, percent: bool = False, row: int = row) -> None:
            if value is None:
                return
            cell = ws.cell(row, KPI_COLUMN_INDEX[key] + 1)
            if percent and style["percent_cells"]:
                # typed as 87.5% in Excel or LibreOffice: the cell holds 0.875 and shows a percentage
                cell.value, cell.number_format = value / 100, "0.0%"
            else:
                cell.value = value

        put("code", code(kpi["code"]))
        put("name", kpi["name"])
        put("unit", spec["unit"])
        put("weight", kpi["original_weight"])
        put("method", METHOD_CHOICES[spec["method"]])
        put("direction", DIRECTION_CHOICES.get(spec["direction"] or ""))
        for k, value in enumerate(spec["levels"], start=1):
            put(f"level{k}", value, percent=spec["kind"] == "percent")
        if assessed:
            put("result", spec["result"], percent=spec["kind"] == "percent")
        else:
            put("status", kpi["status"])
            if style.get("notes") and kpi["code"] in moved_to:
                put("note", f"โอนน้ำหนักไปข้อ {code(moved_to[kpi['code']])}")

    moves = wb[REALLOCATION_SHEET]
    columns = {column.key: i + 1 for i, column in enumerate(REALLOCATION_COLUMNS)}
    for row, move in enumerate(seed["reallocations"], start=REALLOCATION_FIRST_ROW + 1):
        moves.cell(row, columns["from"]).value = code(move["from"])
        moves.cell(row, columns["to"]).value = code(move["to"])
        moves.cell(row, columns["weight"]).value = move["weight"]
        moves.cell(row, columns["reason"]).value = REASON
    wb.save(target)
    return target


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        raise SystemExit("LibreOffice (soffice) is needed to recalculate the filled templates")
    return found


def recalculate(files: list[Path], out: Path, scratch: Path) -> list[Path]:
    """Open and save ``files`` in LibreOffice headless (a private profile), which stores every
    formula's calculated value as a clerk's save does; the results go to ``out``."""
    converted = scratch / "recalculated"
    subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation={(scratch / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(converted),
            *map(str, files),
        ],
        check=True,
        capture_output=True,
        timeout=SOFFICE_TIMEOUT_S,
        env={**os.environ, "HOME": str(scratch)},
    )
    written = []
    for path in files:
        target = out / path.name
        shutil.copyfile(converted / path.name, target)
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=Path, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    seeds = json.loads(args.seed.read_text(encoding="utf-8"))
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kpibatch-examples-") as tmp:
        scratch = Path(tmp)
        blank = template(scratch / "kpi_template.xlsx")
        (scratch / "filled").mkdir()
        filled = [
            fill(blank, seed, style, scratch / "filled" / style["file"])
            for seed, style in zip(seeds, STYLES, strict=True)
        ]
        for path in recalculate(filled, args.out, scratch):
            print(path)


if __name__ == "__main__":
    main()
