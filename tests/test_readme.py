"""The README opens with the two commands a new user runs; CI runs the second one verbatim."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

from conftest import ROOT


def opening_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)\n```", text, flags=re.DOTALL)
    return [b.strip() for b in blocks[:2]]


def test_readme_opens_with_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = text.index("```bash")
    assert text[:first_block].strip() == "# kpibatch"
    install_and_run, install_and_test = opening_commands()
    assert "pip install" in install_and_run and "kpibatch run" in install_and_run
    assert "pip install" in install_and_test and "[test]" in install_and_test and "pytest" in install_and_test


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert opening_commands()[1] in ci.splitlines()


def test_first_command_runs_the_examples(tmp_path) -> None:
    """The `kpibatch run ...` part of the first command, run from a copy of the repository's layout."""
    first = opening_commands()[0]
    run_part = first[first.index("kpibatch run") :].split("&&")[0]
    args = shlex.split(run_part)[1:]
    import shutil

    shutil.copytree(ROOT / "input_templates", tmp_path / "input_templates")
    before = {p: p.read_bytes() for p in (tmp_path / "input_templates").rglob("*") if p.is_file()}
    result = subprocess.run(
        [sys.executable, "-m", "kpibatch", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"workbook: {tmp_path}/output/2563-r12/" in result.stdout
    # the command modifies no tracked file: the examples stay in place, byte for byte
    after = {p: p.read_bytes() for p in (tmp_path / "input_templates").rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in (tmp_path / "input_templates" / "examples").iterdir()) == sorted(
        p.name for p in (ROOT / "input_templates" / "examples").iterdir()
    )
