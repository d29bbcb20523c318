"""Benchmark ``kpibatch run`` against a naive baseline and the physical floor, in one process run.

Usage::

    python benchmarks/bench_run.py                 # N = 10, 100, 1000
    python benchmarks/bench_run.py --large         # adds N = 10000
    python benchmarks/bench_run.py --sizes 50 --results benchmarks/results.md

It generates N realistic division workbooks in template contract v1 (10-30 KPIs with Thai names,
every scoring method, sub-KPIs, KPIs not assessed this round with their weight reallocated, numbers
typed as plain numbers, percent cells, ``87.5%`` text and Thai digits, a few files with mistakes;
deterministic for a seed), then measures for each N:

- ``run``: the full ``python -m kpibatch run`` as a subprocess;
- ``baseline``: a naive program written here: ``pandas.read_excel(engine="openpyxl")`` of every
  sheet, row-wise scoring with ``iterrows``, one openpyxl workbook written at the end;
- ``floor``: what no implementation can avoid: python-calamine reads every sheet of every input, and
  xlsxwriter in constant-memory mode writes a workbook with the report's sheets and cells (a title, a
  heading, code, name and two numbers per KPI, a total row; an overview row per division).

With ``--compare REV`` (a commit, tag or branch of this repository), that revision is exported with
``git archive``, installed with its own dependencies into a temporary virtual environment, and its
``kpibatch run`` is timed beside the current tree's (``run@REV``) in the same rounds, on the same
inboxes.

Each one runs in a fresh interpreter, timed from start to exit (so start-up and imports count for all
three alike); with ``--repeat`` the fastest of the tries counts (N = 10000 is tried
``--repeat-large`` times, once by default: a try of the baseline takes minutes). Peak RSS
is the larger of the kernel's peak resident size of the biggest single process and the sampled sum
over the whole process tree (workers included, pages shared between a forked worker and its parent
counted once). CPU s is user + system time of the process and its workers (each process of the
tree as last sampled, or the kernel's figure for the process and the children it waited for when
larger), which a busy machine changes far less than wall time. Memory and CPU are read from /proc
and wait4, so it runs on Linux.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import itertools
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kpibatch import contract  # noqa: E402  (the benchmark runs from a clone without installing)

DEFAULT_SIZES = (10, 100, 1000)
LARGE_SIZE = 10000
DEFAULT_SEED = 2563
FIXED_TIME = dt.datetime(2020, 10, 15, 9, 0, 0)
THAI = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
KINDS = ("run", "baseline", "floor")

# --- realistic division workbooks ---------------------------------------------------------------

DIVISION_PREFIXES = ("กอง", "สำนัก", "ศูนย์", "สำนักงาน", "กลุ่มงาน")
DIVISION_TOPICS = (
    "บริหารการคลัง",
    "บริหารทรัพยากรบุคคล",
    "พัฒนาระบบการบังคับคดี",
    "เทคโนโลยีสารสนเทศและการสื่อสาร",
    "ติดตามและเฉลี่ยทรัพย์สิน",
    "นิติการ",
    "แผนงานและยุทธศาสตร์",
    "ส่งเสริมการไกล่เกลี่ยข้อพิพาท",
    "ประชาสัมพันธ์",
    "ตรวจสอบภายใน",
    "คุ้มครองผู้บริโภค",
    "พัสดุและอาคารสถานที่",
)
KPI_SUBJECTS = (
    "ความพึงพอใจของผู้รับบริการ",
    "การเบิกจ่ายงบประมาณรายจ่ายประจำปี",
    "การจัดทำแผนต้นทุนต่อหน่วย",
    "เรื่องร้องเรียนที่ได้รับการแก้ไขสำเร็จ",
    "การลดการใช้กระดาษ",
    "การลดและคัดแยกขยะมูลฝอยในหน่วยงานภาครัฐ",
    "บุคลากรที่ได้รับการพัฒนาตามแผน",
    "สำนวนคดีที่ส่งมอบได้ทันกำหนด",
    "ข้อมูลที่ลงระบบภายใน ๓ วันทำการ",
    "การดำเนินการตามแผนบริหารความเสี่ยง",
    "การประชุมเพื่อพิจารณาแนวทางแก้ไขข้อขัดข้องในการปฏิบัติงาน",
    "หนังสือที่ส่งให้หน่วยงานที่เกี่ยวข้องได้ภายใน ๑ วันทำการ",
    "ระบบสารสนเทศที่ไม่สามารถให้บริการได้",
    "การเผยแพร่ข่าวสารผ่านสื่อออนไลน์",
)
STATUS_TEXTS = ("รายงานรอบ ๑๒ เดือน", "สำรวจปีละ ๑ ครั้ง", "ไม่ได้ประเมินในรอบนี้")
REASONS = ("ตัวชี้วัดรายงานรอบ ๑๒ เดือน", "โอนตามมติคณะกรรมการ", "ปรับน้ำหนักตามคำรับรองฯ")
PERCENT_LEVELS = ((74, 77, 80, 83, 86), (80, 85, 90, 95, 100), (60, 70, 80, 90, 100))
LOWER_LEVELS = ((5, 4, 3, 2, 1), (10, 8, 6, 4, 2))
COUNT_LEVELS = ((4, 6, 8, 10, 12), (600, 700, 800, 900, 1000))
NUMBER_STYLES = ("plain", "plain", "percent_cells", "percent_text", "thai_text")


def _label(aliases: tuple[str, ...], lang: str) -> str:
    english, thai = aliases[0], aliases[1]
    return {"en": english, "th": thai, "both": f"{thai} / {english}"}[lang]


def _weights(rng: random.Random, count: int, total: int = 100) -> list[int]:
    """``count`` positive integer weights summing to ``total``, multiples of 1, most of them 2-10."""
    weights = [1] * count
    for _ in range(total - count):
        weights[rng.randrange(count)] += 1
    return weights


@dataclass
class _Kpi:
    code: str
    name: str
    weight: float
    method: str | None = None
    unit: str | None = None
    direction: str | None = None
    levels: tuple[float | None, ...] = (None,) * 5
    result: float | None = None
    status: str | None = None
    percent: bool = False


def _leaf(rng: random.Random, code: str, weight: float) -> _Kpi:
    subject = rng.choice(KPI_SUBJECTS)
    kind = rng.choices(("percent", "lower", "count", "milestone", "score"), weights=(5, 1, 2, 3, 1))[0]
    if kind == "percent":
        levels = rng.choice(PERCENT_LEVELS)
        result = round(rng.uniform(levels[0] - 5, min(100, levels[-1] + 3)), 2)
        return _Kpi(code, f"ร้อยละ{subject}", weight, "threshold", "ร้อยละ", None, levels, result, None, True)
    if kind == "lower":
        levels = rng.choice(LOWER_LEVELS)
        result = round(rng.uniform(levels[-1] * 0.5, levels[0] * 1.2), 2)
        return _Kpi(
            code, f"ร้อยละของ{subject}", weight, "threshold", "ร้อยละ", "น้อย", levels, result, None, True
        )
    if kind == "count":
        levels = rng.choice(COUNT_LEVELS)
        result = float(rng.randint(int(levels[0] * 0.8), int(levels[-1] * 1.2)))
        return _Kpi(code, f"จำนวน{subject}", weight, "threshold", "เรื่อง", "มาก", levels, result)
    if kind == "milestone":
        return _Kpi(code, f"ระดับความสำเร็จของ{subject}", weight, "milestone", "ระดับ", result=rng.randint(1, 5))
    return _Kpi(code, f"คะแนน{subject}", weight, "score", "คะแนน", result=round(rng.uniform(2, 5), 1))


def division_plan(index: int, seed: int) -> dict[str, Any]:
    """Everything one generated workbook holds, decided by (seed, index) alone."""
    rng = random.Random(seed * 1_000_003 + index)
    rows_target = rng.randint(10, 30)
    parents = rng.randint(0, 2) if rows_target >= 14 else 0
    top_count = rows_target - parents * 2 - rng.randint(0, parents)
    top_count = max(8, min(top_count, 24))
    kpis: list[_Kpi] = []
    weights = _weights(rng, top_count)
    section = 1
    top_codes: list[str] = []
    for i, weight in enumerate(weights):
        if i and rng.random() < 0.3:
            section += 1
        code = f"{section}.{sum(1 for c in top_codes if c.split('.')[0] == str(section)) + 1}"
        top_codes.append(code)
        if i < parents:
            parent = _Kpi(code, f"ระดับความสำเร็จของการดำเนินงาน{rng.choice(KPI_SUBJECTS)}", weight)
            kpis.append(parent)
            for k, child_weight in enumerate(rng.choice(((4, 4, 2), (0.5, 0.5), (1, 1, 1))), start=1):
                kpis.append(_leaf(rng, f"{code}.{k}", child_weight))
        else:
            kpis.append(_leaf(rng, code, weight))
    moves: list[dict[str, Any]] = []
    leaves = [k for k in kpis if k.code.count(".") == 1 and k.method is not None]
    sources = rng.sample(leaves, k=min(len(leaves) - 2, rng.choice((0, 0, 1, 1, 2, 3))))
    for source in sources:
        source.status = rng.choice(STATUS_TEXTS)
        source.result = None
    targets = [k for k in leaves if k.status is None]
    for source in sources:
        if rng.random() < 0.8:
            moves.append(
                {
                    "from": source.code,
                    "to": rng.choice(targets).code,
                    "weight": source.weight,
                    "reason": rng.choice(REASONS),
                }
            )
    mistake = rng.random() < 0.02  # a division that typed a weight wrong: rejected, with a message
    if mistake:
        kpis[0].weight += 5
    topic = DIVISION_TOPICS[index % len(DIVISION_TOPICS)]
    prefix = DIVISION_PREFIXES[(index // len(DIVISION_TOPICS)) % len(DIVISION_PREFIXES)]
    return {
        "file": f"{index + 1:05d}_division.xlsx",
        "division": f"{prefix}{topic} ที่ {str(index + 1).translate(THAI)}",
        "short_name": f"หน่วย {index + 1}" if rng.random() < 0.5 else None,
        "lang": rng.choice(("en", "th", "both")),
        "title_rows": rng.choice((0, 0, 1, 2)),
        "numbers": rng.choice(NUMBER_STYLES),
        "year": rng.choice((2563, 2563, "๒๕๖๓", 2020)),
        "round": rng.choice((12, 12, "รอบ ๑๒ เดือน")),
        "kpis": kpis,
        "moves": moves,
        "mistake": mistake,
    }


def write_division(plan: dict[str, Any], folder: Path) -> Path:
    import xlsxwriter

    path = folder / plan["file"]
    lang = plan["lang"]
    wb = xlsxwriter.Workbook(
        str(path), {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
    )
    wb.set_properties({"created": FIXED_TIME})
    font = {"font_name": "TH Sarabun New", "font_size": 14}
    bold = wb.add_format({**font, "bold": True, "border": 1, "text_wrap": True})
    text = wb.add_format({**font, "num_format": "@"})
    plain = wb.add_format(font)
    percent = wb.add_format({**font, "num_format": "0.00%"})
    names = {role: _label(contract.SHEETS[role], "th" if lang == "th" else "en") for role in contract.SHEETS}

    ws = wb.add_worksheet(names["division"])
    pairs = (
        ("division", plan["division"]),
        ("short_name", plan["short_name"]),
        ("fiscal_year", plan["year"]),
        ("round", plan["round"]),
    )
    for r, (key, value) in enumerate(pairs):
        ws.write_string(r, 0, _label(contract.DIVISION_KEYS[key], lang), bold)
        if isinstance(value, str):
            ws.write_string(r, 1, value, text)
        elif value is not None:
            ws.write_number(r, 1, value, plain)

    ws = wb.add_worksheet(names["kpis"])
    columns = [c for c in contract.KPI_COLUMNS if c != "verified_result"]
    top = plan["title_rows"]
    for r in range(top):
        ws.write_string(r, 0, f"ตัวชี้วัดตามคำรับรองการปฏิบัติราชการ ปีงบประมาณ พ.ศ. ๒๕๖๓ ({r + 1})", plain)
    for c, column in enumerate(columns):
        ws.write_string(top, c, _label(contract.KPI_COLUMNS[column], lang), bold)
    numbers = plan["numbers"]
    for r, kpi in enumerate(plan["kpis"], start=top + 1):
        cells: dict[str, Any] = {
            "code": kpi.code,
            "name": kpi.name,
            "unit": kpi.unit,
            "weight": kpi.weight,
            "method": kpi.method,
            "direction": kpi.direction,
            "result": kpi.result,
            "status": kpi.status,
            **{f"level{k}": v for k, v in enumerate(kpi.levels, start=1)},
        }
        for c, column in enumerate(columns):
            value = cells.get(column)
            if value is None:
                continue
            measured = column == "result" or column.startswith("level")
            if isinstance(value, str):
                ws.write_string(r, c, value, text)
            elif measured and kpi.percent and numbers == "percent_cells":
                ws.write_number(r, c, value / 100, percent)
            elif measured and kpi.percent and numbers == "percent_text":
                ws.write_string(r, c, f"{value:g}%", text)
            elif measured and numbers == "thai_text":
                ws.write_string(r, c, f"{value:g}".translate(THAI), text)
            else:
                ws.write_number(r, c, value, plain)
    if plan["moves"]:
        ws = wb.add_worksheet(names["reallocations"])
        for c, column in enumerate(contract.REALLOCATION_COLUMNS):
            ws.write_string(0, c, _label(contract.REALLOCATION_COLUMNS[column], lang), bold)
        for r, move in enumerate(plan["moves"], start=1):
            ws.write_string(r, 0, move["from"], text)
            ws.write_string(r, 1, move["to"], text)
            ws.write_number(r, 2, move["weight"], plain)
            ws.write_string(r, 3, move["reason"], text)
    wb.close()
    stamp = FIXED_TIME.timestamp() + int(plan["file"][:5])
    os.utime(path, (stamp, stamp))
    return path


def _generate_chunk(args: tuple[Path, int, int, int]) -> int:
    folder, seed, start, stop = args
    for index in range(start, stop):
        write_division(division_plan(index, seed), folder)
    return stop - start


def generate(folder: Path, count: int, seed: int = DEFAULT_SEED, *, processes: int | None = None) -> Path:
    """Write ``count`` workbooks into ``folder`` (files already there from the same seed are kept)."""
    import multiprocessing

    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / ".corpus.json"
    known = json.loads(marker.read_text()) if marker.is_file() else {"seed": seed, "count": 0}
    if known["seed"] != seed:
        shutil.rmtree(folder)
        folder.mkdir(parents=True)
        known = {"seed": seed, "count": 0}
    if known["count"] >= count:
        return folder
    start = known["count"]
    step = 250
    chunks = [(folder, seed, i, min(i + step, count)) for i in range(start, count, step)]
    processes = processes or os.cpu_count() or 1
    if processes > 1 and len(chunks) > 1:
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            pool.map(_generate_chunk, chunks)
    else:
        for chunk in chunks:
            _generate_chunk(chunk)
    marker.write_text(json.dumps({"seed": seed, "count": count}))
    return folder


def inbox_of(corpus: Path, count: int, work: Path) -> Path:
    """A folder with copies of the first ``count`` workbooks of the corpus.

    Copies, as a division's file arrives, not hard links: ``kpibatch run`` copies a hard-linked
    file into a file of its own before it files it (another name could change its bytes later),
    a cost no real inbox has.
    """
    inbox = work / f"inbox-{count}"
    if inbox.exists():
        shutil.rmtree(inbox)
    inbox.mkdir(parents=True)
    for path in sorted(corpus.glob("*.xlsx"))[:count]:
        shutil.copy2(path, inbox / path.name)
    return inbox


# --- (b) the naive baseline ---------------------------------------------------------------------


def _baseline_score(row: Any, columns: dict[str, Any]) -> float | None:
    def number(key: str) -> float | None:
        if key not in columns:
            return None
        value = row[columns[key]]
        if value is None or (isinstance(value, float) and value != value):
            return None
        text = str(value).translate(str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")).replace(",", "")
        try:
            return float(text.rstrip("%"))
        except ValueError:
            return None

    result = number("result")
    method = contract.method_name(row[columns["method"]]) if "method" in columns else None
    if method in ("milestone", "score"):
        return result or 0.0
    points = [(k, v) for k in range(1, 6) if (v := number(f"level{k}")) is not None]
    if result is None or not points:
        return 0.0
    lower = len(points) > 1 and points[-1][1] < points[0][1]
    better = (lambda a, b: a <= b) if lower else (lambda a, b: a >= b)
    if not better(result, points[0][1]):
        return 0.0
    for (k, v), (m, w) in itertools.pairwise(points):
        if better(result, v) and not better(result, w):
            return k + (m - k) * (result - v) / (w - v)
    return float(points[-1][0])


# The report's division sheet carries, per KPI: code, name, score (or the status), effective weight,
# then for the planning officer result, unit, method, levels 1..5, original weight, weighted score and
# warnings. The baseline and the floor write the same cells, so the three programs do the same work.
HEADINGS = (
    "ตัวชี้วัด",
    "รายละเอียดตัวชี้วัด",
    "คะแนนที่ทำได้",
    "น้ำหนัก",
    "ผลการดำเนินงาน",
    "หน่วยวัด",
    "วิธีให้คะแนน",
    "ระดับ 1",
    "ระดับ 2",
    "ระดับ 3",
    "ระดับ 4",
    "ระดับ 5",
    "น้ำหนักเดิม",
    "คะแนนถ่วงน้ำหนัก",
    "คำเตือน",
)
OVERVIEW_HEADINGS = ("หน่วยงาน", "คะแนนรวม", "อันดับ", "ประเมิน", "ไม่ประเมิน", "จุดอ่อน", "คำเตือน")
TITLE = "สรุปผลคะแนน ตามคำรับรองการปฏิบัติราชการ ประจำปีงบประมาณ พ.ศ. ๒๕๖๓ รอบ ๑๒ เดือน"
TOTAL_LABEL = "คะแนนที่ได้รับตามคำรับรองฯ ประจำปีงบประมาณ พ.ศ. ๒๕๖๓"


def _row_cells(row: Any, columns: dict[str, Any], score: float | None, weight: float) -> list[Any]:
    """One KPI row as the report writes it: texts as str, numbers as float, empty as None."""

    def get(key: str) -> Any:
        if key not in columns:
            return None
        value = row[columns[key]]
        return None if value is None or (isinstance(value, float) and value != value) else value

    status = get("status")
    return [
        str(get("code")),
        str(get("name")),
        score if score is not None else str(status),
        weight if score is not None else None,
        get("result"),
        get("unit"),
        get("method"),
        *(get(f"level{k}") for k in range(1, 6)),
        get("weight"),
        score * weight / 100 if score is not None else None,
        "" if score is not None else "ไม่ได้ประเมินในรอบนี้",
    ]


def run_baseline(inbox: Path, out: Path) -> None:
    """Read with pandas+openpyxl, score row by row, write with openpyxl: the obvious first program."""
    import openpyxl
    import pandas as pd

    results: list[tuple[str, list[list[Any]], float | None]] = []
    for path in sorted(inbox.glob("*.xlsx")):
        sheets = pd.read_excel(path, sheet_name=None, header=None, engine="openpyxl")
        roles = {contract.sheet_role(name): frame for name, frame in sheets.items()}
        meta = {contract.division_key(k): v for k, v in roles["division"].iloc[:, :2].itertuples(index=False)}
        frame = roles["kpis"]
        header = next(
            i
            for i, row in frame.iterrows()
            if any(contract.kpi_column(v) == "code" for v in row if isinstance(v, str))
        )
        columns = {contract.kpi_column(v): c for c, v in frame.loc[header].items() if isinstance(v, str)}
        columns.pop(None, None)
        moved: dict[str, float] = {}
        if roles.get("reallocations") is not None:
            moves = roles["reallocations"]
            names = {contract.reallocation_column(v): c for c, v in moves.loc[0].items()}
            for _, move in moves.loc[1:].iterrows():
                weight = float(move[names["weight"]])
                moved[str(move[names["to"]])] = moved.get(str(move[names["to"]]), 0.0) + weight
        rows: list[list[Any]] = []
        top: list[tuple[float, float]] = []
        for _, row in frame.loc[header + 1 :].iterrows():
            code = row[columns["code"]]
            if not isinstance(code, str):
                continue
            status = row[columns["status"]] if "status" in columns else None
            assessed = not isinstance(status, str)
            score = _baseline_score(row, columns) if assessed else None
            weight = float(row[columns["weight"]]) + moved.get(code, 0.0)
            rows.append(_row_cells(row, columns, score, weight))
            if code.count(".") == 1 and score is not None:
                top.append((score, weight))
        total = sum(s * w for s, w in top) / sum(w for _, w in top) if top else None
        results.append((str(meta.get("division")), rows, total))
    wb = openpyxl.Workbook()
    overview = wb.active
    overview.title = "ภาพรวม"
    overview.append([TITLE])
    overview.append(list(OVERVIEW_HEADINGS))
    for i, (division, rows, total) in enumerate(results):
        assessed = sum(1 for r in rows if r[3] is not None)
        overview.append([division, total, i + 1, assessed, len(rows) - assessed, rows[0][0], 0])
        ws = wb.create_sheet(f"d{i + 1}")
        ws.append([TITLE])
        ws.append(["ตัวชี้วัด", division])
        ws.append(list(HEADINGS))
        for cells in rows:
            ws.append(cells)
        ws.append([TOTAL_LABEL, "", total, 100])
    wb.create_sheet("ปัญหา").append(["-"])
    out.mkdir(parents=True, exist_ok=True)
    wb.save(out / "baseline.xlsx")


# --- (c) the floor ------------------------------------------------------------------------------


def run_floor(inbox: Path, out: Path) -> None:
    """Read every sheet with python-calamine; write the report's sheets and cells, constant memory.

    No scoring: the KPI rows' own values go into the report's cells (a number where the report has
    a score), which is the least any program producing this report has to read and write.
    """
    import python_calamine
    import xlsxwriter

    out.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(
        str(out / "floor.xlsx"),
        {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False},
    )
    cell = wb.add_format({"font_name": "TH Sarabun New", "border": 1})
    overview = wb.add_worksheet("ภาพรวม")
    overview.write_string(0, 0, TITLE, cell)
    for c, heading in enumerate(OVERVIEW_HEADINGS):
        overview.write_string(1, c, heading, cell)
    for i, path in enumerate(sorted(inbox.glob("*.xlsx")), start=2):
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        sheets = [book.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in book.sheet_names]
        division = str(sheets[0][0][1]) if sheets[0] and len(sheets[0][0]) > 1 else ""
        rows = sheets[1] if len(sheets) > 1 else []
        header = next(
            (r for r, row in enumerate(rows) if row and contract.kpi_column(str(row[0])) == "code"), 0
        )
        kpi_rows = [row for row in rows[header:] if len(row) >= 4 and row[0] != ""]
        overview.write_string(i, 0, division, cell)
        for c in range(1, 5):
            overview.write_number(i, c, 0.0, cell)
        overview.write_string(i, 5, str(kpi_rows[0][0]) if kpi_rows else "", cell)
        overview.write_number(i, 6, 0.0, cell)
        ws = wb.add_worksheet(f"d{i - 1}")
        ws.write_string(0, 0, TITLE, cell)
        ws.write_string(1, 0, "ตัวชี้วัด", cell)
        ws.write_string(1, 1, division, cell)
        for c, heading in enumerate(HEADINGS):
            ws.write_string(2, c, heading, cell)
        r = 3
        for row in kpi_rows[1:]:
            values = [*row[:13], row[3], row[3], ""]
            for c, value in enumerate(values[: len(HEADINGS)]):
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    ws.write_number(r, c, float(value), cell)
                elif value not in ("", None):
                    ws.write_string(r, c, str(value), cell)
            r += 1
        ws.write_string(r, 0, TOTAL_LABEL, cell)
        ws.write_number(r, 2, 0.0, cell)
        ws.write_number(r, 3, 100.0, cell)
    wb.add_worksheet("ปัญหา").write_string(0, 0, "-", cell)
    wb.close()


def count_cells(workbook: Path) -> int:
    """Non-empty cells of every sheet: the three programs' outputs should hold about as many."""
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_path(str(workbook))
    return sum(
        1
        for name in book.sheet_names
        for row in book.get_sheet_by_name(name).to_python()
        for value in row
        if value not in ("", None)
    )


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Measure:
    kind: str
    n: int
    seconds: float
    peak_rss_mb: float
    exit_code: int
    cpu_seconds: float = 0.0
    """User + system time of the process and every child it waited for (workers included)."""
    cells: int = 0
    """Non-empty cells of the workbook it wrote: the three should write about the same."""

    @property
    def files_per_s(self) -> float:
        return self.n / self.seconds

    @property
    def ms_per_file(self) -> float:
        return 1000 * self.seconds / self.n


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo += [int(c) for c in handle.read().split()]
    return found


def _memory_kb(pid: int) -> int:
    """Proportional set size: a page shared by a forked worker and its parent counts once overall."""
    for path, key in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        with contextlib.suppress(OSError), open(path) as handle:
            for line in handle:
                if line.startswith(key):
                    return int(line.split()[1])
    return 0


def _resident_kb(pid: int) -> int:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    """User + system time of ``pid`` itself (not of its children), from /proc/PID/stat."""
    with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


@dataclass
class _Samples:
    memory_kb: int = 0
    """The largest summed memory of the process tree seen."""
    cpu: dict[int, float] = field(default_factory=dict)
    """Each process's CPU seconds as last seen (workers a forkserver starts are not children the
    kernel adds to the measured process's own figure)."""


PSS_EVERY = 0.25
"""Least seconds between two readings of the processes' proportional set size. ``smaps_rollup``
walks a process's page tables: 3.6 ms for a 300 MB process here, so reading it for the main process
and both workers every 20 ms took about a third of a core from the program measured, which on two
cores cost ``kpibatch run`` 4-5 s of its 45 s at N = 10000 (and the single-process programs next to
nothing, their second core being idle)."""


@contextlib.contextmanager
def _sample_tree(pid: int, every: float = 0.02) -> Iterator[_Samples]:
    """Sample the memory and CPU time of ``pid`` and its descendants until the block ends.

    The cheap resident size (``VmRSS``) is read every ``every`` seconds; the proportional set size,
    which is what is reported, whenever the resident size reaches a new high, at most every
    ``PSS_EVERY`` seconds: a peak of the one is a peak of the other.
    """
    peak = _Samples()
    done = threading.Event()

    def loop() -> None:
        high, last = 0, -PSS_EVERY
        while not done.is_set():
            tree = _tree(pid)
            resident = sum(_resident_kb(p) for p in tree)
            now = time.monotonic()
            if resident > high and now - last >= PSS_EVERY:
                high, last = resident, now
                peak.memory_kb = max(peak.memory_kb, sum(_memory_kb(p) for p in tree))
            for p in tree:
                peak.cpu[p] = max(peak.cpu.get(p, 0.0), _cpu_seconds(p))
            done.wait(every)

    thread = threading.Thread(target=loop, daemon=True)
    if Path("/proc").is_dir():
        thread.start()
    try:
        yield peak
    finally:
        done.set()
        if thread.is_alive():
            thread.join()


@dataclass(frozen=True)
class Revision:
    """Another commit of this repository, installed into a virtual environment of its own."""

    kind: str
    """``run@<short hash>``: its row in the table."""
    python: Path
    folder: Path
    """Where it runs from: no kpibatch package or kpibatch.toml of the current tree in sight."""


def install_revision(rev: str, work: Path, *, echo: bool = True) -> Revision:
    """Export ``rev`` with ``git archive`` and ``pip install`` it (and its dependencies) into a venv."""

    def git(*args: str) -> bytes:
        return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True).stdout

    sha = git("rev-parse", "--short", f"{rev}^{{commit}}").decode().strip()
    folder = work / f"rev-{sha}"
    if folder.exists():
        shutil.rmtree(folder)
    source = folder / "source"
    source.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(git("archive", "--format=tar", sha))) as archive:
        archive.extractall(source, filter="data")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(folder / "venv")], check=True)
    python = folder / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(source)], check=True)
    if echo:
        print(f"{rev} ({sha}) installed in {time.perf_counter() - started:.1f} s ({folder})", flush=True)
    return Revision(kind=f"run@{sha}", python=python, folder=folder)


def run_command(python: str, inbox: Path, out: Path, jobs: int | None = None) -> list[str]:
    command = [
        python,
        "-m",
        "kpibatch",
        "run",
        "--inbox",
        str(inbox),
        "--out",
        str(out),
        "--quiet",
        # the generated files are complete: no wait for them to settle, as for a nightly run's
        # files that arrived during the day
        "--stability-delay",
        "0",
    ]
    return command + (["--jobs", str(jobs)] if jobs else [])


def command_for(kind: str, inbox: Path, out: Path, jobs: int | None = None) -> list[str]:
    if kind == "run":
        return run_command(sys.executable, inbox, out, jobs)
    return [sys.executable, str(Path(__file__).resolve()), "--measure", kind, str(inbox), str(out)]


def measure(
    kind: str, inbox: Path, out: Path, n: int, *, jobs: int | None = None, revision: Revision | None = None
) -> Measure:
    """Run one of the programs in a fresh interpreter; wall time and peak RSS."""
    if out.exists():
        shutil.rmtree(out)
    if revision is not None:
        # the installed revision alone: the current tree neither on the path nor the working directory
        command = run_command(str(revision.python), inbox, out, jobs)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        cwd = revision.folder
    else:
        command = command_for(kind, inbox, out, jobs)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        cwd = ROOT
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with _sample_tree(proc.pid) as peak:
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    ok = (0, 3) if kind.startswith("run") else (0,)
    if proc.returncode not in ok:
        raise RuntimeError(f"{kind} failed with exit code {proc.returncode}: {stderr[-2000:]}")
    peak_kb = max(peak.memory_kb, usage.ru_maxrss)
    cpu = max(usage.ru_utime + usage.ru_stime, sum(peak.cpu.values()))
    return Measure(kind, n, seconds, peak_kb / 1024, proc.returncode, cpu, cells=_output_cells(out))


def _output_cells(out: Path) -> int:
    """Cells of the report each program wrote (kpibatch's sits in ``OUT/<year>-r<round>/``)."""
    reports = [
        p for p in out.rglob("*.xlsx") if out in (p.parent, p.parent.parent) and p.parent.name != "archive"
    ]
    return sum(count_cells(p) for p in reports)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError), open("/proc/meminfo") as handle:
        memory = f", {int(handle.readline().split()[1]) / 1024 / 1024:.1f} GiB RAM"
    return (
        f"{os.cpu_count()} CPU ({cpu}){memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; pandas {_version('pandas')}; "
        f"xlsxwriter {_version('xlsxwriter')}; python-calamine {_version('python-calamine')}; "
        f"openpyxl {_version('openpyxl')}"
    )


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def _kinds(rows: dict[int, dict[str, Measure]]) -> list[str]:
    """The three programs first, then any compared revisions."""
    others = sorted({kind for by_kind in rows.values() for kind in by_kind} - set(KINDS))
    return [*KINDS, *others]


def table(rows: dict[int, dict[str, Measure]]) -> str:
    lines = [
        "| N | program | wall s | files/s | ms/file | peak RSS MB | CPU s | cells written |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    kinds = _kinds(rows)
    for n, by_kind in sorted(rows.items()):
        for kind in kinds:
            m = by_kind.get(kind)
            if m is not None:
                lines.append(
                    f"| {n} | {kind} | {m.seconds:.2f} | {m.files_per_s:.0f} | {m.ms_per_file:.2f} | "
                    f"{m.peak_rss_mb:.0f} | {m.cpu_seconds:.2f} | {m.cells} |"
                )
    compared = [kind for kind in kinds if kind not in KINDS]
    header = "| N | run/floor | baseline/run |" + "".join(f" run/{kind} |" for kind in compared)
    lines += ["", header, "| ---: |" + " ---: |" * (2 + len(compared))]
    for n, by_kind in sorted(rows.items()):
        run, floor, base = by_kind.get("run"), by_kind.get("floor"), by_kind.get("baseline")
        cells = [
            f"{run.seconds / floor.seconds:.2f}" if run and floor else "-",
            f"{base.seconds / run.seconds:.2f}" if run and base else "-",
        ]
        for kind in compared:
            other = by_kind.get(kind)
            cells.append(f"{run.seconds / other.seconds:.2f}" if run and other else "-")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(rows: dict[int, dict[str, Measure]]) -> list[tuple[str, bool | None, str]]:
    """Each target of the issue: (what, met or None when not measured, the numbers)."""
    run = {n: r["run"] for n, r in rows.items() if "run" in r}
    found: list[tuple[str, bool | None, str]] = []

    def check(what: str, ok: bool | None, detail: str) -> None:
        found.append((what, ok, detail))

    for kind in (k for k in _kinds(rows) if k not in KINDS):
        if 1000 in run and kind in rows[1000]:
            ratio = run[1000].seconds / rows[1000][kind].seconds
            check(f"run <= 1.3 x {kind} at N=1000", ratio <= 1.3, f"{ratio:.2f}")
    if 1000 in run and "baseline" in rows[1000]:
        ratio = rows[1000]["baseline"].seconds / run[1000].seconds
        check("baseline/run >= 3 at N=1000", ratio >= 3, f"{ratio:.2f}")
    if LARGE_SIZE in run:
        large = run[LARGE_SIZE]
        check("N=10000 in <= 90 s", large.seconds <= 90, f"{large.seconds:.2f} s")
        check("peak PSS <= 500 MB at N=10000", large.peak_rss_mb <= 500, f"{large.peak_rss_mb:.0f} MB")
    sizes = [n for n in sorted(run) if n >= 100]
    if len(sizes) >= 3:
        slopes = [(run[b].seconds - run[a].seconds) / (b - a) * 1000 for a, b in itertools.pairwise(sizes)]
        spread = max(slopes) / min(slopes) if min(slopes) > 0 else float("inf")
        detail = ", ".join(f"{s:.2f}" for s in slopes) + f" ms per extra file (spread x{spread:.2f})"
        check(f"time linear in N from {sizes[0]} to {sizes[-1]} (within 20%)", spread <= 1.2, detail)
    return found


def report(rows: dict[int, dict[str, Measure]], seed: int) -> str:
    lines = [table(rows), "", "Targets:"]
    for what, ok, detail in targets(rows):
        mark = "met" if ok else "NOT met"
        lines.append(f"- {what}: {detail} ({mark})")
    return "\n".join(lines)


def run_benchmark(
    sizes: Sequence[int],
    *,
    seed: int = DEFAULT_SEED,
    work: Path | None = None,
    corpus: Path | None = None,
    kinds: Sequence[str] = KINDS,
    jobs: int | None = None,
    repeat: int = 1,
    repeat_large: int = 1,
    echo: bool = True,
    compare: Sequence[str] = (),
) -> dict[int, dict[str, Measure]]:
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="kpibatch-bench-")) if work is None else work
    corpus = corpus or work / "corpus"
    rows: dict[int, dict[str, Measure]] = {}
    try:
        started = time.perf_counter()
        generate(corpus, max(sizes), seed)
        if echo:
            print(
                f"corpus: {max(sizes)} workbooks in {time.perf_counter() - started:.1f} s ({corpus})",
                flush=True,
            )
        revisions = {r.kind: r for r in (install_revision(rev, work, echo=echo) for rev in compare)}
        kinds = [*kinds, *revisions]
        for n in sorted(sizes):
            tries: dict[str, list[Measure]] = {kind: [] for kind in kinds}
            rounds = repeat if n < LARGE_SIZE else repeat_large  # the large size takes minutes a try
            for _ in range(rounds):  # the three side by side each round, so a load change hits all alike
                for kind in kinds:
                    # a fresh inbox for every program and try: kpibatch run files its inputs away
                    inbox = inbox_of(corpus, n, work)
                    out = work / f"out-{kind}-{n}"
                    m = measure(kind, inbox, out, n, jobs=jobs, revision=revisions.get(kind))
                    tries[kind].append(m)
                    if echo:
                        print(f"N={n:>6} {kind:<12} {m.seconds:8.2f} s {m.peak_rss_mb:7.0f} MB", flush=True)
            rows[n] = {}
            for kind, found in tries.items():
                best = min(found, key=lambda m: m.seconds)
                best.peak_rss_mb = max(m.peak_rss_mb for m in found)
                rows[n][kind] = best
            shutil.rmtree(inbox)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large", action="store_true", help=f"also measure N = {LARGE_SIZE}")
    parser.add_argument("--sizes", type=int, nargs="+", help="the N to measure (default 10 100 1000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--jobs", type=int, help="passed to kpibatch run --jobs (default: its own)")
    parser.add_argument("--only", choices=KINDS, nargs="+", help="measure only these programs")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run each measurement this often, keep the best"
    )
    parser.add_argument(
        "--repeat-large",
        type=int,
        default=1,
        help=f"the same for N = {LARGE_SIZE} (a try of the baseline takes minutes)",
    )
    parser.add_argument(
        "--compare",
        metavar="REV",
        action="append",
        default=[],
        help="also time kpibatch run of this git revision, installed in a temporary venv (repeatable)",
    )
    parser.add_argument("--corpus", type=Path, help="keep generated workbooks here and reuse them")
    parser.add_argument("--results", type=Path, help="also write the table to this markdown file")
    parser.add_argument("--measure", nargs=3, metavar=("KIND", "INBOX", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        kind, inbox, out = args.measure
        {"baseline": run_baseline, "floor": run_floor}[kind](Path(inbox), Path(out))
        return 0
    sizes = list(args.sizes or DEFAULT_SIZES)
    if args.large and LARGE_SIZE not in sizes:
        sizes.append(LARGE_SIZE)
    load_before = _load()
    rows = run_benchmark(
        sizes,
        seed=args.seed,
        corpus=args.corpus,
        kinds=args.only or KINDS,
        jobs=args.jobs,
        repeat=args.repeat,
        repeat_large=args.repeat_large,
        compare=args.compare,
    )
    text = report(rows, args.seed) + f"\n\nLoad average (1 min) before and after: {load_before} / {_load()}"
    print()
    print(text)
    if args.results:
        args.results.write_text(results_markdown(text, args), encoding="utf-8")
        print(f"\nwritten: {args.results}")
    return 0


def _load() -> str:
    with contextlib.suppress(OSError, AttributeError):
        return f"{os.getloadavg()[0]:.2f}"
    return "?"


def results_markdown(text: str, args: argparse.Namespace) -> str:
    command = "python benchmarks/bench_run.py" + (" --large" if args.large else "")
    if args.sizes:
        command += " --sizes " + " ".join(map(str, args.sizes))
    if args.repeat > 1:
        command += f" --repeat {args.repeat}"
    if args.repeat_large > 1:
        command += f" --repeat-large {args.repeat_large}"
    for rev in args.compare:
        command += f" --compare {rev}"
    return (
        "# Benchmark results\n\n"
        f"Machine: {machine()}.\n\n"
        f"Command: `{command}` (seed {args.seed}), {dt.date.today().isoformat()}.\n\n"
        f"{text}\n"
    )


if __name__ == "__main__":
    sys.exit(main())
