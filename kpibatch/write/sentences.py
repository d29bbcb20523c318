"""The Thai sentences under a division's table that say where the weight of unassessed KPIs went.

They are rendered from jinja2 templates shipped inside the package (``templates/*.j2``), as plain
text: the KPI names are the division's own, passed as values and never read as template code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

import jinja2

from kpibatch.model import Submission


@dataclass(frozen=True)
class KpiRef:
    code: str
    name: str
    weight: str = ""


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("kpibatch.write", "templates"),
        autoescape=False,  # the output is a cell's plain text, not HTML
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )


def weight_text(weight: Decimal) -> str:
    """``5`` for 5.0, ``2.5`` for 2.50: weights as the summary prints them."""
    return format(weight.normalize(), "f")


def reallocation_sentences(
    sub: Submission, digits: Callable[[str], str] = str, names: Mapping[str, str] | None = None
) -> list[str]:
    """One sentence per source KPI, in the order the Reallocations sheet first names each source.

    Rows moving from the same source to the same target are added together. ``digits`` turns the
    codes and weights (not the names) into the digits the report shows. ``names`` (code -> name)
    defaults to the submission's rows; a scored division passes its KPIs', since the report's
    divisions keep no rows (``DivisionScore.without_rows``).
    """
    if names is None:
        names = {row.code: row.name for row in sub.kpis}
    moves: dict[str, dict[str, Decimal]] = {}
    for move in sub.reallocations:
        targets = moves.setdefault(move.source, {})
        targets[move.target] = targets.get(move.target, Decimal(0)) + move.weight
    template = _environment().get_template("reallocation.j2")
    sentences = []
    for source, targets in moves.items():
        total = sum(targets.values(), Decimal(0))
        sentences.append(
            template.render(
                source=KpiRef(digits(source), names.get(source, "")),
                total=digits(weight_text(total)),
                targets=[
                    KpiRef(digits(code), names.get(code, ""), digits(weight_text(weight)))
                    for code, weight in targets.items()
                ],
            ).strip()
        )
    return sentences
