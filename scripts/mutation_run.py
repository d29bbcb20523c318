"""Mutation run: thousands of damaged copies of the shipped examples, each checked in a limited worker.

    python scripts/mutation_run.py                       # 3,000 copies, figures to docs/figures/
    python scripts/mutation_run.py --count 600 --seed 1  # a quicker run

Every copy must end accepted or rejected with a reason; the figures record how many did, which
reasons, which exception types openpyxl raised (rejected as read-failed), whether any copy killed its
worker, time per file, the workers' peak memory, and that every input is still there byte for byte.
Meant to run in the background (a few minutes on 2 cores); exit status 1 when a copy was lost or a
traceback escaped.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fuzz.mutations import mutate_all, run_isolated  # noqa: E402

EXAMPLES = ROOT / "input_templates" / "examples"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3000, help="damaged copies in all (default 3000)")
    parser.add_argument("--seed", type=int, default=8, help="seed of the damage generator")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--memory-mb", type=int, default=2048, help="address-space limit of a worker")
    parser.add_argument("--seconds", type=int, default=60, help="time limit of one file")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "mutation_run.json")
    parser.add_argument("--keep", type=Path, help="keep the damaged copies in this folder")
    args = parser.parse_args(argv)

    sources = sorted(EXAMPLES.glob("*.xlsx"))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kpibatch-mutations-") as tmp:
        folder = args.keep or Path(tmp)
        paths: list[Path] = []
        share, extra = divmod(args.count, len(sources))
        for i, source in enumerate(sources):
            count = share + (1 if i < extra else 0)
            paths += mutate_all(
                source.read_bytes(), folder / source.stem, count=count, seed=args.seed * 100 + i
            )
        built = time.perf_counter() - started
        figures = run_isolated(paths, workers=args.workers, memory_mb=args.memory_mb, seconds=args.seconds)
    figures.update(
        seed=args.seed,
        sources=[s.name for s in sources],
        limits={
            "worker_memory_mb": args.memory_mb,
            "seconds_per_file": args.seconds,
            "workers": args.workers,
        },
        seconds_building=round(built, 1),
        seconds_total=round(time.perf_counter() - started, 1),
        python=platform.python_version(),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(
        f"{figures['files']} files: {figures['accepted']} accepted, {figures['rejected']} rejected "
        f"({figures['rejected_without_reason']} without a reason), {figures['worker_died']} killed a worker, "
        f"{figures['tracebacks']} tracebacks, {figures['lost']} lost; "
        f"median {figures['seconds_median'] * 1000:.1f} ms, max {figures['seconds_max']:.2f} s per file, "
        f"peak {figures['peak_rss_mb']:.0f} MB; figures in {args.out}"
    )
    bad = figures["lost"] or figures["tracebacks"] or figures["rejected_without_reason"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
