"""Delivery, the batch's last stage: ``report.html`` beside every workbook and the mail that carries it.

``summary`` turns a group's ``results.json`` into what the templates show, ``render`` fills the jinja2
templates, ``message`` builds the ``EmailMessage``, ``smtp`` sends it over verified TLS with retries,
``outbox`` keeps pending mail in SQLite so a night without a mail server costs nothing, and
``service`` ties them together for ``kpibatch run --email`` and ``kpibatch send``.
"""
