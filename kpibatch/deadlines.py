"""Deadlines per fiscal year and round, and each registry division's standing against them.

``[deadlines] "2569-6" = 2026-04-10`` in ``kpibatch.toml`` (the year in B.E. or C.E., the round 6, 9
or 12; the date a TOML date or ``YYYY-MM-DD`` text). A submission on or before the deadline day (local
time) is on time; after it, late with its date; a registry division with no accepted submission is
missing. Pure: no I/O.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from kpibatch.config import ConfigError, Divisions
from kpibatch.consolidate import Group
from kpibatch.fsutil import write_text_atomic
from kpibatch.read.submission import fiscal_year_be
from kpibatch.registry import expected_names
from kpibatch.text import division_key, to_arabic_digits

ROUNDS = (6, 9, 12)
STANDINGS_FILE = "deadlines.json"
"""Beside the workbook: each division's standing, for report.html and the report mail."""
Standing = Literal["on-time", "late", "missing", "no-deadline"]


class DeadlineError(ConfigError):
    """A ``[deadlines]`` key or date that cannot be read."""


def parse_deadlines(value: Mapping[str, Any] | str | None) -> dict[tuple[int, int], dt.date]:
    """``{(year_be, round): date}`` from the ``[deadlines]`` table (or ``KEY=DATE,...`` text)."""
    if not value:
        return {}
    if isinstance(value, str):
        pairs: list[tuple[str, Any]] = []
        for part in value.split(","):
            if part.strip():
                key, sep, date = part.partition("=")
                if not sep:
                    raise DeadlineError(f"deadlines: {part.strip()!r} is not YEAR-ROUND=DATE")
                pairs.append((key.strip().strip('"'), date.strip()))
    else:
        pairs = [(str(k), v) for k, v in value.items()]
    result: dict[tuple[int, int], dt.date] = {}
    for key, date in pairs:
        year_text, sep, round_text = to_arabic_digits(key).strip().rpartition("-")
        year = fiscal_year_be(year_text) if sep else None
        if year is None or not round_text.strip().isdigit() or int(round_text) not in ROUNDS:
            raise DeadlineError(
                f'deadlines: {key!r} is not YEAR-ROUND (e.g. "2569-6"; the round is 6, 9 or 12)'
            )
        if isinstance(date, dt.datetime):
            day = date.date()
        elif isinstance(date, dt.date):
            day = date
        else:
            try:
                day = dt.date.fromisoformat(str(date).strip())
            except ValueError as exc:
                raise DeadlineError(f"deadlines: {key!r} = {date!r} is not a date (YYYY-MM-DD)") from exc
        result[(year, int(round_text))] = day
    return result


@dataclass(frozen=True)
class DivisionStanding:
    """One division's standing for one round."""

    division: str
    standing: Standing
    submitted: dt.datetime | None = None
    deadline: dt.date | None = None

    @property
    def text_th(self) -> str:
        when = self.submitted.strftime("%Y-%m-%d") if self.submitted else ""
        return {
            "on-time": "ส่งตรงเวลา",
            "late": f"ส่งล่าช้า ({when})",
            "missing": "ยังไม่ส่ง",
            "no-deadline": "ส่งแล้ว",
        }[self.standing]

    @property
    def text_en(self) -> str:
        when = self.submitted.strftime("%Y-%m-%d") if self.submitted else ""
        return {
            "on-time": "on time",
            "late": f"late ({when})",
            "missing": "missing",
            "no-deadline": "submitted",
        }[self.standing]

    def to_dict(self) -> dict[str, Any]:
        return {
            "division": self.division,
            "standing": self.standing,
            "submitted": self.submitted.isoformat() if self.submitted else None,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "text_th": self.text_th,
            "text_en": self.text_en,
        }


def standings(
    divisions: Iterable[str],
    submitted: Mapping[str, dt.datetime],
    deadline: dt.date | None,
) -> list[DivisionStanding]:
    """Each expected division's standing; ``submitted`` maps a submitted name to its time.

    Names are compared by ``division_key``, so the registry's name matches the name as typed. The
    time is compared in its own local date: a deadline is a day, not an instant.
    """
    by_key = {division_key(name): when for name, when in submitted.items()}
    result = []
    for name in divisions:
        when = by_key.get(division_key(name))
        if when is None:
            result.append(DivisionStanding(name, "missing", None, deadline))
        elif deadline is None:
            result.append(DivisionStanding(name, "no-deadline", when, None))
        elif when.date() <= deadline:
            result.append(DivisionStanding(name, "on-time", when, deadline))
        else:
            result.append(DivisionStanding(name, "late", when, deadline))
    return result


def deadline_for(divisions: Divisions, fiscal_year: int, round_: int) -> dt.date | None:
    return parse_deadlines(divisions.deadlines).get((fiscal_year, round_))


def group_standings(group: Group, divisions: Divisions) -> list[DivisionStanding]:
    """The standings of a group's round, or none when the settings give it no deadline.

    The divisions are the registry's (else ``expected_divisions``, else those that submitted); a
    submission's time is its file's modification time as received (the archive keeps it).
    """
    deadline = deadline_for(divisions, group.fiscal_year, group.round)
    if deadline is None:
        return []
    submitted = {
        score.division: dt.datetime.fromtimestamp(score.submission.source.mtime).astimezone()
        for score in group.divisions
    }
    names = expected_names(divisions, submitted) or tuple(submitted)
    return standings(names, submitted, deadline)


def write_group_standings(group: Group, folder: Path, divisions: Divisions) -> Path | None:
    """Write ``deadlines.json`` beside the group's workbook (or remove a stale one)."""
    found = group_standings(group, divisions)
    target = folder / STANDINGS_FILE
    if not found:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        return None
    text = json.dumps([s.to_dict() for s in found], ensure_ascii=False, indent=2)
    return write_text_atomic(target, text)


def read_standings(folder: Path) -> tuple[DivisionStanding, ...]:
    try:
        items = json.loads((folder / STANDINGS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ()
    return tuple(
        DivisionStanding(
            division=item["division"],
            standing=item["standing"],
            submitted=dt.datetime.fromisoformat(item["submitted"]) if item["submitted"] else None,
            deadline=dt.date.fromisoformat(item["deadline"]) if item["deadline"] else None,
        )
        for item in items
    )
