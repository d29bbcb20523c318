"""The code stays ruff-clean (lint and format), as the project's standards ask."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import ROOT


def ruff() -> list[str]:
    found = shutil.which("ruff") or str(__import__("pathlib").Path(sys.executable).parent / "ruff")
    if not __import__("pathlib").Path(found).exists():
        pytest.skip("ruff is not installed (it is in the test extra)")
    return [found]


def test_ruff_check() -> None:
    result = subprocess.run([*ruff(), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = subprocess.run([*ruff(), "format", "--check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
