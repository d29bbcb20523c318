"""kpibatch: score divisions' weighted KPI workbooks and write one consolidated Excel report.

The pipeline reads top to bottom: read -> validate -> score -> reallocate -> consolidate -> write
-> deliver. The library API is this module's three functions:

- ``check(path)``: one workbook through reading, validation and scoring (``Checked``);
- ``run(inbox, out, **options)``: what ``kpibatch run`` does, without printing (its report);
- ``load(path)``: scored results as pandas frames, from a ``results.json``, an output folder or a
  ledger (``Results``).

``kpibatch.cli`` is a thin shell around the same code. Each function imports what it needs when it
is called: importing ``kpibatch`` stays cheap, and no stage imports this module back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kpibatch.batch.runner import BatchReport
    from kpibatch.loading import Results
    from kpibatch.model import DivisionScore, SourceFile, Submission
    from kpibatch.problems import Problem

__version__ = "0.1.0"
__all__ = ["Checked", "check", "load", "run"]


@dataclass(frozen=True)
class Checked:
    """One workbook checked as ``kpibatch run`` checks it.

    ``problems``: every error and warning, each naming file, sheet and cell in Thai and English.
    ``submission`` and ``score`` are set when the file is accepted; a rejected file has its
    ``problems`` (and its ``source``, when it could be opened) only.
    """

    path: Path
    source: SourceFile | None
    submission: Submission | None
    score: DivisionScore | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.score is not None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def check(path: str | Path, **options: Any) -> Checked:
    """Read, validate and score one workbook; ``options`` are settings (``floor=1``, ...).

    The workbook is parsed in a worker process, as in a run, so a hostile file cannot take the
    caller down with it.
    """
    from kpibatch.config import load_settings
    from kpibatch.pipeline import check_files

    settings = load_settings(overrides={"jobs": 1, **options})
    [outcome] = list(check_files([Path(path)], settings.checking))
    score = outcome.score
    return Checked(
        path=outcome.path,
        source=outcome.source,
        submission=score.submission if score is not None else None,
        score=score,
        problems=list(outcome.problems),
    )


def run(inbox: str | Path, out: str | Path, **options: Any) -> BatchReport:
    """Run the batch once over ``inbox`` into ``out``, as ``kpibatch run`` does, printing nothing.

    ``options`` are settings by name (``keep_inbox=True``, ``floor=1``, ``jobs=2``, ...; see
    ``kpibatch config``). Files are claimed, scored, filed and recorded in the ledger under the
    batch lock, and each changed round's report is written. No mail is sent: ``kpibatch send
    --run ID`` mails a run's workbooks. Raises ``kpibatch.batch.lock.Locked`` when another run holds
    the lock, ``FileNotFoundError`` when the inbox is missing.
    """
    from kpibatch.batch.lock import batch_lock
    from kpibatch.batch.paths import BatchPaths
    from kpibatch.batch.runner import run_inbox
    from kpibatch.config import load_settings
    from kpibatch.deliver.service import prepare

    settings = load_settings(overrides={**options, "inbox": Path(inbox), "out": Path(out)})
    if not settings.inbox.is_dir():
        raise FileNotFoundError(f"inbox folder not found: {settings.inbox}")
    prepare(settings, email=False, dry_run=False)
    with batch_lock(BatchPaths.of(settings.paths).lock):
        return run_inbox(settings, lock_held=True)


def load(path: str | Path) -> Results:
    """Scored results as frames: ``.divisions`` (one row a division's submission: year, round,
    total, rank, ...) and ``.kpis`` (one row a KPI of a submission).

    ``path`` is a ``results.json``, an output folder (each round's report as written) or a ledger
    file (every accepted submission of every year and round, superseded ones with ``current``
    False). Totals and scores are ``Decimal`` objects, exactly as the scorer rounded them.
    """
    from kpibatch.loading import load_results

    return load_results(Path(path))
