"""Settings by concern: one configuration (TOML, ``KPIBATCH_*``, options) composed of small typed
parts, and each stage handed only its part."""

from __future__ import annotations

import datetime as dt
import typing
from dataclasses import fields
from pathlib import Path

import openpyxl
from conftest import EXAMPLES, ROOT

from kpibatch.config import (
    PARTS,
    InputLimits,
    Mail,
    ReportStyle,
    Scoring,
    Settings,
    load_settings,
)
from kpibatch.consolidate import consolidate
from kpibatch.deliver import render as render_module
from kpibatch.deliver import report as report_module
from kpibatch.pipeline import check_files, score_options
from kpibatch.read.precheck import Limits
from kpibatch.write import write_report


def test_every_setting_belongs_to_exactly_one_part() -> None:
    keys = [f.metadata["setting"] for part in PARTS.values() for f in fields(part)]
    assert len(keys) == len(set(keys))
    assert set(keys) == {f.name for f in fields(Settings)}
    for name, part in PARTS.items():
        assert isinstance(getattr(Settings(), name), part)


def test_the_parts_hold_what_the_file_the_environment_and_the_options_say(tmp_path: Path) -> None:
    config = tmp_path / "kpibatch.toml"
    config.write_text(
        'font_size = 14\n[smtp]\nhost = "mail.example.go.th"\npassword = "s3cret"\n'
        '[mail]\nto = ["a@example.go.th"]\nlanguage = "en"\n',
        encoding="utf-8",
    )
    settings = load_settings(
        config, overrides={"floor": 1}, environ={"KPIBATCH_MAX_FILE_MB": "7", "KPIBATCH_JOBS": "2"}
    )
    assert settings.scoring == Scoring(floor=1)
    assert settings.style.font_size == 14 and settings.style.font_name == "TH Sarabun New"
    assert (settings.smtp.host, settings.smtp.password) == ("mail.example.go.th", "s3cret")
    assert (settings.mail.to, settings.mail.language) == (("a@example.go.th",), "en")
    assert settings.limits.max_file_mb == 7 and settings.workers.jobs == 2
    assert settings.paths.ledger_path == settings.ledger_path == Path("output") / "ledger.sqlite3"
    assert "s3cret" not in repr(settings.smtp)  # a part logged or printed does not show the password


def test_the_shipped_example_configuration_still_loads_into_the_parts(tmp_path: Path) -> None:
    settings = load_settings(ROOT / "deploy" / "kpibatch.toml.example", environ={})
    assert settings.paths.inbox == Path("/srv/kpibatch/inbox")
    assert settings.batch.stability_delay == 10.0 and settings.batch.log_level == "INFO"


def test_each_stage_is_handed_only_its_part() -> None:
    hints = {
        score_options: ("scoring", Scoring),
        Limits.from_settings: ("limits", InputLimits),
        write_report: ("style", ReportStyle),
        report_module.summarize: ("style", ReportStyle),
        render_module.render: ("mail", Mail),
        render_module.check_templates: ("mail", Mail),
    }
    for function, (name, part) in hints.items():
        types = typing.get_type_hints(function)
        assert types[name] is part, function
        assert Settings not in types.values(), function


def test_the_workbook_is_written_from_the_style_alone(tmp_path: Path) -> None:
    [group] = consolidate(list(check_files(sorted(EXAMPLES.glob("*.xlsx"))[:2], Settings(), for_report=True)))
    style = ReportStyle(font_name="Garuda", font_size=12, thai_digits=True, expected_divisions=())
    path = write_report(group, tmp_path / "r.xlsx", style, dt.datetime(2020, 10, 15, 9, 30))
    sheet = openpyxl.load_workbook(path).worksheets[0]
    fonts = {c.font.name for row in sheet.iter_rows() for c in row if c.value is not None}
    assert fonts == {"Garuda"}
