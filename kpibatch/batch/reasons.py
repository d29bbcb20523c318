"""The ``.txt`` beside a rejected or duplicate file: what was wrong, in Thai and English, and what to do.

It is written from the ledger row (not from objects in memory), so a run that finishes a killed
run's work writes exactly the same text. UTF-8 with a byte-order mark, so that Notepad on an older
Windows shows the Thai.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kpibatch.batch.ledger import SubmissionRow
from kpibatch.fsutil import write_atomic

RESUBMIT = (
    "แก้ไขไฟล์ตามรายการข้างต้น แล้ววางไฟล์ลงในโฟลเดอร์รับไฟล์อีกครั้ง",
    "Correct the file as listed above and drop it into the inbox again.",
)


def _problem_lines(number: int, problem: dict[str, Any]) -> list[str]:
    where = " › ".join(part for part in (problem.get("sheet"), problem.get("cell")) if part)
    lines = [f"{number}. [{problem.get('code', '')}]" + (f" {where}" if where else "")]
    lines.append(f"   {problem.get('message_th', '')}")
    lines.append(f"   {problem.get('message_en', '')}")
    if problem.get("fix_th"):
        lines.append(f"   วิธีแก้: {problem['fix_th']}")
    if problem.get("fix_en"):
        lines.append(f"   Fix: {problem['fix_en']}")
    return lines


def _listing(problems: list[dict[str, Any]]) -> list[str]:
    errors = [p for p in problems if p.get("severity") == "error"]
    warnings = [p for p in problems if p.get("severity") != "error"]
    lines = [f"ข้อผิดพลาด {len(errors)} รายการ / {len(errors)} error(s):", ""]
    for number, problem in enumerate(errors, start=1):
        lines += [*_problem_lines(number, problem), ""]
    if warnings:
        lines += [f"คำเตือน {len(warnings)} รายการ / {len(warnings)} warning(s):", ""]
        for number, problem in enumerate(warnings, start=1):
            lines += [*_problem_lines(number, problem), ""]
    return lines


def reason_text(row: SubmissionRow, original: SubmissionRow | None = None) -> str:
    lines = [
        f"ไฟล์ / File: {row.file_name}",
        f"SHA-256: {row.sha256}",
        f"ได้รับเมื่อ / Received: {row.received_at}",
        f"เลขที่รายการ / Submission: #{row.id}",
        "",
    ]
    if row.status == "duplicate" and original is not None:
        lines += [
            f"ไฟล์นี้เหมือนกับไฟล์ที่ส่งมาแล้วทุกไบต์ (#{original.id} {original.file_name} "
            f"ได้รับเมื่อ {original.received_at}) จึงไม่ได้ประมวลผลซ้ำ",
            f"This file has the same bytes as submission #{original.id} ({original.file_name}, "
            f"received {original.received_at}), so it was not scored again.",
            "",
        ]
        if original.status == "rejected":
            lines += ["ไฟล์เดิมไม่ผ่านการตรวจสอบ / That submission was rejected:", ""]
            lines += _listing(original.problem_dicts)
            lines += list(RESUBMIT)
        else:
            lines += [
                "ถ้าต้องการส่งไฟล์ฉบับนี้แทนฉบับล่าสุด ให้เปิดไฟล์ใน Excel แล้วบันทึกใหม่ก่อนส่ง",
                "To make this version count again over a later one, open it in Excel and save it first.",
            ]
    else:
        lines += ["ไฟล์นี้ไม่ผ่านการตรวจสอบ / This file was rejected.", ""]
        lines += _listing(row.problem_dicts)
        lines += list(RESUBMIT)
    return "\n".join(lines) + "\n"


def write_reason(path: Path, row: SubmissionRow, original: SubmissionRow | None = None) -> None:
    text = reason_text(row, original)
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8-sig"))
