"""The mail's subject, HTML and plain text from jinja2 templates, Thai by default, English available.

Templates ship in ``kpibatch/deliver/templates/<language>/``; a folder named by the
``mail_templates`` setting is searched first, so an office replaces one file (say ``th/labels.j2``)
and keeps the rest. HTML templates are autoescaped: names typed by divisions are data, and a division
called ``<script>`` shows up as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jinja2

from kpibatch.config import ConfigError, Mail
from kpibatch.deliver.summary import Summary

LANGUAGES = ("th", "en")
TEMPLATE_NAMES = ("subject.txt.j2", "body.txt.j2", "body.html.j2")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith(".html.j2")


def environment(mail: Mail) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if mail.templates is not None:
        if not mail.templates.is_dir():
            raise ConfigError(f"mail_templates: folder not found: {mail.templates}")
        loaders.append(jinja2.FileSystemLoader(str(mail.templates)))
    loaders.append(jinja2.PackageLoader("kpibatch.deliver", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["oneline"] = one_line
    return env


def language(mail: Mail) -> str:
    lang = mail.language.strip().lower()
    if lang not in LANGUAGES:
        raise ConfigError(f"mail_language: {mail.language!r} is not one of {', '.join(LANGUAGES)}")
    return lang


def check_templates(mail: Mail) -> None:
    """Load every template once, so a broken user template stops a run before it starts."""
    env = environment(mail)
    lang = language(mail)
    for name in TEMPLATE_NAMES:
        _template(env, f"{lang}/{name}")


def _template(env: jinja2.Environment, name: str) -> jinja2.Template:
    try:
        return env.get_template(name)
    except jinja2.TemplateError as exc:
        raise ConfigError(f"mail template {name}: {exc}") from exc


def one_line(text: str) -> str:
    """A header value on one line: whatever a template or a name contains, line breaks become spaces."""
    return _WHITESPACE.sub(" ", text).strip()


def render(summary: Summary, mail: Mail) -> Rendered:
    env = environment(mail)
    lang = language(mail)
    context = {"s": summary, "lang": lang}
    parts = []
    for name in TEMPLATE_NAMES:
        full = f"{lang}/{name}"
        try:
            parts.append(_template(env, full).render(context))
        except jinja2.TemplateError as exc:
            raise ConfigError(f"mail template {full}: {exc}") from exc
    subject, text, html = parts
    return Rendered(subject=one_line(subject), text=text, html=html)
