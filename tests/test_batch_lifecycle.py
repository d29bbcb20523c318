"""The drop folder over several nights: archive, reject with reasons, duplicates, resubmissions, trend."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import openpyxl
from batchkit import (
    audit,
    cli,
    copy_in,
    digests,
    division_book,
    division_totals,
    files_under,
    rejected_book,
    results,
    rows,
    settings_for,
)

from kpibatch.batch.files import NAME_MAX_BYTES, reason_path, sha256_of
from kpibatch.batch.paths import KEEP_MARKER, BatchPaths
from kpibatch.batch.runner import run_inbox
from kpibatch.write.trend import TREND_SHEET

FILED_NAME = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}-(.+)$")


def test_three_nights_report_three_then_five_then_five_divisions(tmp_path: Path) -> None:
    """The issue's "done when": Monday 3 divisions, Tuesday 2 more, Wednesday one resubmits."""
    settings = settings_for(tmp_path)
    inbox, out = settings.inbox, settings.out
    drafts = tmp_path / "drafts"
    names = ["กองหนึ่ง", "กองสอง", "กองสาม", "กองสี่", "กองห้า"]
    books = [division_book(drafts / f"0{i + 1}.xlsx", name, 3.0 + i * 0.25) for i, name in enumerate(names)]
    resubmission = division_book(drafts / "resubmit" / "01.xlsx", "กองหนึ่ง", 5.0)
    inputs = digests([*books, resubmission])

    for book in books[:3]:
        copy_in(book, inbox)
    monday = run_inbox(settings)
    assert [len(o.group.divisions) for o in monday.outputs] == [3]
    assert division_totals(out) == {"กองหนึ่ง": 3.0, "กองสอง": 3.25, "กองสาม": 3.5}
    assert list(inbox.iterdir()) == []

    for book in books[3:]:
        copy_in(book, inbox)
    tuesday = run_inbox(settings)
    assert len(tuesday.accepted) == 2
    assert len(division_totals(out)) == 5

    copy_in(resubmission, inbox)
    wednesday = run_inbox(settings)
    totals = division_totals(out)
    assert len(totals) == 5
    assert totals["กองหนึ่ง"] == 5.0
    assert wednesday.superseded == 1
    superseded = results(out)["superseded"]
    assert [(s["file"], s["sha256"]) for s in superseded] == [("01.xlsx", sha256_of(books[0]))]
    # The report names the files as the divisions sent them, not by their archive names.
    assert {d["source_file"] for d in results(out)["divisions"]} == {f"0{i}.xlsx" for i in range(1, 6)}

    found = audit(settings, inputs)
    assert [r.status for r in found] == ["accepted"] * 6
    first, latest = (r for r in found if r.division == "กองหนึ่ง")
    assert first.superseded_by == latest.id and latest.superseded_by is None
    assert sorted(FILED_NAME.match(Path(r.location).name)[1] for r in found) == sorted(  # type: ignore[index]
        ["01.xlsx", "01.xlsx", "02.xlsx", "03.xlsx", "04.xlsx", "05.xlsx"]
    )


def test_rejected_file_moves_to_dated_folder_with_every_error_explained(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    bad = rejected_book(settings.inbox / "ผิด.xlsx")
    good = division_book(settings.inbox / "ok.xlsx", "กองถูก")
    inputs = digests([bad, good])

    code, text = cli("run", "--inbox", settings.inbox, "--out", settings.out, "--stability-delay", "0")

    assert code == 3
    assert "rejected: ผิด.xlsx" in text and "[weight-sum]" in text
    assert re.search(r"1 accepted, 1 rejected, 0 duplicates, 0 superseded; output: ", text)
    [row] = [r for r in audit(settings, inputs) if r.status == "rejected"]
    location = Path(row.location)
    assert location.parent.parent == BatchPaths.of(settings.paths).rejected
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", location.parent.name)
    reason = reason_path(location).read_text(encoding="utf-8-sig")
    assert "ผิด.xlsx" in reason and row.sha256 in reason
    assert "[weight-sum]" in reason
    assert "ต้องรวมเป็น 100" in reason and "must sum to 100" in reason  # Thai and English
    assert "KPIs" in reason  # the sheet the error is on
    # The report lists the rejected file too.
    assert [r["file"] for r in results(settings.out)["rejected"]] == ["ผิด.xlsx"]


def test_same_bytes_twice_is_a_duplicate_and_not_scored_again(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    original = division_book(tmp_path / "drafts" / "a.xlsx", "กองเดียว", 4.0)
    copy_in(original, settings.inbox)
    copy_in(original, settings.inbox, "a (copy).xlsx")  # the same bytes twice in one drop

    first = run_inbox(settings)
    assert (len(first.accepted), len(first.duplicates)) == (1, 1)

    copy_in(original, settings.inbox, "a-again.xlsx")  # and again a night later
    second = run_inbox(settings)
    assert (len(second.accepted), len(second.duplicates)) == (0, 1)
    assert second.exit_code == 0

    found = audit(settings, digests([original]))
    accepted = [r for r in found if r.status == "accepted"]
    duplicates = [r for r in found if r.status == "duplicate"]
    assert len(accepted) == 1 and len(duplicates) == 2
    assert all(d.duplicate_of == accepted[0].id and d.scores is None for d in duplicates)
    assert all("/archive/duplicates/" in d.location for d in duplicates)
    reason = reason_path(Path(duplicates[0].location)).read_text(encoding="utf-8-sig")
    assert f"#{accepted[0].id}" in reason and "same bytes" in reason
    assert division_totals(settings.out) == {"กองเดียว": 4.0}
    assert results(settings.out)["superseded"] == []


def test_duplicate_of_a_rejected_file_repeats_its_errors(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    bad = rejected_book(tmp_path / "drafts" / "bad.xlsx")
    copy_in(bad, settings.inbox)
    assert run_inbox(settings).exit_code == 3
    copy_in(bad, settings.inbox, "bad-again.xlsx")
    report = run_inbox(settings)
    [dup] = report.duplicates
    reason = reason_path(Path(dup.row.location)).read_text(encoding="utf-8-sig")
    assert "[weight-sum]" in reason and "rejected" in reason
    audit(settings, digests([bad]))


def test_keep_inbox_copies_and_never_touches_the_inbox(tmp_path: Path, examples_inbox: Path) -> None:
    (examples_inbox / KEEP_MARKER).write_text("keep\n", encoding="utf-8")
    settings = settings_for(tmp_path, inbox=examples_inbox)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in examples_inbox.iterdir()}

    first = run_inbox(settings)
    second = run_inbox(settings)

    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in examples_inbox.iterdir()} == before
    assert (len(first.accepted), len(second.accepted), len(second.duplicates)) == (6, 0, 6)
    paths = BatchPaths.of(settings.paths)
    assert len(files_under(paths.archive)) == 6  # duplicates of kept files are not copied again
    assert len(division_totals(settings.out)) == 6
    audit(settings, digests(p for p in examples_inbox.iterdir() if p.suffix == ".xlsx"))


def test_a_duplicate_in_a_kept_inbox_is_what_the_readme_says(tmp_path: Path) -> None:
    """Kept inboxes record a duplicate in the ledger with the inbox file as its location, and neither
    copy it nor explain it under archive/duplicates/; the README says exactly that."""
    settings = settings_for(tmp_path, keep_inbox=True)
    book = division_book(settings.inbox / "a.xlsx", "กองเอ")
    copy_in(book, settings.inbox, "a copy.xlsx")
    report = run_inbox(settings)
    [dup] = report.duplicates
    assert Path(dup.row.location).parent == settings.inbox and dup.row.duplicate_of is not None
    assert not (BatchPaths.of(settings.paths).archive / "duplicates").exists()
    readme = " ".join((Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8").split())
    keep = readme[readme.index("**Keep-inbox.**") : readme.index("**Output.**")]
    for said in ("recorded in the ledger as a duplicate", "inbox file as its location", "not copied"):
        assert said in keep
    assert "no `.txt` is written under `archive/duplicates/`" in keep


def test_excel_lock_temporary_and_other_files_are_left_alone(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    division_book(settings.inbox / "real.xlsx", "กองจริง")
    others = ["~$real.xlsx", ".hidden.xlsx", "real.xlsx.tmp", "copying.xlsx.part", "notes.pdf"]
    for name in others:
        (settings.inbox / name).write_bytes(b"not a submission")

    report = run_inbox(settings)

    assert [f.name for f in report.filed] == ["real.xlsx"]
    assert sorted(p.name for p in settings.inbox.iterdir()) == sorted(others)
    assert [r.file_name for r in rows(settings)] == ["real.xlsx"]


def test_trend_sheet_appears_once_the_year_has_an_earlier_round(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    inbox, out = settings.inbox, settings.out
    division_book(inbox / "a6.xlsx", "กองเอ", 3.0, round_=6)
    division_book(inbox / "b6.xlsx", "กองบี", 4.0, round_=6)
    run_inbox(settings)
    six = openpyxl.load_workbook(next((out / "2563-r6").glob("*.xlsx")), read_only=True)
    assert TREND_SHEET not in six.sheetnames

    division_book(inbox / "a9.xlsx", "กองเอ", 4.5, round_=9)
    division_book(inbox / "c9.xlsx", "กองซี", 5.0, round_=9)
    run_inbox(settings)
    nine = openpyxl.load_workbook(next((out / "2563-r9").glob("*.xlsx")))
    assert TREND_SHEET in nine.sheetnames
    sheet = nine[TREND_SHEET]
    table = {
        r[0]: r[1:4] for r in sheet.iter_rows(min_row=4, max_col=4, values_only=True) if r[0] is not None
    }
    assert table["กองเอ"] == (3.0, 4.5, 1.5)
    assert table["กองบี"] == (4.0, "ไม่ได้ส่ง", "-")
    assert table["กองซี"] == ("ไม่ได้ส่ง", 5.0, "-")
    assert "6" in str(sheet["A1"].value) and "9" in str(sheet["A1"].value)


def test_late_earlier_round_refreshes_the_later_rounds_trend(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    division_book(settings.inbox / "a6.xlsx", "กองเอ", 3.0, round_=6)
    division_book(settings.inbox / "a9.xlsx", "กองเอ", 4.0, round_=9)
    run_inbox(settings)
    division_book(settings.inbox / "a6-fixed.xlsx", "กองเอ", 2.0, round_=6)
    report = run_inbox(settings)
    assert sorted(o.group.key for o in report.outputs) == ["2563-r6", "2563-r9"]
    nine = openpyxl.load_workbook(next((settings.out / "2563-r9").glob("*.xlsx")))
    assert nine[TREND_SHEET]["B4"].value == 2.0


def test_long_thai_file_name_is_shortened_to_fit_the_file_system(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    name = "ผลการดำเนินงานตามคำรับรองการปฏิบัติราชการของกองบริหารทรัพยากรบุคคล ปีงบประมาณ ๒๕๖๓.xlsx"
    assert len(os.fsencode(name)) < NAME_MAX_BYTES < len(os.fsencode("20260101T000000Z-abcdef12-" + name))
    rejected_book(settings.inbox / name)
    report = run_inbox(settings)
    [filed] = report.rejected
    location = Path(filed.row.location)
    assert len(os.fsencode(reason_path(location).name)) <= NAME_MAX_BYTES
    assert location.suffix == ".xlsx" and location.is_file()
    assert filed.row.file_name == name


def test_a_report_is_written_from_the_records_and_refuses_a_tampered_file_it_reads_again(
    tmp_path: Path,
) -> None:
    """The stored records make the report; an archived file is read (and its bytes checked) only when
    the scoring rules changed since it was recorded."""
    import sqlite3

    settings = settings_for(tmp_path)
    division_book(settings.inbox / "a.xlsx", "กองเอ", 3.0)
    run_inbox(settings)
    [row] = rows(settings)
    shutil.copy2(Path(row.location), tmp_path / "saved.xlsx")
    division_book(Path(row.location), "กองเอ", 5.0)  # someone edits the archived file

    division_book(settings.inbox / "b.xlsx", "กองบี", 4.0)
    assert run_inbox(settings).outputs  # the record stands for the file: the edit is not read
    assert division_totals(settings.out) == {"กองเอ": 3.0, "กองบี": 4.0}

    with sqlite3.connect(
        BatchPaths.of(settings.paths).ledger
    ) as db:  # rules changed since a.xlsx was recorded
        db.execute("UPDATE submissions SET rules = 'older rules' WHERE id = ?", (row.id,))
    division_book(settings.inbox / "c.xlsx", "กองซี", 2.0)
    code, _ = cli("run", "--inbox", settings.inbox, "--out", settings.out, "--stability-delay", "0")

    assert code == 1
    assert division_totals(settings.out) == {"กองเอ": 3.0, "กองบี": 4.0}  # the last good report stands
    shutil.copy2(tmp_path / "saved.xlsx", Path(row.location))
    assert run_inbox(settings).outputs  # restored: the round written at last was still due
    assert division_totals(settings.out) == {"กองเอ": 3.0, "กองบี": 4.0, "กองซี": 2.0}


def test_a_run_sweeps_temporary_files_a_killed_run_left(tmp_path: Path) -> None:
    from kpibatch.batch.runner import run_inbox
    from kpibatch.config import load_settings
    from kpibatch.fsutil import TEMP_PREFIX

    out = tmp_path / "out"
    leftover = out / "2563-r12" / f"{TEMP_PREFIX}abc.xlsx"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a workbook")
    (tmp_path / "inbox").mkdir()
    overrides = {"inbox": tmp_path / "inbox", "out": out, "stability_delay": 0}
    settings = load_settings(overrides=overrides, environ={})
    run_inbox(settings)
    assert not leftover.exists()


def test_the_ledger_is_a_wal_database_that_waits_for_a_busy_writer(tmp_path: Path) -> None:
    """WAL (readers never block the batch), synced commits, and a busy timeout instead of an error."""
    import sqlite3
    import threading
    import time

    from kpibatch.batch.ledger import BUSY_TIMEOUT_MS, Ledger, utc_now

    path = tmp_path / "ledger.sqlite3"
    with Ledger(path) as ledger:
        assert ledger._db.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS
        assert ledger._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock for a moment

        def release() -> None:
            time.sleep(0.3)
            other.execute("COMMIT")

        threading.Thread(target=release).start()
        run_id = ledger.start_run(command="run", pid=1, host="h", inbox="in", started=utc_now())
        other.close()
        assert ledger.runs()[-1].id == run_id


def test_rows_read_for_a_report_leave_out_the_json_record(tmp_path: Path) -> None:
    """The stored scores and problems (some 15 kB a division) are not held while a report is written."""
    import pytest

    from kpibatch.batch.ledger import Ledger

    settings = settings_for(tmp_path)
    copy_in(division_book(tmp_path / "drafts" / "01.xlsx", "กองหนึ่ง", 4.0), settings.inbox)
    run_inbox(settings)
    with Ledger(settings.ledger_path) as ledger:
        [full] = ledger.submissions()
        assert full.scores is not None and full.problem_dicts == []
        [lean] = ledger.current(2563, 12)
        assert lean.id == full.id and lean.scores is None and lean.problems is None
        assert full.record is not None and lean.record is None
        assert lean == type(full)(**{**vars_of(full), "scores": None, "problems": None, "record": None})
        with pytest.raises(ValueError, match="without its problems"):
            _ = lean.problem_dicts


def vars_of(row: object) -> dict[str, object]:
    from dataclasses import fields

    return {f.name: getattr(row, f.name) for f in fields(row)}  # type: ignore[arg-type]
