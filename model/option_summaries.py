"""A one-line summary of every ``BreakerConfig`` option, and which options are in seconds:
what a command line's ``--help``, a form or a generated reference shows beside an option.
``model/SEMANTICS.md`` is the full contract; each summary condenses its row there, naming
other options by their field names (``fail_max``).

>>> OPTION_SUMMARIES["window_size"]
'count window: how many of the most recent outcomes it keeps'
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["OPTION_SUMMARIES", "SECONDS_OPTIONS"]

#: The options whose values are in seconds.
SECONDS_OPTIONS = frozenset(
    {"window_duration", "slow_call_duration_threshold", "reset_timeout", "backoff_cap", "half_open_max_wait", "call_timeout"}
)

#: What each option means, in a line (no default: that is ``BreakerConfig()``'s).
OPTION_SUMMARIES: Mapping[str, str] = {
    # trip rule
    "trip_rule": "what opens a closed breaker: consecutive (the fail_max-th consecutive counted failure), "
    "count_window (the failure rate over the last window_size outcomes) or time_window (over the outcomes "
    "of the last window_duration seconds)",
    "fail_max": "consecutive trip rule: the counted failure that makes the run of consecutive failures reach N "
    "opens the breaker",
    "window_size": "count window: how many of the most recent outcomes it keeps",
    "window_duration": "time window: how many seconds of recent outcomes it keeps",
    "minimum_calls": "window rules: no trip while the window holds fewer outcomes than N (at most window_size "
    "for a count window)",
    "failure_rate_threshold": "window rules: trip when failures / calls reaches this fraction, in (0, 1]",
    "slow_call_duration_threshold": "window rules: a call lasting strictly longer than this many seconds is slow "
    "(none: no slow-call rule)",
    "slow_call_rate_threshold": "window rules: trip when slow calls / calls reaches this fraction, in (0, 1]",
    "trip_on_equal_rate": "true: a rate exactly equal to its threshold trips (Resilience4j, Polly, Hystrix); "
    "false: it must exceed it (Sentinel)",
    # open duration
    "reset_timeout": "how many seconds the breaker stays open (the first time after being closed)",
    "open_duration_policy": "how long each opening lasts: fixed (always reset_timeout) or exponential "
    "(reset_timeout x backoff_factor**n for the n-th opening without a close, up to backoff_cap)",
    "backoff_factor": "exponential open duration: growth of each opening over the one before, >= 1",
    "backoff_cap": "exponential open duration: the longest opening, in seconds, >= reset_timeout "
    "(none: uncapped)",
    "jitter_ratio": "each open duration is multiplied by 1 + u, u uniform in [0, RATIO), so jitter only "
    "lengthens it (0: no jitter)",
    "jitter_seed": "seed of the breaker's own jitter random generator",
    "admit_at_deadline": "true: a call at exactly the end of the open time is admitted (pybreaker, Polly); "
    "false: only strictly after it (gobreaker, Resilience4j)",
    "half_open_entry": "when open becomes half-open: lazy (on the first call at or after the deadline, which is "
    "the first probe) or at_deadline (at the deadline itself, with no probe admitted yet)",
    # half-open
    "half_open_max_calls": "the half-open probe limit (what it limits: half_open_limit)",
    "half_open_limit": "what half_open_max_calls limits: per_episode (probes admitted in one half-open "
    "episode) or concurrent (probes in flight at once)",
    "close_rule": "how half-open decides: consecutive (any probe failure re-opens, success_threshold "
    "successes close) or rate (after half_open_max_calls outcomes, re-open if the failure rate meets "
    "failure_rate_threshold)",
    "success_threshold": "consecutive close rule: probe successes needed to close (at most "
    "half_open_max_calls with a per-episode limit)",
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
    "a failure (none: off); not the caller's own timeout",
    "trip_error": "what the call whose failure opens the breaker raises: original (its own error) or "
    "circuit_open (CircuitOpenError chained from it)",
}
