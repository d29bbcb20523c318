"""The scoring core: pure functions, no I/O.

``rounding`` (half-up to 4 places), ``methods`` (threshold, milestone, score), ``hierarchy`` (parents
and children by code), ``reallocation`` (effective weights) and ``division`` (a division's total).

``SCORING_RULES_VERSION`` names the rules that made a stored record: the ledger keeps each accepted
division's scored record with it, and a round's report is built from those records as long as they
were made by the same rules and options (``rules_stamp``); otherwise the archived workbook is read
and scored again. Raise it with every change to reading, validation or scoring that can change a
division's scores, warnings or the KPI rows the report shows.
"""

from kpibatch.score.division import ScoreOptions, score_division

SCORING_RULES_VERSION = 1


def rules_stamp(options: ScoreOptions) -> str:
    """The rules version and every run option that changes scores, as the ledger stores it."""
    return f"{SCORING_RULES_VERSION};floor={options.floor}"


__all__ = ["SCORING_RULES_VERSION", "ScoreOptions", "rules_stamp", "score_division"]
