"""Deadlines per fiscal year and round (issue 16 item 2): each registry division on time, late (with
its date) or missing, in report.html and the report mail."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import simple_kpis, write_submission

from kpibatch.config import ConfigError, Settings, load_settings
from kpibatch.deadlines import STANDINGS_FILE, DeadlineError, parse_deadlines, standings
from kpibatch.pipeline import run_batch

REGISTRY = """
[[division]]
name = "กองบริหารการคลัง"
aliases = ["กองคลัง"]

[[division]]
name = "กองทดสอบระบบ"

[[division]]
name = "กองที่ยังไม่ส่ง"
"""


def test_keys_in_buddhist_or_common_era_and_dates_from_toml(tmp_path: Path) -> None:
    (tmp_path / "k.toml").write_text(
        '[deadlines]\n"2569-6" = 2026-04-10\n"2026-9" = "2026-07-10"\n"๒๕๖๙-๑๒" = 2026-10-15\n',
        encoding="utf-8",
    )
    settings = load_settings(tmp_path / "k.toml", environ={})
    assert parse_deadlines(settings.deadlines) == {
        (2569, 6): dt.date(2026, 4, 10),
        (2569, 9): dt.date(2026, 7, 10),
        (2569, 12): dt.date(2026, 10, 15),
    }
    env = load_settings(environ={"KPIBATCH_DEADLINES": "2569-6=2026-04-10"}, cwd=tmp_path)
    assert parse_deadlines(env.deadlines) == {(2569, 6): dt.date(2026, 4, 10)}


@pytest.mark.parametrize(
    "table",
    [{"2569-7": "2026-04-10"}, {"2569": "2026-04-10"}, {"2569-6": "10/04/2026"}, {"x-6": "2026-01-01"}],
)
def test_a_bad_deadline_is_a_configuration_error(table: dict[str, str]) -> None:
    with pytest.raises(DeadlineError) as info:
        parse_deadlines(table)
    assert isinstance(info.value, ConfigError) and "deadlines" in str(info.value)


def test_on_time_late_with_its_date_and_missing() -> None:
    tz = dt.timezone(dt.timedelta(hours=7))
    found = standings(
        ["กองเอ", "กองบี", "กองซี"],
        {
            "กองเอ": dt.datetime(2026, 4, 10, 23, 59, tzinfo=tz),
            "กอง บี": dt.datetime(2026, 4, 11, 0, 1, tzinfo=tz),
        },
        dt.date(2026, 4, 10),
    )
    assert [(s.division, s.standing) for s in found] == [
        ("กองเอ", "on-time"),
        ("กองบี", "late"),
        ("กองซี", "missing"),
    ]
    assert found[1].text_th == "ส่งล่าช้า (2026-04-11)" and found[1].text_en == "late (2026-04-11)"


def test_the_report_marks_each_registry_division(tmp_path: Path) -> None:
    registry = tmp_path / "divisions.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    kpis = simple_kpis({"1": 5}, {"1": 100})
    early = write_submission(tmp_path / "in" / "early.xlsx", kpis, division="กองคลัง")
    late = write_submission(tmp_path / "in" / "late.xlsx", kpis)
    on_day = dt.datetime(2020, 10, 9, 12, 0).timestamp()
    after = dt.datetime(2020, 10, 12, 12, 0).timestamp()
    os.utime(early, (on_day, on_day))
    os.utime(late, (after, after))
    settings = replace(Settings(), divisions_registry=registry, deadlines={"2020-12": "2020-10-10"}, jobs=1)
    report = run_batch([early, late], tmp_path / "out", settings)
    output = report.outputs[0]
    assert (output.folder / STANDINGS_FILE).is_file()
    assert output.html is not None
    html = output.html.read_text(encoding="utf-8")
    assert "กำหนดส่ง 2020-10-10" in html
    assert '<tr class="on-time"><td style="padding:2px 12px 2px 0">กองคลัง</td>' in html
    assert "ส่งตรงเวลา" in html and "ส่งล่าช้า (2020-10-12)" in html
    assert '<tr class="missing"><td style="padding:2px 12px 2px 0">กองที่ยังไม่ส่ง</td>' in html
    # the missing list uses the registry too: the alias's division is in, the third is not
    assert html.count("กองที่ยังไม่ส่ง") == 2 and "กองบริหารการคลัง" not in html

    # no deadline for the round: no standings, and a stale file goes
    again = run_batch([early, late], tmp_path / "out", replace(settings, deadlines={}))
    assert not (again.outputs[0].folder / STANDINGS_FILE).exists()
    assert "ส่งตรงเวลา" not in again.outputs[0].html.read_text(encoding="utf-8")  # type: ignore[union-attr]


def test_the_report_mail_shows_the_standings_too(tmp_path: Path) -> None:
    from mailserver import mail_settings

    from kpibatch.deliver.message import envelope
    from kpibatch.deliver.service import message_for

    registry = tmp_path / "divisions.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    early = write_submission(tmp_path / "in" / "early.xlsx", simple_kpis({"1": 5}, {"1": 100}))
    stamp = dt.datetime(2020, 10, 9, 12, 0).timestamp()
    os.utime(early, (stamp, stamp))
    settings = replace(mail_settings(), divisions_registry=registry, deadlines={"2563-12": "2020-10-10"})
    output = run_batch([early], tmp_path / "out", replace(settings, jobs=1)).outputs[0]
    msg = message_for(output.workbook, settings, envelope(settings.mail))
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "- กองทดสอบระบบ: ส่งตรงเวลา" in text and "- กองที่ยังไม่ส่ง: ยังไม่ส่ง" in text


def test_config_show_prints_deadlines_as_toml_that_reads_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from kpibatch.cli import main

    for key in [k for k in os.environ if k.startswith("KPIBATCH_")]:
        monkeypatch.delenv(key)
    source = tmp_path / "k.toml"
    source.write_text('[deadlines]\n"2569-6" = 2026-04-10\n', encoding="utf-8")
    assert main(["config", "show", "--config", str(source)]) == 0
    shown = tmp_path / "shown.toml"
    shown.write_text(capsys.readouterr().out, encoding="utf-8")
    assert parse_deadlines(load_settings(shown, environ={}).deadlines) == {(2569, 6): dt.date(2026, 4, 10)}
    assert main(["config", "show", "--json", "--config", str(source)]) == 0
    assert json.loads(capsys.readouterr().out)["deadlines"] == {"2569-6": "2026-04-10"}
