"""``python -m actors.cli``: the same as the ``arena`` command."""

from ._main import main

raise SystemExit(main())
