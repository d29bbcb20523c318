"""Sub-commands of ``kpibatch``: one module each, registered in ``COMMANDS``.

Each module has ``register(subparsers)`` that adds its parser and sets ``handler`` to a function
``(args, out) -> exit code``. Handlers call the library and print; they never exit the process.
"""

from __future__ import annotations

from kpibatch.commands import (
    config,
    divisions,
    export,
    history,
    ledger,
    remind,
    run,
    send,
    template,
    validate,
    watch,
)

COMMANDS = [run, validate, template, send, remind, watch, history, export, ledger, config, divisions]
