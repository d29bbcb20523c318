"""A ledger that vanished: refuse to start a new one silently, and rebuild it from the archive.

A missing or empty ledger beside an archive or reports that already exist means the ledger was lost,
not that this is the first night: a run that started a new one would take every archived file's
bytes for new ones and shrink the report to tonight's files. ``require_ledger`` stops the run with
a message saying how to rebuild; ``rebuild_ledger`` (``kpibatch ledger rebuild``) writes a new ledger
from what the archive holds: every archived, rejected and duplicate file (its name says when it was
received and the start of its SHA-256), the ``.txt`` beside it (the original file name and the
received time, to the second), and the file itself, read and scored again as a run reads it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from kpibatch.batch.files import REASON_SUFFIX, TAKEN_FOLDER, sha256_of
from kpibatch.batch.ledger import Ledger, LedgerError, NewSubmission, SubmissionRow, iso, utc_now
from kpibatch.batch.paths import BatchPaths
from kpibatch.config import Checking, Paths
from kpibatch.model import FileOutcome
from kpibatch.pipeline import check_files
from kpibatch.results import division_json
from kpibatch.text import division_key

REBUILD_COMMAND = "ledger rebuild"
_FILED = re.compile(r"(?P<stamp>\d{8}T\d{6}Z)-(?P<sha8>[0-9a-f]{8})-(?P<name>.+)")
_GROUP = re.compile(r"(?P<year>\d{4})-r(?P<round>\d+)")
_TXT_FILE = "ไฟล์ / File: "
_TXT_RECEIVED = "ได้รับเมื่อ / Received: "


class LedgerMissing(LedgerError):
    """The ledger is gone or empty while the output folder holds what an earlier ledger recorded."""

    def __init__(self, path: Path, evidence: Path) -> None:
        super().__init__(
            f"the ledger {path} is missing or empty, but {evidence} shows earlier runs filed or reported "
            "files: this run stopped rather than start a new ledger that would take archived files for "
            "new ones and shrink the reports. Restore the ledger from a backup, or rebuild it from the "
            "archive with `kpibatch ledger rebuild` (same --out/--ledger/--archive/--rejected options "
            "or config), then run again"
        )
        self.path = path


def _first_file(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d != TAKEN_FOLDER]
        if files:
            return Path(root) / files[0]
    return None


def earlier_output(paths: BatchPaths) -> Path | None:
    """Something only a run with a ledger leaves: an archived or rejected file, or a round's report."""
    for folder in (paths.archive, paths.rejected):
        if (found := _first_file(folder)) is not None:
            return found
    if paths.out.is_dir():
        for results in paths.out.glob("*/results.json"):
            if _GROUP.fullmatch(results.parent.name):
                return results
    return None


def ledger_present(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


def require_ledger(paths: BatchPaths) -> None:
    """Raise ``LedgerMissing`` when the ledger is missing or empty but earlier runs left output."""
    if ledger_present(paths.ledger):
        return
    evidence = earlier_output(paths)
    if evidence is not None:
        raise LedgerMissing(paths.ledger, evidence)


@dataclass(frozen=True)
class Found:
    """An archived file as the archive describes it."""

    path: Path
    status: str  # accepted, rejected, duplicate (from the folder it is in)
    name: str
    received: dt.datetime
    sha256: str
    filed: dt.datetime
    """The time in its name: when the run decided where to file it, in the order it recorded them."""


@dataclass
class Rebuilt:
    ledger: Path
    rows: list[SubmissionRow] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    """What could not be recovered, one line each."""

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)


def _reason_fields(txt: Path) -> dict[str, str]:
    try:
        lines = txt.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    found = {}
    for line in lines[:5]:
        for label, key in ((_TXT_FILE, "name"), (_TXT_RECEIVED, "received")):
            if line.startswith(label):
                found[key] = line[len(label) :].strip()
    return found


def _parse_time(text: str) -> dt.datetime | None:
    for pattern in ("%Y%m%dT%H%M%SZ", "%Y-%m-%dT%H:%M:%SZ"):
        with contextlib.suppress(ValueError):
            return dt.datetime.strptime(text, pattern).replace(tzinfo=dt.UTC)
    return None


def _candidates(paths: BatchPaths) -> Iterator[tuple[Path, str]]:
    """(file, status) for every file the batch files, by the folder it is in."""
    duplicates = paths.archive / "duplicates"
    for root, status in ((paths.archive, "accepted"), (paths.rejected, "rejected")):
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != TAKEN_FOLDER):
            kind = "duplicate" if folder == duplicates else status
            nested = (p for day in sorted(folder.iterdir()) if day.is_dir() for p in day.iterdir())
            files = nested if kind == "duplicate" else folder.iterdir()
            for path in sorted(files):
                if path.is_file() and not path.is_symlink() and not path.name.endswith(REASON_SUFFIX):
                    yield path, kind


def _found(path: Path, status: str, lost: list[str]) -> Found | None:
    match = _FILED.fullmatch(path.name)
    if match is None:
        lost.append(f"{path}: not a name kpibatch files under (<UTC time>-<sha8>-<name>); left out")
        return None
    sha256 = sha256_of(path)
    if not sha256.startswith(match["sha8"]):
        lost.append(f"{path}: its bytes no longer start the SHA-256 its name records; left out")
        return None
    filed = _parse_time(match["stamp"])
    assert filed is not None  # the pattern guarantees the form
    received = filed
    name = match["name"]
    txt = path.with_name(path.name + REASON_SUFFIX)
    if status != "accepted":
        fields = _reason_fields(txt)
        if not fields:
            lost.append(f"{path}: no readable {txt.name}; original name and time taken from the file name")
        name = fields.get("name", name)
        received = _parse_time(fields.get("received", "")) or received
    return Found(path=path, status=status, name=name, received=received, sha256=sha256, filed=filed)


@contextlib.contextmanager
def _under_original_names(stage: Path, found: list[Found]) -> Iterator[dict[Path, Found]]:
    """Each file linked (or copied) under its original name, as the report names it."""
    shutil.rmtree(stage, ignore_errors=True)
    links: dict[Path, Found] = {}
    try:
        for number, item in enumerate(found):
            link = stage / str(number) / item.name
            link.parent.mkdir(parents=True)
            try:
                os.link(item.path, link)
            except OSError:
                shutil.copy2(item.path, link)
            links[link] = item
        yield links
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _row(item: Found, outcome: FileOutcome | None, run_id: int, inbox: Path) -> NewSubmission:
    st = item.path.stat()
    stamp = iso(item.received)
    extra: dict[str, object] = {}
    if outcome is not None:
        if outcome.score is not None:
            sub = outcome.score.submission
            extra = {
                "division": sub.division,
                "division_key": division_key(sub.division),
                "total": str(outcome.score.total) if outcome.score.total is not None else None,
                "scores": division_json(outcome.score),
            }
        elif outcome.division is not None:  # a rejected file's division, as the run records it
            extra = {"division": outcome.division, "division_key": division_key(outcome.division)}
        if outcome.group is not None:
            extra["fiscal_year"], extra["round"] = outcome.group
        extra["problems"] = json.dumps([p.to_dict() for p in outcome.problems], ensure_ascii=False)
    return NewSubmission(
        run_id=run_id,
        file_name=item.name,
        sha256=item.sha256,
        size=st.st_size,
        mtime=st.st_mtime,
        status=item.status,
        received_at=stamp,
        processed_at=stamp,
        source_path=str(inbox / item.name),
        location=str(item.path),
        kept=False,
        filed_at=stamp,
        **extra,  # type: ignore[arg-type]
    )


def rebuild_ledger(configured: Paths, checking: Checking) -> Rebuilt:
    """Write a new ledger from the archive. Raises ``LedgerError`` when a ledger is there already.

    The caller holds the batch lock.
    """
    paths = BatchPaths.of(configured)
    if ledger_present(paths.ledger):
        raise LedgerError(
            f"ledger {paths.ledger} exists and is not empty: move it away first if it is to be rebuilt"
        )
    for suffix in ("", "-wal", "-shm"):  # an empty file and what SQLite kept beside it
        paths.ledger.with_name(paths.ledger.name + suffix).unlink(missing_ok=True)
    rebuilt = Rebuilt(ledger=paths.ledger)
    found = [f for path, status in _candidates(paths) if (f := _found(path, status, rebuilt.lost))]
    found.sort(key=lambda f: (f.filed, f.path.stat().st_mtime, f.name))
    originals = [f for f in found if f.status != "duplicate"]
    outcomes: dict[Path, FileOutcome] = {}
    with _under_original_names(paths.out / ".kpibatch-rebuild", originals) as links:
        for outcome in check_files(list(links), checking):
            outcomes[links[outcome.path].path] = outcome
    started = utc_now()
    with Ledger(paths.ledger) as ledger:
        run_id = ledger.start_run(
            command=REBUILD_COMMAND,
            inbox=str(paths.inbox),
            started=started,
        )
        for item in originals:
            outcome = outcomes[item.path]
            if item.status == "accepted" and outcome.score is None:
                rebuilt.lost.append(
                    f"{item.path}: archived as accepted but no longer passes validation; recorded as "
                    "rejected with today's problems"
                )
                item = replace(item, status="rejected")
            row, _ = ledger.record(_row(item, outcome, run_id, paths.inbox), durable=False)
            rebuilt.rows.append(row)
        for item in (f for f in found if f.status == "duplicate"):
            original = ledger.original_of(item.sha256)
            if original is None:
                rebuilt.lost.append(f"{item.path}: duplicate of a file the archive no longer holds; left out")
                continue
            new = _row(item, None, run_id, paths.inbox)
            fields = {
                "duplicate_of": original.id,
                "division": original.division,
                "division_key": original.division_key,
                "fiscal_year": original.fiscal_year,
                "round": original.round,
            }
            row, _ = ledger.record(replace(new, **fields), durable=False)  # type: ignore[arg-type]
            rebuilt.rows.append(row)
        counts = {status: rebuilt.count(status) for status in ("accepted", "rejected")}
        counts["duplicates"] = rebuilt.count("duplicate")
        ledger.finish_run(run_id, exit_code=0, counts=counts, outputs=[])
    rebuilt.lost += [
        "the history of runs (times, counts, log files, exit codes) before the rebuild",
        "where each file was dropped (the inbox path is assumed) and when it was processed "
        "(the received time is used)",
        "which reports were written and mailed: the next run writes every round's report again",
        "which receipts and reminders were sent: a reminder already sent today can be sent once more",
    ]
    return rebuilt
