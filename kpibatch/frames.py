"""The cross-division stage as pandas frames: every division of a group side by side.

Two frames describe a group (or a whole ledger's history): the KPI frame, one row per KPI of each
division, and the division frame, one row per division. From them come the totals and competition
ranks, the comparison matrix of KPIs several divisions share (``pivot_table``), each division's
weakest KPIs, and the trend of totals across rounds.

Scores, weights and totals stay ``Decimal`` objects in object-dtype columns: they come exact from the
per-division rules (``kpibatch.score``, half-up to 4 places) and every output prints them as they are,
so a frame never turns them into floats. Why pandas here and not in the scorer:
docs/decisions/0004-decimal-scoring-and-pandas.md. This module imports pandas; only the stages that
build frames import it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from kpibatch.model import DivisionScore
from kpibatch.text import code_key, division_key, normalize_label

KPI_COLUMNS = (
    "division",
    "code",
    "name",
    "key",
    "parent",
    "leaf",
    "assessed",
    "status",
    "result",
    "score",
    "weight",
    "effective_weight",
)
"""One row a KPI of a division. ``key`` is the KPI's identity across divisions (its code and its
name compared without case or spaces); ``leaf``: scored itself, not from children."""
DIVISION_COLUMNS = (
    "division",
    "short_name",
    "total",
    "rank",
    "assessed",
    "not_assessed",
    "weakest_code",
    "weakest_name",
    "weakest_score",
    "warnings",
    "file",
    "sha256",
)
DECIMAL_COLUMNS = (
    "result",
    "verified_result",
    "score",
    "weight",
    "effective_weight",
    "total",
    "weakest_score",
)
"""Columns whose values are ``Decimal`` (or None) in an object-dtype column, never floats."""


def kpi_key(code: str, name: str) -> str:
    """A KPI's identity across divisions: ``แนวทาง แก้ไข`` and ``แนวทางแก้ไข`` are one KPI."""
    return f"{code} {normalize_label(name)}"


def _frame(rows: list[dict[str, Any]] | list[tuple[Any, ...]], columns: Sequence[str]) -> pd.DataFrame:
    return as_objects(pd.DataFrame.from_records(rows, columns=list(columns)))


def as_objects(frame: pd.DataFrame) -> pd.DataFrame:
    """Text and ``Decimal`` columns as object columns whose empty cells are None, as in the model.

    pandas would read text as its string dtype and an empty cell as NaN (a float); the scorer's
    None must stay None, and a Decimal column must never be cast to float.
    """
    for column in frame.columns:
        if column in DECIMAL_COLUMNS or pd.api.types.is_string_dtype(frame[column].dtype):
            values = frame[column].astype(object)
            frame[column] = values.where(values.notna(), None)
    return frame


def kpi_frame(divisions: Iterable[DivisionScore]) -> pd.DataFrame:
    """Every KPI of every division, in the divisions' order and each division's row order."""
    rows = [
        (
            score.division,
            k.code,
            k.name,
            kpi_key(k.code, k.name),
            k.parent,
            not k.has_children,
            k.assessed,
            k.status,
            k.result,
            k.score,
            k.weight,
            k.effective_weight,
        )
        for score in divisions
        for k in score.kpis
    ]
    return _frame(rows, KPI_COLUMNS)


def competition_ranks(totals: pd.Series) -> pd.Series:
    """Competition ranks, best first (5, 5, 4 -> 1, 1, 3); no total, no rank.

    Each total is first replaced by its place among the distinct totals, sorted as ``Decimal``s,
    and pandas ranks those integers: ranking the object column itself, pandas 2.2 compares the
    totals as floats, which joins totals that differ past a float's precision.
    """
    known = totals.dropna()
    ranks = pd.Series(pd.NA, index=totals.index, dtype="Int64")
    if not known.empty:
        place = {total: n for n, total in enumerate(sorted(set(known)))}
        exact = known.map(place).astype("int64")
        ranks.loc[known.index] = exact.rank(method="min", ascending=False).astype("int64")
    return ranks


def weakest_kpis(kpis: pd.DataFrame, per_division: int = 1) -> pd.DataFrame:
    """Each division's lowest-scored assessed leaf KPIs (ties: the first code in natural order)."""
    assessed = kpis[kpis["leaf"] & kpis["assessed"] & kpis["score"].notna()].copy()
    assessed["_order"] = assessed["code"].map(code_key)
    place = {score: n for n, score in enumerate(sorted(set(assessed["score"])))}
    assessed["_score"] = assessed["score"].map(place)  # exact order, as in competition_ranks
    assessed = assessed.sort_values(["_score", "_order"], kind="stable")
    weakest = assessed.groupby("division", sort=False).head(per_division)
    return weakest.drop(columns=["_order", "_score"])


def division_frame(divisions: Sequence[DivisionScore], kpis: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per division, in the given order: total, rank, KPIs assessed and not, weakest KPI."""
    kpis = kpi_frame(divisions) if kpis is None else kpis
    rows = []
    for score in divisions:
        top = score.top_level
        rows.append(
            {
                "division": score.division,
                "short_name": score.submission.short_name,
                "total": score.total,
                "assessed": sum(1 for k in top if k.assessed),
                "not_assessed": sum(1 for k in top if not k.assessed),
                "warnings": len(score.warnings),
                "file": score.submission.source.name,
                "sha256": score.submission.source.sha256,
            }
        )
    frame = _frame(rows, [c for c in DIVISION_COLUMNS if not c.startswith(("rank", "weakest"))])
    frame.insert(3, "rank", competition_ranks(frame["total"]))
    weakest = weakest_kpis(kpis).drop_duplicates("division").set_index("division")
    for column, source in (("weakest_code", "code"), ("weakest_name", "name"), ("weakest_score", "score")):
        found = weakest[source].to_dict()
        values = [found.get(division) for division in frame["division"]]
        column_values = pd.Series(values, index=frame.index, dtype=object)
        frame.insert(DIVISION_COLUMNS.index(column), column, column_values)
    return frame


def shared_kpis(kpis: pd.DataFrame) -> pd.DataFrame:
    """The KPI rows whose ``key`` two or more divisions have, in the KPIs' natural code order, then
    the divisions' order; each row gets the ``shared_name`` of the first division that has it."""
    counts = kpis.groupby("key", sort=False)["division"].nunique()
    shared = kpis[kpis["key"].map(counts) >= 2].copy()
    first = shared.groupby("key", sort=False).head(1).set_index("key")
    shared["shared_name"] = shared["key"].map(first["name"])
    shared["_order"] = shared["key"].map(first["code"]).map(code_key)
    shared = shared.sort_values(["_order", "key"], kind="stable")
    return shared.drop(columns=["_order"])


def comparison_matrix(kpis: pd.DataFrame) -> pd.DataFrame:
    """Division × shared KPI (``key``) matrix of scores; None where a division does not assess it,
    NaN where it does not have it. Rows and columns keep the report's order."""
    shared = shared_kpis(kpis)
    matrix = shared.pivot_table(
        index="division", columns="key", values="score", aggfunc="first", dropna=False, sort=False
    )
    divisions = list(dict.fromkeys(kpis["division"]))
    return matrix.reindex(
        index=[d for d in divisions if d in matrix.index], columns=list(dict.fromkeys(shared["key"]))
    )


def trend(divisions: pd.DataFrame) -> pd.DataFrame:
    """Totals across rounds: one row per division, one column per (fiscal year, round).

    ``divisions`` needs ``division``, ``fiscal_year``, ``round`` and ``total`` columns, as
    ``kpibatch.load`` gives for a ledger; only the submissions that count (``current``) are shown.
    A division is matched across rounds by its Thai-aware key (``text.division_key``, as the trend
    sheet matches it) and shown under the name it was last given.
    """
    if "current" in divisions.columns:
        divisions = divisions[divisions["current"]]
    keyed = divisions.assign(division_key=divisions["division"].map(division_key))
    names = keyed.drop_duplicates("division_key", keep="last").set_index("division_key")["division"]
    table = keyed.pivot_table(
        index="division_key", columns=["fiscal_year", "round"], values="total", aggfunc="last"
    )
    table.index = pd.Index([names[key] for key in table.index], name="division")
    return table
