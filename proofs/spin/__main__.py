"""``python -m breakerlab.proofs.spin [--mutants]``: print the SPIN suite's verdict table."""

from .suite import main

raise SystemExit(main())
