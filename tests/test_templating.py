"""The compiled-template cache saves time and can never cost a report."""

from __future__ import annotations

from pathlib import Path

import jinja2

from kpibatch import templating


def environment(cache: jinja2.BytecodeCache | None, folder: Path) -> jinja2.Environment:
    (folder / "t.j2").write_text("ข้อ {{ code }} จะนำน้ำหนัก {{ weight }}", encoding="utf-8")
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), bytecode_cache=cache)


def test_a_cached_template_renders_as_a_compiled_one(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    cache = templating._QuietCache(str(tmp_path / "cache"))
    first = environment(cache, tmp_path).get_template("t.j2").render(code="2.1", weight=5)
    assert list((tmp_path / "cache").iterdir()), "the compiled code is stored"
    again = environment(cache, tmp_path).get_template("t.j2").render(code="2.1", weight=5)
    assert first == again == "ข้อ 2.1 จะนำน้ำหนัก 5"


def test_an_edited_template_is_compiled_again(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    cache = templating._QuietCache(str(tmp_path / "cache"))
    environment(cache, tmp_path).get_template("t.j2").render(code="1", weight=1)
    (tmp_path / "t.j2").write_text("แก้แล้ว {{ code }}", encoding="utf-8")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(tmp_path)), bytecode_cache=cache)
    assert env.get_template("t.j2").render(code="1") == "แก้แล้ว 1"


def test_a_cache_folder_that_cannot_be_written_only_costs_the_compiling(tmp_path: Path) -> None:
    gone = tmp_path / "gone"  # removed after the cache was set up: every write fails
    gone.mkdir()
    cache = templating._QuietCache(str(gone))
    gone.rmdir()
    assert environment(cache, tmp_path).get_template("t.j2").render(code="3", weight=2) == "ข้อ 3 จะนำน้ำหนัก 2"


def test_the_shipped_environments_use_the_cache() -> None:
    from kpibatch.config import Settings
    from kpibatch.deliver.render import environment as mail_environment
    from kpibatch.write.sentences import _environment

    assert isinstance(templating.bytecode_cache(), templating._QuietCache)
    assert _environment().bytecode_cache is templating.bytecode_cache()
    assert mail_environment(Settings()).bytecode_cache is templating.bytecode_cache()
