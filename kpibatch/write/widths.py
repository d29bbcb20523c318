"""How much room Thai text takes in the report's font: column widths and the height of wrapped rows.

xlsxwriter's autofit measures Calibri 11, but the report is set in TH Sarabun New 16 pt, whose
glyphs are wider per character and whose Thai vowel and tone marks sit above or below the consonant
without taking any width. The advance widths below are those of Laksaman, the TLWG font derived from
TH Sarabun PSK (the same design family and metrics as TH Sarabun New).

Where a wrapped line ends is asked of ICU (``icu4py``), whose Thai dictionary and line-breaking rules
LibreOffice uses to break cell text, so a row is as tall as the lines LibreOffice prints.

Column widths are in Excel's unit, the width of a digit of the workbook's default font (Calibri 11,
7 pixels); LibreOffice uses the same unit when Calibri or its metric twin Carlito is installed.
"""

from __future__ import annotations

import math
import unicodedata
from functools import lru_cache
from itertools import accumulate

from icu4py.breakers import LineBreaker


def _table(numbers: str) -> tuple[int, ...]:
    return tuple(int(n) for n in numbers.split())


# Advance widths in thousandths of an em: printable ASCII (U+0020..U+007E) and the Thai block
# (U+0E00..U+0E7F; marks that sit above or below a consonant are 0), regular and bold.
_REGULAR_ASCII = _table(
    "324 221 312 606 543 879 636 180 285 285 428 618 243 324 243 406 544 544 544 544 544 544 544 544 "
    "544 544 243 243 618 618 618 425 806 601 568 610 648 527 527 639 663 221 397 565 530 824 663 731 "
    "568 732 570 529 570 700 586 884 628 550 637 294 394 294 619 529 306 517 603 497 603 562 309 467 "
    "586 215 233 475 300 904 586 598 603 603 326 424 357 586 512 762 478 506 482 312 230 312 625 "
)
_REGULAR_THAI = _table(
    "0 580 568 574 591 591 613 442 552 567 568 574 780 780 639 639 515 693 800 816 588 588 568 646 "
    "503 631 643 643 573 573 672 672 639 601 564 484 568 573 639 503 591 658 573 642 682 582 559 588 "
    "536 0 475 475 0 0 0 0 0 0 0 0 0 0 0 618 305 567 356 364 367 308 600 0 0 0 0 0 0 0 0 676 675 675 "
    "675 675 675 675 675 675 675 675 785 1048 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 "
    "0 0 0 0 0 0 0 0 "
)
_BOLD_ASCII = _table(
    "339 252 437 694 552 1034 731 254 367 367 515 627 258 339 258 415 568 568 568 568 568 568 568 568 "
    "568 568 258 258 627 627 627 434 860 678 595 649 690 538 538 682 709 245 424 618 540 863 709 779 "
    "586 779 594 549 633 725 634 920 640 595 678 351 403 351 628 565 315 552 654 521 654 588 382 499 "
    "636 245 257 511 320 956 636 619 648 648 370 445 388 628 538 722 524 543 538 383 266 383 634 "
)
_BOLD_THAI = _table(
    "0 588 624 648 606 606 681 478 586 609 624 648 849 849 639 639 559 740 828 866 609 609 588 658 "
    "538 651 669 669 622 622 725 725 639 627 580 494 588 600 639 570 606 693 600 658 703 592 579 571 "
    "511 0 505 505 0 0 0 0 0 0 0 0 0 0 0 585 312 594 379 404 379 314 657 0 0 0 0 0 0 0 0 676 685 685 "
    "685 685 685 685 685 685 685 685 789 1048 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 "
    "0 0 0 0 0 0 0 0 "
)
OTHER_EM = 0.72
"""Anything else (…, ×, letters of other scripts): about as wide as the widest common glyphs."""

COLUMN_UNIT_PX = 7.0
"""Excel's column width unit: the widest digit of the workbook's default font (Calibri 11), in pixels."""
COLUMN_GAP_PX = 5.0
PRINTED_UNIT_PX = 1038 / 2048 * 11 * 96 / 72
"""The same unit as LibreOffice draws it: Carlito's digit at 11 pt, unrounded (7.43 px), where Excel
rounds it to 7 px. Text wraps in that wider column when LibreOffice prints; widths are still chosen
in Excel's unit, so the table fills the page in Excel and LibreOffice scales it to fit."""
"""Excel draws a column ``w`` units wide as ``7·w + 5`` pixels."""
CELL_PADDING_PX = 8.0
"""Room for the cell's inner margins and borders on both sides."""
LINE_HEIGHT = 1.72
"""A line of TH Sarabun New takes 1.72 times the font size: its ascent and descent leave room for
marks above and below the consonants (Laksaman's typographic ascender, descender and gap)."""
ROW_PADDING_PT = 2.0
MAX_ROW_PT = 409.0
"""The tallest row Excel allows (LibreOffice allows more, but a file taller than this opens wrong in
Excel). Text that needs more stays whole in its cell; the printout shows only what fits."""
PX_PER_PT = 96 / 72
INDENT_PX = 3 * COLUMN_UNIT_PX
"""One level of a format's indent: three digits' width."""
FIT_TOLERANCE_PX = 0.5
"""Text measured exactly as wide as the room fits (widths are rounded to a tenth of a unit)."""
LINE_MARGIN_EM = 0.05
"""Room kept free at the end of every line, for the rounding of LibreOffice's glyph positions. On
the examples' 107 KPI names printed by LibreOffice with Laksaman, the lines counted here match the
printed lines exactly for any room from 3 px less to 2 px more than the column's (at 16 pt); a
twentieth of an em (1 px) less is inside that range, on the side that adds a line rather than
clipping one."""
BREAK_LOCALE = "th"


def _per_char(ascii_: tuple[int, ...], thai: tuple[int, ...]) -> dict[str, float]:
    pairs = [
        *((chr(0x20 + i), w) for i, w in enumerate(ascii_)),
        *((chr(0x0E00 + i), w) for i, w in enumerate(thai)),
    ]
    return {ch: w / 1000 for ch, w in pairs}


_EM = {False: _per_char(_REGULAR_ASCII, _REGULAR_THAI), True: _per_char(_BOLD_ASCII, _BOLD_THAI)}


def _char_em(ch: str, bold: bool) -> float:
    em = _EM[bold].get(ch)
    if em is not None:
        return em
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0.0  # combining marks and zero-width characters of other scripts
    return OTHER_EM


@lru_cache(maxsize=65536)
def _em(line: str, bold: bool) -> float:
    """Width of one line in em; cached, since a report measures the same words over and over."""
    return sum(_char_em(ch, bold) for ch in line)


@lru_cache(maxsize=65536)
def text_px(text: str, size_pt: float, *, bold: bool = False) -> float:
    """Width in pixels of the longest line of ``text`` (cached: a report measures the same codes,
    numbers and units in every division)."""
    factor = size_pt * PX_PER_PT
    return max((_em(line, bold) * factor for line in text.split("\n")), default=0.0)


def units_to_px(units: float) -> float:
    return units * COLUMN_UNIT_PX


def px_to_units(px: float) -> float:
    return px / COLUMN_UNIT_PX


def fit_width(
    texts: list[str], size_pt: float, *, bold: bool = False, minimum: float = 4.0, maximum: float = 80.0
) -> float:
    """Column width (Excel units) that shows the widest text on one line, within the limits."""
    widest = max((text_px(t, size_pt, bold=bold) for t in texts), default=0.0)
    units = px_to_units(widest + CELL_PADDING_PX - COLUMN_GAP_PX)
    return min(max(math.ceil(units * 10) / 10, minimum), maximum)


def page_units(page_px: float, columns: int) -> float:
    """The sum of ``columns`` column widths (Excel units) that exactly fills ``page_px``."""
    return px_to_units(page_px - COLUMN_GAP_PX * columns)


@lru_cache(maxsize=65536)
def line_count(text: str, width_units: float, size_pt: float, *, bold: bool = False, indent: int = 0) -> int:
    """How many lines ``text`` wraps to in a column ``width_units`` wide.

    Thai writes no spaces between words; Excel and LibreOffice break a Thai run between the words of
    a dictionary. LibreOffice asks ICU where a line may break (its Thai dictionary, and Unicode's
    line-breaking rules for everything else), so the same ICU rules are asked here, and lines are
    filled greedily with the pieces between those breaks; spaces at the end of a line take no room.
    A piece wider than a whole line is broken anywhere, as both programs do. Lines are as wide as
    LibreOffice draws the column (``PRINTED_UNIT_PX``), less ``LINE_MARGIN_EM``.
    """
    px = size_pt * PX_PER_PT
    room = width_units * PRINTED_UNIT_PX + COLUMN_GAP_PX - CELL_PADDING_PX - indent * INDENT_PX
    room = max(room - LINE_MARGIN_EM * px, 1.0) + FIT_TOLERANCE_PX
    total = 0
    for paragraph in text.split("\n"):
        # the width of paragraph[a:b] is (ems[b] - ems[a]) * px
        ems = list(accumulate((_char_em(ch, bold) for ch in paragraph), initial=0.0))
        if (ems[len(paragraph.rstrip())]) * px <= room:
            total += 1  # fits whole: no need to ask where it may break
            continue
        lines, used, line_start = 1, 0.0, 0  # used: the line's width, its trailing spaces included
        for start, end in LineBreaker(paragraph, BREAK_LOCALE).segments():
            body = start + len(paragraph[start:end].rstrip())
            width = (ems[body] - ems[start]) * px
            if used and used + width > room:
                line_start = _slash_break(paragraph, line_start, start)
                lines, used = lines + 1, (ems[start] - ems[line_start]) * px
                if used and used + width > room:
                    lines, used, line_start = lines + 1, 0.0, start
            if width > room:
                extra = math.ceil(width / room) - 1
                lines += extra
                used, line_start = width - extra * room, start
            else:
                used += width
            used += (ems[end] - ems[body]) * px
        total += lines
    return total


SLASH_LOOK_BACK = 66
"""How far back LibreOffice looks for a space before a break that follows a slash."""


def _slash_break(paragraph: str, line_start: int, at: int) -> int:
    """Where LibreOffice really ends a line that ICU would break at ``at``.

    Unicode allows a break after ``/``; LibreOffice does not want one inside a path, so a break
    right after a slash moves back to the last space within ``SLASH_LOOK_BACK`` characters
    before it (``แผนงาน/โครงการ`` then starts the next line with the words before the slash)."""
    if at <= 0 or paragraph[at - 1] != "/":
        return at
    for pos in range(at - 2, max(line_start, at - SLASH_LOOK_BACK - 1), -1):
        if paragraph[pos].isspace():
            return pos + 1
    return at


@lru_cache(maxsize=4096)
def text_height(lines: int, size_pt: float) -> float:
    """Points that ``lines`` lines of text at ``size_pt`` need, whatever Excel allows."""
    return round(max(lines, 1) * size_pt * LINE_HEIGHT + ROW_PADDING_PT, 1)


def row_height(lines: int, size_pt: float) -> float:
    """Row height in points for ``lines`` lines of text at ``size_pt``, at most ``MAX_ROW_PT``."""
    return min(text_height(lines, size_pt), MAX_ROW_PT)
