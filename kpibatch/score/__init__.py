"""The scoring core: pure functions, no I/O.

``rounding`` (half-up to 4 places), ``methods`` (threshold, milestone, score), ``hierarchy`` (parents
and children by code), ``reallocation`` (effective weights) and ``division`` (a division's total).
"""

from kpibatch.score.division import ScoreOptions, score_division

__all__ = ["ScoreOptions", "score_division"]
