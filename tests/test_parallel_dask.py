"""``--scheduler``: the read-and-score stage on a Dask cluster gives what the local pool gives."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_parallel import summary

from kpibatch.cli import main
from kpibatch.parallel import SchedulerError, check_in_workers, check_on_cluster
from kpibatch.score import ScoreOptions

distributed = pytest.importorskip("distributed", reason="needs the optional dask extra (distributed)")

EXAMPLES = Path(__file__).resolve().parent.parent / "input_templates" / "examples"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A real scheduler on 127.0.0.1 and one worker process with two threads."""
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=50,
    ) as local:
        yield local


def test_cluster_outcomes_equal_the_local_pool(cluster: Any, tmp_path: Path) -> None:
    files = [Path(shutil.copy(p, tmp_path / p.name)) for p in sorted(EXAMPLES.glob("*.xlsx"))]
    broken = tmp_path / "00_broken.xlsx"
    broken.write_bytes(b"not a workbook")
    files.insert(2, broken)
    local = [summary(o) for o in check_in_workers(files, ScoreOptions(), jobs=2)]
    remote = [summary(o) for o in check_on_cluster(files, ScoreOptions(), cluster.scheduler_address)]
    assert remote == local
    assert [s["file"] for s in remote] == [p.name for p in files]


def test_cli_run_on_the_cluster_writes_the_same_report(
    cluster: Any, examples_inbox: Path, tmp_path: Path
) -> None:
    def results(out: Path, *extra: str) -> dict[str, Any]:
        assert main(["run", "--inbox", str(examples_inbox), "--out", str(out), "-q", *extra]) == 0
        data = json.loads(next(out.glob("*/results.json")).read_text(encoding="utf-8"))
        data.pop("generated_at")
        return data

    remote = results(tmp_path / "remote", "--scheduler", cluster.scheduler_address)
    assert remote == results(tmp_path / "local")
    assert len(remote["divisions"]) == 6


def test_scheduler_address_must_be_tcp(examples_inbox: Path, tmp_path: Path) -> None:
    with pytest.raises(SchedulerError, match="tcp://HOST:PORT"):
        list(check_on_cluster([], ScoreOptions(), "http://example.org/dask"))
    args = ["run", "--inbox", str(examples_inbox), "--out", str(tmp_path), "--scheduler", "localhost:8786"]
    assert main(args) == 2


def test_unreachable_scheduler_is_a_configuration_error() -> None:
    with pytest.raises(SchedulerError, match="cannot reach"):
        list(
            check_on_cluster(
                [EXAMPLES / "01_secretariat.xlsx"], ScoreOptions(), "tcp://127.0.0.1:9", timeout="1s"
            )
        )
