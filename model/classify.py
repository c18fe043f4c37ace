"""Failure classification: is an exception a failure, an uncounted outcome, or a cancellation?"""

from __future__ import annotations

import enum

from .config import BreakerConfig, CancellationOutcome, ExcludedOutcome

__all__ = ["Classification", "Settlement", "classify_exception", "settlement_for", "settlement_for_result"]


class Classification(enum.StrEnum):
    """How an exception raised by a protected call is recorded."""

    FAILURE = "failure"
    """Counted as a failure."""
    EXCLUDED = "excluded"
    """Not counted as a failure; recorded per ``excluded_outcome`` (neutral or success)."""
    CANCELLED = "cancelled"
    """A cancellation under ``cancellation_outcome="release"``: the permit is released, never a
    success nor a failure."""
    SUCCESS = "success"
    """A cancellation under ``cancellation_outcome="success"``: counted as a success."""


def classify_exception(config: BreakerConfig, exc: BaseException) -> Classification:
    """Classify ``exc`` under ``config`` (order: cancellation, excluded, failure, other).

    A ``BaseException`` that is not an ``Exception`` (``asyncio.CancelledError``,
    ``KeyboardInterrupt``, ``SystemExit``, ``GeneratorExit``) is a cancellation, recorded per
    ``cancellation_outcome`` (released, a failure or a success).
    """
    if not isinstance(exc, Exception):
        outcome = config.cancellation_outcome
        if outcome is CancellationOutcome.FAILURE:
            return Classification.FAILURE
        if outcome is CancellationOutcome.SUCCESS:
            return Classification.SUCCESS
        return Classification.CANCELLED
    if config.excluded_exceptions and isinstance(exc, config.excluded_exceptions):
        return Classification.EXCLUDED
    if isinstance(exc, config.failure_exceptions) and (config.is_failure is None or config.is_failure(exc)):
        return Classification.FAILURE
    return Classification.EXCLUDED


class Settlement(enum.StrEnum):
    """How a call that raised is settled; the values are the table's triggers."""

    FAILURE = "record_failure"
    SUCCESS = "record_success"
    DISCARD = "release"
    """Settled without an outcome: nothing counted, a current probe frees its slot."""


def settlement_for(config: BreakerConfig, exc: BaseException) -> Settlement:
    """How a call that raised ``exc`` is settled under ``config``: its classification, with
    ``excluded_outcome`` applied to an excluded error. The one place this rule is written;
    ``Breaker.settle_exception`` and the runtime's event log both use it."""
    kind = classify_exception(config, exc)
    if kind is Classification.FAILURE:
        return Settlement.FAILURE
    if kind is Classification.SUCCESS:
        return Settlement.SUCCESS
    if kind is Classification.EXCLUDED and config.excluded_outcome is ExcludedOutcome.SUCCESS:
        return Settlement.SUCCESS
    return Settlement.DISCARD


def settlement_for_result(config: BreakerConfig, result: object) -> Settlement:
    """How a call that returned ``result`` is settled under ``config``: a failure if
    ``is_failure_result(result)`` is true, else a success. The predicate's own exception
    propagates (the caller then settles the call with ``Settlement.DISCARD``)."""
    predicate = config.is_failure_result
    if predicate is not None and predicate(result):
        return Settlement.FAILURE
    return Settlement.SUCCESS
