"""Conformance harness: drive real breaker libraries through scripted scenarios under frozen time.

A script (``script.py``) is a sequence of steps: immediate calls, calls that stay in flight
until finished, clock advances and state reads. An adapter (``adapters/``) runs it against a
fresh breaker of one library and returns uniform ``Observation``s. The catalogue
(``catalogue.py``) holds the scenarios that tell the libraries' semantics apart. See README.md.
"""

from __future__ import annotations

from breakerlab.model.extras import require_extra

require_extra(
    "breakerlab.proofs.conform",
    "conform",
    ("hypothesis", "time_machine", "pybreaker", "circuitbreaker", "aiobreaker", "purgatory"),
)


from .adapters import (
    ADAPTERS,
    Adapter,
    AdapterError,
    AiobreakerAdapter,
    CircuitbreakerAdapter,
    LibraryAdapter,
    LibraryConfig,
    PurgatoryAdapter,
    PybreakerAdapter,
    make_adapter,
)
from .catalogue import CATALOGUE, EPSILON_S, FAIL_MAX, RESET_TIMEOUT_S, ConformanceCase, run_catalogue
from .script import (
    OUTCOMES,
    Abort,
    Advance,
    Begin,
    Boom,
    Call,
    Excluded,
    Finish,
    Observation,
    Outcome,
    ReadState,
    ScriptError,
    Step,
    calls,
    failures,
    script,
    validate_script,
)

__all__ = [
    "ADAPTERS",
    "CATALOGUE",
    "EPSILON_S",
    "FAIL_MAX",
    "OUTCOMES",
    "RESET_TIMEOUT_S",
    "Abort",
    "Adapter",
    "AdapterError",
    "Advance",
    "AiobreakerAdapter",
    "Begin",
    "Boom",
    "Call",
    "CircuitbreakerAdapter",
    "Excluded",
    "Finish",
    "LibraryAdapter",
    "LibraryConfig",
    "Observation",
    "Outcome",
    "PurgatoryAdapter",
    "PybreakerAdapter",
    "ReadState",
    "ConformanceCase",
    "ScriptError",
    "Step",
    "calls",
    "failures",
    "make_adapter",
    "run_catalogue",
    "script",
    "validate_script",
]
