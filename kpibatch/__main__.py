"""Allow ``python -m kpibatch``."""

from kpibatch.cli import main

# Guarded: worker processes started with spawn or forkserver import this module as ``__mp_main__``.
if __name__ == "__main__":
    raise SystemExit(main())
