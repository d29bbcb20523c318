"""Extension points as data: scoring methods in one registry, report sheets in one ordered list."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from helpers import kpi, write_submission

from kpibatch import contract
from kpibatch.config import Settings
from kpibatch.consolidate import consolidate
from kpibatch.pipeline import check_file
from kpibatch.problems import ResultOutOfRange
from kpibatch.score import ScoreOptions
from kpibatch.score import methods as registry
from kpibatch.write import DEFAULT_SHEETS, write_report
from kpibatch.write.context import ReportContext
from kpibatch.write.division import METHOD_TH


def test_every_method_is_one_registry_entry_read_written_and_scored_from_it() -> None:
    assert list(registry.METHODS) == ["threshold", "milestone", "score"]
    for name, method in registry.METHODS.items():
        assert contract.METHODS[name] == method.aliases
        for alias in method.aliases:
            assert contract.method_name(alias) == name
        assert METHOD_TH[name] == method.label_th


def test_a_method_added_to_the_registry_is_checked_and_scored_without_other_changes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``validate`` and the scorer ask the registry; neither names a method."""

    def halves(result, levels, lower, floor):  # type: ignore[no-untyped-def]
        return result / 2

    def at_most_ten(row, method):  # type: ignore[no-untyped-def]
        if row.result is not None and row.result > 10:
            return [
                (ResultOutOfRange, row.cells["result"], {"kpi": row.code, "value": "x", "method": method})
            ]
        return []

    monkeypatch.setitem(
        registry.METHODS, "score", dataclasses.replace(registry.METHODS["score"], score=halves)
    )
    path = write_submission(tmp_path / "ok.xlsx", [kpi("1", 100, method="score", result=3)])
    outcome = check_file(path, ScoreOptions())
    assert outcome.score is not None and outcome.score.total == Decimal("1.5000")

    custom = dataclasses.replace(registry.METHODS["score"], check=at_most_ten, score=halves)
    monkeypatch.setitem(registry.METHODS, "score", custom)
    accepted = check_file(
        write_submission(tmp_path / "8.xlsx", [kpi("1", 100, method="score", result=8)]), ScoreOptions()
    )
    assert accepted.score is not None and accepted.score.total == Decimal(
        "4.0000"
    )  # 8 is no longer out of range
    rejected = check_file(
        write_submission(tmp_path / "11.xlsx", [kpi("1", 100, method="score", result=11)]), ScoreOptions()
    )
    assert rejected.score is None and [p.code for p in rejected.errors] == [ResultOutOfRange.code]


def test_unknown_method_is_refused_by_the_registry() -> None:
    with pytest.raises(ValueError, match="unknown method"):
        registry.score_kpi("median", Decimal(3), [None] * 5)


class _Names:
    """A sheet writer of its own: one sheet listing the divisions (what another kind of sheet takes)."""

    fixed_names = ("รายชื่อ",)

    def write(self, ctx: ReportContext) -> None:
        ws = ctx.workbook.add_worksheet(self.fixed_names[0])
        for row, score in enumerate(ctx.group.divisions):
            ws.write_string(row, 0, score.division)


def test_the_writer_walks_the_sheet_list_in_order(tmp_path: Path) -> None:
    path = write_submission(tmp_path / "in.xlsx", [kpi("1", 100, method="score", result=4)])
    [group] = consolidate([check_file(path, ScoreOptions())])
    at = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)
    default = openpyxl.load_workbook(
        write_report(group, tmp_path / "default.xlsx", Settings(), at)
    ).sheetnames
    assert "รายชื่อ" not in default and "กองทดสอบระบบ" in default
    divisions = DEFAULT_SHEETS[1]
    for sheets, expected in (
        ((_Names(), divisions), ["รายชื่อ", "กองทดสอบระบบ"]),
        ((divisions, _Names()), ["กองทดสอบระบบ", "รายชื่อ"]),
    ):
        own = write_report(group, tmp_path / "own.xlsx", Settings(), at, sheets=sheets)
        book = openpyxl.load_workbook(own)
        assert book.sheetnames == expected
        assert book["รายชื่อ"]["A1"].value == "กองทดสอบระบบ"
