"""Hypothesis strategies for valid and nearly-valid division workbooks.

A drawn ``Plan`` is a valid submission (weights summing to 100, monotone levels, results in range)
followed by a list of damages a person or a script could do: a cell replaced by a random value (Thai
digits, percent text, blanks, dashes, wrong types, control characters, formulas, huge text), columns
shuffled, dropped or labelled in Thai, blank and title rows, a misspelled sheet. ``write_plan``
writes it with xlsxwriter so every value keeps its own cell type.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from fuzz.workbooks import Formula, Percent, write_workbook
from kpibatch import contract
from kpibatch.text import to_thai_digits

COLUMNS = tuple(c for c in contract.KPI_COLUMNS if c != "verified_result")

CONTROL = "".join(chr(c) for c in (*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)))
thai_text = st.text(alphabet="กขคงจฉชซญดตถทนบปผพฟมยรลวศสหอฮะาิีึืุูเแโใไ่้๊๋็์ ", max_size=30)
control_text = st.text(alphabet=CONTROL + "ab _x0", min_size=1, max_size=12)
xml_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\ufffe\uffff"), max_size=40)
"""Any text an XML file can hold (control characters are escaped by the writer, as Excel does)."""
number_text = st.decimals(min_value=-1000, max_value=10_000, places=2).map(str)

numbers = st.one_of(
    st.integers(-1_000, 1_000_000),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 0.0, -0.0, 1e-300, 5e-324, 1e308]),
)
spelled_numbers = st.one_of(
    number_text,
    number_text.map(to_thai_digits),
    number_text.map(lambda t: t + "%"),
    st.integers(1000, 10**7).map(lambda n: f"{n:,}"),
    st.sampled_from(["", " ", "-", "–", "—", "๘๗,๕", "1.2.3", "1e5", "NaN", "inf", "٣", "１２", "½"]),
)
values = st.one_of(
    st.none(),
    numbers,
    spelled_numbers,
    st.booleans(),
    st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(2100, 1, 1)),
    thai_text,
    control_text,
    xml_text,
    st.builds(Percent, st.floats(-10, 10, allow_nan=False)),
    st.builds(Formula, st.sampled_from(["=1+1", "=A1", "=SUM(D:D)", "=1/0"]), st.one_of(st.none(), numbers)),
    st.sampled_from(["=cmd|' /C calc'!A0", "http://evil.example", "@SUM(1)", "รอบ ๑๒ เดือน", "2.10"]),
)


@dataclass
class Plan:
    """A submission as rows of cells, and the damages applied to it."""

    division: list[list[Any]]
    kpis: list[list[Any]]
    reallocations: list[list[Any]] | None
    sheet_names: tuple[str, str, str] = ("Division", "KPIs", "Reallocations")
    damages: list[str] = field(default_factory=list)


@st.composite
def valid_plans(draw: st.DrawFn) -> Plan:
    """A valid workbook: every file drawn here must be accepted."""
    count = draw(st.integers(1, 6))
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=count - 1, max_size=count - 1, unique=True)))
    weights = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    thai_codes = draw(st.booleans())
    rows: list[list[Any]] = [list(COLUMNS)]
    for i, weight in enumerate(weights, start=1):
        code = to_thai_digits(str(i)) if thai_codes else str(i)
        row: dict[str, Any] = {
            "code": code,
            "name": draw(thai_text).strip() or f"ตัวชี้วัด {i}",
            "weight": weight,
        }
        method = draw(st.sampled_from(["score", "milestone", "threshold", "เทียบเกณฑ์"]))
        row["method"] = method
        if method in ("score", "milestone"):
            row["result"] = draw(st.decimals(0, 5, places=4).map(float))
        else:
            start = draw(st.integers(0, 100))
            step = draw(st.integers(1, 20))
            levels = [start + k * step for k in range(5)]
            if draw(st.booleans()):
                levels.reverse()
                row["direction"] = "lower"
            for k, level in enumerate(levels, start=1):
                row[f"level{k}"] = level
            row["result"] = draw(st.floats(-50, 250, allow_nan=False).map(lambda v: round(v, 2)))
        rows.append([row.get(c) for c in COLUMNS])
    division = [
        ["division", draw(thai_text.filter(lambda t: t.strip())) if draw(st.booleans()) else "กองทดสอบ"],
        ["fiscal_year", draw(st.sampled_from([2563, "๒๕๖๓", "พ.ศ. 2563", 2020]))],
        ["round", draw(st.sampled_from([6, 9, 12, "รอบ ๑๒ เดือน", "9"]))],
    ]
    return Plan(division=division, kpis=rows, reallocations=None)


def _set(rows: list[list[Any]], r: int, c: int, value: Any) -> None:
    while len(rows) <= r:
        rows.append([])
    row = rows[r]
    while len(row) <= c:
        row.append(None)
    row[c] = value


@st.composite
def nearly_valid_plans(draw: st.DrawFn) -> Plan:
    """A valid workbook with a few damages: accepted or rejected, never an unhandled exception."""
    plan = draw(valid_plans())
    rng = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.integers(1, 6))):
        damage = draw(
            st.sampled_from(
                [
                    "cell",
                    "cell",
                    "cell",
                    "division",
                    "shuffle",
                    "drop",
                    "thai",
                    "blank",
                    "title",
                    "realloc",
                    "sheet",
                ]
            )
        )
        plan.damages.append(damage)
        width = len(plan.kpis[0])
        if damage == "cell":
            _set(plan.kpis, rng.randrange(0, len(plan.kpis) + 2), rng.randrange(0, width + 1), draw(values))
        elif damage == "division":
            _set(plan.division, rng.randrange(0, 5), rng.randrange(0, 2), draw(values))
        elif damage == "shuffle":
            order = list(range(width))
            rng.shuffle(order)
            plan.kpis = [[row[i] if i < len(row) else None for i in order] for row in plan.kpis]
        elif damage == "drop" and width > 1:
            gone = rng.randrange(0, width)
            plan.kpis = [[v for i, v in enumerate(row) if i != gone] for row in plan.kpis]
        elif damage == "thai":
            header = plan.kpis[0]
            for i, label in enumerate(header):
                aliases = contract.KPI_COLUMNS.get(str(label))
                if aliases:
                    header[i] = rng.choice(aliases)
        elif damage == "blank":
            plan.kpis.insert(rng.randrange(1, len(plan.kpis) + 1), [])
        elif damage == "title":
            plan.kpis.insert(0, [draw(values)])
        elif damage == "realloc":
            rows = [["from", "to", "weight", "reason"]]
            rows += [
                [draw(values), draw(values), draw(values), draw(values)]
                for _ in range(draw(st.integers(1, 3)))
            ]
            plan.reallocations = rows
        elif damage == "sheet":
            names = list(plan.sheet_names)
            names[rng.randrange(0, 3)] = draw(st.sampled_from(["KPI", "ตัวชีวัด", "Sheet1", "division "]))
            if len({n.casefold() for n in names}) == 3:
                plan.sheet_names = (names[0], names[1], names[2])
    return plan


def write_plan(plan: Plan, path: Path) -> Path:
    return write_workbook(path, plan.division, plan.kpis, plan.reallocations, plan.sheet_names)
