"""Settings by concern: one configuration (TOML, ``KPIBATCH_*``, options) composed of small typed
parts, and each stage handed only its part."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import inspect
import typing
from dataclasses import fields
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import EXAMPLES, ROOT

from kpibatch import deadlines, pipeline, registry
from kpibatch.batch import paths as batch_paths
from kpibatch.batch import rebuild, rounds
from kpibatch.config import (
    PARTS,
    BatchOptions,
    Checking,
    ConfigError,
    Divisions,
    InputLimits,
    Mail,
    Paths,
    Printing,
    Reporting,
    ReportStyle,
    Scoring,
    Settings,
    Smtp,
    Workers,
    load_settings,
)
from kpibatch.consolidate import consolidate
from kpibatch.deliver import message, pdf, smtp
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
    [group] = consolidate(
        list(check_files(sorted(EXAMPLES.glob("*.xlsx"))[:2], Settings().checking, for_report=True))
    )
    style = ReportStyle(font_name="Garuda", font_size=12, thai_digits=True)
    path = write_report(group, tmp_path / "r.xlsx", style, dt.datetime(2020, 10, 15, 9, 30))
    sheet = openpyxl.load_workbook(path).worksheets[0]
    fonts = {c.font.name for row in sheet.iter_rows() for c in row if c.value is not None}
    assert fonts == {"Garuda"}


# Modules (or, for pipeline, the one function) that compose the stages and so may hold the whole
# Settings: the CLI commands, the library API, the two run entry points and the mail step.
COMPOSITION_ROOTS: dict[str, frozenset[str] | None] = {
    "kpibatch": None,  # kpibatch.check / run / load
    "kpibatch.config": None,
    "kpibatch.cli": None,
    "kpibatch.commands": None,  # and every module under it
    "kpibatch.batch.runner": None,
    "kpibatch.batch.watch": None,
    "kpibatch.deliver.service": None,
    "kpibatch.pipeline": frozenset({"run_batch"}),
}


def _names_settings(annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        annotation = ast.parse(annotation.value, mode="eval").body
    return any(
        (isinstance(node, ast.Name) and node.id == "Settings")
        or (isinstance(node, ast.Attribute) and node.attr == "Settings")
        for node in ast.walk(annotation)
    )


def _root(module: str) -> tuple[bool, frozenset[str]]:
    """Whether the whole module may hold Settings, else the functions of it that may."""
    for name, functions in COMPOSITION_ROOTS.items():
        if module == name or (name == "kpibatch.commands" and module.startswith(name + ".")):
            return functions is None, functions or frozenset()
    return False, frozenset()


def _settings_holders(root: Path = ROOT) -> list[str]:
    """``module:function(parameter)`` / ``module:Class.field`` outside the composition roots that
    are annotated with ``Settings``."""
    found = []
    for path in sorted((root / "kpibatch").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        whole, functions = _root(module)
        if whole:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name not in functions:
                args = node.args
                params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
                found += [
                    f"{module}:{node.name}({p.arg})"
                    for p in params
                    if p is not None and _names_settings(p.annotation)
                ]
            elif isinstance(node, ast.ClassDef):
                found += [
                    f"{module}:{node.name}.{getattr(item.target, 'id', '?')}"
                    for item in node.body
                    if isinstance(item, ast.AnnAssign) and _names_settings(item.annotation)
                ]
    return found


def test_only_the_composition_roots_take_the_whole_settings() -> None:
    assert _settings_holders() == []


def test_the_walk_finds_a_stage_that_takes_the_whole_settings(tmp_path: Path) -> None:
    """The check above can fail: a stage module written the old way is reported."""
    stage = tmp_path / "kpibatch" / "deliver"
    stage.mkdir(parents=True)
    (stage / "old.py").write_text(
        "from kpibatch.config import Settings\n\n\n"
        "def envelope(settings: Settings, *, require: bool = True) -> None: ...\n\n\n"
        "class Writer:\n    settings: 'Settings | None'\n",
        encoding="utf-8",
    )
    assert _settings_holders(tmp_path) == [
        "kpibatch.deliver.old:envelope(settings)",
        "kpibatch.deliver.old:Writer.settings",
    ]


def test_the_stages_declare_their_parts() -> None:
    stages: dict[Any, dict[str, type]] = {
        registry.registry_of: {"divisions": Divisions},
        registry.expected_names: {"divisions": Divisions},
        deadlines.deadline_for: {"divisions": Divisions},
        deadlines.group_standings: {"divisions": Divisions},
        deadlines.write_group_standings: {"divisions": Divisions},
        message.envelope: {"mail": Mail},
        smtp.check_smtp_settings: {"smtp": Smtp},
        smtp.send: {"smtp": Smtp, "deadline": float},
        pdf.workbook_pdf: {"printing": Printing},
        pdf.division_pdf: {"style": ReportStyle, "printing": Printing},
        report_module.expected_of: {"divisions": Divisions},
        report_module.write_report_html: {"style": ReportStyle, "mail": Mail, "divisions": Divisions},
        batch_paths.effective_paths: {"paths": Paths},
        batch_paths.BatchPaths.of: {"configured": Paths},
        batch_paths.BatchPaths.keeps_inbox: {"batch": BatchOptions},
        rebuild.rebuild_ledger: {"configured": Paths, "checking": Checking},
        pipeline.check_files: {"checking": Checking},
        pipeline.orchestrate: {"checking": Checking},
        pipeline.write_group: {"reporting": Reporting},
    }
    stages[rounds.RoundWriter.__init__] = {"checking": Checking, "reporting": Reporting}
    for function, parts in stages.items():
        # each annotation alone: some name types imported only for the type checker
        params = inspect.signature(function).parameters
        declared = {name: eval(params[name].annotation, function.__globals__) for name in parts}
        assert declared == parts, function
        assert not any("Settings" in str(p.annotation) for p in params.values()), function


LIMITS = InputLimits(
    max_file_mb=50,
    max_zip_members=1000,
    max_unzipped_mb=100,
    max_zip_ratio=100,
    max_sheet_rows=10_000,
    max_sheet_columns=256,
    worker_memory_mb=0,
    file_timeout_s=0,
)
NO_REGISTRY = Divisions(registry=None, strict=False, deadlines={}, expected=())


def test_the_check_stage_runs_from_its_parts_alone() -> None:
    [example] = sorted(EXAMPLES.glob("*.xlsx"))[:1]
    checking = Checking(Workers(jobs=1, scheduler=None), Scoring(floor=0), LIMITS, NO_REGISTRY)
    [accepted] = pipeline.check_files([example], checking)
    assert accepted.accepted
    # the limits that reach the workers are the part's: a 0-row limit rejects the same file
    tight = dataclasses.replace(checking, limits=dataclasses.replace(LIMITS, max_sheet_rows=1))
    [refused] = pipeline.check_files([example], tight)
    assert not refused.accepted and refused.errors


def test_the_divisions_part_alone_gives_the_expected_names_and_the_deadline(tmp_path: Path) -> None:
    registry_file = tmp_path / "divisions.toml"
    registry_file.write_text('[[division]]\nname = "กองเอ"\naliases = ["กองA"]\n', encoding="utf-8")
    named = Divisions(registry=registry_file, strict=True, deadlines={"2569-6": "2026-04-10"}, expected=())
    assert registry.expected_names(named, ["กองA"]) == ("กองA",)
    assert deadlines.deadline_for(named, 2569, 6) == dt.date(2026, 4, 10)
    assert deadlines.deadline_for(named, 2569, 9) is None
    assert registry.expected_names(dataclasses.replace(NO_REGISTRY, expected=("กองบี",))) == ("กองบี",)


def test_the_mail_and_smtp_parts_alone_give_the_envelope_and_the_checks() -> None:
    mail = Mail(
        enabled=True,
        sender="kpi@example.go.th",
        to=("a@example.go.th",),
        cc=(),
        bcc=("archive@example.go.th",),
        language="th",
        templates=None,
        deadline_s=900.0,
    )
    env = message.envelope(mail)
    assert env.sender is not None and env.sender.addr_spec == "kpi@example.go.th"
    assert env.recipients == ["a@example.go.th", "archive@example.go.th"]
    server = Smtp(
        host="127.0.0.1",
        port=0,
        security="none",
        user="kpi",
        password="secret",
        cafile=None,
        connect_timeout=15.0,
        timeout=60.0,
        data_timeout=600.0,
        retries=3,
        backoff=5.0,
        allow_plaintext_login=False,
    )
    with pytest.raises(ConfigError, match="allow_plaintext_login"):
        smtp.check_smtp_settings(server)
    assert smtp.check_smtp_settings(dataclasses.replace(server, allow_plaintext_login=True))
    assert smtp.port(server) == 25 and smtp.port(dataclasses.replace(server, security="ssl")) == 465


def test_the_paths_part_alone_gives_the_batch_paths(tmp_path: Path) -> None:
    configured = Paths(
        inbox=tmp_path / "in",
        out=tmp_path / "out",
        ledger=tmp_path / "db" / "l.sqlite3",
        archive=None,
        rejected=None,
        lock_file=None,
        log_dir=None,
    )
    paths = batch_paths.BatchPaths.of(configured)
    assert (paths.ledger, paths.archive) == (tmp_path / "db" / "l.sqlite3", tmp_path / "out" / "archive")
    with pytest.raises(ConfigError, match="archive"):
        batch_paths.BatchPaths.of(dataclasses.replace(configured, archive=tmp_path / "in"))


def test_file_environment_and_options_reach_the_divisions_printing_and_composed_parts(tmp_path: Path) -> None:
    config = tmp_path / "kpibatch.toml"
    config.write_text(
        'expected_divisions = ["กองเอ"]\npdf = true\n[divisions]\nregistry = "d.toml"\n'
        '[deadlines]\n"2569-6" = 2026-04-10\n',
        encoding="utf-8",
    )
    settings = load_settings(
        config,
        overrides={"pdf_timeout_s": 30, "jobs": 3},
        environ={"KPIBATCH_STRICT_DIVISIONS": "yes", "KPIBATCH_MAIL_LANGUAGE": "en"},
    )
    assert settings.divisions == Divisions(
        registry=Path("d.toml"), strict=True, deadlines={"2569-6": dt.date(2026, 4, 10)}, expected=("กองเอ",)
    )
    assert settings.printing == Printing(pdf=True, timeout_s=30.0)
    assert settings.checking.workers.jobs == 3 and settings.checking.divisions == settings.divisions
    assert settings.reporting.mail.language == "en" and settings.reporting.printing == settings.printing
