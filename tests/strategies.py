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
CALL_DURATIONS: tuple[float, ...] = (0.0, 0.0, 0.0, 0.25, 0.5, 1.0, 2.0, 3.0)
"""Call durations, seconds: mostly instant, and each slow-call and call-timeout threshold
exactly (so strict ``>`` comparisons are tested)."""


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


def call_durations() -> st.SearchStrategy[float]:
    """How long a call takes, seconds; includes every duration threshold so ``>`` is tested."""
    return st.sampled_from(CALL_DURATIONS)


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
    options: dict[str, Any] = {}
    trip_rule = draw(st.sampled_from(["consecutive", "count_window", "time_window"]))
    close_rule = draw(st.sampled_from(["consecutive", "rate"]))
    options["trip_rule"] = trip_rule
    if trip_rule == "consecutive":
        options["fail_max"] = draw(st.integers(1, 4))
    else:
        # Window options are drawn only where they matter, so examples stay short.
        window_size = draw(st.integers(1, 6))
        if trip_rule == "count_window":
            options["window_size"] = window_size
        else:
            options["window_duration"] = draw(st.sampled_from([1.0, 2.5, 5.0]))
        options["minimum_calls"] = draw(st.integers(1, window_size))
        options["slow_call_duration_threshold"] = draw(st.sampled_from([None, 0.5, 1.0, 2.0]))
        options["slow_call_rate_threshold"] = draw(st.sampled_from(RATE_THRESHOLDS))
    if trip_rule != "consecutive" or close_rule == "rate":
        options["failure_rate_threshold"] = draw(st.sampled_from(RATE_THRESHOLDS))
        options["trip_on_equal_rate"] = draw(st.booleans())

    reset_timeout = draw(st.sampled_from([1.0, 2.0, 5.0, 0.5]))
    options["reset_timeout"] = reset_timeout
    open_duration_policy = draw(st.sampled_from(["fixed", "exponential", "exponential"]))
    options["open_duration_policy"] = open_duration_policy
    if open_duration_policy == "exponential":
        options["backoff_factor"] = draw(st.sampled_from([1.0, 1.5, 2.0, 3.0]))
        options["backoff_cap"] = draw(
            st.sampled_from([None, reset_timeout, reset_timeout * 2, reset_timeout * 5])
        )
    options["jitter_ratio"] = draw(st.sampled_from([0.0, 0.0, 0.1, 0.5]))
    if options["jitter_ratio"] > 0:
        options["jitter_seed"] = draw(st.integers(0, 3))
    options["admit_at_deadline"] = draw(st.booleans())
    options["half_open_entry"] = draw(st.sampled_from(["lazy", "at_deadline"]))

    half_open_max_calls = draw(st.integers(1, 3))
    half_open_limit = draw(st.sampled_from(["per_episode", "concurrent"]))
    options["half_open_max_calls"] = half_open_max_calls
    options["half_open_limit"] = half_open_limit
    options["close_rule"] = close_rule
    if close_rule == "consecutive":
        # A per-episode limit must let the episode reach success_threshold; a concurrent one
        # admits probes without end, so the threshold may exceed the limit.
        most = half_open_max_calls if half_open_limit == "per_episode" else half_open_max_calls + 1
        options["success_threshold"] = draw(st.integers(1, most))
    options["half_open_max_wait"] = draw(st.sampled_from([None, 1.0, 2.5]))

    options["late_result"] = draw(
        st.sampled_from(["ignore", "current_state", "admitting_state"])
    )
    options["failure_exceptions"] = draw(
        st.sampled_from([(Exception,), (RuntimeError, BenignError)])
    )
    options["excluded_exceptions"] = draw(st.sampled_from([(), (ExcludedError,)]))
    options["is_failure"] = draw(st.sampled_from([None, is_not_benign]))
    options["excluded_outcome"] = draw(st.sampled_from(["neutral", "success"]))
    options["cancellation_outcome"] = draw(st.sampled_from(["release", "release", "failure", "success"]))
    options["call_timeout"] = draw(st.sampled_from([None, None, 0.5, 1.0, 3.0]))
    return {name: value for name, value in options.items() if value != getattr(DEFAULTS, name)}


def configs() -> st.SearchStrategy[BreakerConfig]:
    """Valid ``BreakerConfig`` values across the whole option space (small numbers)."""
    return config_options().map(lambda options: BreakerConfig(**options))
