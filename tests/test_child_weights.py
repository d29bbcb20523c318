"""Composite KPIs: children's weights that add up to neither the parent's weight, nor 1, nor 100 are
warned about; the scores stay what the weights, as proportions, give."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from helpers import kpi, write_submission

from kpibatch.pipeline import check_file
from kpibatch.score import ScoreOptions

MANUAL_SPLIT = (10, 5, 5, 10, 15, 5)  # the manual's 1 = 50
CHILD_SCORES = (5, 4, 3, 5, 2, 4)


def _composite(path: Path, parent_weight: float, children: tuple[float, ...]) -> Path:
    rows = [kpi("1", parent_weight)]
    rows += [
        kpi(f"1.{i}", w, method="score", result=s)
        for i, (w, s) in enumerate(zip(children, CHILD_SCORES, strict=False), start=1)
    ]
    rows.append(kpi("2", 100 - parent_weight, method="score", result=5))
    return write_submission(path, rows)


def _warnings(path: Path) -> list[tuple[str, str, dict[str, object]]]:
    outcome = check_file(path, ScoreOptions())
    assert outcome.score is not None, [p.render() for p in outcome.errors]
    return [(w.code, w.cell, w.params) for w in outcome.score.warnings if w.code == "child-weights-sum"]


@pytest.mark.parametrize(
    ("parent_weight", "children"),
    [(50, MANUAL_SPLIT), (50, (0.4, 0.3, 0.3)), (50, (40, 30, 30)), (20, (10, 10.005))],
    ids=["parent-weight", "one", "hundred", "within-0.01"],
)
def test_children_adding_up_to_the_parent_one_or_hundred_pass(
    tmp_path: Path, parent_weight: float, children: tuple[float, ...]
) -> None:
    assert _warnings(_composite(tmp_path / "ok.xlsx", parent_weight, children)) == []


def test_a_mistyped_child_weight_is_warned_and_scored_as_before(tmp_path: Path) -> None:
    typo = (10, 5, 5, 10, 25, 5)
    path = _composite(tmp_path / "typo.xlsx", 50, typo)
    [(code, cell, params)] = _warnings(path)
    assert (code, cell) == ("child-weights-sum", "D3:D8")
    assert params == {"kpi": "1", "total": "60", "weight": "50"}
    outcome = check_file(path, ScoreOptions())
    assert outcome.score is not None
    [warning] = [w for w in outcome.score.warnings if w.code == "child-weights-sum"]
    assert "60" in warning.message_th and "50" in warning.message_th and "1 หรือ 100" in warning.message_th
    assert warning.message_en.startswith("The sub-KPIs of 1 have weights that sum to 60, not to the weight")
    # scoring unchanged: the parent is the children's mean weighted by the weights as typed
    parent = sum(Decimal(w) * s for w, s in zip(typo, CHILD_SCORES, strict=True)) / sum(map(Decimal, typo))
    assert outcome.score.kpis[0].score == parent.quantize(Decimal("0.0001"))
    assert outcome.accepted
