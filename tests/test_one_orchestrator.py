"""``run_batch`` and the drop-folder run share one orchestrator: the same files give the same report.

The drop-folder run adds claiming, filing, the ledger and the lock around it; none of that changes
what a round's report says about a night's files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from batchkit import division_book, rejected_book, settings_for

from kpibatch.batch.runner import run_inbox
from kpibatch.pipeline import inbox_files, run_batch


def comparable(results: Path) -> dict[str, Any]:
    data = json.loads(results.read_text(encoding="utf-8"))
    data.pop("generated_at")
    return data


def test_run_batch_and_the_drop_folder_run_report_the_same(tmp_path: Path) -> None:
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    books = [
        division_book(drafts / "a.xlsx", "กองเอ", 5.0),
        division_book(drafts / "b.xlsx", "กองบี", 3.0),
        rejected_book(drafts / "bad.xlsx"),
    ]
    plain = tmp_path / "plain"
    batch = settings_for(tmp_path / "batch")
    for book in books:
        (plain / "in").mkdir(parents=True, exist_ok=True)
        shutil.copy2(book, plain / "in" / book.name)
        shutil.copy2(book, batch.inbox / book.name)

    direct = run_batch(inbox_files(plain / "in"), plain / "out", batch)
    filed = run_inbox(batch)

    assert direct.exit_code == filed.exit_code == 3
    [one] = direct.outputs
    [other] = filed.outputs
    assert one.group.key == other.group.key == "2563-r12"
    assert comparable(one.results) == comparable(other.results)
    assert sorted(p.name for p in (plain / "in").iterdir()) == [
        "a.xlsx",
        "b.xlsx",
        "bad.xlsx",
    ]  # nothing moved
    assert list(batch.inbox.iterdir()) == []  # the batch filed every file
