"""input_templates/kpi_template.xlsx is what ``kpibatch template`` makes: same cell values, validations,
conditional formats, protection and defined names (not the same bytes). Regenerate it with
``python scripts/make_template.py`` when this fails.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl

from kpibatch.cli import main

COMMITTED = Path(__file__).resolve().parent.parent / "input_templates" / "kpi_template.xlsx"


def _cells(ws: Any) -> dict[str, Any]:
    return {cell.coordinate: cell.value for row in ws.iter_rows() for cell in row if cell.value is not None}


def _validations(ws: Any) -> set[tuple[Any, ...]]:
    fields = (
        "type",
        "operator",
        "formula1",
        "formula2",
        "allow_blank",
        "showErrorMessage",
        "showInputMessage",
        "errorStyle",
        "errorTitle",
        "error",
        "promptTitle",
        "prompt",
    )
    return {(str(dv.sqref), *(getattr(dv, f) for f in fields)) for dv in ws.data_validations.dataValidation}


def _conditional_formats(ws: Any) -> set[tuple[Any, ...]]:
    return {
        (str(rng.sqref), rule.type, tuple(rule.formula or ()), rule.dxf.fill.bgColor.rgb)
        for rng in ws.conditional_formatting
        for rule in rng.rules
    }


def _locked(ws: Any) -> set[str]:
    return {
        cell.coordinate
        for row in ws.iter_rows()
        for cell in row
        if cell.has_style and not cell.protection.locked
    }


def describe(path: Path) -> dict[str, Any]:
    wb = openpyxl.load_workbook(path)
    names = {name: (d.attr_text, d.hidden) for name, d in wb.defined_names.items()}
    sheets = {
        ws.title: {
            "cells": _cells(ws),
            "validations": _validations(ws),
            "conditional": _conditional_formats(ws),
            "unlocked": _locked(ws),
            "merged": {str(r) for r in ws.merged_cells.ranges},
            "protected": (ws.protection.sheet, ws.protection.password),
            "freeze": ws.freeze_panes,
            "hidden_columns": {k for k, d in ws.column_dimensions.items() if d.hidden},
        }
        for ws in wb.worksheets
    }
    return {"sheet_order": wb.sheetnames, "names": names, "sheets": sheets}


def test_committed_template_matches_what_the_command_makes(tmp_path: Path) -> None:
    made = tmp_path / "kpi_template.xlsx"
    assert main(["template", "--out", str(made)], out=io.StringIO()) == 0
    expected, committed = describe(made), describe(COMMITTED)
    assert committed["sheet_order"] == expected["sheet_order"]
    assert committed["names"] == expected["names"]
    for title, sheet in expected["sheets"].items():
        for aspect, value in sheet.items():
            assert committed["sheets"][title][aspect] == value, (
                f"{COMMITTED.name} › {title}: {aspect} differs; run python scripts/make_template.py"
            )


def test_the_comparison_sees_a_changed_validation(tmp_path: Path) -> None:
    changed = tmp_path / "changed.xlsx"
    wb = openpyxl.load_workbook(COMMITTED)
    wb["KPIs"].data_validations.dataValidation[0].formula1 = '"something,else"'
    wb.save(changed)
    assert (
        describe(changed)["sheets"]["KPIs"]["validations"]
        != describe(COMMITTED)["sheets"]["KPIs"]["validations"]
    )
