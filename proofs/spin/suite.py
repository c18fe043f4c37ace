"""The configurations SPIN checks, with the verdict each check must give, and the suite runner.

Each ``SpinCase`` is one small configuration (``fail_max=2``, ``reset_timeout=2`` ticks, one
or two probes, 2-3 callers) with the checks to run on the model generated from the table:
``safety`` (every generated assertion: S1-S3, S6-S10, L4; a ``Manual`` process fires the
manual triggers), ``L5`` (bounded recovery: an assertion run on its own scenario, where the
service recovers for good and calls keep arriving in rounds; the bound comes from
``recovery.recovery_bound``, see ``breakerlab.proofs.spin.recovery``), and the LTL properties L1-L3
under weak fairness, with callers that always report their results or, ``lossy``, may lose
some. The wedge check (a lost probe with no ``half_open_max_wait``) must be *violated*: its
counterexample is a deliverable; so must L5 with a maximum wait shorter than a probe round.

``run_suite(TABLE)`` must give every expected verdict; ``run_suite(mutant.table)`` should not
(``kills``). ``trail.replay_trail`` re-executes a counterexample trail on the Python ``Breaker``
and reports any difference, so a SPIN trail is also a regression test of the code that runs.

Run ``python -m breakerlab.proofs.spin [--mutants]`` to print the verdict table.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence

from breakerlab.model import TABLE, BreakerConfig, Table

from ..mutants import MUTANTS
from .processes import SpinEnvironment
from .promela import generate
from .run import CFLAGS, SpinResult, check_ltl, check_safety

__all__ = ["MODEL_KINDS", "SUITE", "SpinCase", "SpinCheck", "SuiteResult", "format_results", "kills", "main",
           "run_mutants", "run_suite"]

#: The models a case is checked on: ``safety`` (manual control, assertions S1-S10 and L4),
#: ``recovery`` (L5's scenario), ``live`` (LTL) and ``lossy`` (LTL, callers may lose results).
MODEL_KINDS: tuple[str, ...] = ("safety", "recovery", "live", "lossy")


@dataclasses.dataclass(frozen=True)
class SpinCheck:
    """One check of a case: ``safety``, ``L5`` (an assertion run on the recovery scenario) or an
    LTL property, on lossy callers or not."""

    prop: str
    expect: str = "holds"
    lossy: bool = False

    def __post_init__(self) -> None:
        if self.lossy and self.prop in ("safety", "L5"):
            raise ValueError(f"'lossy' must be False for {self.prop!r}: its scenario loses no result")

    @property
    def label(self) -> str:
        """The check as the verdict table names it (``L3 lossy``)."""
        return f"{self.prop} lossy" if self.lossy else self.prop

    @property
    def model_kind(self) -> str:
        """The model the check runs on (one of ``MODEL_KINDS``)."""
        if self.prop == "safety":
            return "safety"
        if self.prop == "L5":
            return "recovery"
        return "lossy" if self.lossy else "live"


@dataclasses.dataclass(frozen=True)
class SpinCase:
    """A configuration and the checks SPIN runs on the model generated for it."""

    name: str
    config: BreakerConfig
    checks: tuple[SpinCheck, ...]
    callers: int = 2
    releases: int = 1
    purpose: str = ""

    def model(self, table: Table, kind: str) -> str:
        """The Promela text for ``kind``: ``safety``, ``recovery`` (L5), ``live`` or ``lossy``."""
        if kind == "recovery":
            environment = SpinEnvironment(releases=self.releases, outage=False, recovery=True)
        else:
            environment = SpinEnvironment(manual=kind == "safety", releases=self.releases, outage=True)
        return generate(table, self.config, callers=self.callers, lossy=kind == "lossy", environment=environment)


def _config(**options: object) -> BreakerConfig:
    return BreakerConfig(fail_max=2, reset_timeout=2, **options)  # type: ignore[arg-type]


_SAFE, _L1, _L2, _L3 = SpinCheck("safety"), SpinCheck("L1"), SpinCheck("L2"), SpinCheck("L3")
_L5 = SpinCheck("L5")  # bounded recovery (its own scenario, checked by assertions)
_LIVE = (_SAFE, _L5, _L1, _L2, _L3, SpinCheck("L2", lossy=True))
_WEDGE = SpinCheck("L3", "violated", lossy=True)  # no max wait: a lost probe wedges half-open
_UNWEDGED = SpinCheck("L3", lossy=True)  # the max wait (or a free slot) ends the episode of a lost probe
_SLOW = SpinCheck("L1", "violated")  # with a max wait, slow or badly timed calls re-open forever

SUITE: tuple[SpinCase, ...] = (
    SpinCase(
        "default",
        _config(),
        (*_LIVE, _WEDGE),
        purpose="pybreaker's defaults: one probe; a lost probe wedges half-open (expected violation)",
    ),
    SpinCase(
        "three_callers",
        _config(),
        (_SAFE, _L5, _L1, _WEDGE),
        callers=3,
        purpose="the defaults with 3 callers (2 of them may lose a result)",
    ),
    SpinCase(
        "exclusive_deadline",
        _config(admit_at_deadline=False, half_open_entry="at_deadline", half_open_max_calls=2,
                half_open_limit="concurrent", success_threshold=2, late_result="current_state"),
        (*_LIVE, _UNWEDGED),
        purpose="deadline exclusive, poll enters half-open, 2 concurrent probes, stale results count; "
        "one lost probe holds one of the two slots, so it cannot wedge half-open",
    ),
    SpinCase(
        "admitting_state",
        _config(half_open_max_calls=2, success_threshold=2, late_result="admitting_state"),
        (*_LIVE, _WEDGE),
        callers=3,
        purpose="3 callers, 2 probes per episode, late results handled by the admitting state",
    ),
    SpinCase(
        "rate_close",
        _config(half_open_max_calls=2, close_rule="rate"),
        (*_LIVE, _WEDGE),
        purpose="half-open decided by the failure rate of 2 probe outcomes",
    ),
    SpinCase(
        "max_wait",
        _config(half_open_max_wait=2),
        (_SAFE, _L5, _SLOW, _L2, _L3, SpinCheck("L2", lossy=True), _UNWEDGED),
        purpose="the max wait ends the episode of a lost probe; but a probe slower than the max wait "
        "re-opens the breaker, forever (weak fairness bounds no response time): L1 fails. L5 holds: "
        "in rounds a probe reports within one tick, before the max wait of two",
    ),
    SpinCase(
        "max_wait_admitting",
        _config(half_open_max_wait=1, half_open_entry="at_deadline", half_open_max_calls=2,
                success_threshold=2, late_result="admitting_state"),
        (_SAFE, _L5, _SLOW, _L2, _L3, SpinCheck("L2", lossy=True), _UNWEDGED),
        purpose="poll-driven half-open, a max wait, 2 probes: if calls only ever arrive while open, "
        "every episode times out before a probe is admitted: L1 fails. L5 holds although the max "
        "wait (1 tick) is shorter than a probe round: a probe success that arrives after the episode "
        "timed out is late, and the admitting-state policy closes the breaker on it",
    ),
    SpinCase(
        "backoff",
        _config(open_duration_policy="exponential", backoff_factor=2, backoff_cap=4),
        (*_LIVE, _WEDGE),
        purpose="exponential open duration 2, 4, 4, ... reset to 2 on close",
    ),
    SpinCase(
        "max_wait_two_probes",
        _config(half_open_max_wait=2, half_open_max_calls=2, success_threshold=2),
        (_L5,),
        purpose="L5's slack: a caller busy settling the permit it held at recovery admits the second "
        "probe of the episode in progress one round late, the max wait expires first and the breaker "
        "opens once more; the bound's leftover term (2 * waves) is needed here, one tick less fails",
    ),
    SpinCase(
        "short_max_wait",
        _config(half_open_max_wait=1),
        (SpinCheck("L5", "violated"),),
        purpose="a max wait (1 tick) shorter than a probe round (admitted in one tick, reported in the "
        "next): another caller's acquire or a poll ends every episode before its probe reports, and "
        "late results are ignored: the breaker never closes after recovery, whatever the bound",
    ),
)
"""The configurations checked by ``breakerlab prove`` (small constants keep it in seconds)."""


@dataclasses.dataclass(frozen=True)
class SuiteResult:
    """One check of one case: the expected verdict and SPIN's result."""

    case: SpinCase
    check: SpinCheck
    result: SpinResult

    @property
    def ok(self) -> bool:
        """The verdict is the expected one."""
        return self.result.verdict == self.check.expect


def run_suite(
    table: Table = TABLE,
    cases: Sequence[SpinCase] = SUITE,
    *,
    stop_early: bool = False,
    jobs: int | None = None,
    cflags: Sequence[str] = CFLAGS,
    workdir: str | None = None,
) -> list[SuiteResult]:
    """Run every check of ``cases`` on models generated from ``table``, in parallel.

    Args:
        stop_early: Stop at the first unexpected verdict (enough to kill a mutant); the
            checks not run are left out of the result.
        jobs: Parallel SPIN runs (default: the number of CPUs).
        workdir: Where to build verifiers (default: a temporary directory); runs sharing it
            reuse the verifier of an identical model (mutants mostly leave a case's model as is).

    Returns:
        One ``SuiteResult`` per check run, in the order of ``cases``.
    """
    stop = threading.Event()
    tasks = [(case, kind, [c for c in case.checks if c.model_kind == kind])
             for case in cases for kind in MODEL_KINDS]
    tasks = [t for t in tasks if t[2]]

    cache = workdir is None  # a suite in its own temporary folder takes verifiers from the cache

    def run(case: SpinCase, kind: str, checks: list[SpinCheck], workdir: str) -> list[SuiteResult]:
        results: list[SuiteResult] = []
        try:
            text = case.model(table, kind)
        except ValueError as exc:
            return [SuiteResult(case, c, SpinResult(c.prop, "error", 0, 0, 0, 0.0, str(exc))) for c in checks]
        for check in checks:
            if stop.is_set():
                break
            if kind in ("safety", "recovery"):  # assertions: S1-S10 with L4, or with L5
                result = check_safety(text, workdir, cflags=cflags, cache=cache)
            else:
                result = check_ltl(text, check.prop, workdir, cflags=cflags, cache=cache)
            results.append(SuiteResult(case, check, result))
            if stop_early and result.verdict != check.expect:
                stop.set()
        return results

    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="breakerlab-spin-"))
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 2) as pool:
            futures = [pool.submit(run, case, kind, checks, workdir) for case, kind, checks in tasks]
            by_task = [f.result() for f in futures]
    order = {(case.name, check): i for i, case in enumerate(cases) for check in case.checks}
    return sorted((r for rs in by_task for r in rs), key=lambda r: order[(r.case.name, r.check)])


def kills(results: Iterable[SuiteResult]) -> list[SuiteResult]:
    """The results that kill a mutant: a definite verdict other than the expected one."""
    return [r for r in results if not r.ok and r.result.verdict != "error"]


def run_mutants(
    names: Iterable[str] | None = None, cases: Sequence[SpinCase] = SUITE, *, cflags: Sequence[str] = CFLAGS
) -> dict[str, list[SuiteResult]]:
    """Run the suite on each seeded mutant (stopping at its first unexpected verdict)."""
    with tempfile.TemporaryDirectory(prefix="breakerlab-spin-") as workdir:
        return {name: run_suite(MUTANTS[name].table, cases, stop_early=True, cflags=cflags, workdir=workdir)
                for name in (names if names is not None else MUTANTS)}


def format_results(results: Sequence[SuiteResult]) -> str:
    """The verdict table: case, check, expected, verdict, states, transitions, depth, time."""
    header = (f"{'case':<22} {'check':<10} {'expect':<9} {'verdict':<9} {'states':>8} {'trans':>9} {'depth':>6} "
              f"{'time':>7}")
    lines = [header, "-" * len(header)]
    for r in results:
        flag = "" if r.ok else "  <-- unexpected" + (f": {r.result.failure}" if r.result.failure else "")
        lines.append(
            f"{r.case.name:<22} {r.check.label:<10} {r.check.expect:<9} {r.result.verdict:<9} {r.result.states:>8} "
            f"{r.result.transitions:>9} {r.result.depth:>6} {r.result.seconds:>6.2f}s{flag}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the suite's verdict table (and, with ``--mutants``, which mutants SPIN kills)."""
    args = list(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    results = run_suite()
    print(format_results(results))
    print(f"total {time.perf_counter() - started:.1f} s, {sum(r.result.states for r in results)} states")
    status = 0 if all(r.ok for r in results) else 1
    if "--mutants" in args:
        for name, mutant_results in run_mutants().items():
            killers = kills(mutant_results)
            first = killers[0] if killers else None
            verdict = (f"killed by {first.case.name}/{first.check.label}: {first.result.verdict} "
                       f"(expected {first.check.expect}) {first.result.failure}" if first else "survives")
            print(f"mutant {name:<26} {verdict}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
