"""One read of each input: the precheck's bytes and inflated parts are what the reader goes on with."""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from pathlib import Path

import pytest
from conftest import EXAMPLES

from kpibatch.read import read_submission
from kpibatch.read.archive import CACHED_PART_BYTES, Archive
from kpibatch.read.precheck import precheck, precheck_opened

EXAMPLE = EXAMPLES / "01_secretariat.xlsx"


def test_the_reader_goes_on_with_the_bytes_the_precheck_judged(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    original = EXAMPLE.read_bytes()
    path.write_bytes(original)
    problems, archive = precheck_opened(path)
    assert problems == [] and archive is not None
    # another division's workbook lands under the same name after the check: the read must not see it
    path.write_bytes((EXAMPLES / "02_enforcement_appraisal.xlsx").read_bytes())
    read = read_submission(path, archive)
    assert read.submission is not None
    assert read.source is not None and read.source.sha256 == hashlib.sha256(original).hexdigest()
    assert read.submission.division == read_submission(EXAMPLE).submission.division  # type: ignore[union-attr]


def test_a_rejected_file_is_not_handed_on(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    path.write_bytes(EXAMPLE.read_bytes()[:5000])
    problems, archive = precheck_opened(path)
    assert [p.code for p in problems] == ["zip-truncated"] and archive is None
    assert precheck(path) == problems


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_small_parts_are_inflated_once_and_large_ones_streamed() -> None:
    big = b"<x>" + b"a" * CACHED_PART_BYTES + b"</x>"
    archive = Archive(_zip({"small.xml": b"<a/>", "big.xml": big}))
    first = archive.read("small.xml")
    assert archive.read("small.xml") is first  # kept, not inflated again
    assert archive.head("small.xml", 2) == b"<a"
    assert archive.open("small.xml").read() == b"<a/>"
    assert archive.head("big.xml", 5) == b"<x>aa"
    assert archive.read("big.xml") == big
    assert archive.read("big.xml") is not archive.read("big.xml")  # too large to keep
    with archive.open("big.xml") as stream:
        assert stream.read() == big
    assert archive.has("small.xml") and not archive.has("missing.xml")
    with pytest.raises(KeyError):
        archive.read("missing.xml")
    archive.close()


def test_a_damaged_part_fails_every_time_it_is_read() -> None:
    data = bytearray(_zip({"part.xml": b"<a>" + b"text " * 2000 + b"</a>"}))
    at = data.index(b"part.xml") + len(b"part.xml") + 20  # inside the deflated bytes
    data[at] ^= 0xFF
    archive = Archive(bytes(data))
    for _ in range(2):
        with pytest.raises((zipfile.BadZipFile, zlib.error)):
            archive.read("part.xml")


def test_a_file_that_grows_after_its_size_was_taken_is_still_bounded(tmp_path: Path) -> None:
    from kpibatch.read.precheck import _read_at_most

    path = tmp_path / "growing.bin"
    path.write_bytes(b"x" * 1000)
    with path.open("rb") as handle:
        assert len(_read_at_most(handle, 10, 100)) == 101  # grew past the limit: one byte over says so
    with path.open("rb") as handle:
        assert len(_read_at_most(handle, 10, 5000)) == 1000
    with path.open("rb") as handle:
        assert len(_read_at_most(handle, 1000, 10**12)) == 1000  # no buffer of the limit's size
