"""The drop folder: divisions drop workbooks into an inbox over days; a batch claims, scores and files them.

Modelled on Apache Camel's file consumer: a file is claimed only once it has stopped changing
(``readLock=changed``, ``stability``), moved to the archive when accepted and to the rejected folder
with a reason when not (``move``/``moveFailed``, ``files``), and remembered by its SHA-256 so the same
bytes are never scored twice (idempotent repository, ``ledger``). A lock file keeps runs from
overlapping (``lock``); ``watch`` polls the inbox. ``runner`` documents the order of steps that makes
a killed run lose nothing, and ``crash`` the hooks the tests kill it at.

Nothing is imported here, so that importing one part (the lock, the ledger) does not load the rest;
the entry point is ``kpibatch.batch.runner.run_inbox``, which runs ``pipeline.orchestrate`` inside.
"""
