"""``results.json``: the machine-readable twin of the consolidated workbook, one per group folder."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from kpibatch.consolidate import FileOutcome, Group
from kpibatch.model import DivisionScore


def _num(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


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
                "result": _num(k.result),
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


def results_text(data: dict[str, Any]) -> str:
    """``results.json`` as text: the top level indented, each division (or rejected file) on one line.

    Readable in an editor and diffable line by line, and written by the json module's C encoder,
    which it only uses without ``indent``: a fully indented file of a thousand divisions takes ten
    times as long.
    """

    def dumps(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)

    members = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            items = ",\n".join(f"    {dumps(item)}" for item in value)
            members.append(f"  {dumps(key)}: [\n{items}\n  ]")
        else:
            members.append(f"  {dumps(key)}: {dumps(value)}")
    return "{\n" + ",\n".join(members) + "\n}\n"
