"""Division sheets laid out in worker processes and written by the main process, in order.

A division's sheet depends on that division alone, and most of the time spent on it is layout:
measuring text for column widths and row heights, choosing formats, placing page breaks. That part
runs in a pool of forked worker processes while the main process writes the other sheets and then
the laid-out ones. A worker runs the same writer as the main process (``division.write_division_sheet``)
against stand-ins: a ``SheetRecorder`` keeps each public xlsxwriter call on the sheet (and the
workbook's ``define_name``) as plain data, and a ``StyleTable`` hands out ``Style`` records instead
of xlsxwriter formats. The main process replays each ``SheetPlan`` through the same public calls on
a real worksheet, the styles turned into the workbook's formats (``Formats.resolve``), so the
workbook is the one the main process would have written alone (tests/test_write_plan.py holds the
two byte for byte equal).

Workers are forked only where the platform can fork: they inherit the report's divisions instead of
receiving them pickled, and import nothing again. Elsewhere, with one job, or for a small report,
the main process lays out every sheet itself.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from kpibatch.write.context import DivisionPage, ReportContext
from kpibatch.write.styles import Formats, Style

IN_WORKERS_FROM = 50
"""Divisions from which their sheets are laid out in worker processes: below that, starting the
workers costs about what they save."""
CHUNK = 16
"""Division sheets per task: enough to make a task's round trip small beside its work."""
AHEAD_PER_JOB = 2
"""Tasks submitted ahead of the one the main process is writing, per worker: bounds the laid-out
sheets waiting in memory, since the main process writes more slowly than the workers lay out."""

CALLED = frozenset(
    {
        "set_column",
        "merge_range",
        "write_rich_string",
        "write_comment",
        "set_h_pagebreaks",
        "set_print_scale",
        "set_paper",
        "set_landscape",
        "set_portrait",
        "fit_to_pages",
        "set_margins",
        "center_horizontally",
        "hide_gridlines",
        "freeze_panes",
        "set_footer",
    }
)
"""The worksheet methods a division sheet's writer calls besides the cell writes and ``set_row``,
all of them xlsxwriter's public API."""

# What a recorded call is. The cell writes, which are most of a sheet, are kept compact:
# (kind, row, col, value, index of the style in the plan's ``styles``).
NUMBER, STRING, BLANK, ROW, SHEET_CALL, BOOK_CALL = range(6)

Op = tuple[int, Any, Any, Any, Any]


@dataclass
class SheetPlan:
    """Everything a division's sheet writer did, in order, to be done again on a real worksheet."""

    name: str
    styles: list[Style]
    """The formats its calls use, by their index (shared by the plans laid out in one task)."""
    ops: list[Op] = field(default_factory=list)


class SheetRecorder:
    """Stands in for an xlsxwriter worksheet: each public call the writer makes is kept, not done."""

    def __init__(self, plan: SheetPlan) -> None:
        self.name = plan.name
        self._ops = plan.ops

    def get_name(self) -> str:
        return self.name

    def write_number(self, row: int, col: int, number: float, cell_format: Style) -> None:
        self._ops.append((NUMBER, row, col, number, cell_format.index))

    def write_string(self, row: int, col: int, string: str, cell_format: Style) -> None:
        self._ops.append((STRING, row, col, string, cell_format.index))

    def write_blank(self, row: int, col: int, blank: None, cell_format: Style) -> None:
        self._ops.append((BLANK, row, col, blank, cell_format.index))

    def set_row(self, row: int, height: float) -> None:
        self._ops.append((ROW, row, height, None, None))

    def __getattr__(self, method: str) -> Any:
        if method not in CALLED:
            raise AttributeError(f"{method} is not a worksheet call a laid-out sheet can replay")
        ops = self._ops

        def record(*args: Any, **kwargs: Any) -> None:
            ops.append((SHEET_CALL, method, args, kwargs, None))

        return record


class StyleTable:
    """Stands in for the workbook in a worker: formats as ``Style`` records, sheets as recorders."""

    def __init__(self) -> None:
        self.plans: list[SheetPlan] = []
        self.styles: list[Style] = []

    def add_format(self, props: dict[str, Any]) -> Style:
        self.styles.append(Style(tuple(props.items()), len(self.styles)))
        return self.styles[-1]

    def add_worksheet(self, name: str) -> SheetRecorder:
        self.plans.append(SheetPlan(name, self.styles))
        return SheetRecorder(self.plans[-1])

    def define_name(self, name: str, formula: str) -> None:
        self.plans[-1].ops.append((BOOK_CALL, "define_name", (name, formula), {}, None))


PageWriter = Callable[[ReportContext, DivisionPage], Any]


@dataclass(frozen=True)
class LayoutJob:
    """What a worker needs to lay out division sheets; inherited by forking, never pickled."""

    pages: Sequence[DivisionPage]
    context: ReportContext
    write_sheet: PageWriter
    """``division.write_division_sheet``: the writer the main process would run on each page."""


_job: LayoutJob | None = None


def _start_worker(job: LayoutJob) -> None:
    global _job
    _job = job


def lay_out(job: LayoutJob, first: int, stop: int) -> list[SheetPlan]:
    """The plans of pages ``first..stop-1``, laid out by the writer the main process uses."""
    ctx = job.context
    table = StyleTable()
    formats = Formats(table, ctx.formats.font_name, ctx.formats.font_size, ctx.formats.thai_digits)
    local = ReportContext(
        workbook=table,
        formats=formats,
        group=ctx.group,
        generated_at=ctx.generated_at,
        thai_digits=ctx.thai_digits,
        trend=ctx.trend,
    )
    for page in job.pages[first:stop]:
        job.write_sheet(local, page)
    return table.plans


def _lay_out_in_worker(first: int, stop: int) -> list[SheetPlan]:
    assert _job is not None, "the pool's initializer sets the job"
    return lay_out(_job, first, stop)


def replay(ctx: ReportContext, plan: SheetPlan) -> Any:
    """Write a laid-out sheet into ``ctx.workbook``: the recorded calls, in order, with formats."""
    workbook = ctx.workbook
    ws = workbook.add_worksheet(plan.name)
    formats = [ctx.formats.resolve(style) for style in plan.styles]
    number, string, blank, set_row = ws.write_number, ws.write_string, ws.write_blank, ws.set_row
    for kind, a, b, c, d in plan.ops:
        if kind == NUMBER:
            number(a, b, c, formats[d])
        elif kind == STRING:
            string(a, b, c, formats[d])
        elif kind == BLANK:
            blank(a, b, c, formats[d])
        elif kind == ROW:
            set_row(a, b)
        else:
            args = tuple(formats[x.index] if type(x) is Style else x for x in b)
            getattr(ws if kind == SHEET_CALL else workbook, a)(*args, **c)
    return ws


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def laid_out_in_workers(ctx: ReportContext, write_sheet: PageWriter, jobs: int) -> Layouts | None:
    """The plans of ``ctx.pages`` in order, each laid out by ``write_sheet`` in one of ``jobs`` forked
    workers, which start at once; None when the main process should lay them out itself (one job, a
    small report, or no ``fork``)."""
    if jobs < 2 or len(ctx.pages) < IN_WORKERS_FROM or not can_fork():
        return None
    return Layouts(LayoutJob(list(ctx.pages), ctx, write_sheet), jobs)


class Layouts:
    """Division sheets' plans from a pool of forked workers, in order, at most a few tasks ahead.

    Iterate to get them; ``close`` stops the workers (also when not every plan was taken).
    """

    def __init__(self, job: LayoutJob, jobs: int) -> None:
        self._job = job
        self._pool = ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start_worker,
            initargs=(job,),
        )
        count = len(job.pages)
        self._todo = iter([(first, min(first + CHUNK, count)) for first in range(0, count, CHUNK)])
        self._pending: deque[Future[list[SheetPlan]]] = deque()
        for _ in range(jobs * AHEAD_PER_JOB):
            self._submit()
        self._plans = self._collect()

    def _submit(self) -> None:
        for first, stop in self._todo:
            # a worker died: what is not laid out by then is left to this process (``_collect``)
            with contextlib.suppress(BrokenProcessPool):
                self._pending.append(self._pool.submit(_lay_out_in_worker, first, stop))
            return

    def _collect(self) -> Iterator[SheetPlan]:
        done = 0
        while self._pending:
            try:
                plans = self._pending.popleft().result()
            except BrokenProcessPool:
                break  # a worker died (killed, out of memory): this process lays out the rest
            self._submit()
            yield from plans
            done += len(plans)
        self._shutdown()
        if done < len(self._job.pages):
            yield from lay_out(self._job, done, len(self._job.pages))

    def __iter__(self) -> Iterator[SheetPlan]:
        return self._plans

    def _shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        self._plans.close()
        self._shutdown()
