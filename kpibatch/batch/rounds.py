"""A round's report from the ledger: every division's latest accepted submission.

Each run writes the report of every round that received something (or whose last report a killed run
did not finish). Each division comes from the record the ledger stored when its file was accepted
(``results.division_record``), when the scoring rules and options that made it are the current ones
(``score.rules_stamp``). Only a division whose record is older than the rules, missing or unreadable is
read again from its archived file, under its original name (hard links in a scratch folder, so the
report and ``results.json`` name ``05_finance.xlsx``, not its archive name), its SHA-256 checked against
the ledger; its record is then stored again under the current rules. Files the run has just read from
the inbox are not read a second time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

from kpibatch.batch.crash import crash_point
from kpibatch.batch.files import has_bytes, remove_scratch
from kpibatch.batch.ledger import Ledger, ReportRow, SubmissionRow, iso
from kpibatch.batch.runlog import log
from kpibatch.config import Checking, Reporting
from kpibatch.consolidate import FileOutcome, Group, consolidate, recorded_results, warn_blanked_results
from kpibatch.errors import ArchiveDamaged
from kpibatch.model import SourceFile, Trend, TrendRow
from kpibatch.pipeline import GroupOutput, check_files, score_options, write_group
from kpibatch.results import RecordUnreadable, outcome_record, record_outcome
from kpibatch.score import rules_stamp
from kpibatch.text import division_key


@contextlib.contextmanager
def staged(stage: Path, rows: list[SubmissionRow]) -> Iterator[dict[Path, SubmissionRow]]:
    """Each row's filed file under ``stage/<id>/<original name>``; the scratch folder goes afterwards."""
    shutil.rmtree(stage, ignore_errors=True)
    found: dict[Path, SubmissionRow] = {}
    try:
        for row in rows:
            link = stage / str(row.id) / row.file_name
            link.parent.mkdir(parents=True)
            try:
                os.link(row.location, link)
            except FileNotFoundError as exc:
                raise ArchiveDamaged(row) from exc
            except OSError:  # no hard links here (FAT, some shares): a copy reads the same
                shutil.copy2(row.location, link)
            found[link] = row
        yield found
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _pseudo_outcome(row: SubmissionRow) -> FileOutcome:
    """An earlier, superseded submission as the report lists it: name and hash, not read again."""
    source = SourceFile(
        name=row.file_name, path=row.location, sha256=row.sha256, mtime=row.mtime, size=row.size
    )
    return FileOutcome(path=Path(row.location).with_name(row.file_name), source=source, score=None)


class RoundWriter:
    def __init__(
        self,
        ledger: Ledger,
        checking: Checking,
        reporting: Reporting,
        *,
        out: Path,
        stage: Path,
        run_id: int,
        fresh: dict[int, FileOutcome],
        now: Callable[[], dt.datetime],
        refused: list[FileOutcome] | None = None,
    ) -> None:
        self.ledger = ledger
        self.checking = checking
        self.reporting = reporting
        self.out = out
        self.stage = stage
        self.run_id = run_id
        self.fresh = fresh
        """Outcomes this run read from the inbox, by submission id."""
        self.now = now
        self.refused = refused or []
        """Inbox entries this run could not read or name, listed in every report it writes."""
        self.reread: list[int] = []
        """Submissions whose archived file this writer read again (no current record of them)."""

    def rounds_due(self) -> list[tuple[int, int]]:
        """Stale rounds, and later rounds of the same year whose trend sheet shows a stale one."""
        due = set(self.ledger.stale_rounds())
        reported = self.ledger.reported_rounds()
        for year, round_ in list(due):
            due.update((y, r) for y, r in reported if y == year and r > round_)
        return sorted(due)

    def write(self, fiscal_year: int, round_: int) -> GroupOutput:
        previous = self.ledger.report(fiscal_year, round_)
        last_id = self.ledger.last_filed_id(fiscal_year, round_)
        current = self.ledger.current(fiscal_year, round_)
        since = previous.last_submission_id if previous else 0
        rejected = self.ledger.rejected_since(fiscal_year, round_, since)
        rejected += self.ledger.unplaced_rejected(self.run_id, previous.run_id if previous else 0)
        outcomes = self._outcomes(current + rejected)
        groups = {(g.fiscal_year, g.round): g for g in consolidate(list(outcomes.values()))}
        group = groups.get((fiscal_year, round_)) or Group(
            fiscal_year, round_, rejected=[o for o in outcomes.values() if not o.accepted]
        )
        group.rejected += self.refused
        for row in self.ledger.replaced(fiscal_year, round_):
            newer = outcomes.get(self._latest(row).id)
            if newer is not None and newer.accepted:
                group.superseded.append((_pseudo_outcome(row), newer))
                if row.superseded_by == self._latest(row).id:  # the file the current one replaced
                    record = self.ledger.get(row.id).scores
                    if record is not None:
                        warn_blanked_results(group, newer, row.file_name, recorded_results(record))
        for row in current:
            if not outcomes[row.id].accepted:
                log.warning("archived submission #%s (%s) no longer passes validation", row.id, row.file_name)
        generated_at = self.now()
        remove_scratch(self.out / group.key)  # a killed run's half-written workbook
        output = write_group(
            group, self.out, self.reporting, generated_at, self.trend(group), checkpoint=crash_point
        )
        crash_point("written")
        self.ledger.save_report(
            ReportRow(
                fiscal_year=fiscal_year,
                round=round_,
                last_submission_id=last_id,
                run_id=self.run_id,
                written_at=iso(generated_at),
                workbook=str(output.workbook),
                results=str(output.results),
            )
        )
        crash_point("reported")
        log.info(
            "round %s-r%s: %s divisions, %s superseded, %s rejected -> %s",
            fiscal_year,
            round_,
            len(group.divisions),
            len(group.superseded),
            len(group.rejected),
            output.workbook,
        )
        return output

    def _latest(self, row: SubmissionRow) -> SubmissionRow:
        while row.superseded_by is not None:
            row = self.ledger.get(row.superseded_by)
        return row

    def _outcomes(self, rows: list[SubmissionRow]) -> dict[int, FileOutcome]:
        found = {row.id: self.fresh[row.id] for row in rows if row.id in self.fresh}
        found.update(self._recorded([row for row in rows if row.id not in found]))
        reread = [row for row in rows if row.id not in found]
        self.reread += [row.id for row in reread]
        if not reread:
            return {row.id: found[row.id] for row in rows}
        rules = rules_stamp(score_options(self.checking.scoring))
        with staged(self.stage, reread) as links:
            crash_point("staged")
            for outcome in check_files(list(links), self.checking, for_report=True):
                row = links[outcome.path]
                if outcome.source is not None:
                    same = outcome.source.sha256 == row.sha256
                else:  # unreadable as a workbook: the reader had no hash to give
                    same = has_bytes(outcome.path, row.sha256)
                if not same:
                    raise ArchiveDamaged(row)
                self.ledger.store_record(row.id, rules, outcome_record(outcome))
                found[row.id] = outcome
        return {row.id: found[row.id] for row in rows}

    def _recorded(self, rows: list[SubmissionRow]) -> dict[int, FileOutcome]:
        """The rows whose stored record the current rules made, from that record."""
        rules = rules_stamp(score_options(self.checking.scoring))
        by_id = {row.id: row for row in rows}
        found: dict[int, FileOutcome] = {}
        for row_id, (stamp, record) in self.ledger.records(by_id).items():
            if stamp != rules or record is None:
                continue
            row = by_id[row_id]
            try:
                found[row_id] = record_outcome(record, Path(row.location).with_name(row.file_name))
            except RecordUnreadable as exc:
                log.warning("record of #%s (%s) unreadable, reading its file: %s", row_id, row.file_name, exc)
        return found

    def trend(self, group: Group) -> Trend | None:
        rows = [r for r in self.ledger.year_current(group.fiscal_year) if r.round is not None]
        earlier = sorted({r.round for r in rows if r.round is not None and r.round < group.round})
        if not earlier:
            return None
        table: dict[str, tuple[str, dict[int, Decimal | None]]] = {}
        for score in group.divisions:
            table[division_key(score.division)] = (score.division, {group.round: score.total})
        for row in rows:
            if row.round in earlier and row.division_key is not None:
                _name, totals = table.setdefault(row.division_key, (row.division or "", {}))
                totals[row.round] = Decimal(row.total) if row.total is not None else None
        return Trend(
            fiscal_year=group.fiscal_year,
            rounds=(*earlier, group.round),
            rows=tuple(TrendRow(division=name, totals=totals) for name, totals in table.values()),
        )
