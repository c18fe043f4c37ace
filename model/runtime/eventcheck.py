"""The rules an event-log line obeys: every field's type and range, and the order between lines.

``check_event`` checks one line on its own (``FIELDS``, ``counter_rules``); ``LogSequence``
checks it against the lines before it (``seq``, time, permits). ``read_log`` applies both, so a
replay only ever sees events the reference model can be asked to perform.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

from breakerlab.model.breaker import Breaker
from breakerlab.model.clock import ManualClock
from breakerlab.model.config import BreakerConfig
from breakerlab.model.driver import EVENTS, OUTCOMES
from breakerlab.model.errors import BreakerError
from breakerlab.model.states import State
from breakerlab.model.table import VARIABLES, Verdict

__all__ = ["FIELDS", "EventLogError", "LogSequence", "Rule", "check_event", "counter_rules", "shown"]

Record = dict[str, Any]


class EventLogError(BreakerError, ValueError):
    """A malformed event log; the message names the file, the line and the problem.

    Attributes:
        problem: What is wrong, without the location.
        line: The line it is on (1 is the header), or ``None`` for the whole log.
        source: The log's file name, or ``None`` (a stream without a name).
    """

    def __init__(self, problem: str, *, line: int | None = None, source: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.source = source

    def __str__(self) -> str:
        where = ", ".join(part for part in (self.source, None if self.line is None else f"line {self.line}") if part)
        return f"{where}: {self.problem}" if where else self.problem

    def located(self, source: str | None) -> EventLogError:
        """This error naming the log ``source`` (itself if it already names one)."""
        if self.source is not None or source is None:
            return self
        return EventLogError(self.problem, line=self.line, source=source)


Rule = tuple[str, Callable[[object], bool]]
"""A field's rule as an error message states it, and the test of a value."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_at_least(minimum: int) -> Callable[[object], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= minimum


def _number_at_least(minimum: float, *, finite: bool = False) -> Callable[[object], bool]:
    """A number (not a bool) >= ``minimum``; NaN never passes, infinity only if not ``finite``."""
    return lambda v: (
        isinstance(v, int | float) and not isinstance(v, bool) and v >= minimum and not (finite and math.isinf(v))
    )


def _one_of(values: tuple[str, ...]) -> Callable[[object], bool]:
    return lambda v: isinstance(v, str) and v in values


def _or_null(test: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda v: v is None or test(v)


_EVENTS = tuple(EVENTS)
_STATES = tuple(state.value for state in State)
_VERDICTS = tuple(verdict.value for verdict in Verdict)

#: Every field of an event line and its rule. Fields not listed (a later writer's) are ignored;
#: ``counters`` is then checked counter by counter (``counter_rules``).
FIELDS: Mapping[str, Rule] = {
    "seq": ("an int >= 1", _int_at_least(1)),
    "t": ("a finite number of seconds >= 0", _number_at_least(0.0, finite=True)),
    "event": (f"one of {', '.join(_EVENTS)}", _one_of(_EVENTS)),
    "permit": ("a permit id (an int >= 1) or null", _or_null(_int_at_least(1))),
    "permit_generation": ("an int >= 0 or null", _or_null(_int_at_least(0))),
    "permit_state": (f"one of {', '.join(_STATES)} or null", _or_null(_one_of(_STATES))),
    "verdict": (f"one of {', '.join(_VERDICTS)} or null", _or_null(_one_of(_VERDICTS))),
    "source": (f"one of {', '.join(_STATES)}", _one_of(_STATES)),
    "dest": (f"one of {', '.join(_STATES)}", _one_of(_STATES)),
    "generation": ("an int >= 0", _int_at_least(0)),
    "cause": ("a string or null", _or_null(lambda v: isinstance(v, str))),
    "counters": ("an object mapping counter names to numbers", lambda v: isinstance(v, dict)),
    "remaining_s": ("a number of seconds >= 0 (Infinity when forced open)", _number_at_least(0.0)),
}

_COUNT: Rule = ("an int >= 0", _int_at_least(0))
_TIME: Rule = ("a number >= 0 (Infinity allowed)", _number_at_least(0.0))


@functools.cache
def counter_rules() -> Mapping[str, Rule]:
    """Every counter of the formal state and its rule: an int >= 0 where the state variable is
    an integer (generation, counts), else a number >= 0 (times and durations)."""
    fresh = Breaker(BreakerConfig(), clock=ManualClock()).snapshot()
    return {name: _COUNT if _is_int(fresh[name]) else _TIME for name in VARIABLES}


def shown(value: object) -> str:
    """``repr(value)``, shortened past 80 characters (a hostile line can hold megabytes)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + f"... ({len(text)} characters)"


def _invalid(field: str, rule: str, value: object, number: int, hint: str = "") -> EventLogError:
    return EventLogError(f"'{field}' must be {rule} (got {shown(value)})" + (f"; {hint}" if hint else ""), line=number)


def check_event(record: object, number: int) -> Record:
    """``record`` (line ``number``) as an event, every field checked for its type and range
    (``FIELDS``, ``counter_rules``) and for what its event implies.

    Raises:
        EventLogError: The first field that breaks its rule, naming the line, the field, the
            rule and the value.
    """
    if not isinstance(record, dict) or "event" not in record or "t" not in record:
        raise EventLogError("an event needs at least 'event' and 't'", line=number)
    if "seq" not in record:
        raise EventLogError("'seq' is missing: every event line carries its sequence number (1, 2, ...)", line=number)
    for field, value in record.items():
        if field not in FIELDS:
            continue  # a field a later writer adds; this version does not replay it
        rule, test = FIELDS[field]
        if not test(value):
            if field == "event" and isinstance(value, str):
                raise EventLogError(f"unknown event {shown(value)}; 'event' must be {rule}", line=number)
            raise _invalid(field, rule, value, number)
    rules = counter_rules()
    for name, value in (record.get("counters") or {}).items():
        if name not in rules:
            raise EventLogError(f"unknown counter {shown(name)}; the counters are {', '.join(rules)}", line=number)
        rule, test = rules[name]
        if not test(value):
            raise _invalid(f"counters.{name}", rule, value, number)
    event, permit, verdict = record["event"], record.get("permit"), record.get("verdict")
    if event == "acquire":
        if verdict is None:
            raise _invalid("verdict", f"one of {', '.join(_VERDICTS)} for an acquire", verdict, number)
        if verdict == Verdict.REJECT and permit is not None:
            raise _invalid("permit", "null for a rejected acquire", permit, number)
    elif verdict is not None:
        raise _invalid("verdict", f"null for {event} (only an acquire has a verdict)", verdict, number)
    elif event in OUTCOMES and permit is None:
        raise _invalid("permit", f"the id of the permit {event} settles", permit, number)
    elif event not in OUTCOMES and permit is not None:
        raise _invalid("permit", f"null for {event}", permit, number)
    return record


def _span(name: str, first: int, last: int) -> str:
    return f"{name} {first}" if first == last else f"{name} {first} to {last}"


class LogSequence:
    """The rules between lines: ``seq`` runs 1, 2, 3, ... without a gap or a repeat; time never
    runs back; admitted permits are numbered 1, 2, 3, ... in order (so each id is admitted once);
    every outcome settles an admitted, unsettled permit, with the generation and state its
    acquire logged."""

    def __init__(self) -> None:
        self.seq = 0
        self.t = 0.0
        self.last_permit = 0
        self.unsettled: dict[int, tuple[int, object, object]] = {}

    def check(self, record: Record, number: int) -> None:
        """Check the event at line ``number`` against the lines before it, and remember it.

        Raises:
            EventLogError: The event repeats or skips a ``seq``, runs time back, admits a permit
                out of order, or settles a permit that is not outstanding.
        """
        seq, t, event, permit = record["seq"], record["t"], record["event"], record.get("permit")
        if seq != self.seq + 1:
            hint = (
                f"{_span('seq', self.seq + 1, seq - 1)} is missing (lost lines)"
                if seq > self.seq + 1
                else "a line repeated or out of order"
            )
            raise _invalid("seq", f"{self.seq + 1}, one more than the previous event's", seq, number, hint)
        if t < self.t:
            raise EventLogError(
                f"time runs back: 't' must be >= {self.t}, the previous event's time (got {shown(t)})", line=number
            )
        if event == "acquire" and permit is not None:
            if permit != self.last_permit + 1:
                hint = (
                    f"permit {permit} was already admitted"
                    if permit <= self.last_permit
                    else f"no acquire admitted {_span('permit', self.last_permit + 1, permit - 1)}"
                )
                raise _invalid("permit", f"{self.last_permit + 1}, the next permit id", permit, number, hint)
            self.last_permit = permit
            self.unsettled[permit] = (number, record.get("permit_generation"), record.get("permit_state"))
        elif event in OUTCOMES:
            if permit not in self.unsettled:
                if isinstance(permit, int) and permit <= self.last_permit:
                    raise EventLogError(f"{event} of permit {permit}, which was already settled", line=number)
                raise EventLogError(f"{event} of permit {permit!r}, which no earlier acquire admitted", line=number)
            acquired, *logged = self.unsettled.pop(permit)
            for field, expected in zip(("permit_generation", "permit_state"), logged, strict=True):
                value = record.get(field)
                if value is not None and expected is not None and value != expected:
                    raise _invalid(
                        field,
                        f"{expected!r}, as the acquire of permit {permit} at line {acquired} logged",
                        value,
                        number,
                    )
        self.seq, self.t = seq, t
