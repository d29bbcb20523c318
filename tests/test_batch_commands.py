"""The batch's command line: run's lock and summary, watch, history, config show, progress, deploy files."""

from __future__ import annotations

import json
import os
import pty
import re
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass, fields
from pathlib import Path

import pytest
from batchkit import cli, copy_in, division_book, rejected_book, settings_for

from kpibatch.batch.lock import batch_lock
from kpibatch.batch.paths import BatchPaths
from kpibatch.batch.runner import run_inbox
from kpibatch.cli import build_parser
from kpibatch.commands.config import effective
from kpibatch.config import Settings, is_secret, load_settings
from kpibatch.errors import ExitCode

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SUMMARY = re.compile(
    r"^(\d+) files?: (\d+) accepted, (\d+) rejected, (\d+) duplicates?, (\d+) superseded(, \d+ waiting)?; "
    r"output: (.+)$",
    re.MULTILINE,
)


def subprocess_env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, **extra}


def run_args(settings: Settings) -> list[str]:
    return ["--inbox", str(settings.inbox), "--out", str(settings.out), "--stability-delay", "0"]


# --- no overlap ------------------------------------------------------------------------------------


def test_a_second_run_exits_at_once_with_code_4_while_the_lock_is_held(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(tmp_path)
    book = division_book(settings.inbox / "a.xlsx", "กองเอ")
    with batch_lock(BatchPaths.of(settings.paths).lock):
        code, out = cli("run", *run_args(settings))
    assert code == ExitCode.LOCKED
    assert "another kpibatch run is in progress" in capsys.readouterr().err
    assert out == "" and book.exists()
    assert not BatchPaths.of(settings.paths).ledger.exists()


def test_the_lock_holds_across_processes_and_is_gone_when_its_holder_is(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    division_book(settings.inbox / "a.xlsx", "กองเอ")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from kpibatch.batch.lock import batch_lock\n"
            "with batch_lock(Path(sys.argv[1])):\n    print('held', flush=True); sys.stdin.read()",
            str(BatchPaths.of(settings.paths).lock),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert cli("run", *run_args(settings))[0] == ExitCode.LOCKED
    finally:
        holder.communicate("", timeout=60)
    assert cli("run", *run_args(settings))[0] == 0


# --- run's output ----------------------------------------------------------------------------------


def test_run_prints_one_summary_line_and_keeps_a_log_per_run(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    division_book(settings.inbox / "a.xlsx", "กองเอ")
    rejected_book(settings.inbox / "bad.xlsx")

    code, out = cli("run", *run_args(settings), "--quiet")

    assert code == 3
    [summary] = SUMMARY.findall(out)
    assert summary[:5] == ("2", "1", "1", "0", "0")
    assert summary[6].endswith(".xlsx") and Path(summary[6]).is_file()
    assert out.strip().splitlines()[-1].startswith("2 files:")
    logs = list((settings.out / "logs").glob("*-run1.log"))
    assert len(logs) == 1
    text = logs[0].read_text(encoding="utf-8")
    assert "accepted: a.xlsx" in text and "rejected: bad.xlsx" in text and "2 files:" in text


def run_on_a_terminal(settings: Settings, *extra: str) -> str:
    """Run with stderr on a pseudo-terminal, as when someone types the command; return what it drew."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kpibatch", "run", *run_args(settings), *extra],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=subprocess_env(TERM="xterm", COLUMNS="100"),
        cwd=settings.out.parent,
    )
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        drawn += chunk
    proc.communicate(timeout=120)
    os.close(leader)
    return drawn.decode("utf-8", "replace")


def test_one_of_something_is_counted_in_the_singular(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    book = division_book(tmp_path / "a.xlsx", "กองเอ")
    copy_in(book, settings.inbox)
    code, out = cli("run", *run_args(settings), "--quiet")
    assert code == 0
    assert (
        out.strip().splitlines()[-1].startswith("1 file: 1 accepted, 0 rejected, 0 duplicates, 0 superseded;")
    )
    copy_in(book, settings.inbox, "again.xlsx")
    code, out = cli("run", *run_args(settings), "--quiet")
    assert code == 0
    assert (
        out.strip().splitlines()[-1].startswith("1 file: 0 accepted, 0 rejected, 1 duplicate, 0 superseded;")
    )
    code, out = cli("history", "--out", str(settings.out))
    assert "0 accepted, 0 rejected, 1 duplicate, 0 superseded" in out
    code, out = cli("validate", str(rejected_book(tmp_path / "bad.xlsx")))
    assert "bad.xlsx: ERRORS (1 error, 0 warnings)" in out
    assert out.rstrip().endswith("1 file: 0 without errors, 1 with errors")


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only")
def test_a_run_that_waits_for_files_being_copied_says_so_on_the_terminal(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    for name in ("a", "b"):
        division_book(settings.inbox / f"{name}.xlsx", f"กอง{name}")  # written just now: still fresh
    # the later option wins; 5 s, so the files are still fresh when a busy machine has started the CLI
    drawn = run_on_a_terminal(settings, "--stability-delay", "5")
    assert "waiting up to 5 s for 2 files still being written" in drawn
    assert len(list((settings.out / "archive").rglob("*.xlsx"))) == 2  # and then took them


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX only")
def test_progress_bar_only_on_a_terminal_and_not_with_quiet(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    for i in range(3):
        division_book(settings.inbox / f"{i}.xlsx", f"กอง{i}")
    assert "checking" in run_on_a_terminal(settings)

    division_book(settings.inbox / "q.xlsx", "กองเงียบ")
    assert "checking" not in run_on_a_terminal(settings, "--quiet")

    division_book(settings.inbox / "cron.xlsx", "กองกลางคืน")
    piped = subprocess.run(
        [sys.executable, "-m", "kpibatch", "run", *run_args(settings)],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        check=False,
    )
    assert piped.returncode == 0
    assert "checking" not in piped.stderr and "\x1b[" not in piped.stderr + piped.stdout


# --- watch -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_watch_runs_when_files_arrive_and_stops_cleanly_on_a_signal(tmp_path: Path, sig: int) -> None:
    settings = settings_for(tmp_path)
    watcher = subprocess.Popen(
        [sys.executable, "-m", "kpibatch", "watch", *run_args(settings), "--interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )
    try:
        assert watcher.stdout is not None
        assert watcher.stdout.readline().startswith("kpibatch watch: watching")
        book = division_book(tmp_path / "drafts" / "a.xlsx", "กองเอ")
        copy_in(book, settings.inbox)
        lines = []
        while not (lines and lines[-1].startswith("1 file: 1 accepted")):
            line = watcher.stdout.readline()
            assert line, f"watch ended early: {watcher.stderr.read() if watcher.stderr else ''}"
            lines.append(line)
        watcher.send_signal(sig)
        rest, err = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 0, err
    assert f"stopped on {signal.Signals(sig).name}" in rest
    assert list(settings.inbox.iterdir()) == []
    assert "Traceback" not in err


# --- history ---------------------------------------------------------------------------------------


def test_history_lists_submissions_and_runs_with_filters(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    division_book(settings.inbox / "a.xlsx", "กองเอ", 3.0)
    division_book(settings.inbox / "b.xlsx", "กองบี", 4.0)
    division_book(settings.inbox / "a6.xlsx", "กองเอ", 2.0, round_=6)
    run_inbox(settings)
    division_book(settings.inbox / "a2.xlsx", "กองเอ", 5.0)
    run_inbox(settings)

    code, out = cli("history", "--out", settings.out)
    assert code == 0
    assert "submissions (4)" in out and "runs (2)" in out
    assert "superseded by #4" in out and "exit 0" in out

    code, out = cli("history", "--out", settings.out, "--division", "เอ", "--round", "12", "--json")
    data = json.loads(out)
    assert [(s["file_name"], s["status"]) for s in data["submissions"]] == [
        ("a.xlsx", "accepted"),
        ("a2.xlsx", "accepted"),
    ]
    assert data["submissions"][1]["scores"]["total"] == 5.0
    assert [r["id"] for r in data["runs"]] == [1, 2]

    code, out = cli(
        "history", "--out", settings.out, "--fiscal-year", "2020", "--round", "6", "--submissions"
    )
    assert "submissions (1)" in out and "a6.xlsx" in out and "runs (" not in out


def test_history_without_a_ledger_is_a_usage_error(tmp_path: Path) -> None:
    assert cli("history", "--out", tmp_path / "nothing")[0] == 2
    assert not (tmp_path / "nothing").exists()


# --- config ----------------------------------------------------------------------------------------


def config_show(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in subprocess_env().items() if not k.startswith("KPIBATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "kpibatch", "config", "show", *argv],
        capture_output=True,
        text=True,
        env={**clean, **env},
        cwd=tmp_path,
        check=False,
    )


def test_config_show_prints_the_effective_values_in_order_of_precedence(tmp_path: Path) -> None:
    (tmp_path / "kpibatch.toml").write_text(
        'out = "reports"\nstability_delay = 5\nfloor = 1\n[log]\nlevel = "DEBUG"\n', encoding="utf-8"
    )
    shown = config_show(tmp_path, KPIBATCH_STABILITY_DELAY="3")
    assert shown.returncode == 0, shown.stderr
    assert "stability_delay = 3.0" in shown.stdout  # the environment beats the file
    assert "floor = 1" in shown.stdout and 'log_level = "DEBUG"' in shown.stdout
    assert f'archive = "{Path("reports") / "archive"}"' in shown.stdout  # the default lives in out
    assert "config file: " in shown.stdout and "kpibatch.toml" in shown.stdout

    as_json = json.loads(config_show(tmp_path, "--json").stdout)
    assert as_json["stability_delay"] == 5.0 and as_json["ledger"] == str(Path("reports") / "ledger.sqlite3")


def test_config_show_output_reads_back_as_the_same_settings(tmp_path: Path) -> None:
    shown = config_show(tmp_path, KPIBATCH_EXPECTED_DIVISIONS="กองเอ,กองบี", KPIBATCH_KEEP_INBOX="yes")
    (tmp_path / "again.toml").write_text(shown.stdout, encoding="utf-8")
    again = load_settings(config_file=tmp_path / "again.toml", environ={})
    assert again.expected_divisions == ("กองเอ", "กองบี") and again.keep_inbox is True


def test_config_show_masks_secrets(tmp_path: Path) -> None:
    secrets = [f.name for f in fields(Settings) if is_secret(f.name)]
    if not secrets:
        pytest.skip("no secret setting is defined yet (the mail settings add smtp_password)")
    shown = config_show(tmp_path, **{f"KPIBATCH_{name.upper()}": "hunter2-secret" for name in secrets})
    assert shown.returncode == 0
    assert "hunter2-secret" not in shown.stdout + shown.stderr
    assert all(f'{name} = "***"' in shown.stdout for name in secrets)


def test_config_show_masks_any_secret_field() -> None:
    @dataclass(frozen=True)
    class WithSecrets(Settings):
        smtp_password: str = ""
        api_token: str = ""

    shown = effective(WithSecrets(smtp_password="hunter2", api_token=""))
    assert shown["smtp_password"] == "***" and shown["api_token"] == ""
    assert "hunter2" not in json.dumps(shown)


def test_secret_names_are_recognised_by_their_suffix() -> None:
    assert is_secret("smtp_password") and is_secret("api_token") and is_secret("client_secret")
    assert not is_secret("stability_delay") and not is_secret("ledger")


def test_bad_batch_settings_are_usage_errors(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    for option, value in (("--stability-delay", "-1"), ("--archive", str(settings.inbox))):
        code, _ = cli("run", "--inbox", settings.inbox, "--out", settings.out, option, value)
        assert code == 2, option


# --- deploy ----------------------------------------------------------------------------------------

COMMAND = re.compile(r'kpibatch(?:\.exe)?(?:\\")?\s+((?:run|watch)\b.*?)(?:"\s*$|\s*>>|$)', re.MULTILINE)


@pytest.mark.parametrize(
    "name", ["kpibatch.service", "kpibatch-watch.service", "crontab", "windows-task.cmd"]
)
def test_deploy_files_run_real_commands(name: str) -> None:
    text = (DEPLOY / name).read_text(encoding="utf-8")
    [command] = COMMAND.findall(text)
    args = build_parser().parse_args(shlex.split(command.replace('\\"', '"')))
    assert args.handler is not None and args.quiet and args.config is not None


def test_deploy_timer_starts_the_service_and_the_example_config_loads() -> None:
    timer = (DEPLOY / "kpibatch.timer").read_text(encoding="utf-8")
    assert "Unit=kpibatch.service" in timer and "OnCalendar=" in timer
    settings = load_settings(config_file=DEPLOY / "kpibatch.toml.example", environ={})
    assert settings.stability_delay == 10.0 and settings.watch_interval == 60.0
    assert settings.log_dir == Path("/srv/kpibatch/output/logs")
