"""Damaged copies of a valid workbook, and runs that account for every one of them.

Each copy gets one to three damages drawn from a seeded generator: byte flips, truncation, damage to a
zip member (dropped, emptied, cut, garbage, swapped with another), edits to the XML inside (a tag cut
out, an attribute or a number replaced by an absurd value, a cell type changed, a DOCTYPE added, a huge
dimension, stray control or invalid UTF-8 bytes) and damage to the zip's central directory.

``run_in_process`` checks the copies one after another in this process (the test suite's small run);
``run_isolated`` checks them in worker processes with a memory and a time limit, so a copy that kills
its worker is counted and named rather than stopping the run (``scripts/mutation_run.py``).
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import io
import random
import re
import resource
import signal
import struct
import time
import traceback
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

Mutator = Callable[[random.Random, bytes], bytes]

ABSURD = [
    b"",
    b"-1",
    b"0",
    b"99999999999999999999",
    b"1e999",
    b"NaN",
    b"XFD1048576",
    b"A0",
    b"ZZZZ1",
    b"\xff\xfe",
    b"&#0;",
    b"&amp",
    b"\x1f",
    b"<",
    b"2147483648",
    "๑๒".encode(),
]
CELL_TYPES = [b"s", b"n", b"b", b"e", b"str", b"inlineStr", b"d", b"x", b""]


def byte_flips(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 20)):
        out[rng.randrange(len(out))] ^= rng.randint(1, 255)
    return bytes(out)


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(1, len(data))]


def _members(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(info, z.read(info.filename)) for info in z.infolist()]


def _pack(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        warnings.simplefilter("ignore")  # duplicate names are one of the damages
        for name, content in members:
            z.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def member_damage(rng: random.Random, data: bytes) -> bytes:
    members = [(info.filename, content) for info, content in _members(data)]
    i = rng.randrange(len(members))
    name, content = members[i]
    kind = rng.choice(["drop", "empty", "cut", "garbage", "swap", "duplicate", "rename"])
    if kind == "drop":
        del members[i]
    elif kind == "empty":
        members[i] = (name, b"")
    elif kind == "cut":
        members[i] = (name, content[: rng.randrange(0, max(len(content), 1))])
    elif kind == "garbage":
        members[i] = (name, rng.randbytes(rng.randint(1, 2000)))
    elif kind == "swap":
        j = rng.randrange(len(members))
        members[i], members[j] = (name, members[j][1]), (members[j][0], content)
    elif kind == "duplicate":
        members.append((name, rng.choice(members)[1]))
    else:
        members[i] = (name.upper() if rng.random() < 0.5 else name + "x", content)
    return _pack(members)


def _xml_edit(rng: random.Random, xml: bytes) -> bytes:
    kind = rng.choice(
        [
            "cut_tag",
            "dup_tag",
            "attribute",
            "number",
            "cell_type",
            "doctype",
            "dimension",
            "stray",
            "shared_index",
        ]
    )
    tags = [m.span() for m in re.finditer(rb"<[^>]*>", xml)]
    if kind == "cut_tag" and tags:
        start, end = rng.choice(tags)
        return xml[:start] + xml[end:]
    if kind == "dup_tag" and tags:
        start, end = rng.choice(tags)
        return xml[:end] + xml[start:end] * rng.randint(1, 50) + xml[end:]
    if kind == "attribute":
        spans = [m.span(1) for m in re.finditer(rb'="([^"]*)"', xml)]
        if spans:
            start, end = rng.choice(spans)
            return xml[:start] + rng.choice(ABSURD) + xml[end:]
    if kind in ("number", "shared_index"):
        spans = [m.span(1) for m in re.finditer(rb"<v>([^<]*)</v>", xml)]
        if spans:
            start, end = rng.choice(spans)
            return xml[:start] + rng.choice(ABSURD) + xml[end:]
    if kind == "cell_type":
        spans = [m.span(1) for m in re.finditer(rb' t="([^"]*)"', xml)]
        if spans:
            start, end = rng.choice(spans)
            return xml[:start] + rng.choice(CELL_TYPES) + xml[end:]
    if kind == "doctype":
        return re.sub(rb"^(<\?xml[^>]*\?>)?", rb'\1<!DOCTYPE x [<!ENTITY e "ha">]>', xml, count=1)
    if kind == "dimension":
        return re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:' + rng.choice(ABSURD) + b'"', xml)
    at = rng.randrange(len(xml) + 1)
    return (
        xml[:at]
        + rng.choice([b"\x00", b"\x1f", b"\xff", b"\xc3", "\ufffe".encode(), b"&", b"]]>"])
        + xml[at:]
    )


def xml_edit(rng: random.Random, data: bytes) -> bytes:
    members = [(info.filename, content) for info, content in _members(data)]
    xml = [i for i, (name, _) in enumerate(members) if name.endswith((".xml", ".rels"))]
    weighted = [
        i for i in xml if "sheet" in members[i][0] or "workbook" in members[i][0] or "rels" in members[i][0]
    ]
    i = rng.choice(weighted * 3 + xml)
    name, content = members[i]
    members[i] = (name, _xml_edit(rng, content))
    return _pack(members)


def directory_damage(rng: random.Random, data: bytes) -> bytes:
    """A field of one central-directory record set to an absurd value."""
    out = bytearray(data)
    records = [m.start() for m in re.finditer(rb"PK\x01\x02", data)]
    if not records:
        return byte_flips(rng, data)
    at = rng.choice(records)
    field, fmt = rng.choice(
        [(10, "<H"), (16, "<I"), (20, "<I"), (24, "<I"), (28, "<H"), (42, "<I"), (8, "<H")]
    )
    value = rng.choice(
        [0, 1, 0xFFFF if fmt == "<H" else 0xFFFFFFFF, rng.randrange(1 << (16 if fmt == "<H" else 32))]
    )
    struct.pack_into(fmt, out, at + field, value)
    return bytes(out)


MUTATORS: dict[str, Mutator] = {
    "byte_flips": byte_flips,
    "truncate": truncate,
    "member_damage": member_damage,
    "xml_edit": xml_edit,
    "directory_damage": directory_damage,
}
WEIGHTS = {"byte_flips": 2, "truncate": 1, "member_damage": 2, "xml_edit": 5, "directory_damage": 1}


def mutate(rng: random.Random, source: bytes) -> tuple[bytes, list[str]]:
    """One damaged copy and the names of the damages applied (zip-level damages need a readable zip,
    so a copy whose zip is already broken gets byte-level damage instead)."""
    data, applied = source, []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        name = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        try:
            data = MUTATORS[name](rng, data)
        except Exception:  # the copy is already too broken for this damage: flip bytes instead
            name = "byte_flips"
            data = byte_flips(rng, data)
        applied.append(name)
    return data, applied


def mutate_all(source: bytes, folder: Path, *, count: int, seed: int) -> list[Path]:
    """``count`` damaged copies of ``source`` in ``folder``; names say the damages (``0042-xml_edit``)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        data, applied = mutate(rng, source)
        path = folder / f"{i:05d}-{'+'.join(applied)}.xlsx"
        path.write_bytes(data)
        paths.append(path)
    return paths


# --- runs ----------------------------------------------------------------------------------------


def _check_one(path: str) -> dict[str, Any]:
    """Check one file; the record says what happened and never raises."""
    from kpibatch.pipeline import check_file
    from kpibatch.score import ScoreOptions

    started = time.perf_counter()
    record: dict[str, Any] = {"file": path}
    try:
        outcome = check_file(Path(path), ScoreOptions())
    except BaseException:  # counted as a traceback: check_file must never let one out
        record.update(outcome="traceback", traceback=traceback.format_exc(limit=5))
    else:
        errors = outcome.errors
        record["outcome"] = "accepted" if outcome.accepted else "rejected"
        record["codes"] = sorted({p.code for p in errors})
        record["with_reason"] = outcome.accepted or bool(errors and all(p.message_en for p in errors))
        record["exception_kinds"] = sorted(
            {str(p.params.get("kind")) for p in errors if p.code == "read-failed"}
        )
    record["seconds"] = time.perf_counter() - started
    record["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return record


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def summarize(
    paths: list[Path], records: dict[str, dict[str, Any]], digests: dict[str, str | None]
) -> dict[str, Any]:
    """The run's figures: every input accounted for, and still present byte for byte."""
    outcomes = Counter(r["outcome"] for r in records.values())
    codes: Counter[str] = Counter(c for r in records.values() for c in r.get("codes", []))
    kinds: Counter[str] = Counter(k for r in records.values() for k in r.get("exception_kinds", []))
    seconds = sorted(r["seconds"] for r in records.values() if "seconds" in r)
    intact = sum(1 for p in paths if digests.get(str(p)) is not None and _digest(p) == digests[str(p)])
    return {
        "files": len(paths),
        "accepted": outcomes["accepted"],
        "rejected": outcomes["rejected"] + outcomes["worker_died"],
        "rejected_without_reason": sum(
            1 for r in records.values() if r["outcome"] == "rejected" and not r["with_reason"]
        ),
        "worker_died": outcomes["worker_died"],
        "tracebacks": outcomes["traceback"],
        "lost": len(paths) - len(records) + (len(paths) - intact),
        "codes": dict(codes.most_common()),
        "read_failed_exception_kinds": dict(kinds.most_common()),
        "seconds_median": seconds[len(seconds) // 2] if seconds else 0.0,
        "seconds_max": seconds[-1] if seconds else 0.0,
        "peak_rss_mb": max((r.get("peak_rss_mb", 0.0) for r in records.values()), default=0.0),
        "examples": {
            Path(r["file"]).name: r for r in records.values() if r["outcome"] in ("traceback", "worker_died")
        },
    }


def run_in_process(paths: list[Path]) -> dict[str, Any]:
    digests = {str(p): _digest(p) for p in paths}
    records = {str(p): _check_one(str(p)) for p in paths}
    return summarize(paths, records, digests)


def _limit_worker(memory_mb: int) -> None:
    if hasattr(resource, "RLIMIT_AS"):
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _check_limited(path: str, seconds: int) -> dict[str, Any]:
    # No handler: SIGALRM's default action ends the worker, even inside C code that holds the GIL.
    signal.alarm(seconds)
    try:
        return _check_one(path)
    finally:
        signal.alarm(0)


def run_isolated(
    paths: list[Path], *, workers: int = 2, memory_mb: int = 2048, seconds: int = 60
) -> dict[str, Any]:
    """Check ``paths`` in limited worker processes; a copy that kills its worker is re-run alone to
    name it, and counted as ``worker_died`` (the pool of issue 7 rejects such a file with a reason)."""
    digests = {str(p): _digest(p) for p in paths}
    records: dict[str, dict[str, Any]] = {}
    pending = [str(p) for p in paths]
    suspects: list[str] = []
    with cf.ProcessPoolExecutor(workers, initializer=_limit_worker, initargs=(memory_mb,)) as pool:
        futures = {pool.submit(_check_limited, p, seconds): p for p in pending}
        for future in cf.as_completed(futures):
            try:
                record = future.result()
                records[record["file"]] = record
            except cf.process.BrokenProcessPool:
                suspects.append(futures[future])
    for path in suspects:  # each alone, so that only the culprit is blamed
        with cf.ProcessPoolExecutor(1, initializer=_limit_worker, initargs=(memory_mb,)) as pool:
            try:
                record = pool.submit(_check_limited, path, seconds).result()
            except cf.process.BrokenProcessPool:
                record = {"file": path, "outcome": "worker_died"}
        records[record["file"]] = record
    return summarize(paths, records, digests)
