"""Check many workbooks at once: a pool of worker processes, or a Dask cluster, results in input order.

Reading, validating and scoring a file (``checking.check_file``) is independent of every other file,
so it runs in worker processes while the main process only collects what they return. Three
properties matter more than raw speed:

- **Order and flat memory.** Results come back in the order of the input, each as soon as it and
  everything before it is done, and no more than ``window`` files are ever in flight or waiting, so
  memory does not grow with the number of files however uneven their sizes.
- **Isolation.** python-calamine aborts the whole process on some hostile files (a sheet that claims
  A1:XFD1048576), and a file can make a reader run for minutes or exhaust memory. A worker that dies,
  runs past ``Limits.file_seconds`` or hits ``Limits.memory_bytes`` (RLIMIT_AS) turns that one file
  into a rejected ``FileOutcome`` with a Thai and English reason; a fresh worker takes its place and
  the batch goes on. The main process never parses a workbook, which is why ``--jobs 1`` still uses
  one worker.
- **Same results everywhere.** The pool, the Dask route and ``check_file`` called directly give equal
  outcomes; only where the work happens differs.

The pool is pebble's ``ProcessPool`` (docs/decisions/0002-worker-pool.md says why): it runs each task
under a timeout, reports a worker that died with the task it was on, and starts a new worker in its
place. Workers are forked where the platform can fork: a forked worker does not import the caller's
``__main__`` again, so ``run_batch`` works from a plain script with no ``if __name__ == "__main__":``
guard. Where only ``spawn`` exists, a script without that guard is stopped at once with a message
that says what to add (``PoolStartError``).
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import multiprocessing
import os
import re
import sys
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pebble import ProcessExpired, ProcessPool

from kpibatch.checking import check_file
from kpibatch.config import ConfigError
from kpibatch.model import FileOutcome
from kpibatch.problems import CheckCrashed, CheckTimedOut, FileUnreadable, Problem
from kpibatch.read.precheck import Limits as PrecheckLimits
from kpibatch.read.workbook import WorkbookError
from kpibatch.score import ScoreOptions

WINDOW_PER_JOB = 8
"""Files in flight or finished but not yet yielded, per job: the bound on memory. Workers take their
next file from pebble's shared queue as soon as they finish one, so a few files per worker keep every
worker busy while the caller is held up by one slow file."""

RECYCLE_AFTER = 500
"""Files a worker checks before a fresh one replaces it: whatever a reader leaks or fragments in a
long run (or left behind by a file that hit the memory limit) is given back, at the cost of one
fork every few seconds of work."""

SCHEDULER_ADDRESS = re.compile(r"(tcp|tls)://[^\s/:]+(:\d+)?|(tcp|tls)://\[[0-9a-fA-F:]+\](:\d+)?")

OUT_OF_MEMORY = ("หน่วยความจำไม่พอ", "out of memory")

GUARD_ADVICE = (
    "worker processes could not start: on this platform each worker imports the calling script again, "
    "and the script started a batch while being imported. Put the call under "
    'if __name__ == "__main__": in that script.'
)


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


class PoolStartError(ConfigError):
    """The worker processes could not start (see ``GUARD_ADVICE``)."""


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


def check_one(path: Path, options: ScoreOptions, prechecks: PrecheckLimits | None = None) -> FileOutcome:
    """``check_file``, with a sheet that cannot be read rejecting the file instead of stopping the run.

    The reader reports a damaged file when it opens it; a sheet that turns out damaged only when it is
    read raises ``WorkbookError``, which here becomes the same ``file-unreadable`` rejection.
    """
    try:
        return check_file(path, options, prechecks)
    except WorkbookError as exc:
        return failed_outcome(path, FileUnreadable, detail=str(exc))
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as exc:
        # a panic in a native reader (pyo3's PanicException is a BaseException, past check_file's
        # last line of defence): the file is rejected, as when the panic aborts the worker
        detail = f"{type(exc).__name__}: {exc}"
        return crashed(path, f"ตัวอ่านไฟล์ล้มเหลว ({detail})", f"the reader failed ({detail})")


# --- the worker process ---------------------------------------------------------------------------


def _start_worker(memory_bytes: int | None) -> None:
    """Run once in each new worker, before its first file."""
    faulthandler.disable()  # a worker killed by a hostile file is reported as that file's rejection
    if memory_bytes is not None:
        _limit_memory(memory_bytes)


def _limit_memory(extra: int) -> None:
    """Cap the address space at what the worker has now plus ``extra`` bytes.

    A forked worker starts with the main process's address space (the interpreter, the libraries it
    imported, the outcomes collected so far), so an absolute limit would mean different things on
    different machines and at different points of a run; the growth a single file may cause is what
    the limit is about. The heap it inherits may hold memory the main process freed, which the worker
    can fill without growing its address space: that much is taken off the limit, down to a quarter of
    it (a main process that freed more than the whole limit must still leave its workers room to work).
    """
    import resource

    current = 0
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                current = int(line.split()[1]) * 1024
    limit = current + max(extra - free_heap_bytes(), extra // 4)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def free_heap_bytes() -> int:
    """Free bytes inside the C heap (glibc's ``mallinfo2``, 2.33 and later; 0 where it is missing)."""
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except (AttributeError, OSError):
        return 0
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return int(info.fordblks)  # the fast bins' free blocks included


def start_method() -> str:
    """``fork`` where the platform has it: no import of ``__main__`` in the worker, and a worker starts
    in milliseconds with the modules already imported; ``spawn`` elsewhere."""
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def _importing_main_in_a_worker() -> bool:
    """True while a spawned worker runs the caller's script again: multiprocessing runs it as a module
    named ``__mp_main__``, which becomes ``__main__`` only once it has run to the end."""
    again = sys.modules.get("__mp_main__")
    return again is not None and again is not sys.modules.get("__main__")


# --- the local pool -------------------------------------------------------------------------------


class WorkerPool:
    """``jobs`` worker processes checking files; see the module docstring for the guarantees."""

    def __init__(
        self,
        jobs: int,
        options: ScoreOptions,
        limits: Limits | None = None,
        *,
        window: int | None = None,
        prechecks: PrecheckLimits | None = None,
        method: str | None = None,
    ) -> None:
        if jobs < 1:
            raise ValueError("jobs must be at least 1")
        self.jobs = jobs
        self.options = options
        self.prechecks = prechecks
        self.limits = limits or Limits()
        self.window = max(window or WINDOW_PER_JOB * jobs, jobs)
        self.method = method or start_method()
        self.restarts = 0
        """Workers lost to a file (it crashed or ran out of time) and replaced."""

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, files: Iterable[Path]) -> Iterator[FileOutcome]:
        """Check every file; yield the outcomes in the order of ``files``."""
        if _importing_main_in_a_worker():
            raise PoolStartError(GUARD_ADVICE)
        pool = ProcessPool(
            max_workers=self.jobs,
            max_tasks=RECYCLE_AFTER,
            initializer=_start_worker,
            initargs=(self.limits.memory_bytes,),
            context=multiprocessing.get_context(self.method),
        )
        args = (self.options, self.prechecks)
        pending: deque[tuple[Path, Future[FileOutcome]]] = deque()
        paths = iter(files)
        try:
            while True:
                # pull new files only while the window allows, so a slow file cannot pile up results
                while len(pending) < self.window:
                    path = next(paths, None)
                    if path is None:
                        break
                    future = pool.schedule(check_one, (path, *args), timeout=self.limits.file_seconds)
                    pending.append((path, future))
                if not pending:
                    return
                path, future = pending.popleft()
                yield self._outcome(path, future)
        finally:
            for _, future in pending:
                future.cancel()
            pool.stop()
            pool.join()

    def _outcome(self, path: Path, future: Future[FileOutcome]) -> FileOutcome:
        try:
            return future.result()
        except TimeoutError:
            self.restarts += 1
            return failed_outcome(path, CheckTimedOut, seconds=f"{self.limits.file_seconds:g}")
        except ProcessExpired as exc:
            self.restarts += 1
            code = exc.exitcode
            detail = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            return crashed(path, f"ตัวอ่านไฟล์หยุดทำงาน ({detail})", f"the worker stopped ({detail})")
        except MemoryError:
            return crashed(path, *OUT_OF_MEMORY)
        except BrokenProcessPool as exc:
            # every worker died before taking a file: under spawn, the caller's script ran again in
            # each of them; under fork, nothing known does this, so the cause is passed on as it is
            if self.method == "fork":
                raise
            raise PoolStartError(GUARD_ADVICE) from exc
        except Exception as exc:
            trace = getattr(exc, "traceback", "")
            raise WorkerError(f"checking {path.name} failed: {type(exc).__name__}: {exc}\n{trace}") from exc


def check_in_workers(
    files: Iterable[Path],
    options: ScoreOptions,
    jobs: int,
    limits: Limits | None = None,
    *,
    prechecks: PrecheckLimits | None = None,
    method: str | None = None,
) -> Generator[FileOutcome, None, None]:
    """Check ``files`` in ``jobs`` local worker processes, yielding outcomes in input order."""
    pool = WorkerPool(jobs, options, limits, prechecks=prechecks, method=method)
    yield from pool.map(files)


# --- any concurrent.futures executor, and Dask --------------------------------------------------


def check_with_executor(
    files: Iterable[Path],
    options: ScoreOptions,
    executor: Executor,
    *,
    window: int = 64,
    prechecks: PrecheckLimits | None = None,
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
                pending.append((path, executor.submit(check_one, path, options, prechecks)))
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
        yield from check_with_executor(files, options, executor, window=window, prechecks=prechecks)
    finally:
        client.close()


def _cluster_threads(client: Any) -> int:
    with contextlib.suppress(Exception):
        return max(1, sum(client.nthreads().values()))
    return 1


class SchedulerError(ConfigError):
    """The Dask scheduler cannot be used (package missing, bad address, unreachable)."""
