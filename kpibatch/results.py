"""``results.json``: the machine-readable twin of the consolidated workbook, one per group folder;
and the ledger's record of a scored division, from which a round's report is written again.

Numbers stay ``Decimal`` from the scorer to the file: ``results.json`` holds them as JSON numbers
written with the Decimal's own digits (``4.5500``, never a float's ``4.55``), and the ledger's record
holds them as strings, read back into the same Decimals.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import secrets
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from kpibatch import problems as problem_kinds
from kpibatch.consolidate import FileOutcome, Group
from kpibatch.model import (
    DivisionScore,
    KpiContacts,
    KpiScore,
    Reallocation,
    SheetNames,
    Signatory,
    SourceFile,
    Submission,
)


def _num(value: Decimal | None) -> Decimal | None:
    """A number as ``results.json`` holds it: the Decimal itself (``exact_dumps`` writes its digits)."""
    return value


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
                "contacts": k.contacts.as_dict() if k.contacts else None,
            }
            for k in score.kpis
        ],
        "reallocations": [
            {"from": m.source, "to": m.target, "weight": _num(m.weight), "reason": m.reason}
            for m in sub.reallocations
        ],
        "reporter": sub.reporter.as_dict() if sub.reporter else None,
        "certifier": sub.certifier.as_dict() if sub.certifier else None,
    }


def division_json(score: DivisionScore) -> str:
    """``division_dict`` as the JSON text the ledger stores and ``results.json`` holds."""
    return exact_dumps(division_dict(score))


_NONCE = secrets.token_hex(8)
"""Part of the stand-in text each Decimal is encoded as: unknown outside this process, so no text a
division typed can pass for one (nor can it hold the NUL that opens one: XML has no such character)."""
_STAND_IN = re.compile(r'"\\u0000' + _NONCE + r'([^"\\]*)\\u0000"')


def _stand_in(value: object) -> str:
    """A Decimal as the text ``exact_dumps`` later replaces with its digits (the encoder's ``default``)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a number JSON can hold")
        return f"\x00{_NONCE}{value}\x00"
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def exact_dumps(value: object) -> str:
    """JSON text like ``json.dumps(value, ensure_ascii=False)``, with each ``Decimal`` written as a
    number with exactly its digits (JSON's number grammar takes every finite Decimal's text: ``4.5500``,
    ``1E+3``).

    The json module writes only floats as numbers, and a float drops trailing zeros (4.5500 becomes
    4.55) and digits past the 17th. So the json module's C encoder asks ``_stand_in`` for each
    Decimal (its documented ``default`` hook) and writes a stand-in string, which is then replaced by
    the Decimal's digits; the rest of the value is encoded without a pass of Python over it.
    """
    return _STAND_IN.sub(r"\1", json.dumps(value, ensure_ascii=False, default=_stand_in))


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

    Readable in an editor and diffable line by line, and written by the json module's C encoder
    (``exact_dumps``), which it only uses without ``indent`` (a fully indented file is many times
    slower to write). In pieces, so that the text of thousands of divisions is never held whole.
    """

    dumps = exact_dumps
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


# --- the ledger's record of a scored division ---------------------------------------------------

RECORD_FORMAT = 1
"""Layout of ``division_record``'s JSON; a record of another layout is read as missing."""


class RecordUnreadable(ValueError):
    """A stored record that cannot be turned back into the division it was made from."""


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _dec(value: object) -> Decimal | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordUnreadable(f"number stored as {type(value).__name__}, not as text")
    return Decimal(value)


def _problem_dict(problem: problem_kinds.Problem) -> dict[str, Any]:
    return {
        "kind": type(problem).__name__,
        "file": problem.file,
        "sheet": problem.sheet,
        "cell": problem.cell,
        # every parameter as the text its message shows (a Decimal's str is what str.format writes)
        "params": {
            k: v if isinstance(v, str | int | bool) or v is None else str(v)
            for k, v in problem.params.items()
        },
        "message": problem.message,
    }


def _problem_kinds() -> dict[str, type[problem_kinds.Problem]]:
    found: dict[str, list[type[problem_kinds.Problem]]] = {}
    todo: list[type[problem_kinds.Problem]] = [problem_kinds.Problem]
    while todo:
        kind = todo.pop()
        found.setdefault(kind.__name__, []).append(kind)
        todo += kind.__subclasses__()
    return {name: kinds[0] for name, kinds in found.items() if len(set(kinds)) == 1}


def _problem(data: dict[str, Any]) -> problem_kinds.Problem:
    kind = _problem_kinds().get(str(data["kind"]))
    if kind is None:
        raise RecordUnreadable(f"no problem kind {data['kind']!r}")
    problem = kind(file=data["file"], sheet=data["sheet"], cell=data["cell"], params=dict(data["params"]))
    try:
        same = problem.message == data["message"]
    except (KeyError, IndexError, ValueError) as exc:  # the kind's template changed its parameters
        raise RecordUnreadable(f"{data['kind']}: {exc}") from exc
    if not same:
        raise RecordUnreadable(f"{data['kind']}: its message is no longer the stored one")
    return problem


def _kpi_dict(k: KpiScore) -> dict[str, Any]:
    return {
        "code": k.code,
        "name": k.name,
        "parent": k.parent,
        "depth": k.depth,
        "weight": _text(k.weight),
        "effective_weight": _text(k.effective_weight),
        "score": _text(k.score),
        "status": k.status,
        "result": _text(k.result),
        "unit": k.unit,
        "method": k.method,
        "levels": [_text(v) for v in k.levels],
        "self_result": _text(k.self_result),
        "self_score": _text(k.self_score),
        "note": k.note,
        "has_children": k.has_children,
        "verified_result": _text(k.verified_result),
        "contacts": k.contacts.as_dict() if k.contacts else None,
    }


def _kpi(d: dict[str, Any]) -> KpiScore:
    weight = _dec(d["weight"])
    if weight is None:
        raise RecordUnreadable(f"KPI {d['code']} has no weight")
    return KpiScore(
        code=d["code"],
        name=d["name"],
        parent=d["parent"],
        depth=int(d["depth"]),
        weight=weight,
        effective_weight=_dec(d["effective_weight"]),
        score=_dec(d["score"]),
        status=d["status"],
        result=_dec(d["result"]),
        unit=d["unit"],
        method=d["method"],
        levels=tuple(_dec(v) for v in d["levels"]),
        self_result=_dec(d["self_result"]),
        self_score=_dec(d["self_score"]),
        note=d["note"],
        has_children=bool(d["has_children"]),
        verified_result=_dec(d["verified_result"]),
        contacts=_contacts(d.get("contacts")),  # records made before contacts lack them
    )


def _contacts(d: dict[str, Any] | None) -> KpiContacts | None:
    if d is None:
        return None
    return KpiContacts(**{f.name: d.get(f.name) for f in dataclasses.fields(KpiContacts)})


def _signatory(d: dict[str, Any] | None) -> Signatory | None:
    return (
        None if d is None else Signatory(name=d.get("name"), position=d.get("position"), date=d.get("date"))
    )


def _source_dict(src: SourceFile | None) -> dict[str, Any] | None:
    if src is None:
        return None
    return {"name": src.name, "path": src.path, "sha256": src.sha256, "mtime": src.mtime, "size": src.size}


def _source(src: dict[str, Any] | None) -> SourceFile | None:
    if src is None:
        return None
    return SourceFile(
        name=src["name"],
        path=src["path"],
        sha256=src["sha256"],
        mtime=float(src["mtime"]),
        size=int(src["size"]),
    )


def _score_dict(score: DivisionScore) -> dict[str, Any]:
    sub = score.submission
    return {
        "division": sub.division,
        "division_cell": sub.division_cell,
        "fiscal_year": sub.fiscal_year,
        "round": sub.round,
        "short_name": sub.short_name,
        "sheets": {
            "division": sub.sheets.division,
            "kpis": sub.sheets.kpis,
            "reallocations": sub.sheets.reallocations,
        },
        "has_verified_results": sub.has_verified_results,
        "reporter": sub.reporter.as_dict() if sub.reporter else None,
        "certifier": sub.certifier.as_dict() if sub.certifier else None,
        "reallocations": [
            {
                "source": m.source,
                "target": m.target,
                "weight": _text(m.weight),
                "row": m.row,
                "reason": m.reason,
                "cells": m.cells,
            }
            for m in sub.reallocations
        ],
        "total": _text(score.total),
        "kpis": [_kpi_dict(k) for k in score.kpis],
        "warnings": [_problem_dict(p) for p in score.warnings],
    }


def _score(data: dict[str, Any], source: SourceFile) -> DivisionScore:
    moves = []
    for m in data["reallocations"]:
        weight = _dec(m["weight"])
        if weight is None:
            raise RecordUnreadable("a reallocation has no weight")
        moves.append(
            Reallocation(
                source=m["source"],
                target=m["target"],
                weight=weight,
                row=int(m["row"]),
                reason=m["reason"],
                cells=dict(m["cells"]),
            )
        )
    sub = Submission(
        source=source,
        division=data["division"],
        division_cell=data.get("division_cell", ""),  # records made before the registry lack it
        fiscal_year=int(data["fiscal_year"]),
        round=int(data["round"]),
        kpis=(),
        reallocations=tuple(moves),
        short_name=data["short_name"],
        sheets=SheetNames(**data["sheets"]),
        has_verified_results=bool(data["has_verified_results"]),
        reporter=_signatory(data.get("reporter")),  # records made before signatories lack them
        certifier=_signatory(data.get("certifier")),
    )
    return DivisionScore(
        submission=sub,
        kpis=tuple(_kpi(k) for k in data["kpis"]),
        total=_dec(data["total"]),
        warnings=tuple(_problem(p) for p in data["warnings"]),
    )


def outcome_record(outcome: FileOutcome) -> str:
    """What a report shows of a checked file, as the JSON text the ledger stores (``record``).

    ``division_json`` is the public, documented form of a division; this one is the model itself
    (numbers as Decimal strings, problems with their kind and parameters), so that ``record_outcome``
    gives back an outcome that writes the same report as the workbook read again. An accepted
    division's rows as read are left out, as they are from every division a report is written from
    (``DivisionScore.without_rows``).
    """
    score = outcome.score
    data = {
        "format": RECORD_FORMAT,
        "source": _source_dict(outcome.source),
        "group": list(outcome.group) if outcome.group is not None else None,
        "score": _score_dict(score) if score is not None else None,
        # an accepted file's problems are its division's warnings (``pipeline.check_file``)
        "problems": None if score is not None else [_problem_dict(p) for p in outcome.problems],
        "division": outcome.division,  # a rejected file's, for its receipt (issue 16)
    }
    return json.dumps(data, ensure_ascii=False)


def record_outcome(record: str, path: Path) -> FileOutcome:
    """The outcome an ``outcome_record`` was made from, for the file ``path`` (named as the division
    sent it). Raises ``RecordUnreadable`` when the record cannot give it back exactly."""
    try:
        data = json.loads(record)
        if data.get("format") != RECORD_FORMAT:
            raise RecordUnreadable(f"record format {data.get('format')!r}")
        source = _source(data["source"])
        group = (int(data["group"][0]), int(data["group"][1])) if data["group"] is not None else None
        if data["score"] is None:
            problems = [_problem(p) for p in data["problems"]]
            division = data.get("division")  # records made before receipts lack it
            return FileOutcome(
                path=path, source=source, score=None, problems=problems, group=group, division=division
            )
        if source is None:
            raise RecordUnreadable("an accepted file without its source")
        score = _score(data["score"], source)
    except RecordUnreadable:
        raise
    except (ValueError, KeyError, TypeError, IndexError, ArithmeticError) as exc:
        raise RecordUnreadable(f"{type(exc).__name__}: {exc}") from exc
    return FileOutcome(path=path, source=source, score=score, problems=list(score.warnings), group=group)
