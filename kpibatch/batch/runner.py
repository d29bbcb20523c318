"""One batch run over the drop folder, in an order that survives being killed at any step.

1. Take the lock (a second run gives up at once) and open a run in the ledger.
2. Finish what a killed run left: a ledger row whose file is not filed yet is completed from wherever
   the bytes are (still in the inbox, or already at the destination); a row whose bytes are nowhere is
   marked ``missing``.
3. Claim the files that have stopped changing (``stability``), hash them, and set aside those whose
   bytes the ledger already holds (duplicates: recorded, never scored twice).
4. Read, validate and score the new files (``pipeline.orchestrate``, the orchestrator ``run_batch``
   uses too); each outcome is filed (step 5) as it arrives.
5. For each file: one transaction writes its ledger row, with the planned destination; then the
   ``.txt`` beside a rejected or duplicate file; then the move (a rename, or copy-then-rename);
   then the row is marked filed. Killed between any two of these, the file is either still in the
   inbox (no row: it is simply claimed again) or the row says where it goes and step 2 finishes.
6. Write the report of every round that received something since its last report (atomic renames),
   then record in the ledger that it is written. Killed before that, the next run writes it again.

Accepted files go to ``archive/<year>-r<round>/``, rejected ones to ``rejected/<local date>/`` and
duplicates to ``archive/duplicates/<local date>/``, each named ``<UTC time>-<sha8>-<original name>``.
In keep-inbox mode the inputs are copied there and stay in the inbox.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from kpibatch.batch.crash import crash_point
from kpibatch.batch.files import (
    file_into,
    free_destination,
    give_back,
    has_bytes,
    holds,
    original_name,
    orphans_taken,
    reason_path,
    remove_scratch,
    sha256_of,
    sync_folder,
    take,
    taken_path,
)
from kpibatch.batch.inbox import Refused, refused_outcome, scan_inbox
from kpibatch.batch.ledger import Ledger, LedgerError, NewSubmission, SubmissionRow, iso, utc_now
from kpibatch.batch.lock import batch_lock
from kpibatch.batch.paths import BatchPaths
from kpibatch.batch.reasons import write_reason
from kpibatch.batch.rebuild import require_ledger
from kpibatch.batch.rounds import RoundWriter
from kpibatch.batch.runlog import file_progress, log, run_log
from kpibatch.batch.stability import Signature, StabilityCheck, settle
from kpibatch.config import Settings
from kpibatch.errors import ExitCode
from kpibatch.fsutil import sweep_temp_files, temp_names_of_run
from kpibatch.model import FileOutcome
from kpibatch.pipeline import GroupOutput, orchestrate, score_options
from kpibatch.problems import FileNotPermitted
from kpibatch.results import division_json, outcome_record
from kpibatch.score import rules_stamp
from kpibatch.text import counted, division_key


@dataclass(frozen=True)
class Claim:
    """A stable inbox file this run has taken: its bytes' hash and how it looked when hashed."""

    path: Path
    sha256: str
    signature: Signature
    received: dt.datetime

    def unchanged(self) -> bool:
        try:
            return Signature.of(self.path) == self.signature
        except FileNotFoundError:
            return False


@dataclass
class Filed:
    """What this run did with one input file."""

    row: SubmissionRow
    outcome: FileOutcome | None = None
    original: SubmissionRow | None = None
    superseded: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.row.file_name

    @property
    def status(self) -> str:
        return self.row.status


@dataclass
class BatchReport:
    run_id: int
    log_file: Path
    keep_inbox: bool
    filed: list[Filed] = field(default_factory=list)
    waiting: list[Path] = field(default_factory=list)
    """Left in the inbox: still being written, or changed while this run read it."""
    recovered: int = 0
    outputs: list[GroupOutput] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    """Inbox entries that cannot be read or named, left where they are (``kpibatch.batch.inbox``)."""

    def _with(self, status: str) -> list[Filed]:
        return [f for f in self.filed if f.status == status]

    @property
    def accepted(self) -> list[Filed]:
        return self._with("accepted")

    @property
    def rejected(self) -> list[Filed]:
        return self._with("rejected")

    @property
    def duplicates(self) -> list[Filed]:
        return self._with("duplicate")

    @property
    def superseded(self) -> int:
        return sum(len(f.superseded) for f in self.filed)

    @property
    def exit_code(self) -> int:
        return ExitCode.of_run(rejected=bool(self.rejected or self.refused))

    def counts(self) -> dict[str, int]:
        return {
            "accepted": len(self.accepted),
            "rejected": len(self.rejected),
            "duplicates": len(self.duplicates),
            "superseded": self.superseded,
            "waiting": len(self.waiting),
            "recovered": self.recovered,
            "refused": len(self.refused),
        }

    def written(self) -> list[dict[str, Any]]:
        return [
            {"group": o.group.key, "workbook": str(o.workbook), "results": str(o.results)}
            for o in self.outputs
        ]

    def summary(self) -> str:
        """The one line a run ends with (and the log, and cron's mail)."""
        c = self.counts()
        line = (
            f"{counted(len(self.filed), 'file')}: {c['accepted']} accepted, {c['rejected']} rejected, "
            f"{counted(c['duplicates'], 'duplicate')}, {c['superseded']} superseded"
        )
        if self.waiting:
            line += f", {len(self.waiting)} waiting"
        if self.refused:
            codes = sorted({r.problem.code for r in self.refused})
            line += f", {len(self.refused)} refused ({', '.join(codes)}; left in the inbox)"
        blanked = [
            p
            for o in self.outputs
            for a in o.group.accepted
            for p in a.problems
            if p.code == "results-blanked"
        ]
        for problem in blanked:
            line += f"; {problem.file}: {problem.message_en}"
        outputs = ", ".join(str(o.workbook) for o in self.outputs) or "no report changed"
        return f"{line}; output: {outputs}"


def run_inbox(
    settings: Settings,
    *,
    progress: TextIO | None = None,
    stability: StabilityCheck | None = None,
    sleep: Callable[[float], None] = time.sleep,
    command: str = "run",
    lock_held: bool = False,
) -> BatchReport:
    """Run the batch once. Raises ``Locked`` at once when another run holds the lock.

    ``stability`` is the watcher's memory of the inbox (no waiting then: files still changing are left
    for its next poll); without it the run waits once, up to the stability delay, for fresh files.
    ``lock_held``: the caller holds the batch lock already, around this run and what it writes after
    it (the mail, a dry run's ``.eml``), so that every output is written under the lock.
    """
    paths = BatchPaths.of(settings.paths)
    with contextlib.nullcontext() if lock_held else batch_lock(paths.lock):
        require_ledger(paths)  # under the lock: a run in progress may be creating it
        try:
            return _run_with_ledger(settings, paths, progress, stability, sleep, command)
        except sqlite3.DatabaseError as exc:  # damaged past what opening it showed
            raise LedgerError(f"ledger {paths.ledger}: {exc}") from exc


def _run_with_ledger(
    settings: Settings,
    paths: BatchPaths,
    progress: TextIO | None,
    stability: StabilityCheck | None,
    sleep: Callable[[float], None],
    command: str,
) -> BatchReport:
    with Ledger(paths.ledger) as ledger:
        started = utc_now()
        run_id = ledger.start_run(
            command=command,
            inbox=str(paths.inbox),
            started=started,
        )
        crash_point("locked")
        # Under the lock no other batch is filing; a temporary file of a process still alive (a
        # command writing outside a batch) is left to it, the rest is a killed run's.
        sweep_temp_files(paths.out, older_than_s=0)
        with (
            temp_names_of_run(run_id),
            run_log(paths.logs, run_id, started, settings.log_level) as log_file,
        ):
            ledger.set_run_log(run_id, str(log_file))
            report = BatchReport(
                run_id=run_id, log_file=log_file, keep_inbox=paths.keeps_inbox(settings.batch)
            )
            batch = _Run(settings, paths, ledger, report, progress)

            try:
                batch.run(stability, sleep)
            except BaseException:
                log.exception("run %s failed", run_id)
                ledger.finish_run(
                    run_id, exit_code=ExitCode.FAILURE, counts=report.counts(), outputs=report.written()
                )
                raise
            log.info("%s", report.summary())
            ledger.finish_run(
                run_id, exit_code=report.exit_code, counts=report.counts(), outputs=report.written()
            )
            return report


FILE_BATCH = 32
"""Checked files recorded, moved and synced together (see ``_Run.file_new``)."""


class _Filing:
    """Files checked claims in batches of ``FILE_BATCH`` as their outcomes arrive, in claim order."""

    def __init__(
        self, run: _Run, claims: list[Claim], done: dict[int, FileOutcome], tick: Callable[[str], None]
    ) -> None:
        self.run = run
        self.claims = iter(claims)
        self.done = done
        """The accepted outcomes filed so far, by submission id (what the round writer reads)."""
        self.tick = tick
        self.batch: list[tuple[Claim, FileOutcome]] = []

    def file(self, outcome: FileOutcome) -> None:
        claim = next(self.claims)  # outcomes arrive in the order of the claims' paths
        crash_point("checked")
        self.batch.append((claim, outcome))
        self.tick(outcome.name)
        if len(self.batch) == FILE_BATCH:
            self.flush()

    def flush(self) -> None:
        self.done.update(self.run.file_new(self.batch))
        self.batch = []


class _Run:
    def __init__(
        self,
        settings: Settings,
        paths: BatchPaths,
        ledger: Ledger,
        report: BatchReport,
        progress: TextIO | None,
    ) -> None:
        self.settings = settings
        self.paths = paths
        self.ledger = ledger
        self.report = report
        self.progress = progress
        self.keep = report.keep_inbox

    def run(self, stability: StabilityCheck | None, sleep: Callable[[float], None]) -> None:
        log.info(
            "run %s: inbox %s%s, archive %s, rejected %s, ledger %s",
            self.report.run_id,
            self.paths.inbox,
            " (kept: inputs are copied)" if self.keep else "",
            self.paths.archive,
            self.paths.rejected,
            self.paths.ledger,
        )
        for row in self.ledger.unfiled():
            self.recover(row)
        self.give_back_orphans()
        crash_point("recovered")
        claims = self.claim(stability, sleep)
        fresh, duplicates = self.split_duplicates(claims)
        # Oldest first, so that of two files of one division the newer is recorded last and counts.
        fresh.sort(key=lambda c: (c.signature.mtime_ns, c.path.name))
        done: dict[int, FileOutcome] = {}
        rounds = RoundWriter(
            self.ledger,
            self.settings.checking,
            self.settings.reporting,
            out=self.paths.out,
            stage=self.paths.stage,
            run_id=self.report.run_id,
            fresh=done,
            now=lambda: dt.datetime.now(dt.UTC).astimezone(),
            refused=[refused_outcome(entry) for entry in self.report.refused],
        )
        with contextlib.ExitStack() as checking:
            filing = _Filing(
                self, fresh, done, checking.enter_context(file_progress(len(fresh), self.progress))
            )

            def rounds_due(_outcomes: list[FileOutcome]) -> list[tuple[int, int]]:
                checking.close()  # the progress bar ends with the last file checked
                filing.flush()
                for claim in duplicates:
                    self.file_duplicate(claim)
                return rounds.rounds_due()

            # The same orchestrator as a plain run_batch; around it, the claims are filed (ledger row,
            # move) as their outcomes arrive, and the rounds written are those the ledger says are due.
            self.report.outputs += orchestrate(
                [c.path for c in fresh],
                self.settings.checking,
                on_file=filing.file,
                groups=rounds_due,
                write=lambda due: rounds.write(*due),
            )

    # --- claiming ----------------------------------------------------------------------------------

    def announce(self, message: str) -> None:
        """Why the run pauses: in the log, and on the terminal of whoever started it."""
        log.info("%s", message)
        if self.progress is not None:
            print(f"{message}...", file=self.progress, flush=True)

    def claim(self, stability: StabilityCheck | None, sleep: Callable[[float], None]) -> list[Claim]:
        candidates, refused = scan_inbox(self.paths.inbox)
        for entry in refused:
            self._refuse(entry)
        if stability is None:
            check = StabilityCheck(self.settings.stability_delay)
            stable, changing = settle(check, candidates, sleep, announce=self.announce)
        else:
            check = stability
            stable, changing = check.observe(candidates)
        for path in changing:
            log.info("left in the inbox, still changing: %s", path.name)
        self.report.waiting += changing
        claims = []
        for path in stable:
            settled = check.signature(path)
            try:
                sha256 = sha256_of(path)
                now = Signature.of(path)
            except FileNotFoundError:
                continue
            except OSError as exc:  # made unreadable since the inbox was scanned
                detail = exc.strerror or type(exc).__name__
                self._refuse(Refused(path, FileNotPermitted(file=path.name, params={"detail": detail})))
                continue
            # The hash must be of the bytes that were seen to settle, not of a write begun since.
            if settled is None or now != settled:
                self._leave(path, "changed while it was read")
                continue
            claims.append(Claim(path=path, sha256=sha256, signature=settled, received=utc_now()))
        return claims

    def split_duplicates(self, claims: list[Claim]) -> tuple[list[Claim], list[Claim]]:
        fresh: list[Claim] = []
        duplicates: list[Claim] = []
        seen: set[str] = set()
        for claim in claims:
            known = claim.sha256 in seen or self.ledger.original_of(claim.sha256) is not None
            (duplicates if known else fresh).append(claim)
            seen.add(claim.sha256)
        return fresh, duplicates

    def _refuse(self, entry: Refused) -> None:
        log.warning("refused, left in the inbox: %s", entry.problem.render())
        self.report.refused.append(entry)

    def _leave(self, path: Path, why: str) -> None:
        log.warning("left in the inbox, %s: %s", why, path.name)
        self.report.waiting.append(path)

    # --- filing ------------------------------------------------------------------------------------

    def _new_row(self, claim: Claim, status: str, location: Path, **fields: object) -> NewSubmission:
        return NewSubmission(
            run_id=self.report.run_id,
            file_name=claim.path.name,
            sha256=claim.sha256,
            size=claim.signature.size,
            mtime=claim.signature.mtime_ns / 1e9,
            status=status,
            received_at=iso(claim.received),
            processed_at=iso(utc_now()),
            source_path=str(claim.path),
            location=str(location),
            kept=self.keep,
            **fields,  # type: ignore[arg-type]
        )

    def file_new(self, batch: list[tuple[Claim, FileOutcome]]) -> dict[int, FileOutcome]:
        """Take, record, move and mark a batch of checked files; the accepted outcomes by submission id.

        Each file is taken out of the inbox and its bytes hashed where they now are (``_take``);
        only then are the rows committed, before any file reaches its destination, and the batch's
        rows reach the disk together with the last one's commit; the moves are synced once per
        folder. A run killed anywhere in between leaves taken files the next run gives back to the
        inbox, or rows it finishes (``recover``), so batching loses nothing and saves two disk syncs
        per file.
        """
        taken: list[tuple[NewSubmission, FileOutcome, bool]] = []
        for claim, outcome in batch:
            new = self._new(claim, outcome)
            if new is not None and (copied := self._take(claim, new)) is not None:
                taken.append((new, outcome, copied))
        recorded: list[tuple[SubmissionRow, FileOutcome, list[int], bool]] = []
        for i, (new, outcome, copied) in enumerate(taken):
            row, replaced = self.ledger.record(new, durable=i == len(taken) - 1)
            crash_point("recorded")
            recorded.append((row, outcome, replaced, copied))
        folders: set[Path] = set()
        for row, _, _, copied in recorded:
            self.put_in_place(row, mark=False, taken=True, copied=copied)
            folders.add(Path(row.location).parent)
        for folder in sorted(folders):
            sync_folder(folder)
        done: dict[int, FileOutcome] = {}
        for row, outcome, replaced, _ in recorded:
            self.ledger.mark_filed(row.id, utc_now())
            crash_point("filed")
            log.info("%s: %s -> %s (#%s)", row.status, row.file_name, row.location, row.id)
            for old in replaced:
                log.info("#%s supersedes #%s for %s", row.id, old, row.division)
            # lean: the run's report keeps a row per file, and the record it holds is on disk already
            filed = Filed(row=self.ledger.get(row.id, lean=True), outcome=outcome, superseded=replaced)
            self.report.filed.append(filed)
            if outcome.accepted:
                done[row.id] = outcome
        return done

    def _new(self, claim: Claim, outcome: FileOutcome) -> NewSubmission | None:
        """The ledger row for a checked file, or None when the file changed since it was claimed."""
        read_sha = outcome.source.sha256 if outcome.source is not None else claim.sha256
        if read_sha != claim.sha256 or not claim.unchanged():
            self._leave(claim.path, "changed while it was read")
            return None
        now = utc_now()
        score = outcome.score
        if score is not None:
            sub = score.submission
            folder = self.paths.archive / f"{sub.fiscal_year}-r{sub.round}"
            extra: dict[str, object] = {
                "division": sub.division,
                "division_key": division_key(sub.division),
                "total": str(score.total) if score.total is not None else None,
                "scores": division_json(score),
            }
        else:
            folder = self.paths.rejected / now.astimezone().date().isoformat()
            extra = {}
        if outcome.group is not None:
            extra["fiscal_year"], extra["round"] = outcome.group
        extra["problems"] = json.dumps([p.to_dict() for p in outcome.problems], ensure_ascii=False)
        extra["record"] = outcome_record(outcome)
        extra["rules"] = rules_stamp(score_options(self.settings.scoring))
        location = free_destination(folder, now, claim.sha256, claim.path.name)
        status = "accepted" if score is not None else "rejected"
        return self._new_row(claim, status, location, **extra)

    def file_duplicate(self, claim: Claim) -> None:
        original = self.ledger.original_of(claim.sha256)
        if original is None or not claim.unchanged():
            self._leave(claim.path, "changed while it was read")
            return
        now = utc_now()
        extra: dict[str, object] = {
            "duplicate_of": original.id,
            "division": original.division,
            "division_key": original.division_key,
            "fiscal_year": original.fiscal_year,
            "round": original.round,
        }
        copied: bool | None = None
        if self.keep:
            # The bytes are already filed under the original; the kept file needs no second copy.
            extra["filed_at"] = iso(now)
            location = claim.path
        else:
            folder = self.paths.archive / "duplicates" / now.astimezone().date().isoformat()
            location = free_destination(folder, now, claim.sha256, claim.path.name)
        new = self._new_row(claim, "duplicate", location, **extra)
        if not self.keep and (copied := self._take(claim, new)) is None:
            return
        row, _ = self.ledger.record(new)
        crash_point("recorded")
        if row.filed_at is None:
            self.put_in_place(row, original, taken=True, copied=copied)
        log.info("duplicate of #%s: %s -> %s (#%s)", original.id, claim.path.name, location, row.id)
        self.report.filed.append(Filed(row=self.ledger.get(row.id, lean=True), original=original))

    def _explains(self, row: SubmissionRow) -> bool:
        return row.status in ("rejected", "duplicate") and row.location != row.source_path

    def _taken_of(self, row: SubmissionRow | NewSubmission) -> Path:
        root = self.paths.rejected if row.status == "rejected" else self.paths.archive
        return taken_path(root, Path(row.location))

    def _take(self, claim: Claim, new: NewSubmission) -> bool | None:
        """Take the claimed file out of the inbox beside its destination and check it is the file
        that was read; True when it was copied (kept inbox, another file system), None when it is
        not the file that was read and went back (or vanished)."""
        taken = self._taken_of(new)
        try:
            copied = take(claim.path, taken, keep=self.keep)
        except FileNotFoundError:
            log.warning("gone from the inbox before it was filed: %s", claim.path.name)
            return None
        crash_point("taken")
        if holds(taken, claim.sha256):
            return copied
        back = give_back(taken, claim.path, copied=copied)
        self._leave(back or claim.path, "replaced while it was filed")
        return None

    def put_in_place(
        self,
        row: SubmissionRow,
        original: SubmissionRow | None = None,
        *,
        mark: bool = True,
        taken: bool = False,
        copied: bool | None = None,
    ) -> None:
        """Explain (rejected and duplicate files), move and, unless ``mark`` is False, mark filed;
        without the mark the caller syncs the folder and marks the row.

        ``taken``: the bytes wait in the row's taken folder (``_take``), else in the inbox (a row
        written before taking existed). ``copied``: they were copied there (None: unknown).
        """
        location, source = Path(row.location), Path(row.source_path)
        if self._explains(row):
            write_reason(reason_path(location), row, original)
            crash_point("explained")
        if taken:
            held = self._taken_of(row)
            file_into(held, location, keep=False, sync=mark)
            if not row.kept and copied is not False and source != location and has_bytes(source, row.sha256):
                source.unlink()  # the second half of a move across file systems
        else:
            file_into(source, location, keep=bool(row.kept), sync=mark)
        crash_point("moved")
        if mark:
            self.ledger.mark_filed(row.id, utc_now())
            crash_point("filed")

    # --- recovery ----------------------------------------------------------------------------------

    def give_back_orphans(self) -> None:
        """Files a killed run took out of the inbox before writing their rows: back to the inbox
        (or dropped, when they were copies of what is still there), to be claimed again."""
        for root in dict.fromkeys((self.paths.archive, self.paths.rejected)):
            for orphan in orphans_taken(root):
                back = give_back(orphan, self.paths.inbox / original_name(orphan))
                log.info("taken by a killed run, back to the inbox: %s -> %s", orphan.name, back or "dropped")

    def recover(self, row: SubmissionRow) -> None:
        """Finish filing a row a killed run wrote, from wherever its bytes are now."""
        location, source = Path(row.location), Path(row.source_path)
        original = self.ledger.get(row.duplicate_of) if row.duplicate_of is not None else None
        if location.parent.is_dir():
            remove_scratch(location.parent)
        held = self._taken_of(row)
        if has_bytes(location, row.sha256):
            if not row.kept and source != location and has_bytes(source, row.sha256):
                source.unlink()  # the second half of a move across file systems
            if self._explains(row) and not reason_path(location).exists():
                write_reason(reason_path(location), row, original)
            self.ledger.mark_filed(row.id, utc_now())
        elif has_bytes(held, row.sha256):
            self.put_in_place(row, original, taken=True)
        elif has_bytes(source, row.sha256):
            held.unlink(missing_ok=True)  # a copy a power cut left incomplete
            self.put_in_place(row, original)
        else:
            log.error(
                "submission #%s (%s): its bytes are neither at %s nor at %s; marked missing",
                row.id,
                row.file_name,
                source,
                location,
            )
            self.ledger.mark_missing(row.id)
            return
        self.report.recovered += 1
        log.info("finished filing #%s (%s) left by run %s", row.id, row.file_name, row.run_id)
