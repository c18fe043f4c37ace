"""``BreakerConfig``: every option of the reference breaker, validated once at construction.

Each behaviour on which real breaker libraries disagree is an explicit option here; the
defaults reproduce the article the project grew from (pybreaker's ``fail_max=5``,
``reset_timeout=60``: consecutive failures, one probe, one success closes, a failed probe
re-opens). ``model/SEMANTICS.md`` documents every option in a table.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Callable, Mapping
from typing import Any

from . import validate
from .errors import InvalidConfigError
from .expr import Value

__all__ = [
    "BreakerConfig",
    "CancellationOutcome",
    "CloseRule",
    "ExcludedOutcome",
    "HalfOpenEntry",
    "HalfOpenLimit",
    "LateResultPolicy",
    "OpenDurationPolicy",
    "TripError",
    "TripRule",
]

#: Denominator bound used to turn rate thresholds into exact fractions (0.3 -> 3/10).
RATE_DENOMINATOR_LIMIT = 1_000_000


class TripRule(enum.StrEnum):
    """What opens a closed breaker."""

    CONSECUTIVE = "consecutive"
    """The ``fail_max``-th consecutive counted failure."""
    COUNT_WINDOW = "count_window"
    """The failure (or slow-call) rate over the last ``window_size`` outcomes."""
    TIME_WINDOW = "time_window"
    """The failure (or slow-call) rate over the outcomes of the last ``window_duration`` s."""


class OpenDurationPolicy(enum.StrEnum):
    """How long each opening lasts."""

    FIXED = "fixed"
    EXPONENTIAL = "exponential"


class HalfOpenEntry(enum.StrEnum):
    """When open becomes half-open."""

    LAZY = "lazy"
    """On the first ``acquire()`` at or after the deadline (that call is the first probe)."""
    AT_DEADLINE = "at_deadline"
    """Also on ``poll()`` at the deadline, with no probe admitted yet."""


class HalfOpenLimit(enum.StrEnum):
    """What ``half_open_max_calls`` limits."""

    PER_EPISODE = "per_episode"
    CONCURRENT = "concurrent"


class CloseRule(enum.StrEnum):
    """How half-open decides to close."""

    CONSECUTIVE = "consecutive"
    """Any probe failure re-opens; ``success_threshold`` successes close."""
    RATE = "rate"
    """After ``half_open_max_calls`` outcomes: re-open iff the failure rate meets the threshold."""


class LateResultPolicy(enum.StrEnum):
    """What an outcome recorded with a permit from an earlier generation does."""

    IGNORE = "ignore"
    CURRENT_STATE = "current_state"
    ADMITTING_STATE = "admitting_state"


class ExcludedOutcome(enum.StrEnum):
    """What an uncounted (excluded) exception is."""

    NEUTRAL = "neutral"
    SUCCESS = "success"


class CancellationOutcome(enum.StrEnum):
    """What a cancellation (a ``BaseException`` that is not an ``Exception``) is."""

    RELEASE = "release"
    """Uncounted: the permit is released (no success, no failure)."""
    FAILURE = "failure"
    """A counted failure (pybreaker, purgatory: they catch ``BaseException``)."""
    SUCCESS = "success"
    """A counted success (fabfuel's circuitbreaker: it resets, closing an open breaker)."""


class TripError(enum.StrEnum):
    """What the call whose failure opens the breaker raises."""

    ORIGINAL = "original"
    CIRCUIT_OPEN = "circuit_open"


ExceptionTypes = validate.ExceptionTypes

#: The enum-valued options and their enums (strings are accepted and converted).
ENUM_OPTIONS: Mapping[str, type[enum.StrEnum]] = {
    "trip_rule": TripRule,
    "open_duration_policy": OpenDurationPolicy,
    "half_open_entry": HalfOpenEntry,
    "half_open_limit": HalfOpenLimit,
    "close_rule": CloseRule,
    "late_result": LateResultPolicy,
    "excluded_outcome": ExcludedOutcome,
    "cancellation_outcome": CancellationOutcome,
    "trip_error": TripError,
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class BreakerConfig:
    """The complete, immutable configuration of a breaker. Times are in seconds.

    Invalid values raise ``InvalidConfigError`` naming the field, the rule and the value.
    Enum-valued options accept their string values (``trip_rule="count_window"``).
    """

    # -- trip rule ---------------------------------------------------------------------------
    trip_rule: TripRule = TripRule.CONSECUTIVE
    fail_max: int = 5
    window_size: int = 100
    window_duration: float = 60.0
    minimum_calls: int = 100
    failure_rate_threshold: float = 0.5
    slow_call_duration_threshold: float | None = None
    slow_call_rate_threshold: float = 1.0
    trip_on_equal_rate: bool = True
    # -- open duration -----------------------------------------------------------------------
    reset_timeout: float = 60.0
    open_duration_policy: OpenDurationPolicy = OpenDurationPolicy.FIXED
    backoff_factor: float = 2.0
    backoff_cap: float | None = None
    jitter_ratio: float = 0.0
    jitter_seed: int = 0
    admit_at_deadline: bool = True
    half_open_entry: HalfOpenEntry = HalfOpenEntry.LAZY
    # -- half-open ---------------------------------------------------------------------------
    half_open_max_calls: int = 1
    half_open_limit: HalfOpenLimit = HalfOpenLimit.PER_EPISODE
    close_rule: CloseRule = CloseRule.CONSECUTIVE
    success_threshold: int = 1
    half_open_max_wait: float | None = None
    # -- outcomes ----------------------------------------------------------------------------
    late_result: LateResultPolicy = LateResultPolicy.IGNORE
    failure_exceptions: ExceptionTypes = (Exception,)
    excluded_exceptions: ExceptionTypes = ()
    is_failure: Callable[[BaseException], bool] | None = None
    is_failure_result: Callable[[Any], bool] | None = None
    excluded_outcome: ExcludedOutcome = ExcludedOutcome.NEUTRAL
    cancellation_outcome: CancellationOutcome = CancellationOutcome.RELEASE
    call_timeout: float | None = None
    trip_error: TripError = TripError.ORIGINAL

    @classmethod
    def preset(cls, name: str) -> BreakerConfig:
        """The model configured as the library ``name`` behaves, with its default thresholds.

        Measured (``pybreaker``, ``circuitbreaker``, ``aiobreaker``, ``purgatory``: fitted by
        ``breakerlab conform``) or documented (``gobreaker``, ``resilience4j``, ``polly``,
        ``hystrix``, ``akka``); see ``breakerlab.model.presets`` for provenance, notes and
        whether the library serialises calls.

        Raises:
            InvalidConfigError: an unknown name (the message lists the presets).
        """
        from .presets import preset_named

        return cls(**preset_named(name).options)

    def __post_init__(self) -> None:
        for name, kind in ENUM_OPTIONS.items():
            object.__setattr__(self, name, validate.enum_value(name, kind, getattr(self, name)))

        validate.int_at_least("fail_max", self.fail_max, 1)
        validate.int_at_least("window_size", self.window_size, 1)
        validate.int_at_least("minimum_calls", self.minimum_calls, 1)
        validate.positive("window_duration", self.window_duration)
        validate.fraction("failure_rate_threshold", self.failure_rate_threshold)
        validate.fraction("slow_call_rate_threshold", self.slow_call_rate_threshold)
        validate.boolean("trip_on_equal_rate", self.trip_on_equal_rate)
        if self.slow_call_duration_threshold is not None:
            validate.non_negative("slow_call_duration_threshold", self.slow_call_duration_threshold)
        if self.trip_rule is TripRule.COUNT_WINDOW and self.minimum_calls > self.window_size:
            raise InvalidConfigError(
                "minimum_calls",
                f"<= window_size ({self.window_size}) with trip_rule 'count_window'",
                self.minimum_calls,
                "a count window never holds more than window_size outcomes",
            )
        if self.slow_call_duration_threshold is not None and self.trip_rule is TripRule.CONSECUTIVE:
            raise InvalidConfigError(
                "slow_call_duration_threshold",
                "None unless trip_rule is 'count_window' or 'time_window'",
                self.slow_call_duration_threshold,
                "the slow-call rate is measured over a window",
            )

        validate.non_negative("reset_timeout", self.reset_timeout)
        validate.finite_at_least("backoff_factor", self.backoff_factor, 1.0)
        if self.backoff_cap is not None:
            validate.finite_at_least("backoff_cap", self.backoff_cap, self.reset_timeout, "reset_timeout")
        if not validate.is_number(self.jitter_ratio) or not 0 <= self.jitter_ratio < math.inf:
            raise InvalidConfigError("jitter_ratio", "a finite number >= 0 (0.1 adds up to 10%)", self.jitter_ratio)
        if not isinstance(self.jitter_seed, int) or isinstance(self.jitter_seed, bool):
            raise InvalidConfigError("jitter_seed", "an int", self.jitter_seed)
        validate.boolean("admit_at_deadline", self.admit_at_deadline)

        validate.int_at_least("half_open_max_calls", self.half_open_max_calls, 1)
        validate.int_at_least("success_threshold", self.success_threshold, 1)
        if (
            self.close_rule is CloseRule.CONSECUTIVE
            and self.half_open_limit is HalfOpenLimit.PER_EPISODE
            and self.success_threshold > self.half_open_max_calls
        ):
            raise InvalidConfigError(
                "success_threshold",
                f"<= half_open_max_calls ({self.half_open_max_calls}) with a per-episode probe limit",
                self.success_threshold,
                "otherwise half-open can never collect enough successes to close",
            )
        if self.half_open_max_wait is not None:
            validate.positive("half_open_max_wait", self.half_open_max_wait)

        object.__setattr__(
            self, "failure_exceptions", validate.exception_types("failure_exceptions", self.failure_exceptions)
        )
        object.__setattr__(
            self, "excluded_exceptions", validate.exception_types("excluded_exceptions", self.excluded_exceptions)
        )
        for name in ("is_failure", "is_failure_result"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise InvalidConfigError(name, "None or a callable", value)
        if self.call_timeout is not None:
            validate.positive("call_timeout", self.call_timeout)

    # -- derived views -----------------------------------------------------------------------

    def replace(self, **changes: Any) -> BreakerConfig:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def as_json(self) -> dict[str, Any]:
        """Every field as a JSON value: enums by value, exception types by qualified name,
        predicates by ``repr`` (the document the runtime's event log and ``simulate --json``
        record)."""
        result: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, enum.Enum):
                value = value.value
            elif field.name in ("failure_exceptions", "excluded_exceptions"):
                value = [f"{t.__module__}.{t.__qualname__}" for t in value]
            elif callable(value):
                value = repr(value)
            result[field.name] = value
        return result

    @property
    def uses_window(self) -> bool:
        """Whether the trip rule keeps a window of recent outcomes."""
        return self.trip_rule is not TripRule.CONSECUTIVE

    def table_params(self) -> dict[str, Value]:
        """The values of the transition table's ``Param`` names for this configuration.

        Each parameter, and how it is read from a configuration, is declared once in
        ``breakerlab.model.params``; rates become exact integer fractions there.
        """
        from .params import PARAMETERS  # params.py reads BreakerConfig: import it on first use

        return {spec.name: spec.read(self) for spec in PARAMETERS}
