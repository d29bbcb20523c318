"""One input file opened once: its bytes read (and later hashed) once, its zip directory parsed once,
each small part inflated at most once.

The precheck and the reader both look inside the zip: the precheck at every part's first bytes, the
workbook part, the relationships and the sheets it will let through; the reader at the workbook part,
the relationships, the styles and the same sheets. A division workbook is a dozen parts of a few kB,
so opening, seeking and inflating twice cost as much as the reading itself (about half a millisecond
a file). ``Archive`` keeps what was inflated for whoever asks next; calamine, which parses the zip
itself, gets the same bytes in memory.
"""

from __future__ import annotations

import io
import zipfile
from typing import IO

CACHED_PART_BYTES = 2 * 1024 * 1024
"""Parts declared up to this size are inflated whole and kept; a larger part (a division's own big
working sheet) is streamed, and only as far as the caller needs."""


class Archive:
    """An .xlsx (or any zip) held in memory, its small parts inflated once.

    Reads never inflate more than a part's declared size (``zipfile`` stops there), and the declared
    sizes are what the precheck bounds.
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self._parts: dict[str, bytes] = {}

    def has(self, name: str) -> bool:
        return name in self.zip.NameToInfo

    def read(self, name: str) -> bytes:
        """The whole part ``name``; KeyError when there is none."""
        part = self._parts.get(name)
        if part is None:
            part = self.zip.read(name)
            if len(part) <= CACHED_PART_BYTES:
                self._parts[name] = part
        return part

    def head(self, name: str, limit: int) -> bytes:
        """At most the first ``limit`` bytes of part ``name``."""
        part = self._parts.get(name)
        if part is not None:
            return part[:limit]
        if self.zip.getinfo(name).file_size <= CACHED_PART_BYTES:
            return self.read(name)[:limit]
        with self.zip.open(name) as handle:
            return handle.read(limit)

    def open(self, name: str) -> IO[bytes]:
        """Part ``name`` as a stream, for a walk that need not hold it whole."""
        part = self._parts.get(name)
        return io.BytesIO(part) if part is not None else self.zip.open(name)

    def close(self) -> None:
        self._parts.clear()
        self.zip.close()
