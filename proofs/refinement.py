"""Refinement check: the executable ``Breaker`` takes exactly the steps of the z3 relation.

The z3 proofs (``induction.py``) are about the relation that ``encoding.py`` generates from the
table; this module ties them to the code that runs. It explores the real ``Breaker`` (public
API only, on a ``ManualClock``) breadth-first over every reachable abstract state for small
parameters and checks every step it takes:

1. **every step of the breaker is a step of the relation**: ``transition(step)`` and
   ``environment(pre, event)``, with the parameters fixed to the configuration's values and the
   breaker's concrete pre-state, event and post-state substituted, simplify to a single row;
2. **the breaker takes every step the relation allows**: in every reachable state it is offered
   every event a client can produce (``acquire``, ``poll``, the manual operations, and
   ``record_success`` / ``record_failure`` / ``release`` of each class of permit it holds:
   current, or stale and admitted in ``closed`` / ``half_open`` / ``disabled``); it must accept
   each (``CircuitOpenError`` is the reject verdict) and land in the relation's successor,
   which is unique because the rows of one (state, trigger) pair are tried in order. The
   result also lists each outcome of a *current* permit that the relation's environment allows
   in an explored state but that no explored path held a permit for (expected: none).

Time advances by whole ticks: between events the clock may ``wait`` any of ``time_steps``.

**Abstract state**: the breaker's snapshot without ``generation`` (only current-vs-stale
matters), the time-valued variables made relative to the clock and clamped at
``-(largest time constant + 1)`` (every guard compares them with ``now`` plus at most that
constant, so all values below the floor behave alike); plus the multiset of outstanding permits
as (current, admitting state, probe), at most ``max_permits`` of them (an admitted permit that
does not fit is dropped: a lost call). A time variable that neither the breaker's table nor the
relation's can read before overwriting it, from the current state, is *dead* (a fixpoint over
the rows) and abstracted to the floor: otherwise the times left over from earlier episodes
would multiply the closed, forced-open and disabled states several-fold for no behaviour.

A state is expanded by replaying its shortest witness path on a fresh breaker. As a sound
shortcut, after an event that leaves the snapshot unchanged the same breaker object serves the
state's next event, and the breaker that discovers a state serves that state's first event:
this relies on exactly the premise of the abstraction (the breaker's behaviour is a function of
its snapshot, the clock and the permits presented). Every reported mismatch is re-derived by
replaying its path on a fresh breaker. The z3 check always uses the breaker's concrete values
(absolute times, generations), never the abstraction.

**Scope**: ``trip_rule="consecutive"``, ``jitter_ratio=0``, ``call_timeout=None`` and a fixed or
capped open duration, so that the abstract state space is finite. Window trip rules and jitter
are covered elsewhere: symbolically by the z3 proofs, against the oracle by the Hypothesis
comparison in ``tests/test_stateful.py``, and the windows themselves by ``tests/test_window.py``.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from breakerlab.model import (
    Breaker,
    BreakerConfig,
    CircuitOpenError,
    CloseRule,
    HalfOpenEntry,
    HalfOpenLimit,
    LateResultPolicy,
    ManualClock,
    OpenDurationPolicy,
    Permit,
    State,
    TripRule,
)
from breakerlab.model.expr import Assign, Value, Var, names
from breakerlab.proofs.mutants import Mutant
from breakerlab.model.table import TABLE, VARIABLES, Table

from .concrete import ConcreteRelation, concrete_relation

__all__ = [
    "REFINEMENT_CONFIGS",
    "Mismatch",
    "Observation",
    "PathStep",
    "RefinementResult",
    "check_code_mutant",
    "describe",
    "explore",
    "replay",
    "run",
]

#: Time-valued state variables: relative to the clock, clamped, dead ones abstracted away.
TIME_VARIABLES: tuple[str, ...] = ("opened_at", "open_until", "half_open_since")
OUTCOMES: tuple[str, ...] = ("record_success", "record_failure", "release")
OTHER_EVENTS: tuple[str, ...] = ("poll", "force_open", "disable", "reset")
WAIT = "wait"
"""The pseudo-event of a path that only moves the clock (not a step of the relation)."""

_SMALL: dict[str, Any] = {"fail_max": 2, "reset_timeout": 2.0}
REFINEMENT_CONFIGS: tuple[BreakerConfig, ...] = (
    BreakerConfig(**_SMALL),
    BreakerConfig(**_SMALL, open_duration_policy=OpenDurationPolicy.EXPONENTIAL, backoff_factor=2.0, backoff_cap=4.0),
    BreakerConfig(**_SMALL, half_open_max_calls=2, success_threshold=2, late_result=LateResultPolicy.ADMITTING_STATE),
    BreakerConfig(
        **_SMALL,
        half_open_max_wait=1.0,
        half_open_limit=HalfOpenLimit.CONCURRENT,
        late_result=LateResultPolicy.ADMITTING_STATE,
    ),
    BreakerConfig(
        **_SMALL,
        admit_at_deadline=False,
        half_open_entry=HalfOpenEntry.AT_DEADLINE,
        close_rule=CloseRule.RATE,
        half_open_max_calls=2,
        trip_on_equal_rate=False,
        late_result=LateResultPolicy.CURRENT_STATE,
    ),
    BreakerConfig(**_SMALL, close_rule=CloseRule.RATE, half_open_max_calls=2, half_open_limit=HalfOpenLimit.CONCURRENT),
)
"""Small configurations (``fail_max=2``, ``reset_timeout=2``) that together take every row of
the reference table except the window rule's trip on a success, and reach the behaviour of
every code mutant in ``MUTANTS``: the ``admit_at_deadline`` boundary both ways, ``at_deadline``
entry, each late-result policy, two probes with ``success_threshold=2``, a half-open maximum
wait (1 s) with a concurrent limit, capped exponential backoff, and the rate close rule on both
sides of an exactly met threshold (``1/2`` trips only with ``trip_on_equal_rate``).
Ordered so that ``check_code_mutant`` reaches the config that exposes each mutant early."""

PermitClass = tuple[bool, State, bool]
"""An outstanding permit, abstracted: (current, admitting state, probe)."""


@dataclasses.dataclass(frozen=True)
class PathStep:
    """One step of a path: ``dt`` seconds after the previous step, ``trigger`` (or ``"wait"``),
    and for an outcome the number (1-based) of the path step whose ``acquire`` issued the permit."""

    dt: float
    trigger: str
    permit: int | None = None

    def __str__(self) -> str:
        delay = f"+{self.dt:g}s " if self.dt else ""
        return f"{delay}{self.trigger}" + (f"(P{self.permit})" if self.permit is not None else "")


@dataclasses.dataclass(frozen=True)
class Observation:
    """What the breaker did on one step of a path: the time, its verdict (``VERDICTS``), and
    its snapshot after the step."""

    time: float
    step: PathStep
    verdict: str
    snapshot: Mapping[str, Value]
    permit: PermitClass | None = None
    """For an outcome: the settled permit's class just before the step."""


@dataclasses.dataclass(frozen=True)
class Mismatch:
    """The first step on which the breaker and the relation disagree.

    Attributes:
        reason: What disagrees, in words.
        path: Reproduces it from the initial state; its last step is the divergent one.
        actual: The breaker's observation of that step (``None`` if it raised).
        expected: The relation's unique (verdict, post-state) for it (``None`` if the
            relation's environment excludes the event).
        text: The path as a numbered step list with times, states and counters.
    """

    reason: str
    path: tuple[PathStep, ...]
    actual: Observation | None
    expected: tuple[str, Mapping[str, Value]] | None
    text: str

    def __str__(self) -> str:
        return self.text


@dataclasses.dataclass(frozen=True)
class RefinementResult:
    """The outcome of exploring one configuration.

    Attributes:
        states: Abstract states explored; ``steps``: breaker steps checked against the relation.
        complete: Every reachable abstract state was explored (``max_states`` was not hit).
        triggers, modes: Triggers fired and states visited; ``rows``: relation rows taken.
        outcome_classes: (outcome trigger, permit class) pairs exercised.
        uncovered: (state, permit class) of current-permit outcomes that the environment allows
            in an explored state and that no explored path could offer (expected empty).
        seconds: Wall time (not compared: results are otherwise deterministic).
    """

    config: BreakerConfig
    states: int
    steps: int
    complete: bool
    mismatch: Mismatch | None
    triggers: frozenset[str]
    modes: frozenset[State]
    rows: frozenset[int]
    outcome_classes: frozenset[tuple[str, PermitClass]]
    uncovered: tuple[tuple[str, PermitClass], ...]
    seconds: float = dataclasses.field(compare=False)

    @property
    def ok(self) -> bool:
        """No mismatch, the exploration finished, and no current-permit outcome was missed."""
        return self.mismatch is None and self.complete and not self.uncovered

    @property
    def verdict(self) -> str:
        """``refines``, ``mismatch`` or ``incomplete``."""
        return "refines" if self.ok else ("mismatch" if self.mismatch is not None else "incomplete")


def describe(config: BreakerConfig) -> str:
    """The configuration's options that differ from the defaults, as ``name=value``."""
    default = BreakerConfig()
    parts = [
        f"{field.name}={getattr(getattr(config, field.name), 'value', getattr(config, field.name))!r}"
        for field in dataclasses.fields(config)
        if getattr(config, field.name) != getattr(default, field.name)
    ]
    return ", ".join(parts) or "defaults"


# -- driving the breaker ------------------------------------------------------------------------


def _apply(breaker: Breaker, trigger: str, permit: Permit | None) -> tuple[str, Permit | None]:
    """Perform one event through the public API; return the verdict and any new permit."""
    if trigger == "acquire":
        try:
            issued = breaker.acquire()
        except CircuitOpenError:
            return "reject", None
        return ("admit_probe" if issued.is_probe else "admit"), issued
    if trigger in OUTCOMES:
        if permit is None:
            raise ValueError(f"{trigger!r} needs a permit")
        getattr(breaker, trigger)(permit)
    elif trigger in OTHER_EVENTS:
        getattr(breaker, trigger)()
    else:
        raise ValueError(f"unknown event {trigger!r}; valid: acquire, {', '.join(OUTCOMES + OTHER_EVENTS)}, {WAIT}")
    return "none", None


@dataclasses.dataclass
class _Live:
    """A breaker at some state, its clock, the permits it issued (by path step number) and the
    time of its last event (the relation's ghost clock)."""

    breaker: Breaker
    clock: ManualClock
    permits: dict[int, Permit]
    last_event: float = 0.0


def _start(
    config: BreakerConfig, table: Table, path: Sequence[PathStep], observations: list[Observation] | None = None
) -> _Live:
    """A fresh breaker with ``path`` replayed on it."""
    clock = ManualClock()
    live = _Live(Breaker(config, clock=clock, table=table), clock, {})
    for number, step in enumerate(path, 1):
        clock.advance(step.dt)
        verdict, settled = "none", None
        if step.trigger != WAIT:
            permit = live.permits.get(step.permit) if step.permit is not None else None
            if step.permit is not None and permit is None:
                raise ValueError(f"step {number} ({step}) settles P{step.permit}, which no earlier acquire issued")
            if permit is not None:
                settled = _permit_class(permit, live.breaker.generation)
            verdict, issued = _apply(live.breaker, step.trigger, permit)
            live.last_event = clock()
            if issued is not None:
                live.permits[number] = issued
        if observations is not None:
            observations.append(Observation(clock(), step, verdict, live.breaker.snapshot(), settled))
    return live


def replay(config: BreakerConfig, path: Sequence[PathStep], *, table: Table = TABLE) -> list[Observation]:
    """Run ``path`` on a fresh ``Breaker(config, table=table)``: one observation per step."""
    observations: list[Observation] = []
    _start(config, table, path, observations)
    return observations


# -- exploration --------------------------------------------------------------------------------


def _largest_time_constant(config: BreakerConfig) -> float:
    longest = config.reset_timeout
    if config.open_duration_policy is OpenDurationPolicy.EXPONENTIAL and config.backoff_cap is not None:
        longest = max(longest, config.backoff_cap)
    return max(longest, config.half_open_max_wait or 0.0)


def _live_time_variables(*tables: Table) -> dict[State, frozenset[str]]:
    """Per state, the time variables that some path of any of ``tables`` may read before
    overwriting them (a backward fixpoint over the rows: a row reads its guard's and actions'
    variables, then the destination's live variables that it does not assign). Both the
    breaker's table and the relation's count: a variable only the relation reads still decides
    whether the two agree."""
    live: dict[State, set[str]] = {state: set() for state in State}
    changed = True
    while changed:
        changed = False
        for row in (row for table in tables for row in table.rows):
            reads = set(names(row.guard, Var))
            for action in row.actions:
                reads |= names(action.expr if isinstance(action, Assign) else action.when, Var)
            assigned = {a.var for a in row.actions if isinstance(a, Assign)}
            needed = (reads | (live[row.dest or row.source] - assigned)) & set(TIME_VARIABLES)
            if not needed <= live[row.source]:
                live[row.source] |= needed
                changed = True
    return {state: frozenset(variables) for state, variables in live.items()}


def _validate(config: BreakerConfig, max_permits: int, time_steps: Sequence[float]) -> None:
    if config.trip_rule is not TripRule.CONSECUTIVE:
        raise ValueError(
            f"'trip_rule' must be 'consecutive' for the refinement check (got {config.trip_rule.value!r}); "
            "window rules are checked by the z3 proofs and tests/test_stateful.py"
        )
    if config.jitter_ratio != 0:
        raise ValueError(
            f"'jitter_ratio' must be 0 for the refinement check (got {config.jitter_ratio!r}); "
            "jitter is checked by the z3 proofs and tests/test_stateful.py"
        )
    if config.call_timeout is not None:
        raise ValueError(
            f"'call_timeout' must be None for the refinement check (got {config.call_timeout!r}); "
            "it turns a success into a failure by the call's duration, which the abstraction drops"
        )
    if config.open_duration_policy is OpenDurationPolicy.EXPONENTIAL and config.backoff_cap is None:
        raise ValueError(
            "'backoff_cap' must be set with exponential backoff for the refinement check (got None); "
            "an uncapped open duration makes the state space infinite"
        )
    if not isinstance(max_permits, int) or isinstance(max_permits, bool) or max_permits < 0:
        raise ValueError(f"'max_permits' must be an int >= 0 (got {max_permits!r})")
    if not time_steps or any(not 0 < dt < math.inf for dt in time_steps):
        raise ValueError(f"'time_steps' must be positive finite numbers of seconds (got {tuple(time_steps)!r})")


def _permit_class(permit: Permit, generation: int) -> PermitClass:
    return (permit.generation == generation, permit.state, permit.is_probe)


@dataclasses.dataclass
class _Node:
    path: tuple[PathStep, ...]
    held: tuple[int, ...]  # path step numbers of the held permits, ordered by class
    live: _Live | None = None  # the breaker that discovered the state, if still usable


class _Explorer:
    """One breadth-first exploration (see ``explore``)."""

    def __init__(
        self,
        config: BreakerConfig,
        table: Table,
        relation: ConcreteRelation,
        max_permits: int,
        max_states: int,
        time_steps: Sequence[float],
    ) -> None:
        self.config, self.table, self.relation = config, table, relation
        self.max_permits, self.max_states = max_permits, max_states
        self.time_steps = tuple(float(dt) for dt in time_steps)
        self.floor = -(_largest_time_constant(config) + 1.0)
        self.live_variables = _live_time_variables(table, relation.table)
        self.steps = 0
        self.complete = True
        self.triggers: set[str] = set()
        self.modes: set[State] = set()
        self.rows: set[int] = set()
        self.outcome_classes: set[tuple[str, PermitClass]] = set()
        self.offered: dict[tuple[Value, ...], set[PermitClass]] = collections.defaultdict(set)
        self.allowed: dict[tuple[Value, ...], set[PermitClass]] = collections.defaultdict(set)
        self.seen: set[tuple[tuple[Value, ...], tuple[PermitClass, ...]]] = set()
        self.queue: collections.deque[_Node] = collections.deque()

    def abstract(self, snapshot: Mapping[str, Value], now: float) -> tuple[Value, ...]:
        """The snapshot without ``generation``, times relative to ``now``, clamped, dead ones
        at the floor."""
        live = self.live_variables[snapshot["state"]]  # type: ignore[index]
        floor = self.floor
        return tuple(
            (max(float(snapshot[name]) - now, floor) if name in live else floor)
            if name in TIME_VARIABLES
            else snapshot[name]
            for name in ("state", *VARIABLES)
            if name != "generation"
        )

    def run(self) -> Mismatch | None:
        """Explore until the frontier is empty; return the first mismatch, if any."""
        start = _start(self.config, self.table, ())
        self.seen.add((self.abstract(start.breaker.snapshot(), 0.0), ()))
        self.queue.append(_Node((), (), start))
        while self.queue:
            mismatch = self.expand(self.queue.popleft())
            if mismatch is not None:
                return mismatch
        return None

    def discover(self, node: _Node, step: PathStep, key: tuple[Any, ...], held: list[int], live: _Live | None) -> None:
        """Queue the successor reached by ``step`` if its abstract state is new (with ``live``,
        the breaker already in that state, if any)."""
        if key in self.seen:
            return
        if len(self.seen) >= self.max_states:
            self.complete = False
            return
        self.seen.add(key)
        self.queue.append(_Node(node.path + (step,), tuple(held), live))

    def expand(self, node: _Node) -> Mismatch | None:
        """Check every event (and wait) from ``node``'s state; queue the new successors."""
        live = node.live or _start(self.config, self.table, node.path)
        node.live = None
        pre = live.breaker.snapshot()
        generation = live.breaker.generation
        mode: State = pre["state"]  # type: ignore[assignment]
        self.modes.add(mode)
        by_class: dict[PermitClass, int] = {}
        for held_number in node.held:
            by_class.setdefault(_permit_class(live.permits[held_number], generation), held_number)
        snapshot_key = self.abstract(pre, live.clock())
        self.offered[snapshot_key].update(by_class)
        if mode in (State.CLOSED, State.DISABLED):
            self.allowed[snapshot_key].add((True, mode, False))
        elif mode is State.HALF_OPEN and int(pre["probes_inflight"]) >= 1:
            self.allowed[snapshot_key].add((True, State.HALF_OPEN, True))

        events: list[tuple[str, int | None]] = [("acquire", None)]
        events += [(trigger, number) for trigger in OUTCOMES for _, number in sorted(by_class.items())]
        events += [(trigger, None) for trigger in OTHER_EVENTS]
        current: _Live | None = live
        for trigger, number in events:
            step = PathStep(0.0, trigger, number)
            if current is None or (number is not None and current.permits[number].settled):
                current = _start(self.config, self.table, node.path)
                if current.breaker.snapshot() != pre:
                    return self.mismatch(node.path + (step,))
            permit = current.permits[number] if number is not None else None
            pre_clock, now = current.last_event, current.clock()
            try:
                verdict, issued = _apply(current.breaker, trigger, permit)
            except Exception:  # noqa: BLE001 - refusing an allowed event is a finding
                return self.mismatch(node.path + (step,))
            current.last_event = now
            post = current.breaker.snapshot()
            self.steps += 1
            row = self.relation.check(pre, pre_clock, trigger, now, permit, post, verdict)
            if row is None:
                return self.mismatch(node.path + (step,))
            self.rows.add(row)
            self.triggers.add(trigger)
            if permit is not None:
                self.outcome_classes.add((trigger, _permit_class(permit, generation)))
            held = [n for n in node.held if n != number]
            permits = {n: current.permits[n] for n in held}
            if issued is not None and len(held) < self.max_permits:
                held.append(len(node.path) + 1)
                permits[len(node.path) + 1] = issued
            after = current.breaker.generation
            held.sort(key=lambda n: (_permit_class(permits[n], after), n))
            key = (self.abstract(post, now), tuple(_permit_class(permits[n], after) for n in held))
            unchanged = post == pre
            usable = not unchanged and not any(p.settled for p in permits.values())
            handed = _Live(current.breaker, current.clock, permits, now) if usable else None
            self.discover(node, step, key, held, handed)
            if not unchanged:
                current = None
        for dt in self.time_steps:
            if current is None or any(current.permits[n].settled for n in node.held):
                current = _start(self.config, self.table, node.path)
            now = current.clock.advance(dt)
            key = (self.abstract(pre, now), tuple(_permit_class(live.permits[n], generation) for n in node.held))
            permits = {n: current.permits[n] for n in node.held}
            handed = _Live(current.breaker, current.clock, permits, current.last_event)
            self.discover(node, PathStep(dt, WAIT), key, list(node.held), handed)
            current = None
        return None

    def mismatch(self, path: tuple[PathStep, ...]) -> Mismatch:
        """Re-derive the divergence on a fresh breaker replaying ``path``."""
        found = _diagnose(self.config, self.table, self.relation, path)
        if found is not None:
            return found
        text = (
            f"refinement mismatch ({describe(self.config)}): the breaker's step depends on more than its "
            f"snapshot, clock and permits: it diverged after unchanged-state events but not on a fresh replay of "
            f"{', '.join(map(str, path))}"
        )
        return Mismatch("history-dependent behaviour", path, None, None, text)

    def uncovered(self) -> tuple[tuple[str, PermitClass], ...]:
        """Current-permit outcomes allowed in an explored snapshot that no explored state offered."""
        return tuple(
            sorted((str(key[0]), cls) for key, classes in self.allowed.items() for cls in classes - self.offered[key])
        )


def explore(
    config: BreakerConfig,
    *,
    table_under_test: Table = TABLE,
    relation_table: Table = TABLE,
    max_permits: int = 2,
    max_states: int = 50_000,
    time_steps: Sequence[float] = (1.0,),
) -> RefinementResult:
    """Explore ``Breaker(config, table=table_under_test)`` and check every step against the
    relation generated from ``relation_table`` (see the module docstring).

    Stops at the first mismatch, or after ``max_states`` abstract states (the result is then
    not ``complete``).

    Raises:
        ValueError: a configuration outside the checked scope (window trip rule, jitter, a call
            timeout, uncapped exponential backoff) or invalid bounds.
    """
    _validate(config, max_permits, time_steps)
    started = time.perf_counter()
    relation = concrete_relation(relation_table, config)
    explorer = _Explorer(config, table_under_test, relation, max_permits, max_states, time_steps)
    mismatch = explorer.run()
    return RefinementResult(
        config=config,
        states=len(explorer.seen),
        steps=explorer.steps,
        complete=explorer.complete and mismatch is None,
        mismatch=mismatch,
        triggers=frozenset(explorer.triggers),
        modes=frozenset(explorer.modes),
        rows=frozenset(explorer.rows),
        outcome_classes=frozenset(explorer.outcome_classes),
        uncovered=explorer.uncovered() if mismatch is None else (),
        seconds=time.perf_counter() - started,
    )


# -- reporting ----------------------------------------------------------------------------------


def _state_text(snapshot: Mapping[str, Value]) -> str:
    s = snapshot
    return (
        f"{str(s['state']):<11} gen={s['generation']} failures={s['consecutive_failures']} "
        f"opened_at={s['opened_at']:g} open_until={s['open_until']:g} next_open={s['next_open_duration']:g} "
        f"half_open_since={s['half_open_since']:g} probes(admitted={s['probes_admitted']} "
        f"inflight={s['probes_inflight']} ok={s['probe_successes']} failed={s['probe_failures']})"
    )


def _class_text(cls: PermitClass) -> str:
    current, state, probe = cls
    return f"{'current' if current else 'stale'} {state.value}{' probe' if probe else ''}"


def _event_text(step: PathStep, verdict: str, number: int, permit: PermitClass | None) -> str:
    if step.trigger == "acquire":
        outcome = {"admit": f"admit P{number}", "admit_probe": f"probe P{number}", "reject": "reject"}[verdict]
        return f"acquire -> {outcome}"
    if step.trigger == WAIT:
        return f"wait {step.dt:g}s"
    if step.permit is not None and permit is not None:
        return f"{step.trigger}(P{step.permit}: {_class_text(permit)})"
    return step.trigger


def _diagnose(config: BreakerConfig, table: Table, relation: ConcreteRelation, path: tuple[PathStep, ...]) -> Mismatch | None:
    """Replay ``path`` on a fresh breaker; describe the divergence of its last step, if any."""
    observations: list[Observation] = []
    live = _start(config, table, path[:-1], observations)
    pre, pre_clock, last = live.breaker.snapshot(), live.last_event, path[-1]
    now = live.clock.advance(last.dt)
    permit = live.permits.get(last.permit) if last.permit is not None else None
    expected = relation.successor(pre, pre_clock, last.trigger, now, permit)
    settled = _permit_class(permit, live.breaker.generation) if permit is not None else None
    actual: Observation | None = None
    try:
        verdict, _ = _apply(live.breaker, last.trigger, permit)
    except Exception as error:  # noqa: BLE001 - reported
        reason = f"the breaker refused an event the relation allows: {error!r}"
    else:
        actual = Observation(now, last, verdict, live.breaker.snapshot(), settled)
        if relation.check(pre, pre_clock, last.trigger, now, permit, actual.snapshot, verdict) is not None:
            return None
        if relation.environment_allows(pre, pre_clock, last.trigger, now, permit):
            reason = "the breaker's step is not the relation's"
        else:
            reason = "the breaker produced an event that the relation's environment excludes"
    initial = _start(config, table, ()).breaker.snapshot()
    lines = [
        f"refinement mismatch ({describe(config)}): {reason}",
        f"  #0   t={0:<4g} {'(initial)':<46} {_state_text(initial)}",
    ]
    for number, seen in enumerate(observations, 1):
        event = _event_text(seen.step, seen.verdict, number, seen.permit)
        lines.append(f"  #{number:<3} t={seen.time:<4g} {event:<46} {_state_text(seen.snapshot)}")
    number = len(path)
    if actual is not None:
        event = _event_text(last, actual.verdict, number, settled)
        lines.append(f"  #{number:<3} t={now:<4g} {event:<46} {_state_text(actual.snapshot)}  <- breaker")
    if expected is not None:
        event = _event_text(last, expected[0], number, settled)
        lines.append(f"  {'':<4} t={now:<4g} {event:<46} {_state_text(expected[1])}  <- relation")
    else:
        lines.append("  (the relation's environment excludes this event: it has no successor)")
    lines.append("  path: " + ", ".join(map(str, path)))
    return Mismatch(reason, path, actual, expected, "\n".join(lines))


# -- entry points -------------------------------------------------------------------------------


def check_code_mutant(mutant: Mutant, configs: Iterable[BreakerConfig] = REFINEMENT_CONFIGS) -> RefinementResult:
    """Explore a breaker running ``mutant.table`` against the relation of the reference table
    (a bug in the code that the model does not have), config by config.

    Returns the first result with a mismatch, or the last config's result if the mutant
    survives them all.
    """
    result: RefinementResult | None = None
    for config in configs:
        result = explore(config, table_under_test=mutant.table, relation_table=TABLE)
        if result.mismatch is not None:
            break
    if result is None:
        raise ValueError("'configs' must not be empty")
    return result


def run(table: Table = TABLE) -> list[RefinementResult]:
    """Check that a breaker running ``table`` refines the relation generated from ``table``,
    for every configuration in ``REFINEMENT_CONFIGS``."""
    return [explore(config, table_under_test=table, relation_table=table) for config in REFINEMENT_CONFIGS]


def main() -> int:
    """Print the verdict table of ``run()`` (and any mismatch); 1 if the breaker does not refine."""
    results = run()
    print(f"{'verdict':<10} {'states':>6} {'steps':>6} {'time':>7}  configuration")
    for result in results:
        counts = f"{result.states:>6} {result.steps:>6} {result.seconds:6.2f}s"
        print(f"{result.verdict:<10} {counts}  {describe(result.config)}")
    for result in results:
        if result.mismatch is not None:
            print(result.mismatch)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
