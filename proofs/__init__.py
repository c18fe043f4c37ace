"""breakerlab.proofs: machine-checked proofs generated from the model's transition table.

z3 proves the safety properties for every parameter value by induction; SPIN model-checks
concurrent callers and liveness under fairness; the refinement check ties both to the
executable Python breaker. ``breakerlab prove`` runs them all.
"""

from breakerlab.model.extras import require_extra

require_extra("breakerlab.proofs", "proofs", ("z3",))
