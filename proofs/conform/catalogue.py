"""Named scenarios that tell breaker libraries apart, each a short script and the question it answers.

Every scenario assumes ``fail_max=3``, ``reset_timeout=10`` s and ``Excluded`` as the excluded
error (``run_catalogue`` configures the adapter so); a library with its own call timeout or a
rolling window gets ``CALL_TIMEOUT_S`` (200 s) and ``WINDOW_S`` (10 s) from its adapter. ``T``
below means the three failing calls 1-3 that trip the breaker at virtual time 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from .adapters.base import CALL_TIMEOUT_S, WINDOW_S, Adapter
from .script import (
    Advance,
    Begin,
    Call,
    Excluded,
    Finish,
    Observation,
    ReadState,
    ScriptError,
    Step,
    calls,
    failures,
    script,
)

__all__ = [
    "CALL_TIMEOUT_S",
    "CATALOGUE",
    "EPSILON_S",
    "FAIL_MAX",
    "RESET_TIMEOUT_S",
    "WINDOW_S",
    "ConformanceCase",
    "run_catalogue",
]

FAIL_MAX = 3
RESET_TIMEOUT_S = 10.0
#: The "just before the deadline" offset: 1 ms (exact in every library's clock arithmetic).
EPSILON_S = 0.001
#: Advancing this far after a trip reaches half-open in every library, whether it admits a call
#: exactly at the deadline or only strictly after it (``deadline_boundary`` tells those apart).
_PAST_DEADLINE_S = RESET_TIMEOUT_S + EPSILON_S
#: Probing period of ``backoff``: longer than reset_timeout / 2 and not a divisor of it, so that
#: a fixed open time shows the same pattern whichever side of the deadline a library admits.
_PROBE_STEP_S = 6.0


@dataclasses.dataclass(frozen=True)
class ConformanceCase:
    """A script and the one-line question its observations answer.

    Attributes:
        question: What the scenario tells apart.
        steps: The validated script.
    """

    question: str
    steps: tuple[Step, ...]


_TRIP = failures(FAIL_MAX)


def _backoff() -> tuple[Step, ...]:
    steps: list[Step] = list(_TRIP)
    for call_id in range(4, 12):
        steps += [Advance(_PROBE_STEP_S), Call(call_id, "failure")]
    return script(steps)


CATALOGUE: dict[str, ConformanceCase] = {
    "trip_index": ConformanceCase(
        "Does the fail_max-th consecutive failure open the breaker, so that the next call is rejected unrun?",
        script(Call(1, "failure"), Call(2, "failure"), ReadState(), Call(3, "failure"), ReadState(), Call(4)),
    ),
    "success_resets_count": ConformanceCase(
        "Does a success between failures reset the consecutive count (F F S F F stays closed)?",
        script(Call(1, "failure"), Call(2, "failure"), Call(3), Call(4, "failure"), Call(5, "failure"), ReadState(),
               Call(6)),
    ),
    "trip_error": ConformanceCase(
        "What do the tripping call and a failed probe raise: the original error or the library's open error?",
        script(_TRIP, Advance(_PAST_DEADLINE_S), Call(4, "failure"), ReadState(), Call(5)),
    ),
    "deadline_boundary": ConformanceCase(
        "Is a call admitted just before, exactly at, and just after opened_at + reset_timeout?",
        script(_TRIP, Advance(RESET_TIMEOUT_S - EPSILON_S), Call(4), Advance(EPSILON_S), Call(5),
               Advance(EPSILON_S), Call(6), ReadState()),
    ),
    "state_after_timeout": ConformanceCase(
        "What state does the library report once reset_timeout has elapsed with no traffic?",
        script(_TRIP, ReadState(), Advance(_PAST_DEADLINE_S), ReadState(), Advance(100), ReadState()),
    ),
    "half_open_concurrency": ConformanceCase(
        "While the first probe is in flight, are further calls admitted, rejected or blocked?",
        script(_TRIP, Advance(_PAST_DEADLINE_S), Begin(4), Call(5), Call(6), Call(7), ReadState(),
               Finish(4), ReadState()),
    ),
    "probe_fail_after_success": ConformanceCase(
        "Two overlapping probes: the first succeeds, then the second fails; which one decides?",
        script(_TRIP, Advance(_PAST_DEADLINE_S), Begin(4), Begin(5), Finish(4), Finish(5, "failure"), ReadState(),
               Call(6)),
    ),
    "probe_success_after_failure": ConformanceCase(
        "Two overlapping probes: the first fails, then the second succeeds; which one decides?",
        script(_TRIP, Advance(_PAST_DEADLINE_S), Begin(4), Begin(5), Finish(4, "failure"), Finish(5), ReadState(),
               Call(6)),
    ),
    "hung_probe": ConformanceCase(
        "A probe that never returns: are later calls admitted, rejected or blocked, even long after?",
        script(_TRIP, Advance(_PAST_DEADLINE_S), Begin(4), Advance(RESET_TIMEOUT_S), Call(5), ReadState(),
               Advance(100), Call(6), ReadState()),
    ),
    "excluded_in_closed": ConformanceCase(
        "Does an excluded error between failures reset the count (F F X F), or is it neutral (trips)?",
        script(Call(1, "failure"), Call(2, "failure"), Call(3, "excluded"), Call(4, "failure"), ReadState(), Call(5)),
    ),
    "excluded_in_probe": ConformanceCase(
        "Does a probe raising an excluded error close the breaker, re-open it, or leave it half-open?",
        script(_TRIP, Advance(_PAST_DEADLINE_S), Call(4, "excluded"), ReadState(), Call(5, "failure"), ReadState()),
    ),
    "cancel_in_closed": ConformanceCase(
        "Does a cancellation (asyncio.CancelledError) in closed count as a failure, a success, or nothing?",
        script(Call(1, "failure"), Call(2, "failure"), Call(3, "cancel"), Call(4, "failure"), ReadState(), Call(5)),
    ),
    "cancel_in_half_open": ConformanceCase(
        "Does a cancelled probe re-open the breaker, close it, or leave it half-open?",
        script(_TRIP, Advance(_PAST_DEADLINE_S), Call(4, "cancel"), ReadState(), Call(5, "failure"), ReadState()),
    ),
    "base_in_closed": ConformanceCase(
        "Does a BaseException that is not an Exception count in closed (F F B F)?",
        script(Call(1, "failure"), Call(2, "failure"), Call(3, "base"), Call(4, "failure"), ReadState(), Call(5)),
    ),
    "late_success_while_open": ConformanceCase(
        "A call admitted in closed succeeds after the trip: is it ignored, or does it close the breaker?",
        script(Begin(1), failures(FAIL_MAX, 2), ReadState(), Finish(1), ReadState(), Call(5)),
    ),
    "late_failure_while_open": ConformanceCase(
        "A call admitted in closed fails 5 s after the trip: is it ignored, or does it restart the open timer?",
        script(Begin(1), failures(FAIL_MAX, 2), Advance(5), Finish(1, "failure"), ReadState(), Advance(6), Call(5),
               Advance(5), Call(6), ReadState()),
    ),
    "late_success_in_half_open": ConformanceCase(
        "A call admitted in closed succeeds while a probe is in flight: does it decide the half-open state?",
        script(Begin(1), failures(FAIL_MAX, 2), Advance(_PAST_DEADLINE_S), Begin(5), Finish(1), ReadState(),
               Finish(5), ReadState()),
    ),
    "late_failure_in_half_open": ConformanceCase(
        "A call admitted in closed fails while a probe is in flight, then the probe succeeds: which wins?",
        script(Begin(1), failures(FAIL_MAX, 2), Advance(_PAST_DEADLINE_S), Begin(5), Finish(1, "failure"),
               ReadState(), Finish(5), ReadState()),
    ),
    "close_rule": ConformanceCase(
        "Does one successful probe close the breaker, so that a following failure is counted in closed?",
        script(_TRIP, Advance(_PAST_DEADLINE_S), Call(4), ReadState(), Call(5, "failure"), ReadState(), Call(6)),
    ),
    "rate_at_equality": ConformanceCase(
        "With failures and successes alternating (exactly 50% over 6 calls), does a rate rule trip at "
        "equality, or does consecutive counting keep it closed?",
        script(Call(1, "failure"), Call(2), Call(3, "failure"), Call(4), Call(5, "failure"), Call(6), ReadState(),
               Call(7)),
    ),
    "volume_and_dilution": ConformanceCase(
        "After a healthy run, do fail_max failures in a row still trip at once (no minimum volume, no rate "
        "diluted by the earlier successes)?",
        script(calls("success", 6), failures(FAIL_MAX, 7), ReadState(), Call(7 + FAIL_MAX)),
    ),
    "rate_equality_at_volume": ConformanceCase(
        "With S F S F (exactly 50% once the window holds fail_max + 1 outcomes), does a rate rule trip at "
        "equality (>=) or only above it (>)?",
        script(Call(1), Call(2, "failure"), Call(3), Call(4, "failure"), ReadState(), Call(5)),
    ),
    "window_ageing": ConformanceCase(
        "Do failures older than the rolling window still count (F F, a window later F): a time window "
        "forgets them, a count window and consecutive counting do not?",
        script(Call(1, "failure"), Call(2, "failure"), Advance(WINDOW_S + EPSILON_S), Call(3, "failure"),
               ReadState(), Call(4)),
    ),
    "call_timeout": ConformanceCase(
        "Does the library fail a call that stays in flight for its own call timeout (just before, at it), "
        "or let it finish?",
        script(Begin(1), Advance(CALL_TIMEOUT_S - EPSILON_S), ReadState(), Advance(EPSILON_S), ReadState(),
               Finish(1), Call(2)),
    ),
    "backoff": ConformanceCase(
        "Probing with a failing call every 6 s after the trip, do consecutive failed probes lengthen the open time?",
        _backoff(),
    ),
}


def run_catalogue(adapter: Adapter, names: Iterable[str] | None = None) -> dict[str, tuple[Observation, ...]]:
    """Configure ``adapter`` for the catalogue and run the named scenarios (all by default).

    Args:
        adapter: Any adapter; it is configured with ``FAIL_MAX``, ``RESET_TIMEOUT_S`` and
            ``(Excluded,)``.
        names: ConformanceCase names, in the order wanted.

    Returns:
        The observations of each scenario, by name.

    Raises:
        ScriptError: for an unknown scenario name (the message lists the known ones).
    """
    chosen = list(CATALOGUE) if names is None else list(names)
    unknown = [name for name in chosen if name not in CATALOGUE]
    if unknown:
        raise ScriptError(f"'names' must be scenarios of the catalogue ({', '.join(CATALOGUE)}) (got {unknown[0]!r})")
    adapter.configure(FAIL_MAX, RESET_TIMEOUT_S, (Excluded,))
    return {name: adapter.run(CATALOGUE[name].steps) for name in chosen}
