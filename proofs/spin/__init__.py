"""breakerlab.proofs.spin: Promela generated from the transition table, checked by SPIN, tied back to the breaker.

``promela`` generates the model of one configuration (the breaker's steps from the folded table,
``processes`` the callers, clock and environment around it, ``recovery`` L5's bound); ``run``
runs SPIN, gcc and pan on it; ``trail`` reads a counterexample or a random run back and replays
it on the Python breaker; ``suite`` holds the configurations ``breakerlab prove`` checks.
"""

from .processes import SpinEnvironment
from .promela import PromelaModel, generate
from .recovery import recovery_bound
from .run import CFLAGS, SpinResult, ToolMissingError, check_ltl, check_safety, require_tools, simulate
from .suite import SUITE, SpinCase, SpinCheck, SuiteResult, format_results, kills, run_mutants, run_suite
from .trail import format_steps, parse_steps, replay_trail

__all__ = [
    "CFLAGS",
    "SUITE",
    "PromelaModel",
    "SpinCase",
    "SpinCheck",
    "SpinEnvironment",
    "SpinResult",
    "SuiteResult",
    "ToolMissingError",
    "check_ltl",
    "check_safety",
    "format_results",
    "format_steps",
    "generate",
    "kills",
    "parse_steps",
    "recovery_bound",
    "replay_trail",
    "require_tools",
    "run_mutants",
    "run_suite",
    "simulate",
]
