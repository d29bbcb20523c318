"""Cell formats of the consolidated workbook: the Thai font, borders, and numeric formats.

Formats are made on demand and cached, so each distinct look is one xlsxwriter format. Numbers are
always written as numeric cells; with ``--thai-digits`` their number format carries a locale prefix
that makes Excel and LibreOffice show Thai digits while the value stays a number.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

SCORE_FORMAT = "0.0000"
INTEGER_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.0###"
THAI_DIGITS_PREFIX = "[$-D00041E]"
"""Numeral shape 0D (Thai digits), calendar 00 (the locale's default), locale 041E (Thai).

Excel also accepts ``[$-D07041E]`` (calendar 07, Thai Buddhist), but LibreOffice drops a format with
calendar 07 on a number and shows it as General; calendar 00 works in both.
"""

HEADER_FILL = "#D9E1F2"
TOTAL_FILL = "#F2F2F2"
OFFICER_FILL = "#FFF2CC"
MUTED = "#595959"


def number_format(base: str, thai_digits: bool) -> str:
    return f"{THAI_DIGITS_PREFIX}{base}" if thai_digits else base


def plain_number_format(value: Decimal | float) -> str:
    """``#,##0`` for whole numbers, otherwise up to four decimals (``0.##`` would print ``10.``)."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return INTEGER_FORMAT if number == number.to_integral_value() else DECIMAL_FORMAT


class Style:
    """A format as plain data: what a worker laying out a sheet uses where the main process uses
    an xlsxwriter format (``kpibatch.write.plan``). It answers the few attributes the layout reads
    (as xlsxwriter's ``Format`` does), and ``Formats.resolve`` makes it the workbook's format."""

    __slots__ = ("bold", "font_size", "indent", "index", "key", "props")

    def __init__(self, props: tuple[tuple[str, Any], ...], index: int = 0) -> None:
        self.props = props
        self.index = index
        """Its place among the styles of the laid-out sheets it came with."""
        self.key = tuple(sorted(props))
        found = dict(props)
        # xlsxwriter's defaults for a format that does not set them
        self.font_size = found.get("font_size", 11)
        self.bold = found.get("bold", 0)
        self.indent = found.get("indent", 0)

    def __reduce__(self) -> tuple[type[Style], tuple[tuple[tuple[str, Any], ...], int]]:
        return (Style, (self.props, self.index))


class Formats:
    """The workbook's formats, keyed by their properties; every format starts from the report font."""

    def __init__(self, workbook: Any, font_name: str, font_size: int, thai_digits: bool) -> None:
        self._workbook = workbook
        self._cache: dict[tuple[tuple[str, Any], ...], Any] = {}
        self._fast: dict[tuple[tuple[str, Any], ...], Any] = {}
        self.font_name = font_name
        self.font_size = font_size
        self.thai_digits = thai_digits

    @property
    def title_size(self) -> int:
        return self.font_size + 2

    @property
    def small_size(self) -> int:
        return max(self.font_size - 4, 8)

    def get(self, **props: Any) -> Any:
        # a report asks for the same few formats hundreds of thousands of times: look them up by the
        # call's own keyword order first, and sort only to share one format between call sites
        fast = tuple(props.items())
        found = self._fast.get(fast)
        if found is not None:
            return found
        merged: dict[str, Any] = {"font_name": self.font_name, "font_size": self.font_size, "valign": "top"}
        merged.update(props)
        key = tuple(sorted(merged.items()))
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._workbook.add_format(merged)
        self._fast[fast] = found
        return found

    def resolve(self, style: Style) -> Any:
        """The workbook's format for a ``Style`` a worker chose (the one ``get`` gives for it)."""
        found = self._cache.get(style.key)
        if found is None:
            found = self._cache[style.key] = self._workbook.add_format(dict(style.props))
        return found

    def number(self, base: str, **props: Any) -> Any:
        return self.get(num_format=number_format(base, self.thai_digits), **props)

    def title(self) -> Any:
        return self.get(
            bold=True, font_size=self.title_size, align="center", valign="vcenter", text_wrap=True
        )

    def header(self, **props: Any) -> Any:
        base = {"bold": True, "align": "center", "valign": "vcenter", "border": 1, "text_wrap": True}
        return self.get(**{"bg_color": HEADER_FILL, **base, **props})

    def text(self, **props: Any) -> Any:
        return self.get(**{"border": 1, "text_wrap": True, **props})

    def small(self, **props: Any) -> Any:
        return self.get(**{"font_size": self.small_size, "text_wrap": True, "font_color": MUTED, **props})
