"""Coverage-guided fuzzing of the reader with atheris (libFuzzer for Python).

    python -m pip install atheris
    python fuzz/fuzz_reader.py -atheris_runs=20000 -max_len=65536 fuzz/seeds

``fuzz/seeds`` is created from the shipped examples on first use (add any crash file to it). The
custom mutator opens the zip and mutates one part's bytes, so most inputs get past the zip layer to
the XML and the cells; plain byte mutation covers the container itself.

What counts as a bug (an uncaught exception, which libFuzzer reports with the input that caused it):
``precheck`` raising at all; any exception raised by kpibatch's own code while reading, validating or
scoring a file that passed the precheck; an accepted file with a score outside [0, 5]. Exceptions
raised inside openpyxl, zipfile or the XML parser on a damaged file are the expected kind: the
pipeline's last line of defence turns them into a rejection naming their type (tested in
tests/test_precheck.py), so the harness lets them pass.
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import sys
import tempfile
import traceback
import zipfile
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _load() -> None:
    """Import the code under test (inside ``atheris.instrument_imports`` when fuzzing)."""
    global read_submission, precheck, clip_submission, ScoreOptions, score_division, validate
    from kpibatch.read import read_submission
    from kpibatch.read.precheck import precheck
    from kpibatch.safety import clip_submission
    from kpibatch.score import ScoreOptions, score_division
    from kpibatch.validate import validate


SEEDS = Path(__file__).resolve().parent / "seeds"
_WORK: list[Path] = []


def _input_path() -> Path:
    """One file, rewritten for every input (in memory-backed /dev/shm where there is one)."""
    if not _WORK:
        folder = tempfile.mkdtemp(
            prefix="kpibatch-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None
        )
        _WORK.append(Path(folder))
        atexit.register(shutil.rmtree, folder, True)
    return _WORK[0] / "input.xlsx"


def _raised_by_kpibatch(exc: BaseException) -> bool:
    """True when the innermost frame of the traceback is kpibatch's own code (wherever the kpibatch
    in use lives: this checkout, or an installed copy)."""
    import kpibatch

    package = str(Path(kpibatch.__file__).resolve().parent) + os.sep
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and str(Path(frames[-1].filename).resolve()).startswith(package)


def check_input(data: bytes) -> str:
    """Run one input through the reader; raise on a kpibatch bug, else say how it ended."""
    if "precheck" not in globals():
        _load()
    path = _input_path()
    path.write_bytes(data)
    problems = precheck(path)  # must never raise
    if any(p.severity == "error" for p in problems):
        return "rejected-by-precheck"
    try:
        read = read_submission(path)
        sub = read.submission
        if sub is None:
            return "rejected-by-reader"
        sub, _ = clip_submission(sub)
        found = [*read.problems, *validate(sub, read.problems)]
        if any(p.severity == "error" for p in found):
            return "rejected-by-validation"
        score = score_division(sub, ScoreOptions())
    except Exception as exc:
        if _raised_by_kpibatch(exc):
            raise
        return f"library-error:{type(exc).__name__}"
    for value in [score.total, *(k.score for k in score.kpis)]:
        assert value is None or Decimal(0) <= value <= Decimal(5), value
    return "accepted"


def make_seeds() -> None:
    SEEDS.mkdir(exist_ok=True)
    for example in sorted((ROOT / "input_templates" / "examples").glob("*.xlsx")):
        target = SEEDS / example.name
        if not target.exists():
            target.write_bytes(example.read_bytes())


def main() -> None:
    import atheris

    def test_one_input(data: bytes) -> None:
        check_input(data)

    def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
        except Exception:
            return atheris.Mutate(data, max_size)
        if not members or seed % 10 == 0:
            return atheris.Mutate(data, max_size)
        index = seed % len(members)
        name, content = members[index]
        members[index] = (name, atheris.Mutate(content, max(len(content) * 2, 64)))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for member, body in members:
                z.writestr(member, body)
        return out.getvalue()[:max_size]

    make_seeds()
    argv = list(sys.argv)
    if not any(not a.startswith("-") for a in argv[1:]):
        argv.append(str(SEEDS))
    with atheris.instrument_imports(include=["kpibatch", "openpyxl", "zipfile", "defusedxml"]):
        _load()
    atheris.Setup(argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
