"""Rebuild the blank division template shipped beside the examples: input_templates/kpi_template.xlsx.

Usage:  python scripts/make_template.py [--out PATH]

It writes exactly what ``kpibatch template --out PATH`` writes with the default settings, with a fixed
creation time so that regenerating an unchanged template gives the same bytes (and no git change).
tests/test_template_committed.py fails when the committed file no longer matches the command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "input_templates" / "kpi_template.xlsx"
FIXED_TIME = dt.datetime(2020, 10, 1, 9, 0, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from kpibatch.config import Settings
    from kpibatch.template import TemplateSpec, write_template

    defaults = Settings()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_template(
        args.out,
        TemplateSpec(),
        font_name=defaults.font_name,
        font_size=defaults.font_size,
        created=FIXED_TIME,
    )
    print(args.out)


if __name__ == "__main__":
    main()
