"""Allow ``python -m kpibatch``."""

from kpibatch.cli import main

raise SystemExit(main())
