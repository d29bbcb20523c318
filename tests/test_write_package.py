"""The jinja2 templates ship with the package: setuptools' own build step, run on a copy of the
project with its pyproject.toml, puts every template beside the modules."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from conftest import ROOT


def test_build_copies_every_template_into_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("setuptools", reason="setuptools builds the package; this environment has none")
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "pyproject.toml", project)
    shutil.copy(ROOT / "README.md", project)
    shutil.copytree(ROOT / "kpibatch", project / "kpibatch", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(project)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # setuptools calls [tool.setuptools] in pyproject.toml beta
        dist = Distribution({"script_name": "setup.py"})
        apply_configuration(dist, "pyproject.toml")
        build = dist.get_command_obj("build_py")
        build.build_lib = str(tmp_path / "lib")
        dist.run_command("build_py")

    templates = sorted(p.relative_to(ROOT) for p in (ROOT / "kpibatch").rglob("*.j2"))
    assert templates, "no template found in the source tree"
    for template in templates:
        assert (tmp_path / "lib" / template).is_file(), template
