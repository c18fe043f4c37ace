"""Shared Hypothesis strategies: valid breaker configurations, clock steps and call errors.

Numbers are kept small (a few calls trip, a few seconds pass) so that every option has a visible
effect within a few dozen stateful steps, and clock steps are exact binary fractions so that
deadlines are hit exactly.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import strategies as st

from breakerlab.model import BreakerConfig

RATE_THRESHOLDS: tuple[float, ...] = (0.25, 0.3, 0.5, 2 / 3, 1.0)
TIME_STEPS: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0)


class ExcludedError(Exception):
    """An error listed in ``excluded_exceptions`` by some generated configurations."""


class BenignError(Exception):
    """An error that ``is_failure`` declares not a failure, when the predicate is configured."""


def is_not_benign(error: BaseException) -> bool:
    """The ``is_failure`` predicate some configurations use: ``BenignError`` does not count.

    Args:
        error: The exception raised by the call.

    Returns:
        False for a ``BenignError``, True otherwise.
    """
    return not isinstance(error, BenignError)


ERRORS: tuple[BaseException, ...] = (
    RuntimeError("boom"),
    ExcludedError(),
    BenignError(),
    LookupError("not a listed failure type in narrow configurations"),
    asyncio.CancelledError(),
)
"""Errors given to ``record_failure(permit, error)``: one of each classification path."""


def time_steps() -> st.SearchStrategy[float]:
    """Clock advances, seconds: zero, sub-second and multi-second steps, all exact in binary."""
    return st.sampled_from(TIME_STEPS)


def errors() -> st.SearchStrategy[BaseException]:
    """Exceptions a call may raise, covering every branch of outcome classification."""
    return st.sampled_from(ERRORS)


DEFAULTS = BreakerConfig()


@st.composite
def config_options(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments of a valid ``BreakerConfig``, without those equal to the defaults.

    Leaving the defaults out keeps a failing example short enough to read as a program.

    Args:
        draw: Hypothesis' draw function.

    Returns:
        Options that ``BreakerConfig(**options)`` accepts.
    """
    trip_rule = draw(st.sampled_from(["consecutive", "count_window", "time_window"]))
    window_size = draw(st.integers(1, 6))
    half_open_max_calls = draw(st.integers(1, 3))
    half_open_limit = draw(st.sampled_from(["per_episode", "concurrent"]))
    # A per-episode limit must let the episode reach success_threshold; a concurrent one
    # admits probes without end, so the threshold may exceed the limit.
    max_success_threshold = (
        half_open_max_calls if half_open_limit == "per_episode" else half_open_max_calls + 2
    )
    reset_timeout = draw(st.sampled_from([1.0, 2.0, 5.0, 0.5]))
    open_duration_policy = draw(st.sampled_from(["fixed", "exponential"]))
    if open_duration_policy == "exponential":
        backoff_factor = draw(st.sampled_from([1.0, 1.5, 2.0, 3.0]))
        backoff_cap = draw(
            st.sampled_from([None, reset_timeout, reset_timeout * 2, reset_timeout * 5])
        )
    else:
        backoff_factor = DEFAULTS.backoff_factor
        backoff_cap = DEFAULTS.backoff_cap
    if trip_rule == "consecutive":
        slow_call_duration_threshold = None  # the slow-call rule needs a window
    else:
        slow_call_duration_threshold = draw(st.sampled_from([None, 0.5, 1.0, 2.0]))
    options: dict[str, Any] = {
        "trip_rule": trip_rule,
        "fail_max": draw(st.integers(1, 4)),
        "window_size": window_size,
        "window_duration": draw(st.sampled_from([1.0, 2.5, 5.0])),
        "minimum_calls": draw(st.integers(1, window_size)),
        "failure_rate_threshold": draw(st.sampled_from(RATE_THRESHOLDS)),
        "slow_call_duration_threshold": slow_call_duration_threshold,
        "slow_call_rate_threshold": draw(st.sampled_from(RATE_THRESHOLDS)),
        "trip_on_equal_rate": draw(st.booleans()),
        "reset_timeout": reset_timeout,
        "open_duration_policy": open_duration_policy,
        "backoff_factor": backoff_factor,
        "backoff_cap": backoff_cap,
        "jitter_ratio": draw(st.sampled_from([0.0, 0.0, 0.1, 0.5])),
        "jitter_seed": draw(st.integers(0, 3)),
        "admit_at_deadline": draw(st.booleans()),
        "half_open_entry": draw(st.sampled_from(["lazy", "at_deadline"])),
        "half_open_max_calls": half_open_max_calls,
        "half_open_limit": half_open_limit,
        "close_rule": draw(st.sampled_from(["consecutive", "rate"])),
        "success_threshold": draw(st.integers(1, max_success_threshold)),
        "half_open_max_wait": draw(st.sampled_from([None, 1.0, 2.5])),
        "late_result": draw(st.sampled_from(["ignore", "current_state", "admitting_state"])),
        "failure_exceptions": draw(st.sampled_from([(Exception,), (RuntimeError, BenignError)])),
        "excluded_exceptions": draw(st.sampled_from([(), (ExcludedError,)])),
        "is_failure": draw(st.sampled_from([None, is_not_benign])),
        "excluded_outcome": draw(st.sampled_from(["neutral", "success"])),
        "call_timeout": draw(st.sampled_from([None, 0.5, 1.0, 3.0])),
    }
    return {name: value for name, value in options.items() if value != getattr(DEFAULTS, name)}


def configs() -> st.SearchStrategy[BreakerConfig]:
    """Valid ``BreakerConfig`` values across the whole option space (small numbers)."""
    return config_options().map(lambda options: BreakerConfig(**options))
