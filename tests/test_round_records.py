"""A round's report from the ledger's stored records: the same report as the archived files read again,
no archived file opened while the records are current, and the files read again when the rules change."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from batchkit import cli, files_under, rows, settings_for
from conftest import EXAMPLES, GOLDEN
from helpers import KPI_COLUMNS, kpi, write_submission

from kpibatch.batch.paths import BatchPaths
from kpibatch.batch.rounds import ArchiveDamaged
from kpibatch.batch.runner import run_inbox
from kpibatch.config import Settings
from kpibatch.deliver.summary import build_summary, load_results
from kpibatch.pipeline import check_files
from kpibatch.results import RecordUnreadable, outcome_record, record_outcome
from kpibatch.score import SCORING_RULES_VERSION, ScoreOptions, rules_stamp
from kpibatch.text import thai_datetime

KEY = "2563-r12"


def _verified(path: Path) -> Path:
    """A division with a verified result (the self-assessment shown beside it), a reallocation with a
    reason and a warned child of a not-assessed KPI."""
    rows = [
        kpi("1", 60, method="score", result=5, verified_result=4),
        kpi("3", 20, method="score", result=3),
        kpi("2", 20, status="รายงานรอบ ๑๒ เดือน"),
        kpi("2.1", 0.5, method="score", result=5),
        kpi("2.2", 0.5, method="score"),
    ]
    moves = [{"from": "2", "to": "1", "weight": 20, "reason": "ย้าย <b>น้ำหนัก</b>"}]
    columns = (*KPI_COLUMNS, "verified_result")
    return write_submission(
        path, rows, division="กองตรวจ", short_name="ตรวจ", reallocations=moves, columns=columns
    )


def _books(folder: Path) -> list[Path]:
    """The shipped examples, the golden inbox (warnings, markup-like names, a deep file, a rejected
    one) and ``_verified``."""
    return [
        *sorted(EXAMPLES.glob("*.xlsx")),
        *sorted((GOLDEN / "inbox").glob("*.xlsx")),
        _verified(folder / "10_verified.xlsx"),
    ]


def _fill(settings: Settings) -> None:
    for book in _books(settings.inbox.parent / "made"):
        shutil.copy2(book, settings.inbox / book.name)


def _sql(settings: Settings, statement: str, params: tuple[Any, ...] = ()) -> None:
    with sqlite3.connect(BatchPaths.of(settings.paths).ledger) as db:
        db.execute(statement, params)


def _report_due_again(settings: Settings) -> None:
    """The round's report as if no run had written it after its first files (a killed run)."""
    _sql(settings, "UPDATE reports SET last_submission_id = 0")


def _filed(settings: Settings) -> list[Path]:
    paths = BatchPaths.of(settings.paths)
    return [p for p in files_under(paths.archive, paths.rejected) if p.suffix == ".xlsx"]


def _report(settings: Settings) -> dict[str, Any]:
    """The round's workbook (every cell's value, sheet by sheet) and results.json, with the time it was
    generated, the one thing that differs between two runs, replaced by a mark."""
    folder = settings.out / KEY
    data = json.loads((folder / "results.json").read_text(encoding="utf-8"), parse_float=Decimal)
    at = data.pop("generated_at")
    moment = dt.datetime.fromisoformat(at)
    [workbook] = folder.glob("*.xlsx")
    book = openpyxl.load_workbook(workbook)
    sheets = {}
    for sheet in book.worksheets:
        cells = []
        for row in sheet.iter_rows(values_only=True):
            cells.append(
                [
                    v.replace(at, "<at>").replace(thai_datetime(moment), "<at>") if isinstance(v, str) else v
                    for v in row
                ]
            )
        sheets[sheet.title] = cells
    return {"results": data, "workbook": sheets, "name": workbook.name}


def test_a_round_from_the_records_is_the_round_read_from_the_archive(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    _fill(settings)
    first = run_inbox(settings)
    assert len(first.outputs) == 1
    read_then = _report(settings)
    assert len(read_then["results"]["divisions"]) == 9 and len(read_then["results"]["rejected"]) == 1

    # Records current: the archived and rejected files' bytes are gone, and the report is written anyway
    # (reading any of them would stop the run: ArchiveDamaged).
    saved = tmp_path / "saved"
    filed = _filed(settings)
    assert len(filed) == 10
    for path in filed:
        target = saved / path.relative_to(settings.out)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    _report_due_again(settings)
    from_records = run_inbox(settings)
    assert [o.group.key for o in from_records.outputs] == [KEY]
    assert _report(settings) == read_then

    # Rules changed: every file is read again from the archive, which must then be there.
    _sql(settings, "UPDATE submissions SET rules = 'an older version'")
    _report_due_again(settings)
    with pytest.raises(ArchiveDamaged):
        run_inbox(settings)
    for path in files_under(saved):
        shutil.move(path, settings.out / path.relative_to(saved))
    reread = run_inbox(settings)
    assert [o.group.key for o in reread.outputs] == [KEY]
    assert _report(settings) == read_then
    # ... and stored again under the current rules, so the next report needs no file again.
    current = rules_stamp(ScoreOptions(floor=Decimal(settings.floor)))
    assert {r.rules for r in rows(settings) if r.status in ("accepted", "rejected")} == {current}


def test_rows_without_a_record_are_read_from_the_archive(tmp_path: Path) -> None:
    """A ledger from before records were kept (no ``record``, no ``rules``) counts as stale."""
    settings = settings_for(tmp_path)
    _fill(settings)
    run_inbox(settings)
    read_then = _report(settings)
    _sql(settings, "UPDATE submissions SET rules = NULL, record = NULL")
    _report_due_again(settings)
    [archived, *_] = _filed(settings)
    data = archived.read_bytes()
    archived.write_bytes(b"not the file the ledger names")
    code, _ = cli("run", "--inbox", settings.inbox, "--out", settings.out, "--stability-delay", "0")
    assert code == 1  # read again, its bytes checked
    archived.write_bytes(data)
    assert run_inbox(settings).outputs
    assert _report(settings) == read_then


def test_an_old_ledger_gains_the_record_columns(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    shutil.copy2(next(EXAMPLES.glob("*.xlsx")), settings.inbox)
    run_inbox(settings)
    ledger = BatchPaths.of(settings.paths).ledger
    with sqlite3.connect(ledger) as db:
        db.execute("ALTER TABLE submissions DROP COLUMN record")
        db.execute("ALTER TABLE submissions DROP COLUMN rules")
    _report_due_again(settings)
    assert run_inbox(settings).outputs  # opens, adds the columns, reads the file again
    [row] = rows(settings)
    assert row.rules == rules_stamp(ScoreOptions()) and row.record is not None


def test_the_rules_stamp_names_the_version_and_the_options() -> None:
    assert rules_stamp(ScoreOptions()) == f"{SCORING_RULES_VERSION};floor=0"
    assert rules_stamp(ScoreOptions(floor=Decimal(1))) != rules_stamp(ScoreOptions())


def test_a_record_gives_back_the_outcome_it_was_made_from(tmp_path: Path) -> None:
    """Every field of the model, the problems' kinds and parameters included, for accepted and
    rejected files alike (the outcome as a report is written from it: rows as read left out)."""
    books = _books(tmp_path)
    outcomes = list(check_files(books, Settings().checking, for_report=True))
    assert sum(o.accepted for o in outcomes) == 9 and any(o.problems for o in outcomes if o.accepted)
    for outcome in outcomes:
        back = record_outcome(outcome_record(outcome), outcome.path)
        assert back == outcome
        assert [type(p) for p in back.problems] == [type(p) for p in outcome.problems]


def test_a_record_that_does_not_give_back_its_division_is_refused(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    shutil.copy2(GOLDEN / "inbox" / "07_rich.xlsx", settings.inbox)
    run_inbox(settings)
    [row] = rows(settings)
    assert row.record is not None
    outcome = record_outcome(row.record, Path("07_rich.xlsx"))
    assert outcome.score is not None and outcome.score.warnings
    data = json.loads(row.record)
    data["score"]["warnings"][0]["message"] = "another text"
    with pytest.raises(RecordUnreadable, match="no longer the stored one"):
        record_outcome(json.dumps(data), Path("07_rich.xlsx"))
    data = json.loads(row.record)
    data["score"]["total"] = 4.55  # a float: not a number as the record keeps them
    with pytest.raises(RecordUnreadable):
        record_outcome(json.dumps(data), Path("07_rich.xlsx"))


def test_a_total_of_4_55_stays_decimal_4_5500_in_every_output(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    _fill(settings)
    run_inbox(settings)
    folder = settings.out / KEY
    text = (folder / "results.json").read_text(encoding="utf-8")
    assert '"total": 4.5500' in text and '"total": 4.55,' not in text
    data = load_results(next(folder.glob("*.xlsx")))
    [division] = [d for d in data["divisions"] if d["total"] == Decimal("4.55")]
    total = division["total"]
    assert isinstance(total, Decimal) and str(total) == "4.5500"
    # the ledger's total and its record
    [row] = [r for r in rows(settings) if r.division == division["division"]]
    assert row.total == "4.5500"
    assert row.record is not None
    score = record_outcome(row.record, Path(row.file_name)).score
    assert score is not None and str(score.total) == "4.5500"
    # the mail's and report.html's summary
    summary = build_summary(data, next(folder.glob("*.xlsx")))
    [line] = [line for line in summary.divisions if line.name == division["division"]]
    assert line.total == "4.5500"
    assert "4.5500" in (folder / "report.html").read_text(encoding="utf-8")
    # the workbook: the number, printed with four places
    book = openpyxl.load_workbook(next(folder.glob("*.xlsx")))
    found = [
        cell
        for sheet in book.worksheets
        for row_cells in sheet.iter_rows()
        for cell in row_cells
        if cell.value == 4.55
    ]
    assert found and all(cell.number_format.endswith("0.0000") for cell in found)
