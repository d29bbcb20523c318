"""Shared fixtures: the shipped examples, the golden seed data, and workbook builders."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "input_templates" / "examples"
GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(ROOT))  # the hostile-corpus builders in fuzz/ (after an installed kpibatch)


@pytest.fixture(scope="session")
def seed() -> list[dict]:
    return json.loads((GOLDEN / "seed_divisions_2563.json").read_text(encoding="utf-8"))


@pytest.fixture
def examples_inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLES, inbox)
    return inbox
