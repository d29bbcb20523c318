"""Shared by the tests/test_batch*.py files: division workbooks, settings, and the ledger/folder audit."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from helpers import simple_kpis, write_submission

from kpibatch.batch.files import reason_path, sha256_of
from kpibatch.batch.ledger import Ledger, SubmissionRow
from kpibatch.batch.paths import BatchPaths
from kpibatch.cli import main
from kpibatch.config import Settings, load_settings
from kpibatch.fsutil import TEMP_PREFIX


def division_book(
    path: Path, division: str, score: float = 4.0, *, fiscal_year: int = 2563, round_: int = 12
) -> Path:
    """A valid two-KPI workbook whose total is ``score`` (KPI 2 scores the same)."""
    kpis = simple_kpis({"1": score, "2": score}, {"1": 60, "2": 40})
    return write_submission(path, kpis, division=division, fiscal_year=fiscal_year, round_=round_)


def rejected_book(path: Path, division: str = "กองที่ผิด") -> Path:
    """Top-level weights sum to 90: rejected with a weight-sum error."""
    return write_submission(path, simple_kpis({"1": 4, "2": 4}, {"1": 50, "2": 40}), division=division)


def settings_for(root: Path, **overrides: Any) -> Settings:
    values = {"inbox": root / "inbox", "out": root / "out", "stability_delay": 0, **overrides}
    (root / "inbox").mkdir(parents=True, exist_ok=True)
    return load_settings(overrides=values, environ={}, cwd=root)


def cli(*argv: str | Path) -> tuple[int, str]:
    out = io.StringIO()
    code = main([str(a) for a in argv], out=out)
    return code, out.getvalue()


def results(out: Path, key: str = "2563-r12") -> dict[str, Any]:
    return json.loads((out / key / "results.json").read_text(encoding="utf-8"))


def division_totals(out: Path, key: str = "2563-r12") -> dict[str, float | None]:
    return {d["division"]: d["total"] for d in results(out, key)["divisions"]}


def rows(settings: Settings) -> list[SubmissionRow]:
    with Ledger(BatchPaths.of(settings.paths).ledger) as ledger:
        return ledger.submissions()


def files_under(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]


def digests(paths: Iterable[Path]) -> set[str]:
    return {sha256_of(p) for p in paths}


def audit(settings: Settings, inputs: set[str]) -> list[SubmissionRow]:
    """Every input's bytes exist somewhere, and the ledger and the folders tell the same story."""
    paths = BatchPaths.of(settings.paths)
    kept = files_under(paths.archive, paths.rejected)
    assert not [p for p in kept if p.name.startswith(TEMP_PREFIX)], "half-made copies left behind"
    assert not paths.stage.exists(), "scratch links left behind"
    assert inputs <= digests(kept) | digests(files_under(paths.inbox)), "an input's bytes were lost"
    found = rows(settings)
    filed = {Path(r.location) for r in found if r.status != "missing" and r.location != r.source_path}
    assert {p for p in kept if not p.name.endswith(".txt")} == filed
    for row in found:
        assert row.filed_at is not None, f"#{row.id} {row.file_name} is not filed"
        assert sha256_of(Path(row.location)) == row.sha256
        if row.status in ("rejected", "duplicate") and row.location != row.source_path:
            assert reason_path(Path(row.location)).is_file(), f"#{row.id} has no .txt beside it"
        if row.status == "accepted":
            assert Path(row.location).parent == paths.archive / f"{row.fiscal_year}-r{row.round}"
    return found


def copy_in(source: Path, inbox: Path, name: str | None = None) -> Path:
    return Path(shutil.copy2(source, inbox / (name or source.name)))
