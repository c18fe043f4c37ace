"""Breadth-first exploration of the breaker over every reachable abstract state, each step checked.

See ``breakerlab.proofs.refinement`` for what is checked and why the abstraction is sound:
the abstract state is the breaker's snapshot without ``generation``, its times relative to
the clock and clamped at the floor of the shared relative-time abstraction
(``breakerlab.proofs.time_abstraction``), dead times at the floor, and the classes of the
outstanding permits.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from breakerlab.model import BreakerConfig, OpenDurationPolicy, State, TripRule
from breakerlab.model.expr import Assign, Value, Var, names
from breakerlab.model.table import TABLE, VARIABLES, Table

from ..concrete import ConcreteRelation, concrete_relation
from ..time_abstraction import TimeAbstraction
from .paths import (
    OTHER_EVENTS,
    OUTCOMES,
    WAIT,
    LiveBreaker,
    PathStep,
    PermitClass,
    apply_event,
    permit_class,
    start_breaker,
)
from .report import Mismatch, describe, diagnose

__all__ = ["RefinementResult", "explore", "validate"]


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


def _live_time_variables(times: TimeAbstraction, *tables: Table) -> dict[State, frozenset[str]]:
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
            needed = {v for v in reads | (live[row.dest or row.source] - assigned) if times.is_time(v)}
            if not needed <= live[row.source]:
                live[row.source] |= needed
                changed = True
    return {state: frozenset(variables) for state, variables in live.items()}


def validate(config: BreakerConfig, max_permits: int, time_steps: Sequence[float]) -> None:
    """Raise ``ValueError`` unless ``config`` and the bounds are within the checked scope."""
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


@dataclasses.dataclass
class _Node:
    path: tuple[PathStep, ...]
    held: tuple[int, ...]  # path step numbers of the held permits, ordered by class
    live: LiveBreaker | None = None  # the breaker that discovered the state, if still usable


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
        self.times = TimeAbstraction.of(config, table, relation.table)
        self.live_variables = _live_time_variables(self.times, table, relation.table)
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
        times = self.times
        return tuple(
            (times.relative(float(snapshot[name]), now) if name in live else times.floor)
            if times.is_time(name)
            else snapshot[name]
            for name in ("state", *VARIABLES)
            if name != "generation"
        )

    def run(self) -> Mismatch | None:
        """Explore until the frontier is empty; return the first mismatch, if any."""
        start = start_breaker(self.config, self.table, ())
        self.seen.add((self.abstract(start.breaker.snapshot(), 0.0), ()))
        self.queue.append(_Node((), (), start))
        while self.queue:
            mismatch = self.expand(self.queue.popleft())
            if mismatch is not None:
                return mismatch
        return None

    def discover(
        self, node: _Node, step: PathStep, key: tuple[Any, ...], held: list[int], live: LiveBreaker | None
    ) -> None:
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
        live = node.live or start_breaker(self.config, self.table, node.path)
        node.live = None
        pre = live.breaker.snapshot()
        generation = live.breaker.generation
        mode: State = pre["state"]  # type: ignore[assignment]
        self.modes.add(mode)
        by_class: dict[PermitClass, int] = {}
        for held_number in node.held:
            by_class.setdefault(permit_class(live.permits[held_number], generation), held_number)
        snapshot_key = self.abstract(pre, live.clock())
        self.offered[snapshot_key].update(by_class)
        if mode in (State.CLOSED, State.DISABLED):
            self.allowed[snapshot_key].add((True, mode, False))
        elif mode is State.HALF_OPEN and int(pre["probes_inflight"]) >= 1:
            self.allowed[snapshot_key].add((True, State.HALF_OPEN, True))

        events: list[tuple[str, int | None]] = [("acquire", None)]
        events += [(trigger, number) for trigger in OUTCOMES for _, number in sorted(by_class.items())]
        events += [(trigger, None) for trigger in OTHER_EVENTS]
        current: LiveBreaker | None = live
        for trigger, number in events:
            step = PathStep(0.0, trigger, number)
            if current is None or (number is not None and current.permits[number].settled):
                current = start_breaker(self.config, self.table, node.path)
                if current.breaker.snapshot() != pre:
                    return self.mismatch(node.path + (step,))
            permit = current.permits[number] if number is not None else None
            pre_clock, now = current.last_event, current.clock()
            try:
                verdict, issued = apply_event(current.breaker, trigger, permit)
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
                self.outcome_classes.add((trigger, permit_class(permit, generation)))
            held = [n for n in node.held if n != number]
            permits = {n: current.permits[n] for n in held}
            if issued is not None and len(held) < self.max_permits:
                held.append(len(node.path) + 1)
                permits[len(node.path) + 1] = issued
            after = current.breaker.generation
            held.sort(key=lambda n: (permit_class(permits[n], after), n))
            key = (self.abstract(post, now), tuple(permit_class(permits[n], after) for n in held))
            unchanged = post == pre
            usable = not unchanged and not any(p.settled for p in permits.values())
            handed = LiveBreaker(current.breaker, current.clock, permits, now) if usable else None
            self.discover(node, step, key, held, handed)
            if not unchanged:
                current = None
        for dt in self.time_steps:
            if current is None or any(current.permits[n].settled for n in node.held):
                current = start_breaker(self.config, self.table, node.path)
            now = current.clock.advance(dt)
            key = (self.abstract(pre, now), tuple(permit_class(live.permits[n], generation) for n in node.held))
            permits = {n: current.permits[n] for n in node.held}
            handed = LiveBreaker(current.breaker, current.clock, permits, current.last_event)
            self.discover(node, PathStep(dt, WAIT), key, list(node.held), handed)
            current = None
        return None

    def mismatch(self, path: tuple[PathStep, ...]) -> Mismatch:
        """Re-derive the divergence on a fresh breaker replaying ``path``."""
        found = diagnose(self.config, self.table, self.relation, path)
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
    validate(config, max_permits, time_steps)
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
