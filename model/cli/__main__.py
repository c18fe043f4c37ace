"""``python -m breakerlab.cli``: the ``breakerlab`` command."""

from breakerlab.cli import main

raise SystemExit(main())
