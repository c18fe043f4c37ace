"""Synthetic outage traces: one frozen, validated parameter class per kind of outage, registered by name.

Each family builds a ``Trace`` with ``build(horizon_s, rng)``; only random families draw from
``rng``. Every family has ``noise_error_rate``, the error rate of its healthy segments (which
stay labelled healthy) and the least error rate of its faults; fault segments are labelled
unhealthy. A fault may extend beyond the horizon. Field docs live once, in field metadata:
``family_fields`` reads them, and each class docstring gets its ``Attributes`` section from them.
"""

from __future__ import annotations

import abc
import dataclasses
import itertools
import math
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

import numpy as np

from .errors import InvalidConfigError
from .trace import Condition, Segment, Trace
from .trace_file import load_trace

__all__ = [
    "FAMILIES", "Brownout", "BackgroundNoise", "CapacityLoss", "FamilyField", "FlappingRandom", "FlappingSquare",
    "GcPauses", "HardDown", "HardDownHang", "Healthy", "LatencySpike", "LoadSpike", "ReplayFile", "SlowRecovery",
    "TraceFamily", "family_fields", "family_names", "make_trace_spec",
]


@dataclasses.dataclass(frozen=True)
class _Rule:
    text: str  # completes "'<field>' must be ..."; the type is checked first (number, int or str)
    ok: Callable[[Any], bool]


_TIME = _Rule("a finite number >= 0", lambda v: v >= 0)
_DURATION = _Rule("a finite number > 0", lambda v: v > 0)
_ABOVE_1 = _Rule("a finite number > 1", lambda v: v > 1)
_OPEN_UNIT = _Rule("a number in (0, 1)", lambda v: 0 < v < 1)
_FRACTION = _Rule("a number in (0, 1]", lambda v: 0 < v <= 1)
_PROBABILITY = _Rule("a number in [0, 1)", lambda v: 0 <= v < 1)
_COUNT = _Rule("an int >= 1", lambda v: v >= 1)
_PATH = _Rule("a non-empty file path (a .csv or .json trace file)", lambda v: bool(v))


#: Every attempt fails fast.
_DOWN = Condition(error_rate=1.0, healthy=False)


def _param(default: Any, doc: str, rule: _Rule) -> Any:
    return dataclasses.field(default=default, metadata={"doc": doc, "rule": rule})


def _duration(default: float) -> Any:
    return _param(default, "how long the fault lasts", _DURATION)


def _noise() -> Any:
    doc = "background error rate: of the healthy segments (still labelled healthy), and the least of a fault's"
    return _param(0.0, doc, _PROBABILITY)


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
    noise_error_rate: float

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            if field.init:
                value = _validated(field.name, str(field.type), field.metadata["rule"], getattr(self, field.name))
                object.__setattr__(self, field.name, value)

    @abc.abstractmethod
    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        """The trace for a run over ``[0, horizon_s)``; random families draw from ``rng``."""

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
        while time_s < min(end_s, horizon_s):
            pieces.append((time_s, next(conditions)))
            time_s += next(lengths)
        pieces.append((min(time_s, end_s), self._healthy))
        return self._trace(pieces)


def _validated(field: str, kind: str, rule: _Rule, value: object) -> object:
    if kind == "str":
        ok = isinstance(value, str)
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not (ok and rule.ok(value)):
        raise InvalidConfigError(field, rule.text, value)
    return float(value) if kind == "float" else value  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Window(TraceFamily):
    """A fault during ``[start_s, start_s + duration_s)``, healthy before and after."""

    start_s: float = _param(60.0, "when the fault starts, in seconds of simulated time", _TIME)
    duration_s: float = _duration(120.0)

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        return self._trace([(self.start_s, self._fault()), (self.start_s + self.duration_s, self._healthy)])

    def _fault(self) -> Condition:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True, kw_only=True)
class Healthy(TraceFamily):
    """No fault: the service as usual throughout (with background noise if ``noise_error_rate``)."""

    name: ClassVar[str] = "healthy"
    noise_error_rate: float = _noise()

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        return self._trace([])


@dataclasses.dataclass(frozen=True, kw_only=True)
class HardDown(_Window):
    """A hard outage that fails fast: every attempt errors (connection refused, 503) during the
    window, after the service's ``error_latency_s``."""

    name: ClassVar[str] = "hard_down"
    noise_error_rate: float = _noise()

    def _fault(self) -> Condition:
        return _DOWN


@dataclasses.dataclass(frozen=True, kw_only=True)
class HardDownHang(_Window):
    """A hard outage that hangs: no attempt gets an answer during the window (a black-holed host,
    a deadlocked server), so each holds its caller's worker until ``call_timeout_s``."""

    name: ClassVar[str] = "hang"
    noise_error_rate: float = _noise()

    def _fault(self) -> Condition:
        return Condition(hang=True, healthy=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Brownout(_Window):
    """A partial outage: a fraction of attempts fail fast during the window (one bad replica of
    several, an overloaded dependency shedding load). The window's error rate is the larger of
    ``error_rate`` and ``noise_error_rate``."""

    name: ClassVar[str] = "brownout"
    error_rate: float = _param(0.3, "probability that an attempt fails during the window", _FRACTION)
    noise_error_rate: float = _noise()

    def _fault(self) -> Condition:
        return Condition(error_rate=max(self.error_rate, self.noise_error_rate), healthy=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LatencySpike(_Window):
    """Slow but successful: successful calls take ``latency_factor`` times as long during the
    window (a cold cache, a slow disk); the background errors continue."""

    name: ClassVar[str] = "latency_spike"
    latency_factor: float = _param(20.0, "multiplies the latency of successful calls", _ABOVE_1)
    noise_error_rate: float = _noise()

    def _fault(self) -> Condition:
        return Condition(error_rate=self.noise_error_rate, latency_factor=self.latency_factor, healthy=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class FlappingSquare(_Window):
    """A service that flaps regularly (a crash-looping instance behind a health check): inside
    the window it is down (every attempt errors) for ``down_s``, then up for ``up_s``, starting
    down, the last period cut at the window's end; healthy after."""

    name: ClassVar[str] = "flapping"
    duration_s: float = _duration(300.0)
    down_s: float = _param(5.0, "length of each down period", _DURATION)
    up_s: float = _param(5.0, "length of each up period", _DURATION)
    noise_error_rate: float = _noise()

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        lengths = itertools.cycle((self.down_s, self.up_s))
        return self._alternate(_DOWN, self.start_s, self.start_s + self.duration_s, lengths, horizon_s)


@dataclasses.dataclass(frozen=True, kw_only=True)
class FlappingRandom(_Window):
    """A service that flaps irregularly: inside the window, down (every attempt errors) and up
    periods alternate, starting down, with exponentially distributed lengths (a random
    telegraph process) whose means give the long-run ``availability``: the mean up period is
    ``mean_down_s * availability / (1 - availability)``. Periods starting at or after the
    horizon are not drawn."""

    name: ClassVar[str] = "flapping_random"
    duration_s: float = _duration(300.0)
    availability: float = _param(0.9, "long-run fraction of the window that is up", _OPEN_UNIT)
    mean_down_s: float = _param(5.0, "mean length of a down period", _DURATION)
    noise_error_rate: float = _noise()

    @property
    def mean_up_s(self) -> float:
        """Mean length of an up period."""
        return self.mean_down_s * self.availability / (1.0 - self.availability)

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        lengths = (float(rng.exponential(mean_s)) for mean_s in itertools.cycle((self.mean_down_s, self.mean_up_s)))
        return self._alternate(_DOWN, self.start_s, self.start_s + self.duration_s, lengths, horizon_s)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SlowRecovery(_Window):
    """A hard outage followed by a slow recovery (caches warming, instances coming back one by
    one): down for ``duration_s``, then ``steps`` equal segments over ``ramp_s`` in which the
    recovered fraction f = (k + 0.5) / steps of segment k sets the capacity to f and the error
    rate to 1 - f (at least ``noise_error_rate``); all unhealthy, healthy after the ramp."""

    name: ClassVar[str] = "slow_recovery"
    ramp_s: float = _param(60.0, "length of the recovery ramp after the outage (0: no ramp)", _TIME)
    steps: int = _param(20, "segments in the ramp", _COUNT)
    noise_error_rate: float = _noise()

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        ramp_start_s = self.start_s + self.duration_s
        pieces = [(self.start_s, _DOWN)]
        for step in range(self.steps if self.ramp_s > 0 else 0):
            fraction = (step + 0.5) / self.steps
            rate = max(1.0 - fraction, self.noise_error_rate)
            condition = Condition(error_rate=rate, capacity_factor=fraction, healthy=False)
            pieces.append((ramp_start_s + step * self.ramp_s / self.steps, condition))
        pieces.append((ramp_start_s + self.ramp_s, self._healthy))
        return self._trace(pieces)


@dataclasses.dataclass(frozen=True, kw_only=True)
class CapacityLoss(_Window):
    """Lost capacity (instances down, a throttled host): during the window the service
    processes at ``capacity_factor`` of its rate, so the ``capacity`` service kind slows down
    and queues (the ``open_loop`` kind has no rate and is unaffected)."""

    name: ClassVar[str] = "capacity_loss"
    capacity_factor: float = _param(0.3, "fraction of the processing rate left", _OPEN_UNIT)
    noise_error_rate: float = _noise()

    def _fault(self) -> Condition:
        return Condition(error_rate=self.noise_error_rate, capacity_factor=self.capacity_factor, healthy=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LoadSpike(_Window):
    """A surge of traffic (a retry storm upstream, a marketing push): the offered arrival rate
    is multiplied by ``load_factor`` during the window."""

    name: ClassVar[str] = "load_spike"
    duration_s: float = _duration(10.0)
    load_factor: float = _param(2.0, "multiplies the offered arrival rate", _ABOVE_1)
    noise_error_rate: float = _noise()

    def _fault(self) -> Condition:
        return Condition(error_rate=self.noise_error_rate, load_factor=self.load_factor, healthy=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class BackgroundNoise(TraceFamily):
    """No outage, only independent errors at a small rate over the whole horizon, labelled
    healthy: every trip is a false trip (for measuring false-trip rates). The error rate is the
    larger of ``error_rate`` and ``noise_error_rate``."""

    name: ClassVar[str] = "noise"
    error_rate: float = _param(0.01, "probability that an attempt fails", _PROBABILITY)
    noise_error_rate: float = _noise()

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        rate = max(self.error_rate, self.noise_error_rate)
        return Trace(self.name, [Segment(0.0, Condition(error_rate=rate, healthy=True))])


@dataclasses.dataclass(frozen=True, kw_only=True)
class GcPauses(TraceFamily):
    """Stop-the-world pauses (garbage collection, a VM migration): the service makes no progress
    for ``pause_s`` at ``start_s + k * period_s`` for every k with a start before the horizon;
    calls in progress resume after each pause."""

    name: ClassVar[str] = "gc_pauses"
    start_s: float = _param(10.0, "when the first pause starts", _TIME)
    period_s: float = _param(30.0, "time from one pause's start to the next's", _DURATION)
    pause_s: float = _param(2.0, "length of each pause (< period_s)", _DURATION)
    noise_error_rate: float = _noise()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pause_s >= self.period_s:
            raise InvalidConfigError("pause_s", f"< period_s ({self.period_s})", self.pause_s)

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        if not math.isfinite(horizon_s):
            raise InvalidConfigError("horizon_s", "finite for the 'gc_pauses' trace", horizon_s)
        lengths = itertools.cycle((self.pause_s, self.period_s - self.pause_s))
        return self._alternate(Condition(paused=True, healthy=False), self.start_s, math.inf, lengths, horizon_s)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReplayFile(TraceFamily):
    """A real incident's measured timeline, replayed from a CSV or JSON file (see
    ``breakerlab.sim.trace_file``). The file is read once, at construction; the trace is named
    by the file (its JSON ``name``, else its stem). A ``noise_error_rate`` raises the error rate
    of the file's healthy segments to at least that."""

    name: ClassVar[str] = "replay"
    path: str = _param(dataclasses.MISSING, "the trace file (.csv or .json)", _PATH)
    noise_error_rate: float = _noise()
    _loaded: Trace = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.path, os.PathLike):
            object.__setattr__(self, "path", os.fspath(self.path))
        super().__post_init__()
        object.__setattr__(self, "_loaded", load_trace(self.path))

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        noise = self.noise_error_rate
        return Trace(self._loaded.name, [
            Segment(s.start_s, dataclasses.replace(s.condition, error_rate=max(s.condition.error_rate, noise)))
            if s.condition.is_healthy else s
            for s in self._loaded.segments
        ])


#: Every family by name, in documentation order.
FAMILIES: dict[str, type[TraceFamily]] = {
    family.name: family
    for family in (
        Healthy, HardDown, HardDownHang, Brownout, LatencySpike, FlappingSquare, FlappingRandom, SlowRecovery,
        CapacityLoss, LoadSpike, BackgroundNoise, GcPauses, ReplayFile,
    )
}


def family_names() -> list[str]:
    """The families' names, in documentation order."""
    return list(FAMILIES)


def _family(name: str) -> type[TraceFamily]:
    try:
        return FAMILIES[name]
    except KeyError:
        raise InvalidConfigError("trace", "one of " + ", ".join(map(repr, FAMILIES)), name) from None


def family_fields(name: str) -> list[FamilyField]:
    """The parameters of the family ``name``, in declaration order.

    Raises:
        InvalidConfigError: no family has that name.
    """
    return [
        FamilyField(
            name=field.name,
            type=str(field.type),
            default=None if field.default is dataclasses.MISSING else field.default,
            doc=field.metadata["doc"],
            rule=field.metadata["rule"].text,
        )
        for field in dataclasses.fields(_family(name))  # type: ignore[arg-type]
        if field.init
    ]


def make_trace_spec(name: str, **params: object) -> TraceFamily:
    """The family ``name`` with ``params``; string values (from a command line) are converted to
    the field's type.

    Raises:
        InvalidConfigError: an unknown family or parameter, a value that does not convert, a
            missing required parameter, or a value that breaks the field's rule.
    """
    family = _family(name)
    fields = {field.name: field for field in family_fields(name)}
    values: dict[str, object] = {}
    for key, value in params.items():
        field = fields.get(key)
        if field is None:
            raise InvalidConfigError(key, f"a parameter of the {name!r} trace ({', '.join(fields)})", value)
        values[key] = _converted(field, value)
    for field in fields.values():
        if field.required and field.name not in values:
            raise InvalidConfigError(field.name, f"given for the {name!r} trace ({field.doc})", None)
    return family(**values)


def _converted(field: FamilyField, value: object) -> object:
    if not isinstance(value, str) or field.type == "str":
        return value
    try:
        return int(value) if field.type == "int" else float(value)
    except ValueError:
        kind = "an int" if field.type == "int" else "a number"
        raise InvalidConfigError(field.name, f"{kind} ({field.rule})", value) from None


def _document(family: type[TraceFamily]) -> None:
    """Append the ``Attributes`` section, from the fields' metadata, to the class docstring."""
    lines = [f"        {f.name}: {f.doc[0].upper()}{f.doc[1:]}; {f.rule}." for f in family_fields(family.name)]
    if family.__doc__:  # None under python -OO
        family.__doc__ += "\n\n    Attributes:\n" + "\n".join(lines) + "\n"


for _each in FAMILIES.values():
    _document(_each)
