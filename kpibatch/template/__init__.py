"""Division templates: a blank workbook in contract v1, or the next round's built from a submission."""

from kpibatch.template.nextround import next_round_spec
from kpibatch.template.writer import TemplateSpec, write_template

__all__ = ["TemplateSpec", "next_round_spec", "write_template"]
