"""Adaptive replications: which breaker settings still need runs, by Kim and Nelson's fully
sequential indifference-zone procedure (KN).

    Kim, S.-H. and Nelson, B. L. (2001). A fully sequential procedure for indifference-zone
    selection in simulation. ACM Transactions on Modeling and Computer Simulation 11(3),
    251-273.

A *selection problem* is a set of systems (breaker settings) and, for each, the cells whose
runs make one observation per replication: for a trace family, the setting's cells in the
family's worlds, averaged with equal weight (as the recommendation pools them); overall, the
same over every family, each with equal weight. KN takes ``n0`` replications of every system,
estimates the variance of every pairwise difference from them (so common random numbers, which
the sweep's seeds give, make it sharper), and then, one replication at a time for the systems
still in contention, eliminates system ``i`` as soon as, for some survivor ``l``,

    mean_i(r) - mean_l(r) > W_il(r) = max(0, delta / (2 r) * (h^2 S_il^2 / delta^2 - r)),
    h^2 = 2 eta (n0 - 1),  eta = ((2 alpha / (k - 1)) ** (-2 / (n0 - 1)) - 1) / 2,

(lower is better, ``c = 1``). It stops when one system is left: with probability at least
``1 - alpha`` that is the best when the best is at least ``delta`` (the indifference zone) better
than every other (for normal observations). It can also stop at a cap on replications per
system or on the sweep's runs; then the survivors are not separated, and the one with the
lowest mean is reported as the leader, with the others named.

Two systems whose observations are identical on every replication so far (the breaker never
acted differently, e.g. a ``fail_max`` too high to trip under any of the runs' conditions)
cannot be told apart by any number of runs until they differ: the one later in the grid is
set aside, and the record says how many were. Everything here is a pure function of the
observations, so a resumed sweep retraces the same decisions.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .spec import Cell, breaker_side

__all__ = ["PROCEDURE", "Problem", "Screening", "kn_h2", "problems"]

#: The procedure's name and reference, as the recommendation states it.
PROCEDURE = "KN (Kim and Nelson 2001, fully sequential indifference-zone selection)"


def kn_h2(systems: int, first: int, confidence: float) -> float:
    """KN's ``h^2`` for ``systems`` alternatives, ``first`` = n0 first-stage replications and
    probability of correct selection ``confidence`` (``c = 1``)."""
    if systems < 2:
        return 0.0
    alpha = 1.0 - confidence
    eta = (float((2.0 * alpha / (systems - 1)) ** (-2.0 / (first - 1))) - 1.0) / 2.0
    return 2.0 * eta * (first - 1)


@dataclasses.dataclass(frozen=True)
class Problem:
    """One selection problem of a sweep.

    Attributes:
        name: A trace family's name, or ``"all"`` (every family with equal weight).
        settings: Each system's breaker options (``{"breaker.fail_max": 5, ...}``), in grid order.
        members: For each system, its cells and their weights in its observation.
    """

    name: str
    settings: tuple[Mapping[str, Any], ...]
    members: tuple[tuple[tuple[int, float], ...], ...]


def _setting(cell: Cell) -> dict[str, Any]:
    setting = {key: value for key, value in sorted(cell.values.items()) if breaker_side(key)}
    config = cell.scenario.breaker  # the two main knobs always, as the breaker ran them
    setting.setdefault("breaker.fail_max", config.fail_max)
    setting.setdefault("breaker.reset_timeout", config.reset_timeout)
    return setting


def problems(cells: Sequence[Cell]) -> list[Problem]:
    """The sweep's selection problems: one per trace family, and ``all`` when there are several."""
    families: dict[str, dict[str, list[Cell]]] = {}
    settings: dict[str, dict[str, Any]] = {}
    for cell in cells:
        setting = _setting(cell)
        key = json.dumps(setting, sort_keys=True, default=str)
        settings.setdefault(key, setting)
        families.setdefault(cell.trace, {}).setdefault(key, []).append(cell)
    found = []
    for family, systems in families.items():
        keys = list(systems)
        members = tuple(tuple((c.index, 1.0 / len(systems[k])) for c in systems[k]) for k in keys)
        found.append(Problem(family, tuple(settings[k] for k in keys), members))
    if len(families) > 1:
        shared = [k for k in next(iter(families.values())) if all(k in systems for systems in families.values())]
        members = tuple(
            tuple((c.index, 1.0 / (len(families) * len(systems[k]))) for systems in families.values() for c in systems[k])
            for k in shared
        )
        found.append(Problem("all", tuple(settings[k] for k in shared), members))
    return found


@dataclasses.dataclass
class Screening:
    """KN applied to one problem, advanced one replication at a time.

    Build with ``Screening.start`` once every system has ``first`` replications; then, while
    ``running``, give every survivor's cells one more replication and call ``advance``.

    Attributes:
        problem: The problem.
        first: n0.
        confidence: The probability of correct selection asked for.
        delta: The indifference zone, in objective units.
        h2: KN's constant.
        replications: Replications every survivor has.
        survivors: Indices of the systems still in contention, in grid order.
        undefined: Systems left out because an observation is undefined (NaN).
        identical: Systems set aside as identical to an earlier one on every replication.
        eliminated_at: Replication count at which each eliminated system left.
        stopped: ``""`` while running, else ``"separated"``, ``"max_replications"`` or ``"budget"``.
    """

    problem: Problem
    first: int
    confidence: float
    delta: float
    h2: float
    replications: int
    survivors: list[int]
    variances: np.ndarray
    undefined: list[int] = dataclasses.field(default_factory=list)
    identical: list[int] = dataclasses.field(default_factory=list)
    eliminated_at: dict[int, int] = dataclasses.field(default_factory=dict)
    stopped: str = ""

    @classmethod
    def start(
        cls,
        problem: Problem,
        observe: Mapping[tuple[int, int], float],
        *,
        first: int,
        confidence: float,
        indifference: float | None,
        relative_indifference: float,
        most: int,
    ) -> Screening:
        """Screen after the first stage.

        Args:
            problem: The problem.
            observe: Each run's objective, by ``(cell, replication)``.
            first: n0 (>= 2).
            confidence: In (0, 1).
            indifference: delta in objective units, or None for ``relative_indifference`` times
                the absolute value of the best first-stage mean (1 if that is 0).
            relative_indifference: See ``indifference``.
            most: The cap on replications per system.
        """
        k = len(problem.settings)
        data = _observations(problem, observe, range(k), first)
        defined = [i for i in range(k) if np.isfinite(data[i]).all()]
        undefined = [i for i in range(k) if i not in defined]
        if indifference is None:
            best = min((float(data[i].mean()) for i in defined), default=0.0)
            delta = relative_indifference * abs(best) or 1.0
        else:
            delta = float(indifference)
        variances = np.zeros((k, k))
        for a in defined:
            for b in defined:
                if a < b:
                    variances[a, b] = variances[b, a] = float(np.var(data[a] - data[b], ddof=1))
        screening = cls(
            problem, first, confidence, delta, kn_h2(len(defined), first, confidence), first, defined, variances,
            undefined=undefined,
        )
        screening.screen(data[defined], most)
        return screening

    @property
    def running(self) -> bool:
        return not self.stopped

    def needed_cells(self) -> list[int]:
        """The cells that need replication number ``replications`` (0-based) next."""
        return [cell for i in self.survivors for cell, _ in self.problem.members[i]]

    def advance(self, observe: Mapping[tuple[int, int], float], most: int) -> None:
        """Take in the survivors' next replication and screen again."""
        self.replications += 1
        data = _observations(self.problem, observe, self.survivors, self.replications)
        bad = [i for i, row in zip(self.survivors, data) if not np.isfinite(row).all()]
        if bad:
            self.undefined += bad
            keep = [n for n, i in enumerate(self.survivors) if i not in bad]
            self.survivors = [self.survivors[n] for n in keep]
            data = data[keep]
        self.screen(data, most)

    def stop(self, reason: str) -> None:
        """End the screening early (``"budget"``)."""
        self.stopped = reason

    def screen(self, data: np.ndarray, most: int) -> None:
        """One KN screening at ``replications`` over the survivors, whose observations are
        ``data`` (a row each, in survivor order)."""
        r = self.replications
        means = data.mean(axis=1)
        keep = []
        for n, i in enumerate(self.survivors):
            out = False
            for m, other in enumerate(self.survivors):
                if other == i:
                    continue
                if other < i and np.array_equal(data[n], data[m]):
                    out = True  # identical so far to an earlier system
                    self.identical.append(i)
                    break
                wall = max(0.0, self.delta / (2.0 * r) * (self.h2 * self.variances[i, other] / self.delta**2 - r))
                if means[n] - means[m] > wall:
                    out = True
                    self.eliminated_at[i] = r
                    break
            if not out:
                keep.append(i)
        if not keep and self.survivors:  # cannot happen for distinct means; kept for safety
            keep = [self.survivors[int(np.argmin(means))]]
        self.survivors = keep
        if len(keep) <= 1:
            self.stopped = "separated"
        elif r >= most:
            self.stopped = "max_replications"

    def leader(self, observe: Mapping[tuple[int, int], float]) -> int | None:
        """The selected system: the one survivor, or the survivor with the lowest mean (None
        when every system was undefined)."""
        if not self.survivors:
            return None
        data = _observations(self.problem, observe, self.survivors, self.replications)
        return self.survivors[int(np.argmin(data.mean(axis=1)))]

    def record(self, observe: Mapping[tuple[int, int], float], runs: Mapping[int, int]) -> dict[str, Any]:
        """What the recommendation reports about this problem (JSON-shaped)."""
        leader = self.leader(observe)
        cells = {cell for members in self.problem.members for cell, _ in members}
        others = [i for i in self.survivors if i != leader]
        means = _observations(self.problem, observe, others, self.replications).mean(axis=1) if others else []
        return {
            "problem": self.problem.name,
            "procedure": PROCEDURE,
            "confidence": self.confidence,
            "indifference": self.delta,
            "first_replications": self.first,
            "replications": self.replications,
            "stopped": self.stopped,
            "systems": len(self.problem.settings),
            "leader": None if leader is None else dict(self.problem.settings[leader]),
            "survivors": [dict(self.problem.settings[i]) for i in others],
            "survivor_means": [float(mean) for mean in means],
            "identical": len(self.identical),
            "undefined": len(self.undefined),
            "runs": int(sum(runs.get(cell, 0) for cell in cells)),
        }


def _observations(problem: Problem, observe: Mapping[tuple[int, int], float], systems: Sequence[int] | range,
                  replications: int) -> np.ndarray:
    """The systems' observations (a row each) over replications ``0 .. replications - 1``."""
    data = np.zeros((len(systems), replications))
    for row, system in enumerate(systems):
        for cell, weight in problem.members[system]:
            data[row] += weight * np.array([observe.get((cell, r), math.nan) for r in range(replications)])
    return data
