"""What a mail and ``report.html`` show, built from a group's ``results.json`` and the settings.

The summary is read from ``results.json`` rather than from the in-memory group so that a mail sent
days later by ``kpibatch send`` says exactly what the run that wrote the workbook said.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from kpibatch.consolidate import competition_ranks
from kpibatch.deadlines import DivisionStanding
from kpibatch.text import division_key, thai_datetime, to_thai_digits

MAX_SCORE = Decimal(5)


class SummaryError(ValueError):
    """The workbook has no readable ``results.json`` beside it."""


@dataclass(frozen=True)
class DivisionLine:
    name: str
    short_name: str | None
    total: str
    """The total as printed (four decimals), or ``-`` when nothing was assessed."""
    rank: str
    bar_percent: float
    """Width of the bar: the total as a share of the best possible score, 0..100."""
    file: str


@dataclass(frozen=True)
class RejectedError:
    sheet: str
    cell: str
    message: str


@dataclass(frozen=True)
class RejectedFile:
    file: str
    errors: tuple[RejectedError, ...]


@dataclass(frozen=True)
class Summary:
    fiscal_year: str
    round: str
    generated_at: str
    """ISO 8601, as results.json has it."""
    generated_text: str
    """The same time as the workbook's overview writes it: ``15 ตุลาคม 2563 เวลา 09:30 น.``."""
    divisions: tuple[DivisionLine, ...]
    """In the order of results.json (the divisions' files)."""
    ranked: tuple[DivisionLine, ...]
    """Best total first (ties in file order), divisions with no total last: the table's order."""
    missing: tuple[str, ...]
    expected_listed: bool
    """Whether the settings list the expected divisions (so an empty ``missing`` means all are in)."""
    rejected: tuple[RejectedFile, ...]
    superseded: tuple[tuple[str, str], ...]
    workbook_name: str
    workbook_path: str
    group_key: str
    max_score: str = "5"
    """The best possible score, in the digits of the rest of the page."""
    standings: tuple[DivisionStanding, ...] = ()
    """Each division on time, late or missing against the round's deadline (kpibatch.deadlines)."""


def results_path(workbook: Path) -> Path:
    return workbook.parent / "results.json"


def load_results(workbook: Path) -> dict[str, Any]:
    path = results_path(workbook)
    try:
        # numbers as the Decimals results.json was written from (4.5500 stays 4.5500, not float 4.55)
        return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except FileNotFoundError as exc:
        raise SummaryError(f"no results.json beside {workbook}: is it a kpibatch workbook?") from exc
    except (OSError, ValueError) as exc:
        raise SummaryError(f"cannot read {path}: {exc}") from exc


def group_key(data: dict[str, Any]) -> str:
    """The group folder name (``2563-r12``) of a results.json."""
    return f"{data.get('fiscal_year')}-r{data.get('round')}"


def missing_divisions(expected: tuple[str, ...], submitted: list[str]) -> tuple[str, ...]:
    """Expected divisions with no accepted file, matched by ``division_key``."""
    seen = {division_key(name) for name in submitted}
    return tuple(name for name in expected if division_key(name) not in seen)


def build_summary(
    data: dict[str, Any], workbook: Path, *, expected: tuple[str, ...] = (), thai_digits: bool = False
) -> Summary:
    def digits(text: str) -> str:
        return to_thai_digits(text) if thai_digits else text

    divisions = data.get("divisions", [])
    totals = [_decimal(d.get("total")) for d in divisions]
    lines = []
    order: list[tuple[bool, int]] = []
    # the ranks the workbook prints: the same function on the same exact totals
    for d, total, rank in zip(divisions, totals, competition_ranks(totals), strict=True):
        order.append((rank is None, rank or 0))
        shown = _four_places(total) if total is not None else None
        bar = float(min(max(total / MAX_SCORE, Decimal(0)), Decimal(1)) * 100) if total is not None else 0.0
        lines.append(
            DivisionLine(
                name=str(d.get("division", "")),
                short_name=d.get("short_name"),
                total=digits(f"{shown}") if shown is not None else "-",
                rank=digits(str(rank)) if rank is not None else "-",
                bar_percent=round(bar, 2),
                file=str(d.get("source_file", "")),
            )
        )
    rejected = tuple(
        RejectedFile(
            file=str(r.get("file", "")),
            errors=tuple(
                RejectedError(
                    sheet=str(e.get("sheet") or ""),
                    cell=str(e.get("cell") or ""),
                    message=digits(str(e.get("message"))),
                )
                for e in r.get("errors", [])
            ),
        )
        for r in data.get("rejected", [])
    )
    return Summary(
        fiscal_year=digits(str(data.get("fiscal_year", ""))),
        round=digits(str(data.get("round", ""))),
        generated_at=str(data.get("generated_at", "")),
        generated_text=digits(_thai_time(str(data.get("generated_at", "")))),
        divisions=tuple(lines),
        ranked=tuple(line for _, line in sorted(zip(order, lines, strict=True), key=lambda pair: pair[0])),
        missing=missing_divisions(expected, [line.name for line in lines]),
        expected_listed=bool(expected),
        rejected=rejected,
        superseded=tuple(
            (str(s.get("file")), str(s.get("superseded_by"))) for s in data.get("superseded", [])
        ),
        workbook_name=workbook.name,
        workbook_path=str(workbook.resolve()),
        group_key=group_key(data),
        max_score=digits(str(MAX_SCORE)),
    )


def _decimal(value: object) -> Decimal | None:
    """A total of ``results.json`` as the scorer's Decimal (``load_results`` parses them so; a float
    or an int comes from a results.json already parsed without that)."""
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _four_places(total: Decimal) -> str:
    """The total as the workbook prints it. The scorer's totals have four places already and are
    shown as they are; only a total written with fewer digits (``4.55`` by an older kpibatch) gets
    its zeros back, which changes no digit."""
    if total.as_tuple().exponent == -4:
        return str(total)
    return str(total.quantize(Decimal("0.0001"), ROUND_HALF_UP))


def _thai_time(iso: str) -> str:
    """The ISO time of results.json as Thai documents write it; as it is when it is not a time."""
    try:
        return thai_datetime(dt.datetime.fromisoformat(iso))
    except ValueError:
        return iso
