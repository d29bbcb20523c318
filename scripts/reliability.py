"""The reliability run of docs/reliability.md, reproduced with one command:

    python scripts/reliability.py                 # builds the corpus in a temporary folder
    python scripts/reliability.py --keep /tmp/rel # keep the inbox and the output to look at

It builds a drop folder holding the six shipped examples and every hostile or broken case (the
dimension bomb, the 20-million-cell file, encrypted, truncated, zip bombs, entity attacks, formula
injection, ...), runs ``kpibatch run`` on it as a separate process, and checks what the issue asks:
the report has the six divisions, every bad file is rejected with its reason, no traceback, every
input file's bytes are still present, and the output holds no formula or external link. Then each
file is checked alone in a process with an address-space limit to record its time and peak memory.
Figures go to docs/figures/reliability.json; exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import pyexpat
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import defusedxml
import openpyxl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fuzz import corpus  # noqa: E402
from fuzz.workbooks import division_rows, score_rows, write_workbook  # noqa: E402

EXAMPLES = ROOT / "input_templates" / "examples"
PAYLOADS = ["=cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0", "-1+1", "@SUM(1)", "{=A1}", "http://evil.example/x"]
PAYLOADS += ['=HYPERLINK("http://evil.example","ดู")', "external:C:\\x.xlsx", "ก\x1fข", "LONG-TEXT"]


def hostile_text() -> bytes:
    """A valid workbook whose division name and KPI texts are formula, DDE and link payloads, control
    characters, and one KPI description of 40,000 characters (crafted: Excel cuts at 32,767)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = write_workbook(
            Path(tmp) / "h.xlsx",
            division_rows("=cmd|' /C calc'!A0", short_name="@SUM(1)"),
            score_rows(PAYLOADS, note=PAYLOADS),
        )
        data = path.read_bytes()
    return corpus.edit_member(
        data, corpus.SHARED_STRINGS, lambda xml: xml.replace(b"LONG-TEXT", "ก".encode() * 40_000)
    )


def cases(source: bytes) -> dict[str, tuple[Callable[[], bytes], str]]:
    """File name -> (builder, the problem code expected; "accepted" for files that must be scored)."""
    example6 = (EXAMPLES / "06_ict_centre.xlsx").read_bytes()
    return {
        "empty.xlsx": (corpus.empty, "file-empty"),
        "csv_renamed.xlsx": (corpus.csv_text, "not-a-workbook"),
        "pdf_renamed.xlsx": (corpus.pdf, "not-a-workbook"),
        "word_renamed.xlsx": (corpus.docx, "not-a-workbook"),
        "old_binary.xls": (corpus.old_xls, "old-format"),
        "old_binary_renamed.xlsx": (corpus.old_xls, "old-format"),
        "spreadsheet.ods": (corpus.ods, "old-format"),
        "encrypted.xlsx": (lambda: corpus.encrypted(source), "workbook-encrypted"),
        "zip_encrypted.xlsx": (lambda: corpus.zip_encrypted_flag(source), "workbook-encrypted"),
        "truncated.xlsx": (lambda: corpus.truncated(source), "zip-truncated"),
        "crc_damaged.xlsx": (lambda: corpus.crc_damaged(source), "zip-damaged"),
        "zip_bomb_members.xlsx": (lambda: corpus.many_members(20_000), "zip-too-many-members"),
        "zip_bomb_ratio.xlsx": (lambda: corpus.ratio_bomb(source, 1024), "zip-too-large"),
        "billion_laughs.xlsx": (lambda: corpus.entity_expansion(source), "xml-entities"),
        "external_entity.xlsx": (lambda: corpus.external_entity(source), "xml-entities"),
        "dimension_bomb.xlsx": (lambda: corpus.dimension_bomb(source), "sheet-dimension-too-large"),
        "far_cell.xlsx": (lambda: corpus.far_cell(source), "sheet-extent-too-large"),
        "cells_20_million.xlsx": (lambda: corpus.many_cells(20_000_000), "zip-too-large"),
        "malformed_xml.xlsx": (lambda: corpus.malformed_sheet(source), "xml-invalid"),
        "bad_shared_string.xlsx": (lambda: corpus.bad_cell(source), "read-failed"),
        "valid_but_named.xls": (lambda: source, "wrong-extension"),
        "macros.xlsm": (lambda: corpus.with_macros(example6), "accepted"),
        "hostile_text.xlsx": (hostile_text, "accepted"),
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def command() -> list[str]:
    script = Path(sys.executable).parent / "kpibatch"
    return [str(script)] if script.exists() else [sys.executable, "-m", "kpibatch"]


def run_measured(args: list[str], cwd: Path, memory_mb: int | None, timeout: float) -> dict[str, Any]:
    """Run a process, returning its exit code, output, wall time and peak memory (from wait4)."""

    def limit() -> None:
        if memory_mb and hasattr(resource, "RLIMIT_AS"):
            resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 2**20, memory_mb * 2**20))

    env = {k: v for k, v in os.environ.items() if not k.startswith("KPIBATCH_")}
    env["PYTHONPATH"] = str(ROOT)
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=err, preexec_fn=limit)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.01)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "returncode": process.returncode,
            "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace"),
            "seconds": round(time.perf_counter() - started, 3),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        }


CHECK_ONE = """
import json, sys, time
from pathlib import Path
from kpibatch.pipeline import check_file
from kpibatch.score import ScoreOptions
started = time.perf_counter()
o = check_file(Path(sys.argv[1]), ScoreOptions())
seconds = time.perf_counter() - started
print(json.dumps({"accepted": o.accepted, "codes": [p.code for p in o.problems], "seconds": seconds}))
"""


def output_is_inert(workbook: Path) -> list[str]:
    """What in the output workbook could run or fetch something (nothing, if all is well)."""
    found = []
    with zipfile.ZipFile(workbook) as z:
        for name in z.namelist():
            data = z.read(name).decode("utf-8", "replace")
            if re.search(r"<f[ >]", data):
                found.append(f"formula in {name}")
            if 'TargetMode="External"' in data or "ddeLink" in data or "externalLink" in name:
                found.append(f"external link in {name}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="build and keep everything in this folder")
    parser.add_argument("--memory-mb", type=int, default=2048, help="address-space limit per file check")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "reliability.json")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="kpibatch-reliability-"))
    inbox, out = work / "inbox", work / "out"
    shutil.rmtree(inbox, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    inbox.mkdir(parents=True)
    source = (EXAMPLES / "01_secretariat.xlsx").read_bytes()
    expected: dict[str, str] = {}
    for example in sorted(EXAMPLES.glob("*.xlsx")):
        shutil.copy2(example, inbox / example.name)
        expected[example.name] = "accepted"
    for name, (build, code) in cases(source).items():
        (inbox / name).write_bytes(build())
        expected[name] = code
    older = (inbox / "06_ict_centre.xlsx").stat().st_mtime - 3600
    os.utime(inbox / "macros.xlsm", (older, older))  # an older copy of 06: superseded, six divisions stay
    (inbox / "~$01_secretariat.xlsx").write_bytes(b"owner lock")  # Excel's lock file: never an input
    digests = {p.name: sha256(p) for p in inbox.iterdir()}
    sizes = {p.name: p.stat().st_size for p in inbox.iterdir()}
    # the run files its inputs away (archive, rejected); the lone checks below use this copy
    alone_dir = work / "alone"
    shutil.rmtree(alone_dir, ignore_errors=True)
    shutil.copytree(inbox, alone_dir)
    # the same bytes as a file claimed before it (in name order) are filed as a duplicate, not checked
    first_of: dict[str, str] = {}
    duplicate_of = {}
    for name in sorted(digests):
        if digests[name] in first_of:
            duplicate_of[name] = first_of[digests[name]]
        else:
            first_of[digests[name]] = name

    run_args = [*command(), "run", "--inbox", str(inbox), "--out", str(out), "--stability-delay", "0"]
    run = run_measured(run_args, work, None, 1800)
    failures: list[str] = []
    if run["returncode"] != 3:
        failures.append(f"kpibatch run exited {run['returncode']}, expected 3 (files rejected)")
    if "Traceback" in run["stderr"] or "Traceback" in run["stdout"]:
        failures.append("a traceback was printed")
    [results_file] = out.glob("*/results.json") or [None]
    results = json.loads(results_file.read_text(encoding="utf-8")) if results_file else {}
    scored = {d["source_file"] for d in results.get("divisions", [])}
    rejected = {r["file"]: r["errors"] for r in results.get("rejected", [])}
    superseded = {s["file"] for s in results.get("superseded", [])}
    examples = {p.name for p in EXAMPLES.glob("*.xlsx")}
    if not examples <= scored:
        failures.append(f"divisions missing from the report: {sorted(examples - scored)}")
    filed_duplicates = {sha256(p) for p in (out / "archive" / "duplicates").rglob("*") if p.is_file()}
    for name, code in expected.items():
        if name in duplicate_of:
            if digests[name] not in filed_duplicates:
                failures.append(f"{name}: same bytes as {duplicate_of[name]}, not filed as a duplicate")
        elif code == "accepted":
            if name not in scored | superseded:
                failures.append(f"{name} should have been accepted")
        elif code not in [e["code"] for e in rejected.get(name, [])]:
            failures.append(f"{name}: expected {code}, got {rejected.get(name)}")
    kept = [inbox, out / "archive", out / "rejected"]  # where an input may be: nothing is deleted
    present = {sha256(p) for folder in kept for p in folder.rglob("*") if p.is_file()}
    lost = sorted(name for name, digest in digests.items() if digest not in present)
    if lost:
        failures.append(f"input bytes lost: {lost}")
    [workbook] = out.glob("*/*.xlsx") or [None]
    inert = output_is_inert(workbook) if workbook else ["no output workbook"]
    failures += inert

    per_file = []
    for name in sorted(expected):
        alone = run_measured(
            [sys.executable, "-c", CHECK_ONE, str(alone_dir / name)], work, args.memory_mb, 300
        )
        outcome = json.loads(alone["stdout"]) if alone["returncode"] == 0 and alone["stdout"] else {}
        per_file.append(
            {
                "file": name,
                "bytes": sizes[name],
                "expected": expected[name],
                "codes": outcome.get("codes"),
                "check_seconds": round(outcome.get("seconds", -1.0), 4),
                "process_seconds": alone["seconds"],
                "peak_rss_mb": alone["peak_rss_mb"],
                "exit": alone["returncode"],
            }
        )
        if alone["returncode"] != 0:
            failures.append(f"{name}: the lone check exited {alone['returncode']}: {alone['stderr'][-300:]}")

    try:
        from importlib.metadata import version

        calamine = version("python-calamine")
    except Exception:
        calamine = "not installed"
    figures = {
        "files_tried": len(expected),
        "accepted": len(scored) + len(superseded & set(expected)),
        "rejected_with_reason": sum(1 for errors in rejected.values() if errors),
        "rejected_without_reason": sum(1 for errors in rejected.values() if not errors),
        "lost": len(lost),
        "tracebacks": int("Traceback" in run["stderr"]),
        "main_process_crashes": int(run["returncode"] not in (0, 3)),
        "run": {k: run[k] for k in ("returncode", "seconds", "peak_rss_mb")},
        "run_stdout": run["stdout"],
        "run_stderr": run["stderr"],
        "per_file": per_file,
        "limits": {"address_space_mb_per_file_check": args.memory_mb, "settings": "kpibatch defaults"},
        "versions": {
            "python": platform.python_version(),
            "openpyxl": openpyxl.__version__,
            "python-calamine": calamine,
            "defusedxml": defusedxml.__version__,
            "expat": pyexpat.EXPAT_VERSION,
        },
        "failures": failures,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"{'file':32} {'bytes':>10} {'outcome':28} {'check s':>8} {'peak MB':>8}")
    for row in per_file:
        outcome = ",".join(row["codes"] or []) or "accepted"
        cells = f"{row['file']:32} {row['bytes']:>10,} {outcome[:28]:28}"
        print(f"{cells} {row['check_seconds']:>8.3f} {row['peak_rss_mb']:>8.0f}")
    print(
        f"kpibatch run: exit {run['returncode']}, {run['seconds']:.1f} s, peak {run['peak_rss_mb']:.0f} MB; "
        f"{figures['files_tried']} files, {figures['accepted']} accepted, "
        f"{figures['rejected_with_reason']} rejected with a reason, {figures['lost']} lost, "
        f"{figures['tracebacks']} tracebacks; figures in {args.out}"
    )
    for failure in failures:
        print(f"FAILED: {failure}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
