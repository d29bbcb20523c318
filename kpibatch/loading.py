"""Scored results as pandas frames, from a ``results.json``, an output folder or a ledger.

``kpibatch.load`` and ``kpibatch export`` read through here. Numbers are parsed from the JSON text
straight into ``Decimal`` (``parse_float=Decimal``), so a total reads back exactly as the scorer
rounded it, and stay ``Decimal`` objects in object-dtype columns (``kpibatch.frames``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from kpibatch.frames import as_objects, competition_ranks

LEDGER_SUFFIXES = (".sqlite3", ".sqlite", ".db")
SQLITE_MAGIC = b"SQLite format 3\x00"
DIVISION_COLUMNS = (
    "fiscal_year",
    "round",
    "division",
    "short_name",
    "total",
    "rank",
    "current",
    "submission_id",
    "received_at",
    "file",
    "sha256",
)
"""One row a division's submission. ``current``: the submission that counts for its round (not
superseded by a later one); ``rank`` ranks the current ones of each round; ``submission_id`` and
``received_at`` are known from a ledger only."""
KPI_COLUMNS = (
    "fiscal_year",
    "round",
    "division",
    "current",
    "submission_id",
    "file",
    "code",
    "name",
    "parent",
    "status",
    "result",
    "verified_result",
    "scored",
    "score",
    "weight",
    "effective_weight",
)
DECIMALS = ("total", "result", "verified_result", "score", "weight", "effective_weight")


@dataclass(frozen=True)
class Results:
    """Scored divisions as two frames: ``divisions`` (one row a submission) and ``kpis`` (one row a
    KPI of a submission, long form). Totals and scores are ``Decimal``."""

    divisions: pd.DataFrame
    kpis: pd.DataFrame


@dataclass(frozen=True)
class _Record:
    fiscal_year: int | None
    round: int | None
    current: bool
    submission_id: int | None
    received_at: str | None
    data: dict[str, Any]


def load_results(path: Path) -> Results:
    """``path``: a ``results.json``, an output folder (every ``results.json`` under it: each round's
    report as written) or a ledger file (every accepted submission of every year and round)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.rglob("results.json"))
        if not files:
            raise FileNotFoundError(f"no results.json under {path}")
        return frames_of(record for file in files for record in _results_json(file))
    if not path.is_file():
        raise FileNotFoundError(f"not found: {path}")
    if path.suffix.lower() in LEDGER_SUFFIXES or _is_sqlite(path):
        return frames_of(ledger_records(path))
    return frames_of(_results_json(path))


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC


def _results_json(path: Path) -> Iterator[_Record]:
    data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    for division in data.get("divisions", []):
        yield _Record(data.get("fiscal_year"), data.get("round"), True, None, None, division)


def ledger_records(
    path: Path,
    fiscal_year: int | None = None,
    round_: int | None = None,
    division: str | None = None,
) -> Iterator[_Record]:
    """Every accepted submission the ledger stored, oldest first; ``division``: names containing it
    (compared as ``kpibatch history --division`` compares)."""
    from kpibatch.batch.ledger import Ledger
    from kpibatch.text import division_key

    wanted = division_key(division) if division else None
    with Ledger(path) as ledger:
        rows = ledger.submissions(fiscal_year, round_)
    for row in rows:
        if row.status != "accepted" or not row.scores:
            continue
        if wanted is not None and wanted not in (row.division_key or ""):
            continue
        data = json.loads(row.scores, parse_float=Decimal)
        if row.total is not None:
            data["total"] = Decimal(row.total)  # the ledger's own text of the total, exact
        current = row.superseded_by is None
        yield _Record(row.fiscal_year, row.round, current, row.id, row.received_at, data)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value))  # an integer written without a fraction (``5``)


def frames_of(records: Iterable[_Record]) -> Results:
    divisions: list[dict[str, Any]] = []
    kpis: list[dict[str, Any]] = []
    for record in records:
        data = record.data
        common = {
            "fiscal_year": record.fiscal_year,
            "round": record.round,
            "division": data.get("division"),
            "current": record.current,
            "submission_id": record.submission_id,
            "file": data.get("source_file"),
        }
        divisions.append(
            {
                **common,
                "short_name": data.get("short_name"),
                "total": _decimal(data.get("total")),
                "received_at": record.received_at,
                "sha256": data.get("sha256"),
            }
        )
        for kpi in data.get("kpis", []):
            kpis.append(
                {
                    **common,
                    **{key: kpi.get(key) for key in ("code", "name", "parent", "status", "scored")},
                    **{key: _decimal(kpi.get(key)) for key in DECIMALS if key != "total"},
                }
            )
    division_frame = _typed(pd.DataFrame(divisions, columns=[c for c in DIVISION_COLUMNS if c != "rank"]))
    ranks = pd.Series(pd.NA, index=division_frame.index, dtype="Int64")
    counted = division_frame[division_frame["current"]]
    for _, group in counted.groupby(["fiscal_year", "round"], dropna=False, sort=False):
        ranks.loc[group.index] = competition_ranks(group["total"])
    division_frame.insert(DIVISION_COLUMNS.index("rank"), "rank", ranks)
    return Results(divisions=division_frame, kpis=_typed(pd.DataFrame(kpis, columns=list(KPI_COLUMNS))))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("fiscal_year", "round", "submission_id"):
        frame[column] = frame[column].astype("Int64")
    frame["current"] = frame["current"].astype(bool)
    return as_objects(frame)
