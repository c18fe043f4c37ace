"""The base of the synthetic trace families: parameters declared once, with their meaning and rule.

A family's fields carry their documentation and validation rule in field metadata (``param``);
``TraceFamily`` checks every field against its rule at construction, and ``FamilyField`` is how
a field appears on a command line. The families themselves are in ``breakerlab.sim.traces.families``.
"""

from __future__ import annotations

import abc
import dataclasses
import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

import numpy as np

from breakerlab.model import validate

from ..budget import MAX_TRACE_SEGMENTS
from ..errors import InvalidConfigError
from .trace import Condition, Segment, Trace

__all__ = [
    "ABOVE_1", "COUNT", "DOWN", "DURATION", "FRACTION", "OPEN_UNIT", "PATH", "PROBABILITY", "TIME",
    "FamilyField", "Rule", "TraceFamily", "duration", "noise", "param", "validated",
]

@dataclasses.dataclass(frozen=True)
class Rule:
    text: str  # completes "'<field>' must be ..."; the type is checked first (number, int or str)
    ok: Callable[[Any], bool]


TIME = Rule("a finite number >= 0", lambda v: v >= 0)
DURATION = Rule("a finite number > 0", lambda v: v > 0)
ABOVE_1 = Rule("a finite number > 1", lambda v: v > 1)
OPEN_UNIT = Rule("a number in (0, 1)", lambda v: 0 < v < 1)
FRACTION = Rule("a number in (0, 1]", lambda v: 0 < v <= 1)
PROBABILITY = Rule("a number in [0, 1)", lambda v: 0 <= v < 1)
COUNT = Rule("an int >= 1", lambda v: v >= 1)
PATH = Rule("a non-empty file path (a .csv or .json trace file)", lambda v: bool(v))


#: Periods in a row that may leave a trace's time unchanged (a rare random draw) before the
#: trace is refused: past that, the periods are below the float resolution and would never end.
_MAX_STALLED = 1000

#: Every attempt fails fast.
DOWN = Condition(error_rate=1.0, healthy=False)


def param(default: Any, doc: str, rule: Rule) -> Any:
    return dataclasses.field(default=default, metadata={"doc": doc, "rule": rule})


def duration(default: float) -> Any:
    return param(default, "how long the fault lasts", DURATION)


def noise() -> Any:
    doc = "background error rate: of the healthy segments (still labelled healthy), and the least of a fault's"
    return param(0.0, doc, PROBABILITY)


@dataclasses.dataclass(frozen=True)
class FamilyField:
    """One parameter of a family, as a command line shows it.

    Attributes:
        name: The field's name (``--start-s`` on a command line for ``start_s``).
        type: ``"float"``, ``"int"`` or ``"str"``: what a string value is converted to.
        default: The default, or ``None`` if the parameter is required.
        doc: What the parameter means.
        rule: What a valid value is (completes "must be ...").
    """

    name: str
    type: str
    default: float | int | str | None
    doc: str
    rule: str

    @property
    def required(self) -> bool:
        """The parameter has no default."""
        return self.default is None


class TraceFamily(abc.ABC):
    """Base of the families: validates every field by the rule in its metadata (subclasses are
    frozen keyword-only dataclasses; ``float`` fields are stored as ``float``)."""

    name: ClassVar[str]
    #: The parameters that set how many segments the trace has (named when it has too many).
    segment_fields: ClassVar[tuple[str, ...]] = ()
    noise_error_rate: float

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            if field.init:
                value = validated(field.name, str(field.type), field.metadata["rule"], getattr(self, field.name))
                object.__setattr__(self, field.name, value)

    @abc.abstractmethod
    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        """The trace for a run over ``[0, horizon_s)``; random families draw from ``rng``."""

    def segment_count(self, horizon_s: float) -> float:
        """At most how many segments the trace has before ``horizon_s`` (the expected number,
        for a random family): what ``breakerlab.sim.budget`` checks before building it."""
        return 3.0

    @property
    def peak_load_factor(self) -> float:
        """The largest ``load_factor`` of the trace's conditions."""
        return 1.0

    @property
    def _healthy(self) -> Condition:
        return Condition(error_rate=self.noise_error_rate, healthy=True)

    def _trace(self, pieces: Iterable[tuple[float, Condition]]) -> Trace:
        """A trace named after the family from ``(start_s, condition)`` pieces in time order,
        after the healthy condition at 0; of pieces at the same time, the last holds."""
        segments = [Segment(0.0, self._healthy)]
        for start_s, condition in pieces:
            if start_s == segments[-1].start_s:
                segments[-1] = Segment(start_s, condition)
            else:
                segments.append(Segment(start_s, condition))
        return Trace(self.name, segments)

    def _alternate(
        self, fault: Condition, start_s: float, end_s: float, lengths: Iterator[float], horizon_s: float
    ) -> Trace:
        """Fault and healthy periods alternating from ``start_s``, fault first, with successive
        ``lengths``, the last cut at ``end_s``; periods from ``horizon_s`` on are left out."""
        pieces: list[tuple[float, Condition]] = []
        time_s, conditions = start_s, itertools.cycle((fault, self._healthy))
        stalled = 0  # periods in a row too short to move time_s (below its float resolution)
        while time_s < min(end_s, horizon_s):
            pieces.append((time_s, next(conditions)))
            previous, time_s = time_s, time_s + next(lengths)
            stalled = stalled + 1 if time_s == previous else 0
            if stalled > _MAX_STALLED or len(pieces) > MAX_TRACE_SEGMENTS:  # Scenario checks segment_count first
                periods = " and ".join(self.segment_fields) or "periods"
                raise InvalidConfigError(
                    "trace", f"made of periods that move time on, at most {MAX_TRACE_SEGMENTS:,} before the horizon",
                    f"{self.name} at {time_s:g} s", f"make {periods} longer (at {time_s:g} s, time moves in "
                    f"steps of {math.ulp(time_s):g} s), or start_s earlier",
                )
        pieces.append((min(time_s, end_s), self._healthy))
        return self._trace(pieces)


def validated(field: str, kind: str, rule: Rule, value: object) -> object:
    """``value`` checked against the field's declared type and rule (the model's definitions of
    a number and an int, ``breakerlab.model.validate``); a float field's value as a float."""
    if kind == "str":
        ok = isinstance(value, str)
    elif kind == "int":
        ok = validate.is_number(value) and isinstance(value, int)
    else:
        ok = validate.is_number(value) and math.isfinite(value)  # type: ignore[arg-type]
    if not (ok and rule.ok(value)):
        raise InvalidConfigError(field, rule.text, value)
    return float(value) if kind == "float" else value  # type: ignore[arg-type]
