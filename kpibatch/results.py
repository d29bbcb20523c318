"""``results.json``: the machine-readable twin of the consolidated workbook, one per group folder."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from kpibatch.consolidate import FileOutcome, Group
from kpibatch.model import DivisionScore, KpiScore


def _num(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _scored(kpi: KpiScore) -> str | None:
    """Which figure the KPI's score was computed from: the committee's, the division's, or none."""
    if kpi.has_children or kpi.score is None:
        return None
    if kpi.verified_result is not None:
        return "verified_result"
    return "result" if kpi.result is not None else None


def division_dict(score: DivisionScore) -> dict[str, Any]:
    sub = score.submission
    return {
        "division": sub.division,
        "short_name": sub.short_name,
        "source_file": sub.source.name,
        "sha256": sub.source.sha256,
        "total": _num(score.total),
        "warnings": [w.message for w in score.warnings],
        "kpis": [
            {
                "code": k.code,
                "name": k.name,
                "parent": k.parent,
                "status": k.status,
                "result": _num(k.self_result if k.verified_result is not None else k.result),
                "verified_result": _num(k.verified_result),
                "scored": _scored(k),
                "score": _num(k.score),
                "weight": _num(k.weight),
                "effective_weight": _num(k.effective_weight),
            }
            for k in score.kpis
        ],
        "reallocations": [
            {"from": m.source, "to": m.target, "weight": _num(m.weight), "reason": m.reason}
            for m in sub.reallocations
        ],
    }


def division_json(score: DivisionScore) -> str:
    """``division_dict`` as the JSON text the ledger stores and ``results.json`` holds."""
    return json.dumps(division_dict(score), ensure_ascii=False)


def _errors(outcome: FileOutcome) -> list[dict[str, str]]:
    return [{"sheet": p.sheet, "cell": p.cell, "message": p.message, "code": p.code} for p in outcome.errors]


def group_dict(group: Group, generated_at: dt.datetime) -> dict[str, Any]:
    return {
        "fiscal_year": group.fiscal_year,
        "round": group.round,
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "divisions": [division_dict(score) for score in group.divisions],
        "superseded": [
            {"file": old.name, "sha256": old.source.sha256 if old.source else None, "superseded_by": new.name}
            for old, new in group.superseded
        ],
        "rejected": [{"file": o.name, "errors": _errors(o)} for o in group.rejected],
    }


def results_chunks(data: dict[str, Any]) -> Iterator[str]:
    """``results.json`` as pieces of text: the top level indented, each division (or rejected file)
    on one line.

    Readable in an editor and diffable line by line, and written by the json module's C encoder,
    which it only uses without ``indent`` (a fully indented file is many times slower to write). In
    pieces, so that the text of thousands of divisions is never held whole.
    """

    def dumps(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)

    yield "{\n"
    for n, (key, value) in enumerate(data.items()):
        yield ",\n" if n else ""
        if isinstance(value, list) and value:
            yield f"  {dumps(key)}: [\n"
            for m, item in enumerate(value):
                yield f",\n    {dumps(item)}" if m else f"    {dumps(item)}"
            yield "\n  ]"
        else:
            yield f"  {dumps(key)}: {dumps(value)}"
    yield "\n}\n"


def write_results(path: Path, data: dict[str, Any]) -> None:
    """Write ``results.json`` piece by piece (``results_chunks``)."""
    with path.open("w", encoding="utf-8") as out:
        out.writelines(results_chunks(data))
