"""Synthetic outage traces: one frozen, validated parameter class per kind of outage, registered by name.

Each family builds a ``Trace`` with ``build(horizon_s, rng)``; only random families draw from
``rng``. Every family has ``noise_error_rate``, the error rate of its healthy segments (which
stay labelled healthy) and the least error rate of its faults; fault segments are labelled
unhealthy. A fault may extend beyond the horizon. Field docs live once, in field metadata:
``family_fields`` reads them, and each class docstring gets its ``Attributes`` section from them.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from typing import ClassVar

import numpy as np

from ..errors import InvalidConfigError
from .base import (
    ABOVE_1,
    COUNT,
    DOWN,
    DURATION,
    FRACTION,
    OPEN_UNIT,
    PATH,
    PROBABILITY,
    TIME,
    FamilyField,
    TraceFamily,
    duration,
    noise,
    param,
)
from .files import load_trace
from .trace import Condition, Segment, Trace

__all__ = [
    "FAMILIES", "Brownout", "BackgroundNoise", "CapacityLoss", "FamilyField", "FlappingRandom", "FlappingSquare",
    "GcPauses", "HardDown", "HardDownHang", "Healthy", "LatencySpike", "LoadSpike", "ReplayFile", "SlowRecovery",
    "TraceFamily", "family_fields", "family_names", "make_trace_spec",
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Window(TraceFamily):
    """A fault during ``[start_s, start_s + duration_s)``, healthy before and after."""

    start_s: float = param(60.0, "when the fault starts, in seconds of simulated time", TIME)
    duration_s: float = duration(120.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_end("duration_s", self.start_s, self.duration_s)

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        return self._trace([(self.start_s, self._fault()), (self.start_s + self.duration_s, self._healthy)])

    def _fault(self) -> Condition:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True, kw_only=True)
class Healthy(TraceFamily):
    """No fault: the service as usual throughout (with background noise if ``noise_error_rate``)."""

    name: ClassVar[str] = "healthy"
    noise_error_rate: float = noise()

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        return self._trace([])


@dataclasses.dataclass(frozen=True, kw_only=True)
class HardDown(_Window):
    """A hard outage that fails fast: every attempt errors (connection refused, 503) during the
    window, after the service's ``error_latency_s``."""

    name: ClassVar[str] = "hard_down"
    noise_error_rate: float = noise()

    def _fault(self) -> Condition:
        return DOWN


@dataclasses.dataclass(frozen=True, kw_only=True)
class HardDownHang(_Window):
    """A hard outage that hangs: no attempt gets an answer during the window (a black-holed host,
    a deadlocked server), so each holds its caller's worker until ``call_timeout_s``."""

    name: ClassVar[str] = "hang"
    noise_error_rate: float = noise()

    def _fault(self) -> Condition:
        return Condition(hang=True, healthy=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Brownout(_Window):
    """A partial outage: a fraction of attempts fail fast during the window (one bad replica of
    several, an overloaded dependency shedding load). The window's error rate is the larger of
    ``error_rate`` and ``noise_error_rate``."""

    name: ClassVar[str] = "brownout"
    error_rate: float = param(0.3, "probability that an attempt fails during the window", FRACTION)
    noise_error_rate: float = noise()

    def _fault(self) -> Condition:
        return Condition(error_rate=max(self.error_rate, self.noise_error_rate), healthy=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LatencySpike(_Window):
    """Slow but successful: successful calls take ``latency_factor`` times as long during the
    window (a cold cache, a slow disk); the background errors continue."""

    name: ClassVar[str] = "latency_spike"
    latency_factor: float = param(20.0, "multiplies the latency of successful calls", ABOVE_1)
    noise_error_rate: float = noise()

    def _fault(self) -> Condition:
        return Condition(error_rate=self.noise_error_rate, latency_factor=self.latency_factor, healthy=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class FlappingSquare(_Window):
    """A service that flaps regularly (a crash-looping instance behind a health check): inside
    the window it is down (every attempt errors) for ``down_s``, then up for ``up_s``, starting
    down, the last period cut at the window's end; healthy after."""

    name: ClassVar[str] = "flapping"
    segment_fields: ClassVar[tuple[str, ...]] = ("down_s", "up_s")
    duration_s: float = duration(300.0)
    down_s: float = param(5.0, "length of each down period", DURATION)
    up_s: float = param(5.0, "length of each up period", DURATION)
    noise_error_rate: float = noise()

    def segment_count(self, horizon_s: float) -> float:
        return 2 + 2 * _span(self.start_s, self.duration_s, horizon_s) / (self.down_s + self.up_s)

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        lengths = itertools.cycle((self.down_s, self.up_s))
        return self._alternate(DOWN, self.start_s, self.start_s + self.duration_s, lengths, horizon_s)


@dataclasses.dataclass(frozen=True, kw_only=True)
class FlappingRandom(_Window):
    """A service that flaps irregularly: inside the window, down (every attempt errors) and up
    periods alternate, starting down, with exponentially distributed lengths (a random
    telegraph process) whose means give the long-run ``availability``: the mean up period is
    ``mean_down_s * availability / (1 - availability)``. Periods starting at or after the
    horizon are not drawn."""

    name: ClassVar[str] = "flapping_random"
    segment_fields: ClassVar[tuple[str, ...]] = ("mean_down_s", "availability")
    duration_s: float = duration(300.0)
    availability: float = param(0.9, "long-run fraction of the window that is up", OPEN_UNIT)
    mean_down_s: float = param(5.0, "mean length of a down period", DURATION)
    noise_error_rate: float = noise()

    def segment_count(self, horizon_s: float) -> float:
        return 2 + 2 * _span(self.start_s, self.duration_s, horizon_s) / (self.mean_down_s + self.mean_up_s)

    @property
    def mean_up_s(self) -> float:
        """Mean length of an up period."""
        return self.mean_down_s * self.availability / (1.0 - self.availability)

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        lengths = (float(rng.exponential(mean_s)) for mean_s in itertools.cycle((self.mean_down_s, self.mean_up_s)))
        return self._alternate(DOWN, self.start_s, self.start_s + self.duration_s, lengths, horizon_s)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SlowRecovery(_Window):
    """A hard outage followed by a slow recovery (caches warming, instances coming back one by
    one): down for ``duration_s``, then ``steps`` equal segments over ``ramp_s`` in which the
    recovered fraction f = (k + 0.5) / steps of segment k sets the capacity to f and the error
    rate to 1 - f (at least ``noise_error_rate``); all unhealthy, healthy after the ramp."""

    name: ClassVar[str] = "slow_recovery"
    segment_fields: ClassVar[tuple[str, ...]] = ("steps",)
    ramp_s: float = param(60.0, "length of the recovery ramp after the outage (0: no ramp)", TIME)
    steps: int = param(20, "segments in the ramp", COUNT)
    noise_error_rate: float = noise()

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_end("ramp_s", self.start_s + self.duration_s, self.ramp_s)

    def segment_count(self, horizon_s: float) -> float:
        return 3.0 + (self.steps if self.ramp_s > 0 else 0)

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        ramp_start_s = self.start_s + self.duration_s
        pieces = [(self.start_s, DOWN)]
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
    capacity_factor: float = param(0.3, "fraction of the processing rate left", OPEN_UNIT)
    noise_error_rate: float = noise()

    def _fault(self) -> Condition:
        return Condition(error_rate=self.noise_error_rate, capacity_factor=self.capacity_factor, healthy=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LoadSpike(_Window):
    """A surge of traffic (a retry storm upstream, a marketing push): the offered arrival rate
    is multiplied by ``load_factor`` during the window."""

    name: ClassVar[str] = "load_spike"
    duration_s: float = duration(10.0)
    load_factor: float = param(2.0, "multiplies the offered arrival rate", ABOVE_1)
    noise_error_rate: float = noise()

    @property
    def peak_load_factor(self) -> float:
        return self.load_factor

    def _fault(self) -> Condition:
        return Condition(error_rate=self.noise_error_rate, load_factor=self.load_factor, healthy=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class BackgroundNoise(TraceFamily):
    """No outage, only independent errors at a small rate over the whole horizon, labelled
    healthy: every trip is a false trip (for measuring false-trip rates). The error rate is the
    larger of ``error_rate`` and ``noise_error_rate``."""

    name: ClassVar[str] = "noise"
    error_rate: float = param(0.01, "probability that an attempt fails", PROBABILITY)
    noise_error_rate: float = noise()

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        rate = max(self.error_rate, self.noise_error_rate)
        return Trace(self.name, [Segment(0.0, Condition(error_rate=rate, healthy=True))])


@dataclasses.dataclass(frozen=True, kw_only=True)
class GcPauses(TraceFamily):
    """Stop-the-world pauses (garbage collection, a VM migration): the service makes no progress
    for ``pause_s`` at ``start_s + k * period_s`` for every k with a start before the horizon;
    calls in progress resume after each pause."""

    name: ClassVar[str] = "gc_pauses"
    segment_fields: ClassVar[tuple[str, ...]] = ("period_s",)
    start_s: float = param(10.0, "when the first pause starts", TIME)
    period_s: float = param(30.0, "time from one pause's start to the next's", DURATION)
    pause_s: float = param(2.0, "length of each pause (< period_s)", DURATION)
    noise_error_rate: float = noise()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pause_s >= self.period_s:
            raise InvalidConfigError("pause_s", f"< period_s ({self.period_s})", self.pause_s)

    def segment_count(self, horizon_s: float) -> float:
        return 2 + 2 * max(0.0, horizon_s - self.start_s) / self.period_s

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        if not math.isfinite(horizon_s):
            raise InvalidConfigError("horizon_s", "finite for the 'gc_pauses' trace", horizon_s)
        lengths = itertools.cycle((self.pause_s, self.period_s - self.pause_s))
        return self._alternate(Condition(paused=True, healthy=False), self.start_s, math.inf, lengths, horizon_s)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReplayFile(TraceFamily):
    """A real incident's measured timeline, replayed from a CSV or JSON file (see
    ``breakerlab.sim.traces.files``). The file is read once, at construction; the trace is named
    by the file (its JSON ``name``, else its stem). A ``noise_error_rate`` raises the error rate
    of the file's healthy segments to at least that."""

    name: ClassVar[str] = "replay"
    path: str = param(dataclasses.MISSING, "the trace file (.csv or .json)", PATH)
    noise_error_rate: float = noise()
    _loaded: Trace = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.path, os.PathLike):
            object.__setattr__(self, "path", os.fspath(self.path))
        super().__post_init__()
        object.__setattr__(self, "_loaded", load_trace(self.path))

    def segment_count(self, horizon_s: float) -> float:
        return self._loaded.segment_count(horizon_s)

    @property
    def peak_load_factor(self) -> float:
        return self._loaded.peak_load_factor

    def build(self, horizon_s: float, rng: np.random.Generator) -> Trace:
        noise = self.noise_error_rate
        return Trace(self._loaded.name, [
            Segment(s.start_s, dataclasses.replace(s.condition, error_rate=max(s.condition.error_rate, noise)))
            if s.condition.is_healthy else s
            for s in self._loaded.segments
        ])


def _check_end(field: str, start_s: float, length_s: float) -> None:
    """A period from ``start_s`` lasting ``length_s`` (the field ``field``) ends at a finite time."""
    if not math.isfinite(start_s + length_s):
        raise InvalidConfigError(field, f"small enough to end at a finite time (it starts at {start_s:g} s)", length_s)


def _span(start_s: float, duration_s: float, horizon_s: float) -> float:
    """How much of the window ``[start_s, start_s + duration_s)`` lies before the horizon."""
    return max(0.0, min(duration_s, horizon_s - start_s))


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


def families_markdown() -> str:
    """The trace families as a Markdown table (``sim/README.md`` embeds it verbatim)."""
    lines = ["| `--trace` | what it models | parameters (defaults) |", "| --- | --- | --- |"]
    for name, family in FAMILIES.items():
        summary = " ".join((family.__doc__ or "").strip().split("\n\n")[0].split())
        params = ", ".join(
            f"`{f.name}`" + ("" if f.default is None else f"={f.default:g}" if isinstance(f.default, float) else f"={f.default}")
            for f in family_fields(name)
        )
        lines.append(f"| `{name}` | {summary} | {params} |")
    return "\n".join(lines)
