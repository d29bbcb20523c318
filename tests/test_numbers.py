"""Numbers as divisions type them (issue 2: Thai digits, percent signs, thousands separators)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpibatch.read.numbers import NotANumber, parse_number
from kpibatch.text import code_key, normalize_code, to_thai_digits


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (87.5, Decimal("87.5")),
        (3, Decimal(3)),
        ("๘๗.๕", Decimal("87.5")),
        ("87.5%", Decimal("87.5")),
        ("๘๗.๕%", Decimal("87.5")),
        ("1,250", Decimal(1250)),
        ("1,250.75", Decimal("1250.75")),
        (" 12 ", Decimal(12)),
        ("-", None),
        ("", None),
        (None, None),
        ("−3", Decimal(-3)),
    ],
)
def test_parse_number_spellings(raw: object, expected: Decimal | None) -> None:
    assert parse_number(raw) == expected


def test_percent_formatted_cell_means_percent_units() -> None:
    assert parse_number(0.875, percent_format=True) == Decimal("87.5")
    assert parse_number(0.07, percent_format=True) == Decimal("7")
    # text already in percent units is not scaled again
    assert parse_number("87.5%", percent_format=True) == Decimal("87.5")


@pytest.mark.parametrize("raw", ["๘๗,๕", "87,5", "1,25", "abc", "12.5.1", True, float("nan"), "1,2345"])
def test_not_numbers_are_refused(raw: object) -> None:
    with pytest.raises(NotANumber):
        parse_number(raw)


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False, allow_infinity=False))
def test_thai_digit_text_round_trips(value: Decimal) -> None:
    assert parse_number(to_thai_digits(str(value))) == value


@given(st.integers(min_value=0, max_value=10**12))
def test_thousands_separators_round_trip(value: int) -> None:
    assert parse_number(f"{value:,}") == value


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("๒.๑", "2.1"),
        ("2.10", "2.10"),
        (2.1, "2.1"),
        (7, "7"),
        ("ข้อ 15.1.2", "15.1.2"),
        ("2.1.", "2.1"),
        ("มิติที่ 1", None),
        ("", None),
        (None, None),
    ],
)
def test_codes(raw: object, code: str | None) -> None:
    assert normalize_code(raw) == code


def test_natural_code_order() -> None:
    codes = ["2.10", "2.9", "15", "15.1.2", "15.1", "2", "15.1.10", "15.1.9"]
    assert sorted(codes, key=code_key) == ["2", "2.9", "2.10", "15", "15.1", "15.1.2", "15.1.9", "15.1.10"]
