"""kpibatch: score divisions' weighted KPI workbooks and write one consolidated Excel report.

The pipeline reads top to bottom: read -> validate -> score -> reallocate -> consolidate -> write
-> deliver. ``kpibatch.pipeline.run_batch`` is the library entry point; ``kpibatch.cli`` is a thin
shell around it.
"""

__version__ = "0.1.0"
