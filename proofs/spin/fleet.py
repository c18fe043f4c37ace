"""The shared breaker's SPIN checks: the cases ``breakerlab prove`` runs, and their committed models.

Each ``SharedCase`` is one small fleet (2 processes, 1-2 calls each) sharing one breaker through
one store over a lossy network (``shared.generate_shared``). Its checks: ``safety`` (every
assertion: the single model's invariants S2 S3 S4 S9 after each store step, SH1 and SH2) and
``SH3`` (the LTL claim: no outcome lost once the network is reachable for good, under weak
fairness). On the reference table and protocol every check must hold; each of
``shared.PROTOCOL_MUTANTS`` must fail the check it names.

The models are committed in ``proofs/generated/spin_shared_<case>.pml`` and listed in its
manifest, like the single models; ``shared_drift`` says whether they still match the table.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import hashlib
import json
import os
import pathlib
import tempfile
from collections.abc import Sequence

from breakerlab.model import TABLE, BreakerConfig, Table

from .run import CFLAGS, SpinResult, check_ltl, check_safety
from .shared import REFERENCE, SharedProtocol, format_shared_steps, generate_shared, parse_shared_steps

__all__ = ["PROPERTIES", "SHARED_CHECKS", "SHARED_SUITE", "SharedCase", "SharedResult", "format_shared_results", "run_shared",
           "shared_drift", "shared_models", "write_shared_models"]

#: The checks of a shared model: its assertions, and the LTL claim SH3.
SHARED_CHECKS: tuple[str, ...] = ("safety", "SH3")
#: The properties each check reports (``breakerlab prove``'s property column).
PROPERTIES = {"safety": "SH1,SH2", "SH3": "SH3"}
_PREFIX = "spin_shared_"


@dataclasses.dataclass(frozen=True)
class SharedCase:
    """A configuration, a fleet, and the checks SPIN runs on its shared model.

    Attributes:
        processes, permits: Client processes, and the calls each makes (one permit each).
        manual: Manual triggers fired on the store (``None``: any number; ``0``: none).
    """

    name: str
    config: BreakerConfig
    checks: tuple[str, ...]
    processes: int = 2
    permits: int = 1
    manual: int | None = None
    purpose: str = ""

    def __post_init__(self) -> None:
        unknown = [c for c in self.checks if c not in SHARED_CHECKS]
        if unknown:
            raise ValueError(f"'checks' must name only {', '.join(SHARED_CHECKS)} (got {unknown[0]!r})")

    def model(self, table: Table = TABLE, protocol: SharedProtocol = REFERENCE) -> str:
        """The Promela text of this case (the reference protocol, or a mutant's)."""
        return generate_shared(table, self.config, processes=self.processes, permits=self.permits,
                               manual=self.manual, protocol=protocol)

    @property
    def scope(self) -> str:
        """The case as the verdict table names it."""
        calls = "call" if self.permits == 1 else "calls"
        return f"{self.name}, {self.processes} processes x {self.permits} {calls}, lossy network"


_CONFIG = BreakerConfig(fail_max=2, reset_timeout=2)

SHARED_SUITE: tuple[SharedCase, ...] = (
    SharedCase(
        "default",
        _CONFIG,
        ("safety", "SH3"),
        processes=2,
        permits=1,
        manual=None,
        purpose="pybreaker's defaults (one probe); manual triggers at any time put the store in every "
        "state while calls, duplicates and orphan releases arrive",
    ),
    SharedCase(
        "two_calls",
        _CONFIG,
        ("safety",),
        processes=2,
        permits=2,
        manual=0,
        purpose="two calls in flight per process, no manual control: two failures open the breaker and "
        "the other two calls race for the one probe slot, their replies and settlements lost at will",
    ),
)
"""The shared-breaker cases ``breakerlab prove`` checks (a few seconds in all)."""


@dataclasses.dataclass(frozen=True)
class SharedResult:
    """One check of one shared case, and SPIN's result."""

    case: SharedCase
    check: str
    result: SpinResult

    @property
    def ok(self) -> bool:
        """The check holds (on the reference protocol every shared check must)."""
        return self.result.verdict == "holds"

    @property
    def steps(self) -> tuple[dict[str, object], ...]:
        """On a violation, the trail: store steps and the network's (``shared.parse_shared_steps``)."""
        return parse_shared_steps(self.result.trail)

    def describe(self, table: Table = TABLE) -> str:
        """The counterexample as a numbered step list (empty if there is none)."""
        return format_shared_steps(self.steps, self.case.permits, table)


def run_shared(
    table: Table = TABLE,
    cases: Sequence[SharedCase] = SHARED_SUITE,
    protocol: SharedProtocol = REFERENCE,
    *,
    jobs: int | None = None,
    cflags: Sequence[str] = CFLAGS,
    workdir: str | None = None,
) -> list[SharedResult]:
    """Run every check of ``cases`` on the shared models of ``table`` under ``protocol``, in
    parallel (``jobs``: the number of CPUs by default); one result per check, in order."""
    tasks = [(case, check) for case in cases for check in case.checks]

    cache = workdir is None  # in its own temporary folder: verifiers come from the cache

    def run(case: SharedCase, check: str, directory: str) -> SharedResult:
        try:
            text = case.model(table, protocol)
        except ValueError as exc:
            return SharedResult(case, check, SpinResult(check, "error", 0, 0, 0, 0.0, str(exc)))
        if check == "safety":
            return SharedResult(case, check, check_safety(text, directory, cflags=cflags, cache=cache))
        return SharedResult(case, check, check_ltl(text, check, directory, cflags=cflags, cache=cache))

    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="breakerlab-spin-shared-"))
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 2) as pool:
            futures = [pool.submit(run, case, check, workdir) for case, check in tasks]
            return [f.result() for f in futures]


def format_shared_results(results: Sequence[SharedResult]) -> str:
    """The verdict table: case, check, verdict, states, transitions, depth, time."""
    header = f"{'case':<12} {'check':<7} {'verdict':<9} {'states':>8} {'trans':>9} {'depth':>6} {'time':>7}"
    lines = [header, "-" * len(header)]
    for r in results:
        flag = "" if r.ok else f"  <-- {r.result.failure}"
        lines.append(f"{r.case.name:<12} {r.check:<7} {r.result.verdict:<9} {r.result.states:>8} "
                     f"{r.result.transitions:>9} {r.result.depth:>6} {r.result.seconds:>6.2f}s{flag}")
    return "\n".join(lines)


# -- the committed models --------------------------------------------------------------------


def shared_models(table: Table = TABLE) -> dict[str, str]:
    """The model of every shared case (reference protocol), by file name in ``proofs/generated/``."""
    return {f"{_PREFIX}{case.name}.pml": case.model(table) for case in SHARED_SUITE}


def _directory(directory: pathlib.Path | None) -> pathlib.Path:
    if directory is not None:
        return directory
    from ..drift import GENERATED_DIR

    return GENERATED_DIR


def write_shared_models(table: Table = TABLE, directory: pathlib.Path | None = None) -> list[pathlib.Path]:
    """Write the shared models into ``directory`` (``proofs/generated/``), remove stale ones, and
    record their hashes in its ``manifest.json`` (its other entries are left as they are).

    Run it after ``drift.write_all``, which rewrites the manifest from the single models only.
    """
    directory = _directory(directory)
    directory.mkdir(parents=True, exist_ok=True)
    models = shared_models(table)
    for path in directory.glob(f"{_PREFIX}*.pml"):
        if path.name not in models:
            path.unlink()
    written = []
    for name, text in models.items():
        (directory / name).write_text(text)
        written.append(directory / name)
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    files = {k: v for k, v in manifest.get("files", {}).items() if not k.startswith(_PREFIX)}
    files |= {name: hashlib.sha256(text.encode()).hexdigest() for name, text in models.items()}
    manifest["files"] = dict(sorted(files.items()))
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return written


def shared_drift(table: Table = TABLE, directory: pathlib.Path | None = None) -> list[str]:
    """What differs between the committed shared models (and their manifest entries) and a
    regeneration: one problem per line, none if they match."""
    directory = _directory(directory)
    manifest_path = directory / "manifest.json"
    files = json.loads(manifest_path.read_text()).get("files", {}) if manifest_path.exists() else {}
    problems = []
    models = shared_models(table)
    for name, text in models.items():
        path = directory / name
        if not path.exists():
            problems.append(f"{name} is missing")
        elif path.read_text() != text:
            problems.append(f"{name} differs from a regeneration")
        if files.get(name) != hashlib.sha256(text.encode()).hexdigest():
            problems.append(f"manifest.json's entry for {name} is missing or stale")
    problems += [f"{path.name} is no shared case's model" for path in sorted(directory.glob(f"{_PREFIX}*.pml"))
                 if path.name not in models]
    return problems
