"""The pipeline's stages import forward only: import-linter's layers contract in pyproject.toml."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root), "NO_COLOR": "1"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_stages_import_only_earlier_stages() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def test_the_contract_reports_a_stage_that_imports_a_later_one(tmp_path: Path) -> None:
    """The circle issue 15 removed (consolidate importing a writer) breaks the contract again."""
    shutil.copytree(ROOT / "kpibatch", tmp_path / "kpibatch", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    consolidate = tmp_path / "kpibatch" / "consolidate.py"
    consolidate.write_text(
        consolidate.read_text(encoding="utf-8") + "\nfrom kpibatch.write import trend  # noqa: E402\n",
        encoding="utf-8",
    )
    done = lint_imports(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "kpibatch.consolidate -> kpibatch.write.trend" in done.stdout
