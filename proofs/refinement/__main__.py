"""``python -m breakerlab.proofs.refinement``: print the refinement check's verdict table."""

from .check import main

raise SystemExit(main())
