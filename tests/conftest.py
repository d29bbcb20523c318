"""Shared fixtures: the shipped examples, the golden seed data, and workbook builders."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import hypothesis
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "input_templates" / "examples"
GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(Path(__file__).resolve().parent))
# Test inboxes are written a moment before each run, so the drop folder's stability wait (10 s by
# default) would only slow the suite down; the stability tests set their own delay.
os.environ.setdefault("KPIBATCH_STABILITY_DELAY", "0")
# How fast examples are made or checked is the machine's business, not a test's: hypothesis' deadline
# and its too-slow health check failed the suite on a busy 2-core machine (hypothesis 6.90).
hypothesis.settings.register_profile(
    "kpibatch", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow]
)
hypothesis.settings.load_profile("kpibatch")
sys.path.append(str(ROOT))  # the hostile-corpus builders in fuzz/ (after an installed kpibatch)


@pytest.fixture(scope="session")
def seed() -> list[dict]:
    return json.loads((GOLDEN / "seed_divisions_2563.json").read_text(encoding="utf-8"))


@pytest.fixture
def examples_inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLES, inbox)
    return inbox
