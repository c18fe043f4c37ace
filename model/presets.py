"""Library presets: the model configured as each well-known breaker library behaves.

``BreakerConfig.preset("pybreaker")`` gives the reference breaker with the library's defaults
and its *semantic fingerprint*: the option values that reproduce it. For the four Python
libraries and the two npm libraries (opossum, cockatiel) the fingerprint is **measured**:
``breakerlab conform LIBRARY`` drives the installed library through the scenario catalogue on
frozen time (fake timers, for the npm ones) and fits the options (a test checks that every
measured preset here equals the fit, against the pinned versions). For the other libraries it
is **documented**: read from their source and documentation at the revision cited in
``provenance``, not measured.

Three properties are not ``BreakerConfig`` options: ``serializes_calls`` (pybreaker holds a lock
across the whole protected call, so callers go through one at a time; the simulator models it
with ``Scenario(serialize_calls=True)``), ``half_open_waits`` (cockatiel makes a caller that
half-open has no probe slot for wait for the probe's verdict instead of rejecting it; the
simulator does not model the wait, it rejects such callers) and ``notes`` (what the model does
not reproduce).

This module is data: option values are the options' string values, so it imports nothing of
the configuration (``BreakerConfig.preset`` reads it; ``preset_summary`` puts it in words).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .errors import InvalidConfigError

__all__ = ["LibraryPreset", "PRESETS", "UNLIMITED_PROBES", "preset_named"]

#: "Unlimited" concurrent probes (fabfuel's circuitbreaker, aiobreaker, purgatory admit every call in half-open).
UNLIMITED_PROBES = 1_000_000


@dataclasses.dataclass(frozen=True)
class LibraryPreset:
    """One library's defaults and fingerprint.

    Attributes:
        name: The library (``pybreaker``, ``gobreaker``, ...).
        options: ``BreakerConfig`` keyword arguments (the library's default thresholds and its
            fingerprint).
        serializes_calls: The library holds a lock across each protected call.
        measured: Fitted by ``breakerlab conform`` against ``version`` (else documented).
        version: The library version (measured) or the source revision read (documented).
        provenance: Where the values come from.
        notes: Behaviour the model does not reproduce, or reproduces only approximately.
        half_open_waits: A caller that half-open has no probe slot for waits for the probes'
            verdict, then goes on as the new state says (cockatiel), instead of being rejected.
    """

    name: str
    options: Mapping[str, Any]
    serializes_calls: bool
    measured: bool
    version: str
    provenance: str
    notes: tuple[str, ...] = ()
    half_open_waits: bool = False


def _measured(
    name: str,
    version: str,
    options: dict[str, Any],
    *,
    lock: bool = False,
    waits: bool = False,
    notes: tuple[str, ...] = (),
    defaults: str = "",
) -> LibraryPreset:
    provenance = f"fitted by `breakerlab conform {name}` against {name}=={version} (proofs/conform)"
    return LibraryPreset(name, options, lock, True, version, provenance + defaults, notes, waits)


PRESETS: dict[str, LibraryPreset] = {
    preset.name: preset
    for preset in (
        _measured(
            "pybreaker", "1.4.1",
            {
                "fail_max": 5, "reset_timeout": 60.0, "trip_error": "circuit_open", "admit_at_deadline": True,
                "half_open_entry": "lazy", "half_open_limit": "per_episode", "half_open_max_calls": 1,
                "late_result": "ignore", "excluded_outcome": "success", "cancellation_outcome": "failure",
            },
            lock=True,
            notes=(
                "a lock is held across every call: concurrent callers wait instead of being rejected, so probe "
                "limits and late results are not observable (the catalogue cannot tell their values apart)",
            ),
        ),
        _measured(
            "circuitbreaker", "2.1.3",
            {
                "fail_max": 5, "reset_timeout": 30.0, "trip_error": "original", "admit_at_deadline": True,
                "half_open_entry": "at_deadline", "half_open_limit": "per_episode",
                "half_open_max_calls": UNLIMITED_PROBES, "late_result": "admitting_state",
                "excluded_outcome": "success", "cancellation_outcome": "success",
            },
            notes=(
                "closest fit, not exact: any success resets the breaker to closed, so a late success from a call "
                "admitted before the trip closes an open breaker, and decides half-open, which no option of the "
                "model does (scenarios late_success_while_open, late_success_in_half_open, probe_fail_after_success)",
                "half-open is computed from the clock when the state is read (reported as at_deadline entry)",
            ),
        ),
        _measured(
            "aiobreaker", "1.2.0",
            {
                "fail_max": 5, "reset_timeout": 60.0, "trip_error": "circuit_open", "admit_at_deadline": True,
                "half_open_entry": "lazy", "half_open_limit": "per_episode", "half_open_max_calls": UNLIMITED_PROBES,
                "late_result": "admitting_state", "excluded_outcome": "success", "cancellation_outcome": "release",
            },
        ),
        _measured(
            "purgatory", "3.0.1",
            {
                "fail_max": 5, "reset_timeout": 30.0, "trip_error": "original", "admit_at_deadline": False,
                "half_open_entry": "lazy", "half_open_limit": "per_episode", "half_open_max_calls": UNLIMITED_PROBES,
                "late_result": "current_state", "excluded_outcome": "success", "cancellation_outcome": "failure",
            },
        ),
        _measured(
            "opossum", "9.0.0",
            {
                "trip_rule": "time_window", "window_duration": 10.0, "minimum_calls": 1,
                "failure_rate_threshold": 0.5, "trip_on_equal_rate": False, "reset_timeout": 30.0,
                "call_timeout": 10.0, "trip_error": "original", "admit_at_deadline": True,
                "half_open_entry": "at_deadline", "half_open_limit": "per_episode", "half_open_max_calls": 1,
                "late_result": "ignore", "excluded_outcome": "neutral", "cancellation_outcome": "failure",
            },
            defaults=(
                "; thresholds are opossum's defaults (errorThresholdPercentage 50, exceeded; rollingCountTimeout "
                "10 s; volumeThreshold 0; resetTimeout 30 s; timeout 10 s)"
            ),
            notes=(
                "closest fit, not exact: the error rate is failures / fires, and fires counts every call "
                "(admitted, still in flight, or rejected while open), so calls in flight dilute the rate and "
                "trip it later or earlier than a rate over outcomes (scenarios late_success_while_open, "
                "late_failure_while_open, late_success_in_half_open, late_failure_in_half_open)",
                "the rate is checked only when a failure arrives, never on a success (scenario "
                "success_resets_count); the window is not cleared when the breaker closes or opens",
                "in half-open any outcome decides: any success closes (a late one, or an errorFilter-ed error), "
                "any failure re-opens (scenario excluded_in_probe)",
                "the window is 10 buckets of rollingCountTimeout / 10 that rotate on a timer, so outcomes age "
                "out a bucket at a time",
            ),
        ),
        _measured(
            "cockatiel", "3.2.1",
            {
                "fail_max": 5, "reset_timeout": 10.0, "trip_error": "original", "admit_at_deadline": True,
                "half_open_entry": "lazy", "half_open_limit": "per_episode", "half_open_max_calls": 1,
                "late_result": "ignore", "excluded_outcome": "neutral", "cancellation_outcome": "failure",
            },
            waits=True,
            defaults=(
                "; circuitBreaker(handleAll, {halfOpenAfter, breaker}) has no defaults: the thresholds are "
                "its README's example (halfOpenAfter 10 s, new ConsecutiveBreaker(5))"
            ),
            notes=(
                "closest fit, not exact: an error the policy does not handle is not counted in closed, but closes "
                "the breaker from half-open without resetting the consecutive count, so the next failure re-opens "
                "it (scenario excluded_in_probe)",
                "a late failure from a call admitted in closed is counted by the consecutive breaker and re-opens "
                "a half-open breaker, after which the probe's success no longer closes it (scenario "
                "late_failure_in_half_open)",
                "callers that arrive while the probe is in flight wait for its verdict (half_open_waits), then "
                "run if it closed; the simulator rejects them instead",
            ),
        ),
        LibraryPreset(
            "gobreaker",
            {
                "fail_max": 6, "reset_timeout": 60.0, "trip_error": "original", "admit_at_deadline": False,
                "half_open_entry": "at_deadline", "half_open_limit": "per_episode", "half_open_max_calls": 1,
                "success_threshold": 1, "late_result": "ignore", "excluded_outcome": "neutral",
                "cancellation_outcome": "failure",
            },
            False, False, "sony/gobreaker v2 @ fed8e9e",
            "documented: source of v2/gobreaker.go (defaults: MaxRequests 1, Timeout 60 s, ReadyToTrip "
            "ConsecutiveFailures > 5, i.e. the 6th failure; expiry.Before(now); results of other generations dropped)",
            ("Interval=0: counts are never cleared while closed; State() reads perform the open→half-open move",),
        ),
        LibraryPreset(
            "resilience4j",
            {
                "trip_rule": "count_window", "window_size": 100, "minimum_calls": 100, "failure_rate_threshold": 0.5,
                "trip_on_equal_rate": True, "slow_call_duration_threshold": 60.0, "slow_call_rate_threshold": 1.0,
                "reset_timeout": 60.0, "admit_at_deadline": False, "half_open_entry": "lazy",
                "half_open_limit": "per_episode", "half_open_max_calls": 10, "close_rule": "rate",
                "late_result": "current_state", "excluded_outcome": "neutral", "cancellation_outcome": "release",
                "trip_error": "original",
            },
            False, False, "resilience4j @ af9e7c9",
            "documented: CircuitBreakerConfig defaults and CircuitBreakerStateMachine (COUNT_BASED window 100, "
            "minimumNumberOfCalls 100, failure rate >= 50%, waitDurationInOpenState 60 s, 10 permitted calls)",
            ("only ignored exceptions and cancellations return a half-open permit; not-recorded exceptions count as successes",),
        ),
        LibraryPreset(
            "polly",
            {
                "trip_rule": "time_window", "window_duration": 30.0, "minimum_calls": 100,
                "failure_rate_threshold": 0.1, "trip_on_equal_rate": True, "reset_timeout": 5.0,
                "admit_at_deadline": True, "half_open_entry": "lazy", "half_open_limit": "per_episode",
                "half_open_max_calls": 1, "late_result": "current_state", "excluded_outcome": "success",
                "cancellation_outcome": "success", "trip_error": "original",
            },
            False, False, "App-vNext/Polly v8 @ 173d6d1",
            "documented: CircuitBreakerStrategyOptions defaults (FailureRatio 0.1, MinimumThroughput 100, "
            "SamplingDuration 30 s, BreakDuration 5 s); an unhandled outcome closes half-open",
            ("the throughput gate is checked only when a failure arrives; sampling uses 10 sub-windows",),
        ),
        LibraryPreset(
            "hystrix",
            {
                "trip_rule": "time_window", "window_duration": 10.0, "minimum_calls": 20,
                "failure_rate_threshold": 0.5, "trip_on_equal_rate": True, "reset_timeout": 5.0,
                "admit_at_deadline": False, "half_open_entry": "lazy", "half_open_limit": "per_episode",
                "half_open_max_calls": 1, "late_result": "current_state", "call_timeout": 1.0,
                "excluded_outcome": "neutral", "trip_error": "original",
            },
            False, False, "Netflix/Hystrix 1.5.18 @ 7c03baf",
            "documented: HystrixCommandProperties defaults (requestVolumeThreshold 20 per 10 s, "
            "errorThresholdPercentage 50, sleepWindow 5 s, execution timeout 1 s)",
            (
                "the error rate is read from health snapshots every 500 ms, so it trips up to 500 ms late",
                "a HystrixBadRequestException does not count in the error rate but re-opens from half-open",
            ),
        ),
        LibraryPreset(
            "akka",
            {
                "fail_max": 10, "reset_timeout": 15.0, "call_timeout": 10.0, "half_open_entry": "at_deadline",
                "half_open_limit": "per_episode", "half_open_max_calls": 1, "late_result": "ignore",
                "excluded_outcome": "success", "trip_error": "original",
            },
            False, False, "akka/akka @ 9892c5e",
            "documented: reference.conf (max-failures 10, call-timeout 10 s, reset-timeout 15 s, "
            "exponential-backoff 1.0); the open→half-open move runs on a scheduler",
            ("a call past call-timeout counts as a failure but is not cancelled",),
        ),
    )
}


def preset_named(name: str) -> LibraryPreset:
    """The preset called ``name``.

    Raises:
        InvalidConfigError: no such preset (the message lists them).
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise InvalidConfigError("preset", "one of " + ", ".join(map(repr, PRESETS)), name) from None
