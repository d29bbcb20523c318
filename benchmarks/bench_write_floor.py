"""What writing the report costs, stage by stage, in one process: how much of it is xlsxwriter's own.

Checks an inbox's workbooks (in workers, as a run does), consolidates them, then times in this
process, one after the other:

- ``layout``: laying out every division's sheet (``kpibatch.write.plan.lay_out``), xlsxwriter not
  called: measuring text, choosing formats, placing page breaks;
- ``xlsxwriter calls``: a fresh workbook, one ``add_worksheet`` per division and every recorded
  public call replayed on it (``write_string``/``write_number``/``write_blank``/``set_row``/...);
- ``xlsxwriter close``: the same workbook's ``close()``, which assembles and zips the XML;
- ``other sheets``: ``write_report`` with every sheet but the divisions' (overview, comparison,
  trend, issues), in this process: what comes on top of the division sheets after scoring;
- ``write_report``: the whole workbook as a run writes it (every sheet), with ``--jobs`` layout
  workers;
- ``results.json`` and ``report.html``.

The two xlsxwriter lines are the least any writer of this workbook through xlsxwriter's public API
pays, in one process and after every division is scored (the report's ranks need them all); they
are what ``docs/decisions/0013-speed-targets.md`` compares the speed targets with.

    python benchmarks/bench_write_floor.py INBOX [--jobs 2] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import xlsxwriter

from kpibatch.config import load_settings
from kpibatch.consolidate import consolidate
from kpibatch.deliver.report import write_report_html
from kpibatch.pipeline import check_files, inbox_files
from kpibatch.results import group_dict, write_results
from kpibatch.write import DEFAULT_SHEETS, WORKBOOK_OPTIONS, division_pages, write_report
from kpibatch.write.context import ReportContext
from kpibatch.write.division import DivisionSheets, write_division_sheet
from kpibatch.write.plan import BLANK, NUMBER, STRING, LayoutJob, SheetPlan, lay_out, replay
from kpibatch.write.styles import Formats


def best(repeat: int, step: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: Sequence[str] | None = None) -> list[tuple[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("inbox", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--keep", type=Path, help="write floor.xlsx and report.xlsx here (default: a temporary folder)"
    )
    args = parser.parse_args(argv)

    settings = load_settings()
    start = time.perf_counter()
    outcomes = list(check_files(inbox_files(args.inbox), settings.checking, for_report=True))
    checked = time.perf_counter() - start
    [group] = consolidate(outcomes)
    style = settings.reporting.style
    now = dt.datetime(2026, 12, 3, 12, 0)
    work = args.keep or Path(tempfile.mkdtemp(prefix="kpibatch-floor-"))
    work.mkdir(parents=True, exist_ok=True)

    def context(workbook: object) -> ReportContext:
        formats = Formats(workbook, style.font_name, style.font_size, style.thai_digits)
        ctx = ReportContext(workbook, formats, group, now, style.thai_digits)
        ctx.pages = division_pages(group, [])
        return ctx

    plans: list[SheetPlan] = []

    def layout() -> None:
        ctx = context(None)
        plans[:] = lay_out(LayoutJob(ctx.pages, ctx, write_division_sheet), 0, len(ctx.pages))

    tries: list[tuple[float, float]] = []
    """Each try of the xlsxwriter-only workbook: (the calls, ``close``)."""

    def xlsxwriter_only() -> None:
        book = xlsxwriter.Workbook(str(work / "floor.xlsx"), {**WORKBOOK_OPTIONS, "in_memory": True})
        ctx = context(book)
        start = time.perf_counter()
        for plan in plans:
            replay(ctx, plan)
        written = time.perf_counter()
        book.close()
        tries.append((written - start, time.perf_counter() - written))

    def other_sheets() -> None:
        others = [sheet for sheet in DEFAULT_SHEETS if not isinstance(sheet, DivisionSheets)]
        write_report(group, work / "others.xlsx", style, now, sheets=others, jobs=1)

    def report() -> None:
        write_report(group, work / "report.xlsx", style, now, jobs=args.jobs)

    data = group_dict(group, now)
    rows = [
        ("check (workers)", checked),
        ("layout", best(args.repeat, layout)),
    ]
    best(args.repeat, xlsxwriter_only)
    calls, close = min(tries, key=sum)  # both from the fastest try
    rows += [
        ("xlsxwriter calls", calls),
        ("xlsxwriter close", close),
        ("other sheets", best(args.repeat, other_sheets)),
        (f"write_report (--jobs {args.jobs})", best(args.repeat, report)),
        ("results.json", best(args.repeat, lambda: write_results(work / "results.json", data))),
        (
            "report.html",
            best(
                args.repeat,
                lambda: write_report_html(
                    work / "report.xlsx", data, style, settings.reporting.mail, settings.reporting.divisions
                ),
            ),
        ),
    ]
    cells = sum(1 for plan in plans for op in plan.ops if op[0] in (NUMBER, STRING, BLANK))
    print(f"{len(group.divisions)} divisions, {len(plans)} division sheets, {cells} division-sheet cells")
    print("| step | seconds |\n| --- | ---: |")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} |")
    return rows


if __name__ == "__main__":
    main()
