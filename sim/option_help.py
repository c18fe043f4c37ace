"""The ``--help`` lines of the options ``breakerlab simulate`` generates: one for every
``BreakerConfig`` option, condensed from its row in ``model/SEMANTICS.md`` (the full contract),
and one for every trace parameter, from its field's doc."""

from __future__ import annotations

import collections
import enum
from collections.abc import Mapping
from typing import Any

from breakerlab.model.config import ENUM_OPTIONS

from .traces.families import FAMILIES, family_fields

__all__ = ["BREAKER_OPTION_HELP", "SECONDS_OPTIONS", "breaker_option_help", "breaker_option_metavar", "trace_option_help"]

#: The options measured in seconds (their metavar is ``SECONDS``).
SECONDS_OPTIONS = frozenset(
    {"window_duration", "slow_call_duration_threshold", "reset_timeout", "backoff_cap", "half_open_max_wait", "call_timeout"}
)

_FLOAT_METAVARS = {
    "failure_rate_threshold": "FRACTION", "slow_call_rate_threshold": "FRACTION", "backoff_factor": "FACTOR",
    "jitter_ratio": "RATIO",
}

#: What each option means (``(default ...)`` is appended from ``BreakerConfig()``).
BREAKER_OPTION_HELP: Mapping[str, str] = {
    # trip rule
    "trip_rule": "what opens a closed breaker: consecutive (the --fail-max-th consecutive counted failure), "
    "count_window (the failure rate over the last --window-size outcomes) or time_window (over the outcomes "
    "of the last --window-duration seconds)",
    "fail_max": "consecutive trip rule: the counted failure that makes the run of consecutive failures reach N "
    "opens the breaker",
    "window_size": "count window: how many of the most recent outcomes it keeps",
    "window_duration": "time window: how many seconds of recent outcomes it keeps",
    "minimum_calls": "window rules: no trip while the window holds fewer outcomes than N (at most --window-size "
    "for a count window)",
    "failure_rate_threshold": "window rules: trip when failures / calls reaches this fraction, in (0, 1]",
    "slow_call_duration_threshold": "window rules: a call lasting strictly longer than this many seconds is slow "
    "(none: no slow-call rule)",
    "slow_call_rate_threshold": "window rules: trip when slow calls / calls reaches this fraction, in (0, 1]",
    "trip_on_equal_rate": "true: a rate exactly equal to its threshold trips (Resilience4j, Polly, Hystrix); "
    "false: it must exceed it (Sentinel)",
    # open duration
    "reset_timeout": "how many seconds the breaker stays open (the first time after being closed)",
    "open_duration_policy": "how long each opening lasts: fixed (always --reset-timeout) or exponential "
    "(--reset-timeout x --backoff-factor**n for the n-th opening without a close, up to --backoff-cap)",
    "backoff_factor": "exponential open duration: growth of each opening over the one before, >= 1",
    "backoff_cap": "exponential open duration: the longest opening, in seconds, >= --reset-timeout "
    "(none: uncapped)",
    "jitter_ratio": "each open duration is multiplied by 1 + u, u uniform in [0, RATIO), so jitter only "
    "lengthens it (0: no jitter)",
    "jitter_seed": "seed of the breaker's own jitter random generator",
    "admit_at_deadline": "true: a call at exactly the end of the open time is admitted (pybreaker, Polly); "
    "false: only strictly after it (gobreaker, Resilience4j)",
    "half_open_entry": "when open becomes half-open: lazy (on the first call at or after the deadline, which is "
    "the first probe) or at_deadline (at the deadline itself, with no probe admitted yet)",
    # half-open
    "half_open_max_calls": "the half-open probe limit (what it limits: --half-open-limit)",
    "half_open_limit": "what --half-open-max-calls limits: per_episode (probes admitted in one half-open "
    "episode) or concurrent (probes in flight at once)",
    "close_rule": "how half-open decides: consecutive (any probe failure re-opens, --success-threshold "
    "successes close) or rate (after --half-open-max-calls outcomes, re-open if the failure rate meets "
    "--failure-rate-threshold)",
    "success_threshold": "consecutive close rule: probe successes needed to close (at most "
    "--half-open-max-calls with a per-episode limit)",
    "half_open_max_wait": "seconds a half-open episode may stay undecided before the next call re-opens the "
    "breaker (none: it waits for its probes forever)",
    # outcomes
    "late_result": "what the outcome of a call admitted in an earlier episode does: ignore (nothing), "
    "current_state (applied to the current state) or admitting_state (handled by the rule of the state that "
    "admitted it)",
    "failure_exceptions": "exception types that count as failures, as comma-separated class names",
    "excluded_exceptions": "exception types that never count (checked first), as comma-separated class names",
    "excluded_outcome": "what an uncounted exception is: neutral (the permit is released: no success, no "
    "failure) or success",
    "cancellation_outcome": "what a cancellation (a BaseException that is not an Exception) is: release "
    "(uncounted), failure or success",
    "call_timeout": "the breaker's own timeout, in seconds: a success that took strictly longer is recorded as "
    "a failure (none: off); not the caller's --timeout",
    "trip_error": "what the call whose failure opens the breaker raises: original (its own error) or "
    "circuit_open (CircuitOpenError chained from it)",
}


def _shown(value: Any) -> str:
    """A default as it is typed on a command line."""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ",".join(t.__name__ for t in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def breaker_option_help(name: str, default: Any) -> str:
    """The ``--help`` line of option ``name``: its meaning and ``default`` (``%`` escaped for argparse)."""
    meaning = BREAKER_OPTION_HELP.get(name, f"see {name} in model/SEMANTICS.md")
    return f"{meaning} (default {_shown(default)})".replace("%", "%%")


def breaker_option_metavar(name: str, kind: Any) -> str:
    """The metavar of option ``name`` of type ``kind``: its unit or the kind of value it takes."""
    if name in SECONDS_OPTIONS:
        return "SECONDS"
    if name in ENUM_OPTIONS:
        return "NAME"
    if kind is bool:
        return "BOOL"
    if kind is int:
        return "N"
    if name in _FLOAT_METAVARS:
        return _FLOAT_METAVARS[name]
    return "NAMES" if name.endswith("_exceptions") else "VALUE"


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def trace_option_help(name: str, families: list[str]) -> tuple[str, str]:
    """The metavar and ``--help`` line of trace parameter ``name``: its meaning and unit (from
    the field's doc, which is plain text), its default in each family, and the families that take it."""
    fields = {family: next(f for f in family_fields(family) if f.name == name) for family in families}
    first = fields[families[0]]
    meaning = first.doc
    metavar = "SECONDS" if name.endswith("_s") else "FILE" if name == "path" else "N" if first.type == "int" else "NUMBER"
    if metavar == "SECONDS" and "second" not in meaning:
        meaning += ", in seconds"
    by_default: dict[object, list[str]] = collections.defaultdict(list)
    for family, field in fields.items():
        by_default[field.default].append(family)
    if None in by_default:
        default = "required"
    else:
        usual = max(by_default, key=lambda value: len(by_default[value]))
        others = "".join(f"; {_number(v)} for {', '.join(f)}" for v, f in by_default.items() if v != usual)
        default = f"default {_number(usual)}{others}"
    applies = "every trace" if len(families) == len(FAMILIES) else ", ".join(families)
    return metavar, f"{meaning} ({default}) [{applies}]".replace("%", "%%")

