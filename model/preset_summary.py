"""A library preset's semantics in words: one entry per point on which libraries disagree."""

from __future__ import annotations

from .config import BreakerConfig, CloseRule, TripRule
from .presets import UNLIMITED_PROBES, preset_named

__all__ = ["summary"]


def _trip_rule(config: BreakerConfig) -> str:
    if config.trip_rule is TripRule.CONSECUTIVE:
        return f"{config.fail_max} consecutive failures"
    at = "≥" if config.trip_on_equal_rate else ">"
    rule = f"failure rate {at} {config.failure_rate_threshold:.0%} "
    if config.trip_rule is TripRule.COUNT_WINDOW:
        rule += f"of the last {config.window_size} calls (min. {config.minimum_calls})"
    else:
        rule += f"over {config.window_duration:g} s (min. {config.minimum_calls} calls)"
    if config.slow_call_duration_threshold is not None:
        rule += (
            f", or {at} {config.slow_call_rate_threshold:.0%} of calls slower than "
            f"{config.slow_call_duration_threshold:g} s"
        )
    return rule


def _close_rule(config: BreakerConfig) -> str:
    if config.close_rule is CloseRule.RATE:
        return (
            f"after {config.half_open_max_calls} probes: closes if their failure rate is "
            f"{'<' if config.trip_on_equal_rate else '≤'} {config.failure_rate_threshold:.0%}"
        )
    return f"{config.success_threshold} probe success(es) close, 1 failure re-opens"


def summary(name: str) -> dict[str, object]:
    """A preset's semantics in words, one entry per point on which libraries disagree (a row
    of the side-by-side table in notebook 05)."""
    preset = preset_named(name)
    config = BreakerConfig.preset(name)
    probes = "unlimited" if config.half_open_max_calls >= UNLIMITED_PROBES else str(config.half_open_max_calls)
    return {
        "trip rule": _trip_rule(config),
        "reset_timeout (s)": config.reset_timeout,
        "trip_error": config.trip_error.value,
        "admit_at_deadline": config.admit_at_deadline,
        "half_open_entry": config.half_open_entry.value,
        "probes": f"{probes} {config.half_open_limit.value.replace('_', ' ')}",
        "close rule": _close_rule(config),
        "late_result": config.late_result.value,
        "excluded_outcome": config.excluded_outcome.value,
        "cancellation_outcome": config.cancellation_outcome.value,
        "call_timeout (s)": "none" if config.call_timeout is None else config.call_timeout,
        "serializes_calls": preset.serializes_calls,
        "half_open_waits": preset.half_open_waits,
        "source": f"{'measured' if preset.measured else 'documented'}: {preset.version}",
    }
