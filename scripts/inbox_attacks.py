"""The drop-folder attacks of issue 17 (items 1, 2, 4, 9), run for the figures in docs/reliability.md:

    python scripts/inbox_attacks.py            # figures to docs/figures/inbox_attacks.json

1. Poisoned night: the six examples, a mode-000 file (read by a child without the capabilities that
   let root bypass permissions), a TIS-620 file name, a TIS-620-named copy of an accepted example, a
   symlink loop and a link to a workbook; ``kpibatch run`` as a separate process.
2. Replace while filing: a thread saves a new version over the inbox file again and again while a
   run files it; after each run every ledger row's bytes must be at its location.
3. Two ``kpibatch run --dry-run`` started together: each must exit 0 or 4 (locked) and every
   ``.eml`` written must be there.
4. Ledger rebuild: the ledger of an archive of generated submissions deleted and rebuilt.

Exit status 1 when a check fails.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fuzz.workbooks import division_rows, score_rows, write_workbook  # noqa: E402
from kpibatch.batch.files import sha256_of  # noqa: E402
from kpibatch.batch.ledger import Ledger  # noqa: E402
from kpibatch.batch.paths import BatchPaths  # noqa: E402
from kpibatch.batch.runner import run_inbox  # noqa: E402
from kpibatch.config import load_settings  # noqa: E402

EXAMPLES = ROOT / "input_templates" / "examples"
FIGURES = ROOT / "docs" / "figures" / "inbox_attacks.json"


def kpibatch(*argv: str, cwd: Path, drop_caps: bool = False, wait: bool = True) -> Any:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def without_bypass() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
            libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP

    preexec = without_bypass if drop_caps and os.geteuid() == 0 else None
    args = [sys.executable, "-m", "kpibatch", *argv]
    if not wait:
        return subprocess.Popen(
            args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, preexec_fn=preexec, check=False
    )


def book(path: Path, division: str, score: int = 4, round_: int = 12) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    names = ["ตัวชี้วัดที่หนึ่ง", "ตัวชี้วัดที่สอง"]
    return write_workbook(path, division_rows(division, round_=round_), score_rows(names, score=[score] * 2))


def poisoned_night(tmp: Path) -> dict[str, Any]:
    inbox, out = tmp / "inbox", tmp / "out"
    inbox.mkdir(parents=True)
    for example in EXAMPLES.glob("*.xlsx"):
        shutil.copy2(example, inbox / example.name)
    locked = shutil.copy2(EXAMPLES / "01_secretariat.xlsx", inbox / "locked.xlsx")
    Path(locked).chmod(0)
    tis = "กองคลัง".encode("tis-620") + b".xlsx"
    with open(os.path.join(os.fsencode(inbox), tis), "wb") as handle:
        handle.write(book(tmp / "d" / "t.xlsx", "กองที").read_bytes())
    copy = "สำเนา".encode("tis-620") + b".xlsx"
    with open(os.path.join(os.fsencode(inbox), copy), "wb") as handle:
        handle.write((EXAMPLES / "05_finance.xlsx").read_bytes())
    os.symlink("loop.xlsx", inbox / "loop.xlsx")
    os.symlink(EXAMPLES / "02_enforcement_appraisal.xlsx", inbox / "link.xlsx")
    started = time.perf_counter()
    done = kpibatch(
        "run", "--inbox", str(inbox), "--out", str(out), "--stability-delay", "0", cwd=tmp, drop_caps=True
    )
    seconds = time.perf_counter() - started
    summary = next((line for line in done.stdout.splitlines() if " files: " in line), "")
    results = json.loads((out / "2563-r12" / "results.json").read_text(encoding="utf-8"))
    refused = sorted(e["code"] for r in results["rejected"] for e in r["errors"])
    return {
        "entries": 12,
        "exit_code": done.returncode,
        "divisions_in_report": len(results["divisions"]),
        "refused_codes_in_results": refused,
        "summary": summary,
        "traceback": "Traceback" in done.stderr,
        "left_in_inbox": len(os.listdir(inbox)),
        "seconds": round(seconds, 2),
        "ok": done.returncode == 3
        and len(results["divisions"]) == 6
        and len(refused) == 5
        and "Traceback" not in done.stderr,
    }


def replace_race(tmp: Path, trials: int) -> dict[str, Any]:
    """One replacement per run, at a moment spread over the last 40 % of the run (where the files are
    filed) from trial to trial, so that some land between the last unchanged-check and the filing."""
    versions = [book(tmp / "v" / f"{i}.xlsx", "กองเอ", score=1 + i) for i in range(2)]
    mismatched = filed = left = 0
    length = 0.0
    for trial in range(-1, trials):  # trial -1 measures how long a run takes
        root = tmp / f"race{trial}"
        settings = load_settings(
            overrides={"inbox": root / "inbox", "out": root / "out", "stability_delay": 0},
            environ={},
            cwd=root,
        )
        settings.inbox.mkdir(parents=True)
        target = settings.inbox / "a.xlsx"
        shutil.copy2(versions[0], target)
        delay = length * (0.6 + 0.4 * trial / trials)  # the filing is the end of the run

        def saver(target: Path = target, delay: float = delay) -> None:
            time.sleep(delay)
            tmp_file = target.with_name("a.tmp")
            shutil.copyfile(versions[1], tmp_file)
            os.replace(tmp_file, target)

        thread = threading.Thread(target=saver)
        started = time.perf_counter()
        if trial >= 0:
            thread.start()
        report = run_inbox(settings)
        if trial < 0:
            length = time.perf_counter() - started
            continue
        thread.join()
        filed += len(report.filed)
        left += len(report.waiting)
        with Ledger(BatchPaths.of(settings.paths).ledger) as ledger:
            for row in ledger.submissions():
                if sha256_of(Path(row.location)) != row.sha256:
                    mismatched += 1
    return {
        "trials": trials,
        "run_seconds": round(length, 3),
        "filed": filed,
        "left_for_next_run": left,
        "archive_ledger_mismatches": mismatched,
        "ok": mismatched == 0,
    }


def dry_run_pairs(tmp: Path, trials: int) -> dict[str, Any]:
    codes: list[list[int]] = []
    lost = 0
    for trial in range(trials):
        root = tmp / f"pair{trial}"
        inbox = root / "inbox"
        inbox.mkdir(parents=True)
        for example in EXAMPLES.glob("*.xlsx"):
            shutil.copy2(example, inbox / example.name)
        env_args = (
            "run",
            "--inbox",
            str(inbox),
            "--out",
            str(root / "out"),
            "--stability-delay",
            "0",
            "--dry-run",
        )
        os.environ["KPIBATCH_MAIL_TO"] = "director@example.go.th"
        first = kpibatch(*env_args, cwd=root, wait=False)
        time.sleep(0.05 * (trial % 4))
        second = kpibatch(*env_args, cwd=root, wait=False)
        pair = []
        for proc in (first, second):
            proc.communicate(timeout=300)
            pair.append(proc.returncode)
        codes.append(pair)
        if 0 in pair and not list((root / "out" / "2563-r12").glob("*.eml")):
            lost += 1
    failed = sum(1 for pair in codes for code in pair if code not in (0, 4))
    return {
        "trials": trials,
        "exit_codes": codes,
        "runs_failed": failed,
        "eml_lost": lost,
        "ok": failed == 0 and lost == 0,
    }


def rebuild(tmp: Path, files: int) -> dict[str, Any]:
    root = tmp / "rebuild"
    settings = load_settings(
        overrides={"inbox": root / "inbox", "out": root / "out", "stability_delay": 0}, environ={}, cwd=root
    )
    settings.inbox.mkdir(parents=True)
    for i in range(files):
        book(
            settings.inbox / f"{i:04d}.xlsx",
            f"กอง {i % (files // 2)}",
            score=1 + i % 5,
            round_=(6, 12)[i % 2],
        )
    run_inbox(settings)
    paths = BatchPaths.of(settings.paths)
    with Ledger(paths.ledger) as ledger:
        before = sorted((r.sha256, r.status, r.superseded_by is None) for r in ledger.submissions())
    for suffix in ("", "-wal", "-shm"):
        paths.ledger.with_name(paths.ledger.name + suffix).unlink(missing_ok=True)
    refused = kpibatch("run", "--inbox", str(settings.inbox), "--out", str(settings.out), cwd=root)
    started = time.perf_counter()
    done = kpibatch("ledger", "rebuild", "--out", str(settings.out), "--inbox", str(settings.inbox), cwd=root)
    seconds = time.perf_counter() - started
    with Ledger(paths.ledger) as ledger:
        after = sorted((r.sha256, r.status, r.superseded_by is None) for r in ledger.submissions())
    return {
        "archived_files": files,
        "run_without_ledger_exit_code": refused.returncode,
        "rebuild_exit_code": done.returncode,
        "rows_same_status_and_currency": before == after,
        "seconds": round(seconds, 2),
        "ok": refused.returncode == 1 and done.returncode == 0 and before == after,
    }


def main() -> int:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        figures = {
            "poisoned_night": poisoned_night(tmp / "p"),
            "replace_while_filing": replace_race(tmp / "r", int(os.environ.get("RACE_TRIALS", "20"))),
            "dry_run_pairs": dry_run_pairs(tmp / "d", 6),
            "ledger_rebuild": rebuild(tmp / "b", 200),
        }
    FIGURES.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0 if all(f["ok"] for f in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
