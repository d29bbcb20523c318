"""Check many workbooks at once: a pool of worker processes, or a Dask cluster, results in input order.

Reading, validating and scoring a file (``pipeline.check_file``) is independent of every other file,
so it runs in worker processes while the main process only collects results. Three properties matter
more than raw speed:

- **Order and flat memory.** Results come back in the order of the input, each as soon as it and
  everything before it is done, and no more than ``window`` files are ever in flight or waiting, so
  memory does not grow with the number of files however uneven their sizes.
- **Isolation.** python-calamine aborts the whole process on some hostile files (a sheet that claims
  A1:XFD1048576), and a file can make a reader run for minutes or exhaust memory. A worker that dies,
  runs past ``Limits.file_seconds`` or hits ``Limits.memory_bytes`` (RLIMIT_AS) turns that one file
  into a rejected ``FileOutcome`` with a Thai and English reason; the worker is replaced and the batch
  goes on. The main process never parses a workbook, which is why ``--jobs 1`` still uses one worker.
- **Same results everywhere.** The pool, the Dask route and ``check_file`` called directly give equal
  outcomes; only where the work happens differs.

Workers are forked where the platform allows it (they inherit the imported modules, so a worker starts
in milliseconds instead of re-importing pandas), and started with ``forkserver`` or ``spawn`` when the
main process already runs other threads (forking a threaded process can deadlock the child) or when a
memory limit is set (see ``_context``).
"""

from __future__ import annotations

import contextlib
import copyreg
import dataclasses
import faulthandler
import gc
import io
import multiprocessing
import os
import pickle
import re
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from decimal import Decimal
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from kpibatch.config import ConfigError
from kpibatch.consolidate import FileOutcome
from kpibatch.model import KpiScore
from kpibatch.pipeline import check_file
from kpibatch.problems import CheckCrashed, CheckTimedOut, FileUnreadable, Problem
from kpibatch.read.precheck import Limits as PrecheckLimits
from kpibatch.read.workbook import WorkbookError
from kpibatch.score import ScoreOptions
from kpibatch.write.built import SheetStyle

PREFETCH = 4
"""Files handed to a worker ahead, so that it has work while the main process is busy elsewhere:
the batch runner files outcomes 32 at a time (some 20 ms), longer than two files take a worker
(about 13 ms); with two ahead, workers stood idle for 7 of 40 s at N = 10000 (read from /proc),
with four, 5-6 s, the rest being the main process's own share of the two cores."""

WINDOW_PER_JOB = 8
"""Files in flight or finished but not yet yielded, per job: the bound on memory."""

SCHEDULER_ADDRESS = re.compile(r"(tcp|tls)://[^\s/:]+(:\d+)?|(tcp|tls)://\[[0-9a-fA-F:]+\](:\d+)?")

FREEZE_EVERY = 256
"""Outcomes between two ``gc.freeze()`` calls in the main process (see ``WorkerPool.map``)."""

OUT_OF_MEMORY = ("หน่วยความจำไม่พอ", "out of memory")


Tasks = deque[tuple[int, Path]]
"""(position in the input, path) of files waiting for a worker or queued in one."""


@dataclass(frozen=True)
class Limits:
    """What one file may cost before it is rejected instead of checked. None means no limit."""

    file_seconds: float | None = None
    """Wall time for reading, validating and scoring one file in a worker."""
    memory_bytes: int | None = None
    """Address space a worker may add to what it starts with (``RLIMIT_AS``); a file that needs
    more is rejected."""


class WorkerError(RuntimeError):
    """``check_file`` raised an unexpected exception in a worker (a bug, not a bad file)."""


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def failed_outcome(path: Path, kind: type[Problem], **params: Any) -> FileOutcome:
    """A rejected outcome for a file whose check did not finish: no source, no group."""
    return FileOutcome(
        path=path, source=None, score=None, problems=[kind(file=path.name, params=params)], group=None
    )


def crashed(path: Path, detail_th: str, detail_en: str) -> FileOutcome:
    return failed_outcome(path, CheckCrashed, detail_th=detail_th, detail_en=detail_en)


def check_one(
    path: Path,
    options: ScoreOptions,
    prechecks: PrecheckLimits | None = None,
    sheet: SheetStyle | None = None,
) -> FileOutcome:
    """``check_file``, with a sheet that cannot be read rejecting the file instead of stopping the run.

    The reader reports a damaged file when it opens it; a sheet that turns out damaged only when it is
    read raises ``WorkbookError``, which here becomes the same ``file-unreadable`` rejection.
    """
    try:
        return check_file(path, options, prechecks, sheet)
    except WorkbookError as exc:
        return failed_outcome(path, FileUnreadable, detail=str(exc))


# --- the worker process ---------------------------------------------------------------------------

_decimals: dict[str, Decimal] = {}


def shared_decimal(text: str) -> Decimal:
    """One Decimal object per distinct spelling in the main process (they are immutable).

    Every division repeats the same weights, levels and scores (5, 80, 4.0000...), and each
    outcome otherwise arrives with its own copies: sharing them keeps about a sixth of an
    outcome's memory, which is what grows with N in the main process.
    """
    found = _decimals.get(text)
    if found is None:
        found = _decimals[text] = Decimal(text)
    return found


def _reduce_decimal(value: Decimal) -> tuple[Any, tuple[str]]:
    return shared_decimal, (str(value),)


_texts: dict[str | None, str | None] = {}


_KPI_FIELDS = tuple(f.name for f in dataclasses.fields(KpiScore))


def shared_kpi(
    code: str,
    name: str,
    parent: str | None,
    depth: int,
    weight: Decimal,
    effective_weight: Decimal | None,
    score: Decimal | None,
    status: str | None,
    result: Decimal | None,
    unit: str | None,
    method: str | None,
    levels: tuple[Decimal | None, ...],
    self_result: Decimal | None,
    self_score: Decimal | None,
    note: str | None,
    has_children: bool,
    verified_result: Decimal | None,
) -> KpiScore:
    """A scored KPI whose texts are one object per distinct text in the main process.

    Divisions repeat the same codes, units, methods and statuses, and the KPIs they share (the
    comparison sheet's columns) by name too; an outcome otherwise arrives with its own copies.
    The fields are spelt out (a test checks they are ``KpiScore``'s): this runs for every KPI of
    every division, and a loop over them took twice as long.
    """
    share = _texts.setdefault
    return KpiScore(
        share(code, code),
        share(name, name),
        share(parent, parent),  # type: ignore[arg-type]
        depth,
        weight,
        effective_weight,
        score,
        share(status, status),  # type: ignore[arg-type]
        result,
        share(unit, unit),  # type: ignore[arg-type]
        share(method, method),  # type: ignore[arg-type]
        levels,
        self_result,
        self_score,
        share(note, note),  # type: ignore[arg-type]
        has_children,
        verified_result,
    )


def _reduce_kpi(kpi: KpiScore) -> tuple[Any, tuple[Any, ...]]:
    return shared_kpi, tuple(getattr(kpi, name) for name in _KPI_FIELDS)


_DISPATCH = copyreg.dispatch_table.copy()
_DISPATCH[Decimal] = _reduce_decimal
_DISPATCH[KpiScore] = _reduce_kpi


def dumps(value: object) -> bytes:
    """Pickle a worker's answer, with Decimals and scored KPIs rebuilt through ``shared_decimal``
    and ``shared_kpi``."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _DISPATCH
    pickler.dump(value)
    return buffer.getvalue()


def _worker_main(
    conn: Connection,
    options: ScoreOptions,
    limits: Limits,
    prechecks: PrecheckLimits | None = None,
    sheet: SheetStyle | None = None,
) -> None:
    """Check the files sent on ``conn`` one by one until ``None`` arrives."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    faulthandler.disable()  # a worker killed by a hostile file is reported as that file's rejection
    if limits.memory_bytes is not None:
        _limit_memory(limits.memory_bytes)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        index, path = task
        status, value = "ok", None
        try:
            value = check_one(path, options, prechecks, sheet)
        except MemoryError:
            status = "oom"
        except Exception as exc:
            status, value = "error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
        try:
            data = dumps((index, status, value))
        except MemoryError:
            status, value = "oom", None
            data = pickle.dumps((index, status, value))
        value = None
        conn.send_bytes(data)
        if status == "oom":
            return  # a worker that ran out of memory may be left fragmented; the pool starts a fresh one


def _limit_memory(extra: int) -> None:
    """Cap the address space at what the worker has now plus ``extra`` bytes.

    A forked worker starts with the main process's address space (about 200 MB of mostly shared
    libraries once pandas is imported), so an absolute limit would mean different things on different
    machines; the growth a single file may cause is what the limit is about.
    """
    import resource

    current = 0
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                current = int(line.split()[1]) * 1024
    limit = current + extra
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _context(limits: Limits) -> multiprocessing.context.BaseContext:
    """fork: fast, and the worker shares the modules already imported. Not when other threads run
    (a forked child can inherit a lock one of them held), nor under a memory limit: a forked worker
    also inherits the main process's free heap, which it could fill without growing past its limit."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1 and limits.memory_bytes is None:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["kpibatch.parallel", "kpibatch.write.division"])
        return context
    return multiprocessing.get_context("spawn")


@dataclass
class _Worker:
    process: Any
    conn: Connection
    tasks: Tasks = field(default_factory=deque)
    started: float = 0.0
    """When the first task in ``tasks`` began (monotonic seconds)."""


class WorkerPool:
    """``jobs`` worker processes checking files; see the module docstring for the guarantees."""

    def __init__(
        self,
        jobs: int,
        options: ScoreOptions,
        limits: Limits | None = None,
        *,
        window: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        prechecks: PrecheckLimits | None = None,
        sheet: SheetStyle | None = None,
    ) -> None:
        if jobs < 1:
            raise ValueError("jobs must be at least 1")
        self.jobs = jobs
        self.options = options
        self.prechecks = prechecks
        self.sheet = sheet
        self.limits = limits or Limits()
        self.window = max(window or WINDOW_PER_JOB * jobs, jobs * PREFETCH)
        self.clock = clock
        self.restarts = 0
        self.freeze_every = FREEZE_EVERY
        self._context = _context(self.limits)
        self._workers: list[_Worker] = []

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- worker lifecycle

    def _start(self) -> _Worker:
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_worker_main,
            args=(theirs, self.options, self.limits, self.prechecks, self.sheet),
            daemon=True,
            name="kpibatch-worker",
        )
        process.start()
        theirs.close()
        worker = _Worker(process=process, conn=ours)
        self._workers.append(worker)
        return worker

    def _stop(self, worker: _Worker, *, kill: bool) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
        if kill:
            with contextlib.suppress(OSError, ValueError):
                worker.process.kill()
        else:
            with contextlib.suppress(OSError, ValueError, BrokenPipeError):
                worker.conn.send(None)
        worker.process.join(timeout=None if kill else 5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.conn.close()
        with contextlib.suppress(ValueError):
            worker.process.close()

    def close(self) -> None:
        for worker in list(self._workers):
            self._stop(worker, kill=bool(worker.tasks))

    # --- the batch

    def map(self, files: Iterable[Path]) -> Iterator[FileOutcome]:
        """Check every file; yield the outcomes in the order of ``files``."""
        todo: Tasks = deque()
        source = enumerate(files)
        exhausted = False
        done: dict[int, FileOutcome] = {}
        next_out = 0
        taken = 0  # indexes handed out from ``source`` so far
        # The caller keeps every outcome until the run ends (consolidation needs them all), and the
        # cyclic collector would walk all of them again at each full collection: about a tenth of the
        # main process's time at N = 5000. Freezing them as they accumulate takes them out of its
        # sight; they are unfrozen at the end, unless someone else had frozen objects already.
        freeze = gc.isenabled() and gc.get_freeze_count() == 0

        try:
            while True:
                while next_out in done:
                    yield done.pop(next_out)
                    next_out += 1
                    if freeze and next_out % self.freeze_every == 0:
                        gc.freeze()
                # pull new files only while the window allows, so a slow file cannot pile up results
                while not exhausted and taken < next_out + self.window:
                    item = next(source, None)
                    if item is None:
                        exhausted = True
                        break
                    todo.append(item)
                    taken += 1
                self._dispatch(todo)
                busy = [w for w in self._workers if w.tasks]
                if not busy:
                    if exhausted and not todo:
                        return
                    continue
                self._collect(busy, done, todo)
        finally:
            self.close()
            if freeze:
                gc.unfreeze()

    def _dispatch(self, todo: Tasks) -> None:
        """Hand files to idle workers first, then start workers up to ``jobs``, then prefetch."""
        while todo:
            worker = next((w for w in self._workers if not w.tasks), None)
            if worker is None and len(self._workers) < self.jobs:
                worker = self._start()
            if worker is None:
                worker = min(
                    (w for w in self._workers if len(w.tasks) < PREFETCH),
                    key=lambda w: len(w.tasks),
                    default=None,
                )
            if worker is None:
                return
            task = todo.popleft()
            if not worker.tasks:
                worker.started = self.clock()
            try:
                worker.conn.send(task)
            except (BrokenPipeError, OSError):
                todo.appendleft(task)  # the worker died before taking it: no fault of this file
                self._replace(worker, todo)
                continue
            worker.tasks.append(task)

    def _deadline(self, busy: list[_Worker]) -> float | None:
        if self.limits.file_seconds is None:
            return None
        first = min(w.started for w in busy)
        return max(0.0, first + self.limits.file_seconds - self.clock())

    def _collect(self, busy: list[_Worker], done: dict[int, FileOutcome], todo: Tasks) -> None:
        by_handle: dict[Any, _Worker] = {}
        for worker in busy:
            by_handle[worker.conn] = worker
            by_handle[worker.process.sentinel] = worker
        ready = wait(list(by_handle), timeout=self._deadline(busy))
        seen: set[int] = set()
        for handle in ready:
            worker = by_handle[handle]
            if id(worker) in seen:
                continue
            seen.add(id(worker))
            self._receive(worker, done, todo)
        if self.limits.file_seconds is not None:
            now = self.clock()
            for worker in busy:
                if (
                    worker in self._workers
                    and worker.tasks
                    and now - worker.started >= self.limits.file_seconds
                ):
                    index, path = worker.tasks.popleft()
                    done[index] = failed_outcome(path, CheckTimedOut, seconds=f"{self.limits.file_seconds:g}")
                    self._replace(worker, todo)

    def _receive(self, worker: _Worker, done: dict[int, FileOutcome], todo: Tasks) -> None:
        """Take every result the worker has sent; if it died, reject the file it was on."""
        while worker.tasks:
            try:
                if not worker.conn.poll():
                    break
                index, status, value = pickle.loads(worker.conn.recv_bytes())
            except (EOFError, OSError, pickle.UnpicklingError):
                break
            _, path = worker.tasks.popleft()
            worker.started = self.clock()
            if status == "ok":
                done[index] = value
            elif status == "oom":
                done[index] = crashed(path, *OUT_OF_MEMORY)
                self._replace(worker, todo)
                return
            else:
                self._stop(worker, kill=True)
                raise WorkerError(f"checking {path.name} failed: {value}")
        if worker.tasks and not worker.process.is_alive():
            index, path = worker.tasks.popleft()
            code = worker.process.exitcode
            detail = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            done[index] = crashed(path, f"ตัวอ่านไฟล์หยุดทำงาน ({detail})", f"the worker stopped ({detail})")
            self._replace(worker, todo)

    def _replace(self, worker: _Worker, todo: Tasks) -> None:
        """Kill ``worker``; the files queued behind the culprit go back to the front of ``todo``."""
        todo.extendleft(reversed(worker.tasks))
        worker.tasks.clear()
        self._stop(worker, kill=True)
        self.restarts += 1


def check_in_workers(
    files: Iterable[Path],
    options: ScoreOptions,
    jobs: int,
    limits: Limits | None = None,
    *,
    prechecks: PrecheckLimits | None = None,
    sheet: SheetStyle | None = None,
) -> Generator[FileOutcome, None, None]:
    """Check ``files`` in ``jobs`` local worker processes, yielding outcomes in input order."""
    with WorkerPool(jobs, options, limits, prechecks=prechecks, sheet=sheet) as pool:
        yield from pool.map(files)


# --- any concurrent.futures executor, and Dask --------------------------------------------------


def check_with_executor(
    files: Iterable[Path],
    options: ScoreOptions,
    executor: Executor,
    *,
    window: int = 64,
    prechecks: PrecheckLimits | None = None,
    sheet: SheetStyle | None = None,
) -> Iterator[FileOutcome]:
    """Check ``files`` through ``executor.submit``, at most ``window`` at a time, in input order.

    Works with any ``concurrent.futures.Executor``, including the one a Dask ``distributed.Client``
    hands out. A task whose worker died for good (Dask gives up after retrying elsewhere) becomes a
    rejected outcome, as in the local pool.
    """
    pending: deque[tuple[Path, Future[FileOutcome]]] = deque()
    paths = iter(files)
    try:
        while True:
            while len(pending) < window:
                path = next(paths, None)
                if path is None:
                    break
                pending.append((path, executor.submit(check_one, path, options, prechecks, sheet)))
            if not pending:
                return
            path, future = pending.popleft()
            try:
                yield future.result()
            except Exception as exc:
                if type(exc).__name__ != "KilledWorker":
                    raise
                yield crashed(path, f"เครื่องประมวลผลหยุดทำงาน ({exc})", f"the cluster worker died ({exc})")
    finally:
        for _, future in pending:
            future.cancel()


def check_on_cluster(
    files: Iterable[Path],
    options: ScoreOptions,
    address: str,
    *,
    timeout: str = "10s",
    prechecks: PrecheckLimits | None = None,
    sheet: SheetStyle | None = None,
) -> Generator[FileOutcome, None, None]:
    """Check ``files`` on the Dask cluster whose scheduler listens at ``address`` (``tcp://HOST:PORT``).

    The cluster's workers must see the files at the same paths (a shared folder) and have kpibatch
    installed. Needs the optional ``distributed`` package (``pip install 'kpibatch[dask]'``).
    """
    if not SCHEDULER_ADDRESS.fullmatch(address):
        raise SchedulerError(f"scheduler address {address!r} is not like tcp://HOST:PORT")
    try:
        from distributed import Client
    except ImportError as exc:
        raise SchedulerError(
            "--scheduler needs the optional 'distributed' package: pip install 'kpibatch[dask]'"
        ) from exc
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    try:
        executor = client.get_executor(pure=False)
        window = max(64, 8 * _cluster_threads(client))
        yield from check_with_executor(
            files, options, executor, window=window, prechecks=prechecks, sheet=sheet
        )
    finally:
        client.close()


def _cluster_threads(client: Any) -> int:
    with contextlib.suppress(Exception):
        return max(1, sum(client.nthreads().values()))
    return 1


class SchedulerError(ConfigError):
    """The Dask scheduler cannot be used (package missing, bad address, unreachable)."""
