"""results.json's text: any group's data reads back equal, and each division sits on its own line."""

from __future__ import annotations

import datetime as dt
import json

from conftest import EXAMPLES
from hypothesis import given
from hypothesis import strategies as st

from kpibatch.config import Settings
from kpibatch.consolidate import consolidate
from kpibatch.pipeline import check_files
from kpibatch.results import group_dict, results_text

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
values = st.recursive(
    scalars, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=20
)


@given(st.dictionaries(st.text(), values))
def test_any_document_reads_back_equal(data: dict) -> None:
    assert json.loads(results_text(data)) == data


def test_the_examples_one_division_per_line() -> None:
    [group] = consolidate(list(check_files(sorted(EXAMPLES.glob("*.xlsx")), Settings())))
    data = group_dict(group, dt.datetime(2020, 10, 15))
    text = results_text(data)
    assert json.loads(text) == json.loads(json.dumps(data))
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}" and text.endswith("}\n")
    division_lines = [line for line in lines if line.startswith('    {"division": ')]
    assert [json.loads(line.rstrip(","))["division"] for line in division_lines] == [
        d["division"] for d in data["divisions"]
    ]
    assert "\\u0e" not in text
