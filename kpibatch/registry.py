"""The division registry: which divisions submit, the names they may appear under, whom to contact.

The planning unit keeps it as ``divisions.toml`` (one ``[[division]]`` table each) or as the first
sheet of ``divisions.xlsx`` with the same columns. This module only parses and matches (no I/O beyond
reading the registry file): a submission's division name is matched by ``division_key`` (Thai-aware:
SARA AM, format characters, white space, Thai digits) against each division's name, short name and
aliases. Problems with the registry itself name its line (TOML) or cell (xlsx), in Thai and English.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import python_calamine

from kpibatch.config import ConfigError, Divisions
from kpibatch.model import FileOutcome
from kpibatch.problems import DivisionUnknown, DivisionUnknownRejected
from kpibatch.read.submission import column_letter
from kpibatch.text import division_key

log = logging.getLogger("kpibatch.registry")

COLUMNS = ("name", "short_name", "aliases", "reporter", "head")
"""The registry's columns (xlsx header row) and keys (TOML), in this order."""
CONTACT_ROLES = ("reporter", "head")
_LIST_SPLIT = re.compile(r"[;,\n]")
_TABLE = re.compile(r"^\s*\[\[\s*division\s*\]\]")


@dataclass(frozen=True)
class Division:
    """One division of the registry."""

    name: str
    short_name: str = ""
    aliases: tuple[str, ...] = ()
    reporter: tuple[str, ...] = ()
    head: tuple[str, ...] = ()
    where: str = ""
    """Where the entry is: ``line 12`` or ``row 3`` (for messages)."""

    @property
    def keys(self) -> tuple[str, ...]:
        names = (self.name, self.short_name, *self.aliases)
        return tuple(dict.fromkeys(k for k in map(division_key, names) if k))

    @property
    def contacts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.reporter, *self.head)))


@dataclass(frozen=True)
class RegistryProblem:
    """Something wrong in the registry file, with where it is and Thai + English text."""

    code: str
    file: str
    where: str
    message_th: str
    message_en: str

    @property
    def message(self) -> str:
        return f"{self.file} › {self.where}: {self.message_th} / {self.message_en}"


@dataclass(frozen=True)
class Registry:
    """The divisions of the registry and the key each name, short name or alias is matched by."""

    divisions: tuple[Division, ...] = ()
    source: str = ""
    problems: tuple[RegistryProblem, ...] = field(default=())
    _by_key: Mapping[str, Division] = field(default_factory=dict, repr=False, compare=False)

    def match(self, name: object) -> Division | None:
        """The division a submitted name belongs to, or None if the registry does not know it."""
        return self._by_key.get(division_key(name))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.divisions)


class RegistryError(ValueError):
    """The registry cannot be read at all (missing file, bad TOML, no sheet)."""


def _address(value: str) -> str | None:
    """The address of ``user@domain`` or ``Name <user@domain>``, or None if it is not one."""
    if any(ch in value for ch in "\r\n\0"):
        return None
    _, spec = parseaddr(value)
    local, _, domain = spec.partition("@")
    if not local or not domain or "@" in domain or "." not in domain or any(c.isspace() for c in spec):
        return None
    if value != spec and not value.endswith(f"<{spec}>"):
        return None
    try:
        Address(username=local, domain=domain)
    except ValueError:
        return None
    return spec


def _as_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(p.strip() for p in _LIST_SPLIT.split(value) if p.strip())
    if isinstance(value, Iterable):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return (str(value).strip(),) if str(value).strip() else ()


def build(entries: list[tuple[dict[str, Any], Mapping[str, str]]], source: str) -> Registry:
    """Check the entries (values by column, and where each column's value is) and index them."""
    problems: list[RegistryProblem] = []
    divisions: list[Division] = []
    owner: dict[str, tuple[str, str]] = {}
    for values, where in entries:
        name = str(values.get("name") or "").strip()
        place = where.get("name") or where.get("")
        if not name:
            problems.append(
                RegistryProblem(
                    "registry-name-missing",
                    source,
                    place,
                    "รายการนี้ไม่มีชื่อหน่วยงาน (name)",
                    "This entry has no division name (name)",
                )
            )
            continue
        contacts: dict[str, tuple[str, ...]] = {}
        for role in CONTACT_ROLES:
            addresses = _as_list(values.get(role))
            for address in addresses:
                if _address(address) is None:
                    problems.append(
                        RegistryProblem(
                            "registry-bad-email",
                            source,
                            where.get(role) or place,
                            f"{address!r} ของ {name} ({role}) ไม่ใช่ที่อยู่อีเมล",
                            f"{address!r} of {name} ({role}) is not an e-mail address",
                        )
                    )
            contacts[role] = tuple(a for a in map(_address, addresses) if a is not None)
        division = Division(
            name=name,
            short_name=str(values.get("short_name") or "").strip(),
            aliases=_as_list(values.get("aliases")),
            reporter=contacts["reporter"],
            head=contacts["head"],
            where=place,
        )
        for key, shown in zip(
            map(division_key, (division.name, division.short_name, *division.aliases)),
            (division.name, division.short_name, *division.aliases),
            strict=True,
        ):
            if not key:
                continue
            if key in owner and owner[key][0] != name:
                other, other_place = owner[key]
                problems.append(
                    RegistryProblem(
                        "registry-duplicate-name",
                        source,
                        where.get("aliases") if shown in division.aliases else place,
                        f"ชื่อ {shown!r} ของ {name} ซ้ำกับ {other} ({other_place})",
                        f"The name {shown!r} of {name} is also used by {other} ({other_place})",
                    )
                )
            else:
                owner.setdefault(key, (name, place))
        divisions.append(division)
    by_key: dict[str, Division] = {}
    for division in divisions:
        for key in division.keys:
            by_key.setdefault(key, division)
    return Registry(tuple(divisions), source, tuple(problems), by_key)


def parse_toml(text: str, source: str) -> Registry:
    """A registry from TOML text: ``[[division]]`` tables with the keys of ``COLUMNS``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{source}: ไฟล์ TOML อ่านไม่ได้ / not valid TOML: {exc}") from exc
    tables = data.get("division", [])
    if not isinstance(tables, list):
        raise RegistryError(f"{source}: ต้องใช้ [[division]] / use [[division]] tables")
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if _TABLE.match(line)]
    entries: list[tuple[dict[str, Any], Mapping[str, str]]] = []
    for index, table in enumerate(tables):
        start = starts[index] if index < len(starts) else 0
        end = starts[index + 1] if index + 1 < len(starts) else len(lines)
        where: dict[str, str] = {"": f"line {start + 1}"}
        for column in COLUMNS:
            pattern = re.compile(rf"^\s*{column}\s*=")
            for number in range(start, end):
                if pattern.match(lines[number]):
                    where[column] = f"line {number + 1}"
                    break
        entries.append((dict(table), where))
    return build(entries, source)


def parse_xlsx(path: Path) -> Registry:
    """A registry from the first sheet of a workbook: a header row naming the columns, one row each."""
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for every kind of unreadable file
        raise RegistryError(f"{path}: อ่านสมุดงานไม่ได้ / cannot read the workbook: {exc}") from exc
    if not rows:
        raise RegistryError(f"{path}: แผ่นงานแรกว่าง / the first sheet is empty")
    header = [str(v).strip().lower() for v in rows[0]]
    if "name" not in header:
        raise RegistryError(f"{path}: แถวแรกต้องมีหัวคอลัมน์ name / the first row must have a 'name' column")
    index = {column: header.index(column) for column in COLUMNS if column in header}
    entries: list[tuple[dict[str, Any], Mapping[str, str]]] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(str(v).strip() for v in row):
            continue
        values = {c: (row[i] if i < len(row) else "") for c, i in index.items()}
        where = {c: f"{column_letter(i)}{number}" for c, i in index.items()}
        where[""] = where["name"]
        entries.append((values, where))
    return build(entries, str(path))


def load_registry(path: Path) -> Registry:
    """Read ``divisions.toml`` or ``divisions.xlsx``; raise ``RegistryError`` if it cannot be read."""
    if not path.is_file():
        raise RegistryError(f"{path}: ไม่พบไฟล์ทะเบียนหน่วยงาน / division registry not found")
    if path.suffix.lower() in {".xlsx", ".xlsm", ".ods", ".xls"}:
        return parse_xlsx(path)
    return parse_toml(path.read_text(encoding="utf-8"), str(path))


def registry_of(divisions: Divisions) -> Registry | None:
    """The registry the settings name (``[divisions] registry``), or None; unreadable is a config error."""
    if divisions.registry is None:
        return None
    try:
        registry = load_registry(divisions.registry)
    except RegistryError as exc:
        raise ConfigError(f"setting divisions_registry: {exc}") from exc
    for problem in registry.problems:
        log.warning("%s", problem.message)
    return registry


def expected_names(divisions: Divisions, submitted: Iterable[str] = ()) -> tuple[str, ...]:
    """The divisions expected to submit: the registry's, else the deprecated ``expected_divisions``.

    A registry division that submitted under another of its names (an alias) is given as the name
    it submitted under, so a list of the missing compares names as typed and still leaves it out.
    """
    registry = registry_of(divisions)
    if registry is not None:
        as_submitted: dict[str, str] = {}
        for name in submitted:
            found = registry.match(name)
            if found is not None:
                as_submitted.setdefault(found.name, name)
        return tuple(as_submitted.get(name, name) for name in registry.names)
    if divisions.expected:
        log.warning(
            "expected_divisions เลิกใช้แล้ว ให้ใช้ทะเบียนหน่วยงาน [divisions] registry แทน / "
            "expected_divisions is deprecated: use the division registry ([divisions] registry)"
        )
    return divisions.expected


def checked(outcome: FileOutcome, registry: Registry, *, strict: bool) -> FileOutcome:
    """The outcome with the registry's verdict: an unknown division is a warning, or with ``strict``
    an error that rejects the file."""
    if outcome.score is None:
        return outcome
    sub = outcome.score.submission
    if registry.match(sub.division) is not None:
        return outcome
    kind = DivisionUnknownRejected if strict else DivisionUnknown
    problem = kind(
        file=outcome.path.name,
        sheet=sub.sheets.division,
        cell=sub.division_cell,
        params={"division": sub.division, "registry": Path(registry.source).name},
    )
    if strict:
        return dataclasses.replace(outcome, score=None, problems=[*outcome.problems, problem])
    return dataclasses.replace(outcome, problems=[*outcome.problems, problem])


def checked_all(
    outcomes: Iterable[FileOutcome], registry: Registry, *, strict: bool
) -> Iterator[FileOutcome]:
    for outcome in outcomes:
        yield checked(outcome, registry, strict=strict)
