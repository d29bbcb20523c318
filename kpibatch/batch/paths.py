"""Where the drop folder keeps things: every path a batch run uses, resolved once from ``Paths``.

By default everything the batch owns lives inside the output folder (``archive/``, ``rejected/``,
``logs/``, the ledger and the lock), so one folder holds a round's whole story and can be backed up as
one. Each path can be moved elsewhere by its own setting; the ledger in particular belongs on a local
disk, because SQLite's WAL mode does not work on network shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kpibatch.config import BatchOptions, ConfigError, Paths

KEEP_MARKER = ".kpibatch-keep"
"""A file of this name in the inbox means: never empty this folder, copy its files instead."""
LEDGER_NAME = "ledger.sqlite3"
LOCK_NAME = "kpibatch.lock"
STAGE_NAME = ".kpibatch-stage"


DERIVED = {
    "archive": "archive",
    "rejected": "rejected",
    "ledger": "ledger",
    "lock_file": "lock",
    "log_dir": "logs",
}
"""Setting -> the ``BatchPaths`` field it sets, for the path settings whose default is inside ``out``."""


def effective_paths(paths: Paths) -> dict[str, Path]:
    """``BatchPaths`` field -> path as configured (relative paths stay relative)."""
    out = paths.out
    return {
        "inbox": paths.inbox,
        "out": out,
        "archive": paths.archive or out / "archive",
        "rejected": paths.rejected or out / "rejected",
        "ledger": paths.ledger or out / LEDGER_NAME,
        "lock": paths.lock_file or out / LOCK_NAME,
        "logs": paths.log_dir or out / "logs",
    }


@dataclass(frozen=True)
class BatchPaths:
    inbox: Path
    out: Path
    archive: Path
    rejected: Path
    ledger: Path
    lock: Path
    logs: Path

    @classmethod
    def of(cls, configured: Paths) -> BatchPaths:
        paths = cls(**{name: path.absolute() for name, path in effective_paths(configured).items()})
        for name in ("archive", "rejected"):
            # Filing a file into the folder it is read from would hand it back to the next run.
            if getattr(paths, name).resolve() == paths.inbox.resolve():
                raise ConfigError(f"setting {name}: must not be the inbox folder itself ({paths.inbox})")
        return paths

    @property
    def stage(self) -> Path:
        """Scratch links to archived files under their original names, rebuilt by every run."""
        return self.out / STAGE_NAME

    def keeps_inbox(self, batch: BatchOptions) -> bool:
        return batch.keep_inbox or (self.inbox / KEEP_MARKER).is_file()
