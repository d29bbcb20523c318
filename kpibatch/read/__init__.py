"""Reading: a workbook file -> raw sheets -> a ``Submission`` with cell references and problems."""

from kpibatch.read.submission import ReadOutcome, read_submission

__all__ = ["ReadOutcome", "read_submission"]
