"""breakerlab.proofs.refinement: the executable ``Breaker`` takes exactly the steps of the z3 relation.

The z3 proofs (``induction.py``) are about the relation that ``encoding.py`` generates from the
table; this package ties them to the code that runs (``explore``: the exploration; ``paths``:
the steps it takes and their replay; ``report``: mismatches in words; ``check``: the
configurations and entry points). It explores the real ``Breaker`` (public
API only, on a ``ManualClock``) breadth-first over every reachable abstract state for small
parameters and checks every step it takes:

1. **every step of the breaker is a step of the relation**: ``transition(step)`` and
   ``environment(pre, event)``, with the parameters fixed to the configuration's values and the
   breaker's concrete pre-state, event and post-state substituted, simplify to a single row;
2. **the breaker takes every step the relation allows**: in every reachable state it is offered
   every event a client can produce (``acquire``, ``poll``, the manual operations, and
   ``record_success`` / ``record_failure`` / ``release`` of each class of permit it holds:
   current, or stale and admitted in ``closed`` / ``half_open`` / ``disabled``); it must accept
   each (``CircuitOpenError`` is the reject verdict) and land in the relation's successor,
   which is unique because the rows of one (state, trigger) pair are tried in order. The
   result also lists each outcome of a *current* permit that the relation's environment allows
   in an explored state but that no explored path held a permit for (expected: none).

Time advances by whole ticks: between events the clock may ``wait`` any of ``time_steps``.

**Abstract state**: the breaker's snapshot without ``generation`` (only current-vs-stale
matters), the time-valued variables made relative to the clock and clamped at the floor
``-(largest time constant + 1)`` of the relative-time abstraction SPIN uses too
(``breakerlab.proofs.time_abstraction``, derived from both tables folded with the
configuration: every guard compares a time with ``now`` plus at most that constant, so all
values below the floor behave alike); plus the multiset of outstanding permits
as (current, admitting state, probe), at most ``max_permits`` of them (an admitted permit that
does not fit is dropped: a lost call). A time variable that neither the breaker's table nor the
relation's can read before overwriting it, from the current state, is *dead* (a fixpoint over
the rows) and abstracted to the floor: otherwise the times left over from earlier episodes
would multiply the closed, forced-open and disabled states several-fold for no behaviour.

A state is expanded by replaying its shortest witness path on a fresh breaker. As a sound
shortcut, after an event that leaves the snapshot unchanged the same breaker object serves the
state's next event, and the breaker that discovers a state serves that state's first event:
this relies on exactly the premise of the abstraction (the breaker's behaviour is a function of
its snapshot, the clock and the permits presented). Every reported mismatch is re-derived by
replaying its path on a fresh breaker. The z3 check always uses the breaker's concrete values
(absolute times, generations), never the abstraction.

**Scope**: ``trip_rule="consecutive"``, ``jitter_ratio=0``, ``call_timeout=None`` and a fixed or
capped open duration, so that the abstract state space is finite. Window trip rules and jitter
are covered elsewhere: symbolically by the z3 proofs, against the oracle by the Hypothesis
comparison in ``tests/test_stateful.py``, and the windows themselves by ``tests/test_window.py``.
"""

from .check import REFINEMENT_CONFIGS, check_code_mutant, main, run
from .explore import RefinementResult, explore
from .paths import PathStep, StepObservation, replay_path
from .report import Mismatch, describe

__all__ = [
    "REFINEMENT_CONFIGS",
    "Mismatch",
    "PathStep",
    "RefinementResult",
    "StepObservation",
    "check_code_mutant",
    "describe",
    "explore",
    "main",
    "replay_path",
    "run",
]
