"""The jinja2 setting every template environment of kpibatch shares: a compiled-template cache.

Compiling the shipped templates costs about a fifth of a second, every run, for text that only
changes with a new version of kpibatch. jinja2's own file cache keeps the compiled code in a
folder only this user can write (``_jinja2-cache-<uid>`` in the temporary folder); an entry is
used only while its template's source is unchanged, so an edited or user-supplied template is
compiled again.
"""

from __future__ import annotations

import contextlib
import functools

import jinja2
import jinja2.bccache


class _QuietCache(jinja2.FileSystemBytecodeCache):
    """A cache that can only ever save time: a full or unwritable temporary folder, or an entry that
    cannot be read, means compiling the template, never a failed report."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


@functools.cache
def bytecode_cache() -> jinja2.BytecodeCache | None:
    try:
        return _QuietCache()
    except (OSError, RuntimeError):  # no private temporary folder: compile every time instead
        return None
