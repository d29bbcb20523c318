"""What a run tells people: a log file per run under the output folder, and a progress bar on a TTY.

The log is for the morning after a nightly run (what was claimed, filed where, what was left in the
inbox and why); the terminal gets only a progress bar, and only when someone is watching.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from kpibatch.batch.files import stamp

LOGGER_NAME = "kpibatch"
log = logging.getLogger(f"{LOGGER_NAME}.batch")
logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())


@contextlib.contextmanager
def run_log(folder: Path, run_id: int, started: dt.datetime, level: str) -> Iterator[Path]:
    """Send the ``kpibatch`` loggers to ``folder/<UTC start>-run<id>.log`` for the run's duration."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stamp(started)}-run{run_id}.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger(LOGGER_NAME)
    previous = logger.level
    logger.setLevel(level.upper())
    logger.addHandler(handler)
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
        handler.close()


@contextlib.contextmanager
def file_progress(total: int, stream: TextIO | None) -> Iterator[Callable[[str], None]]:
    """A bar over ``total`` files on ``stream``; a no-op when ``stream`` is None (no TTY, ``--quiet``)."""
    if stream is None or total == 0:
        yield lambda _name: None
        return
    # rich only when someone watches a terminal: cron and --quiet runs skip its import
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(file=stream, force_terminal=True)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[name]}"),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("checking", total=total, name="")
        yield lambda name: bar.update(task, advance=1, name=name)
