"""A colleague with write access to the inbox, and look-alike names (issue 17, drop-folder side).

Poisoned inbox entries are real files: a name made of TIS-620 bytes, a real symlink loop, a mode-000
file read by a child process that has lost the capability to bypass permissions. Each is judged on
its own and the rest of the night goes on.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import filelock
import openpyxl
import pytest
from batchkit import cli, copy_in, division_book, division_totals, rejected_book, results, rows, settings_for

from kpibatch.batch.ledger import Ledger, SubmissionRow
from kpibatch.batch.paths import BatchPaths
from kpibatch.batch.runner import BatchReport, run_inbox
from kpibatch.batch.watch import watch
from kpibatch.config import Settings
from kpibatch.errors import ExitCode
from kpibatch.fsutil import TEMP_PREFIX
from kpibatch.text import division_key, normalize_label

ROOT = Path(__file__).resolve().parent.parent
TIS620_NAME = "กองคลัง".encode("tis-620") + b".xlsx"
"""A Thai file name as an old Windows share writes it: TIS-620 bytes, not UTF-8."""


def issue_codes(out: Path, key: str = "2563-r12") -> dict[str, str]:
    """File name -> problem codes of the rejected files in results.json."""
    return {
        r["file"]: ",".join(sorted(e["code"] for e in r["errors"])) for r in results(out, key)["rejected"]
    }


def issues_sheet_text(out: Path, key: str = "2563-r12") -> str:
    [path] = (out / key).glob("*.xlsx")
    book = openpyxl.load_workbook(path, read_only=True)
    text = " ".join(
        str(v)
        for ws in book.worksheets
        for row in ws.iter_rows(values_only=True)
        for v in row
        if v is not None
    )
    book.close()
    return text


# --- item 1: poisoned entries ------------------------------------------------------------------------


def test_an_undecodable_name_and_a_symlink_loop_are_refused_and_the_night_goes_on(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    inbox = settings.inbox
    division_book(tmp_path / "drafts" / "a.xlsx", "กองเอ")
    copy_in(tmp_path / "drafts" / "a.xlsx", inbox)
    tis = os.path.join(os.fsencode(inbox), TIS620_NAME)
    division_book(tmp_path / "drafts" / "b.xlsx", "กองบี")
    with open(tis, "wb") as handle:
        handle.write((tmp_path / "drafts" / "b.xlsx").read_bytes())
    os.symlink("loop.xlsx", inbox / "loop.xlsx")  # a link to itself: stat fails with ELOOP

    code, out = cli("run", "--inbox", inbox, "--out", settings.out, "--stability-delay", "0")

    assert code == ExitCode.REJECTED, out
    assert division_totals(settings.out) == {"กองเอ": 4.0}
    # left in place, the name byte for byte
    assert sorted(os.listdir(os.fsencode(inbox))) == sorted([b"loop.xlsx", TIS620_NAME])
    shown = TIS620_NAME.decode("utf-8", "replace")
    assert issue_codes(settings.out) == {shown: "name-undecodable", "loop.xlsx": "link-loop"}
    sheet = issues_sheet_text(settings.out)
    assert "name-undecodable" in sheet and "link-loop" in sheet and shown in sheet
    assert "2 refused (link-loop, name-undecodable; left in the inbox)" in out
    assert f"refused: {shown}" in out
    log = Path(rows(settings)[0].location).parents[2] / "logs"
    text = "".join(p.read_text(encoding="utf-8") for p in log.iterdir())
    assert "name-undecodable" in text and shown in text and "Logging error" not in text
    assert [r.file_name for r in rows(settings)] == ["a.xlsx"]


def test_a_tis620_named_copy_of_an_accepted_file_does_not_stop_the_report(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    book = division_book(tmp_path / "drafts" / "a.xlsx", "กองเอ")
    copy_in(book, settings.inbox)
    run_inbox(settings)
    with open(os.path.join(os.fsencode(settings.inbox), TIS620_NAME), "wb") as handle:
        handle.write(book.read_bytes())
    copy_in(division_book(tmp_path / "drafts" / "b.xlsx", "กองบี"), settings.inbox)

    report = run_inbox(settings)

    assert [f.name for f in report.accepted] == ["b.xlsx"] and report.outputs
    assert division_totals(settings.out) == {"กองเอ": 4.0, "กองบี": 4.0}
    assert [r.problem.code for r in report.refused] == ["name-undecodable"]
    assert os.listdir(os.fsencode(settings.inbox)) == [TIS620_NAME]


def test_a_link_to_a_workbook_is_refused_not_archived_as_a_link(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    target = division_book(tmp_path / "elsewhere" / "a.xlsx", "กองเอ")
    os.symlink(target, settings.inbox / "a.xlsx")

    report = run_inbox(settings)

    assert [(r.name, r.problem.code) for r in report.refused] == [("a.xlsx", "file-is-link")]
    assert str(target) in report.refused[0].problem.message_en
    paths = BatchPaths.of(settings.paths)
    archived = [p for p in paths.archive.rglob("*")] if paths.archive.exists() else []
    assert not [p for p in archived if p.is_symlink()] and rows(settings) == []
    assert (settings.inbox / "a.xlsx").is_symlink() and target.is_file()


PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def _without_file_permission_bypass() -> None:
    """In the child before exec: drop the capabilities that let root read a mode-000 file."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _as_service_user(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    preexec = _without_file_permission_bypass if os.geteuid() == 0 else None
    return subprocess.run(
        [sys.executable, "-m", "kpibatch", *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec,
        check=False,
    )


def _can_drop_capabilities(tmp_path: Path) -> bool:
    probe = tmp_path / "probe"
    probe.write_bytes(b"x")
    probe.chmod(0)
    try:
        done = subprocess.run(
            [sys.executable, "-c", f"open({str(probe)!r}, 'rb')"],
            preexec_fn=_without_file_permission_bypass if os.geteuid() == 0 else None,
            capture_output=True,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        probe.unlink()
    return done.returncode != 0


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions and capabilities")
def test_a_file_the_service_user_cannot_read_is_refused_and_the_rest_is_scored(tmp_path: Path) -> None:
    if not _can_drop_capabilities(tmp_path):
        pytest.skip("this machine lets the test process read a mode-000 file even without capabilities")
    settings = settings_for(tmp_path)
    division_book(settings.inbox / "a.xlsx", "กองเอ")
    secret = division_book(settings.inbox / "locked.xlsx", "กองล็อก")
    secret.chmod(0)
    argv = ["run", "--inbox", str(settings.inbox), "--out", str(settings.out), "--stability-delay", "0"]

    done = _as_service_user(argv, tmp_path)

    assert done.returncode == ExitCode.REJECTED, done.stderr
    assert "unexpected error" not in done.stderr and "Traceback" not in done.stderr
    assert "1 accepted" in done.stdout and "1 refused (file-unreadable" in done.stdout
    assert division_totals(settings.out) == {"กองเอ": 4.0}
    assert issue_codes(settings.out) == {"locked.xlsx": "file-unreadable"}
    assert secret.exists() and (secret.stat().st_mode & 0o777) == 0  # left as it was
    # once it is readable, the next run takes it
    secret.chmod(0o644)
    again = _as_service_user(argv, tmp_path)
    assert again.returncode == 0, again.stderr
    assert division_totals(settings.out) == {"กองเอ": 4.0, "กองล็อก": 4.0}


def test_watch_survives_a_symlink_loop_and_files_the_rest(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, watch_interval=0.05)
    os.symlink("loop.xlsx", settings.inbox / "loop.xlsx")
    division_book(settings.inbox / "a.xlsx", "กองเอ")
    stop = threading.Event()
    reports: list[BatchReport] = []
    failures: list[BaseException] = []

    def on_report(report: BatchReport) -> None:
        reports.append(report)
        if report.accepted:
            stop.set()

    def watching() -> None:
        try:
            watch(
                settings,
                stop,
                on_report=on_report,
                on_skip=lambda message: failures.append(Exception(message)),
            )
        except BaseException as exc:  # what would end the daemon
            failures.append(exc)
            stop.set()

    thread = threading.Thread(target=watching)
    thread.start()
    stop.wait(120)
    stop.set()
    thread.join(120)
    assert failures == [] and not thread.is_alive()
    assert [f.name for r in reports for f in r.accepted] == ["a.xlsx"]
    assert [r.problem.code for r in reports[0].refused] == ["link-loop"]


# --- item 9: one run's clean-up never deletes another's output -----------------------------------------


def test_the_start_up_sweep_leaves_temporary_files_of_live_processes(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    group = settings.out / "2563-r12"
    group.mkdir(parents=True)
    alive = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        writing = group / f"{TEMP_PREFIX}{alive.pid}-r7-abc.eml"
        left = group / f"{TEMP_PREFIX}{dead.pid}-r6-def.xlsx"
        for path in (writing, left):
            path.write_bytes(b"half")
        division_book(settings.inbox / "a.xlsx", "กองเอ")
        run_inbox(settings)  # writes 2563-r12, sweeping under the lock
        assert writing.exists(), "the sweep deleted a write still in progress"
        assert not left.exists()
    finally:
        alive.communicate(b"")


def test_a_dry_run_writes_its_eml_under_the_batch_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kpibatch.deliver.service as service

    settings = settings_for(tmp_path)
    division_book(settings.inbox / "a.xlsx", "กองเอ")
    lock = BatchPaths.of(settings.paths).lock
    held: list[bool] = []
    real = service.write_atomic

    def write_atomic_seeing_the_lock(target: Path, writer, **options):  # type: ignore[no-untyped-def]
        other = filelock.FileLock(str(lock), timeout=0)  # what a run starting now would try
        try:
            other.acquire()
        except filelock.Timeout:
            held.append(True)
        else:
            other.release()
            held.append(False)
        return real(target, writer, **options)

    monkeypatch.setattr(service, "write_atomic", write_atomic_seeing_the_lock)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KPIBATCH_MAIL_TO", "director@example.go.th")
    monkeypatch.setenv("KPIBATCH_MAIL_FROM", "kpibatch@planning.example.go.th")
    monkeypatch.setenv("KPIBATCH_SMTP_HOST", "127.0.0.1")  # a dry run checks what the real send needs
    argv = ["run", "--inbox", settings.inbox, "--out", settings.out, "--stability-delay", "0", "--dry-run"]
    code, out = cli(*argv)
    assert code == 0, out
    assert held == [True]
    assert list((settings.out / "2563-r12").glob("*.eml"))


# --- item 10: look-alike division names -----------------------------------------------------------------

SARA_AM = "กองสำรวจ"
SPLIT = "กองส\u0e4d\u0e32รวจ"
"""The same name with SARA AM typed as NIKHAHIT + SARA AA, as old keyboards and PDF text give it."""


def test_division_key_folds_thai_look_alikes() -> None:
    assert SARA_AM != SPLIT and normalize_label(SARA_AM) != normalize_label(SPLIT)
    same = [
        SARA_AM,
        SPLIT,
        "กอง\u200bสำรวจ",  # zero-width space
        "กองสำ\u200dรวจ\ufeff",  # zero-width joiner, byte-order mark
        "กอง  ส\u00adำรวจ",  # two spaces, soft hyphen
        " กองสำรวจ\t",
    ]
    assert {division_key(name) for name in same} == {division_key(SARA_AM)}
    assert (
        division_key("น\u0e49\u0e4d\u0e32ใจ") == division_key("น\u0e4d\u0e49\u0e32ใจ") == division_key("น้ำใจ")
    )
    assert division_key("ศูนย์ ๑๒") == division_key("ศูนย์12")
    assert division_key("กองสำรวจ 1") != division_key("กองสำรวจ 2")
    assert division_key("กองสารวจ") != division_key(SARA_AM)


def test_a_division_typed_with_split_sara_am_supersedes_its_earlier_file(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    division_book(settings.inbox / "a.xlsx", SARA_AM, 3.0)
    division_book(settings.inbox / "b.xlsx", "กองบี", 4.0, round_=6)
    run_inbox(settings)
    typed = f"{SPLIT}\u200b"
    division_book(settings.inbox / "a-fixed.xlsx", typed, 5.0)
    division_book(settings.inbox / "b6.xlsx", "กอง\u200bบี", 2.0, round_=6)

    report = run_inbox(settings)

    assert report.superseded == 2
    assert division_totals(settings.out) == {typed: 5.0}  # shown as typed, once
    assert division_totals(settings.out, "2563-r6") == {"กอง\u200bบี": 2.0}
    code, out = cli("history", "--out", settings.out, "--division", SARA_AM, "--submissions")
    assert code == 0 and "a.xlsx" in out and "a-fixed.xlsx" in out


def test_the_trend_sheet_matches_divisions_by_the_thai_aware_key(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    division_book(settings.inbox / "a6.xlsx", SPLIT, 3.0, round_=6)
    run_inbox(settings)
    division_book(settings.inbox / "a12.xlsx", SARA_AM, 4.0)
    run_inbox(settings)
    [path] = (settings.out / "2563-r12").glob("*.xlsx")
    book = openpyxl.load_workbook(path, read_only=True)
    trend = [ws for ws in book.worksheets if ws.title not in ("สรุปผล",)]
    found = [
        [v for v in row if v is not None]
        for ws in trend
        for row in ws.iter_rows(values_only=True)
        if any(isinstance(v, str) and division_key(v) == division_key(SARA_AM) for v in row)
    ]
    book.close()
    trend_rows = [r for r in found if 3 in r and 4 in r]
    assert len(trend_rows) == 1, found


def test_a_ledger_keyed_before_the_thai_aware_key_is_rekeyed_once(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    division_book(settings.inbox / "a.xlsx", SARA_AM, 3.0)
    run_inbox(settings)
    division_book(settings.inbox / "a2.xlsx", SPLIT, 5.0)
    run_inbox(settings)
    ledger_path = BatchPaths.of(settings.paths).ledger
    import sqlite3

    with sqlite3.connect(ledger_path) as db:  # as an older kpibatch left it
        db.execute("UPDATE submissions SET division_key = NULL, superseded_by = NULL")
        for sid, name in db.execute("SELECT id, division FROM submissions").fetchall():
            db.execute("UPDATE submissions SET division_key = ? WHERE id = ?", (normalize_label(name), sid))
        db.execute("DELETE FROM ledger_meta WHERE key = 'division_key'")
    db.close()
    with Ledger(ledger_path) as ledger:
        found = ledger.submissions()
    assert {r.division_key for r in found} == {division_key(SARA_AM)}
    assert [r.superseded_by for r in found] == [found[1].id, None]
    assert json.loads(json.dumps([r.division for r in found])) == [SARA_AM, SPLIT]


# --- item 2: file what was hashed ------------------------------------------------------------------------


def test_a_file_replaced_between_its_check_and_its_filing_stays_for_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from batchkit import audit, digests

    from kpibatch.batch import runner

    settings = settings_for(tmp_path)
    first = division_book(tmp_path / "drafts" / "a.xlsx", "กองเอ", 3.0)
    second = division_book(tmp_path / "drafts" / "new" / "a.xlsx", "กองเอ", 5.0)
    copy_in(first, settings.inbox)
    real = runner.Claim.unchanged
    replaced: list[Path] = []

    def unchanged_then_replaced(claim: runner.Claim) -> bool:
        # the last look before filing says "unchanged"; right after it, a colleague saves over the file
        seen = real(claim)
        if not replaced:
            tmp = claim.path.with_name("incoming.tmp")
            tmp.write_bytes(second.read_bytes())
            os.replace(tmp, claim.path)
            replaced.append(claim.path)
        return seen

    monkeypatch.setattr(runner.Claim, "unchanged", unchanged_then_replaced)
    report = run_inbox(settings)
    monkeypatch.undo()

    assert replaced and report.filed == [] and report.waiting == [settings.inbox / "a.xlsx"]
    assert (settings.inbox / "a.xlsx").read_bytes() == second.read_bytes()
    audit(settings, set())  # the archive holds only bytes the ledger knows
    report = run_inbox(settings)
    assert [f.name for f in report.accepted] == ["a.xlsx"]
    assert division_totals(settings.out) == {"กองเอ": 5.0}
    audit(settings, digests([second]))


def test_an_inbox_file_with_another_name_is_archived_as_a_file_of_its_own(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    outside = division_book(tmp_path / "owner" / "a.xlsx", "กองเอ", 3.0)
    os.link(outside, settings.inbox / "a.xlsx")  # the owner keeps a name for the same bytes
    [filed] = run_inbox(settings).accepted
    archived = Path(filed.row.location)
    assert archived.stat().st_nlink == 1 and not archived.samefile(outside)
    outside.write_bytes(b"changed by its owner afterwards")
    from kpibatch.batch.files import sha256_of

    assert sha256_of(archived) == filed.row.sha256
    division_book(settings.inbox / "b.xlsx", "กองบี", 4.0)
    run_inbox(settings)  # re-reads the archived a.xlsx for the report: still the submitted bytes
    assert division_totals(settings.out) == {"กองเอ": 3.0, "กองบี": 4.0}


# --- item 4: a ledger that vanished -------------------------------------------------------------------


def _filed_night(tmp_path: Path) -> tuple[Settings, list[SubmissionRow]]:
    """Two nights filed: round 6 and 12, a resubmission, a rejected file, a duplicate."""
    settings = settings_for(tmp_path)
    drafts = tmp_path / "drafts"
    b = division_book(drafts / "b.xlsx", "กองบี", 4.0)
    copy_in(b, settings.inbox)
    division_book(settings.inbox / "a6.xlsx", "กองเอ", 3.5, round_=6)
    division_book(settings.inbox / "a.xlsx", "กองเอ", 3.0)
    rejected_book(settings.inbox / "bad.xlsx")
    run_inbox(settings)
    division_book(settings.inbox / "a-fixed.xlsx", SPLIT, 5.0)
    copy_in(b, settings.inbox, "b-again.xlsx")
    run_inbox(settings)
    return settings, rows(settings)


def _remove_ledger(settings: Settings, how: str) -> Path:
    ledger = BatchPaths.of(settings.paths).ledger
    for suffix in ("", "-wal", "-shm"):
        ledger.with_name(ledger.name + suffix).unlink(missing_ok=True)
    if how == "empty":
        ledger.write_bytes(b"")
    return ledger


@pytest.mark.parametrize("how", ["deleted", "empty"])
def test_a_run_stops_when_the_ledger_vanished_and_says_how_to_rebuild(
    tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, _ = _filed_night(tmp_path)
    ledger = _remove_ledger(settings, how)
    division_book(settings.inbox / "c.xlsx", "กองซี", 2.0)
    capsys.readouterr()

    code, out = cli("run", "--inbox", settings.inbox, "--out", settings.out, "--stability-delay", "0")

    err = capsys.readouterr().err
    assert code == 1, out
    assert str(ledger) in err and "kpibatch ledger rebuild" in err and "unexpected" not in err
    assert (settings.inbox / "c.xlsx").exists()  # nothing claimed
    assert ledger.exists() == (how == "empty") and (not ledger.exists() or ledger.stat().st_size == 0)


def test_ledger_rebuild_recreates_the_ledger_from_the_archive(tmp_path: Path) -> None:
    settings, before = _filed_night(tmp_path)
    totals = division_totals(settings.out)
    _remove_ledger(settings, "deleted")

    code, out = cli("ledger", "rebuild", "--out", settings.out, "--inbox", settings.inbox)

    assert code == 0, out
    assert "4 accepted, 1 rejected, 1 duplicates" in out and "could not recover:" in out
    assert "history of runs" in out and "receipts and reminders were sent" in out
    after = rows(settings)

    def story(found: list[SubmissionRow]) -> set[tuple[object, ...]]:
        names = {r.id: r.file_name for r in found}
        return {
            (
                r.status,
                r.file_name,
                r.sha256,
                r.location,
                r.division,
                r.division_key,
                r.fiscal_year,
                r.round,
                r.total,
                names.get(r.superseded_by) if r.superseded_by else None,
                names.get(r.duplicate_of) if r.duplicate_of else None,
            )
            for r in found
        }

    assert story(after) == story(before)
    received = {r.file_name: r.received_at for r in before if r.status != "accepted"}
    assert {r.file_name: r.received_at for r in after if r.status != "accepted"} == received
    assert all(r.filed_at is not None for r in after)
    # the next run writes the reports again from the archive, and archived bytes are not new
    copy_in(tmp_path / "drafts" / "b.xlsx", settings.inbox, "b-third.xlsx")
    report = run_inbox(settings)
    assert [f.status for f in report.filed] == ["duplicate"]
    assert division_totals(settings.out) == totals
    assert {o.group.key for o in report.outputs} == {"2563-r6", "2563-r12"}
    again, _ = cli("ledger", "rebuild", "--out", settings.out)
    assert again == 1  # a ledger is there: never overwritten


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_ledger_is_named_in_the_message(
    tmp_path: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, _ = _filed_night(tmp_path)
    ledger = BatchPaths.of(settings.paths).ledger
    with Ledger(ledger):
        pass  # checkpointed into the main file on close
    data = ledger.read_bytes()
    ledger.write_bytes(b"not a database at all " * 100 if damage == "garbage" else data[: len(data) // 2])
    division_book(settings.inbox / "c.xlsx", "กองซี", 2.0)
    capsys.readouterr()

    code, _ = cli("run", "--inbox", settings.inbox, "--out", settings.out, "--stability-delay", "0")

    err = capsys.readouterr().err
    assert code == 1 and str(ledger) in err and "unexpected" not in err, err


def test_ledger_rebuild_has_help_for_every_option_and_a_readme_section(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kpibatch.cli import build_parser

    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["ledger", "rebuild", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: kpibatch ledger rebuild")
    for option in ("--out", "--inbox", "--archive", "--rejected", "--ledger", "--lock-file", "--config"):
        assert option in text
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## `kpibatch ledger rebuild`" in readme
