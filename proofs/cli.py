"""``breakerlab prove``: run every proof layer and print a verdict table, or replay a saved
counterexample on the Python breaker (``--replay``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from breakerlab.model.errors import BreakerError
from breakerlab.model.table import Table
from breakerlab.proofs.mutants import MUTANTS

if TYPE_CHECKING:
    from .counterexample import TraceReplay

__all__ = ["prove_command"]


def prove_command(subparsers: Any) -> None:
    """Register ``breakerlab prove``."""
    parser = subparsers.add_parser(
        "prove",
        help="prove the model's properties (z3, SPIN, refinement) and print a verdict table",
        description=(
            "Prove the safety properties S1-S10 for all parameter values with z3 (induction over "
            "the relation generated from the transition table), model-check concurrent callers "
            "and liveness L1-L5 with SPIN (Promela generated from the same table), check that the "
            "executable Python breaker refines the proved relation, and check the generated "
            "artifacts did not drift from the table. Exit status 0 only if everything holds. "
            "Properties are listed in proofs/README.md. With --json, a z3 counterexample comes "
            "with its steps (event, arguments, time, state before and after); save the output and "
            "replay it on the Python breaker with --replay FILE.json."
        ),
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the verdicts as JSON instead of a table (a z3 counterexample's steps under 'trace')",
    )
    parser.add_argument(
        "--replay",
        metavar="FILE.json",
        help="replay a counterexample saved from --json on the Python breaker (the reference one, and "
        "the mutant's it was found on) and say whether it violates the property; exit 1 if the "
        "reference breaker does",
    )
    parser.add_argument(
        "--list-mutants", action="store_true", help="print the seeded mutants' names, one per line, and exit"
    )
    parser.add_argument(
        "--mutant",
        metavar="NAME",
        help="run every layer against this seeded mutant (it must fail with a counterexample)",
    )
    parser.add_argument(
        "--layer",
        action="append",
        metavar="LAYER",
        help="run only this layer (repeatable): z3, spin, refinement, drift",
    )
    parser.add_argument(
        "--update-generated",
        action="store_true",
        help="after a fully successful run, regenerate proofs/generated/ (commit the result)",
    )
    parser.set_defaults(func=_run)


def _row(values: list[str], widths: list[int]) -> str:
    cells = [v if len(v) <= w else v[: w - 1] + "…" for v, w in zip(values, widths)]
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()


def _run(args: argparse.Namespace) -> int:
    from .runner import LAYERS, run

    if args.list_mutants:
        for name in MUTANTS:
            print(name)
        return 0
    if args.mutant is not None and args.mutant not in MUTANTS:
        raise BreakerError(
            f"'--mutant' must be one of the seeded mutants ({', '.join(MUTANTS)}) (got {args.mutant!r})"
        )
    if args.replay is not None:
        return _replay(args)
    layers = tuple(args.layer) if args.layer else None
    if layers:
        unknown = [name for name in layers if name not in LAYERS]
        if unknown:
            raise BreakerError(f"'--layer' must be one of {', '.join(LAYERS)} (got {unknown[0]!r})")

    if args.update_generated:
        # the drift check is what --update-generated repairs: run everything else first
        layers = tuple(name for name in (layers or tuple(LAYERS)) if name != "drift")

    headers = ["property", "method", "scope", "verdict", "states", "time"]
    widths = [9, 18, 48, 26, 9, 8]
    started = time.perf_counter()
    if not args.json:
        target = f"mutant {args.mutant!r}" if args.mutant else "the reference table"
        print(f"proving {target}\n")
        print(_row(headers, widths))
        print(_row(["-" * w for w in widths], widths))

    def show(verdict: Any) -> None:
        if args.json:
            return
        states = "" if verdict.states is None else f"{verdict.states:,}"
        print(
            _row(
                [verdict.property_id, verdict.method, verdict.scope, verdict.verdict, states, f"{verdict.seconds:.2f}s"],
                widths,
            ),
            flush=True,
        )

    verdicts = run(args.mutant, layers, on_verdict=show)
    total = time.perf_counter() - started
    failed = [v for v in verdicts if not v.ok]
    if args.json:
        print(json.dumps({"verdicts": [v.as_json() for v in verdicts], "seconds": total, "ok": not failed}, indent=2))
    else:
        print(f"\n{len(verdicts) - len(failed)}/{len(verdicts)} checks passed in {total:.1f} s")
        for verdict in failed:
            print(f"\n{verdict.property_id} ({verdict.method}): {verdict.verdict}. {verdict.detail}".rstrip())
            if verdict.counterexample:
                print(verdict.counterexample)
            if verdict.trace:
                mutant = f" --mutant {args.mutant}" if args.mutant else ""
                print(
                    f"  (to replay it on the Python breaker: breakerlab prove{mutant} --layer z3 --json > cx.json; "
                    "breakerlab prove --replay cx.json)"
                )
    if not failed and args.update_generated and args.mutant is None:
        from .drift import write_all

        for path in write_all():
            print(f"wrote {path}", file=sys.stderr)
    return 1 if failed else 0


def _replay(args: argparse.Namespace) -> int:
    """``--replay FILE``: the trace's events on the reference breaker and on the mutant's."""
    from .counterexample import replay_trace
    from .trace_json import read_trace_file

    combined = [flag for flag, used in (("--layer", args.layer), ("--update-generated", args.update_generated)) if used]
    if combined:
        raise BreakerError(
            f"'--replay' must be used without --layer and --update-generated (got {' '.join(combined)}); "
            "a replay runs no proof layer"
        )
    trace, found_on = read_trace_file(args.replay)
    mutant = args.mutant or found_on
    if mutant is not None and mutant not in MUTANTS:
        raise BreakerError(
            f"'mutant' in {args.replay} must be one of the seeded mutants ({', '.join(MUTANTS)}) (got {mutant!r}); "
            "or name the table with --mutant"
        )
    targets: list[tuple[str, str | None, Table | None]] = []
    if mutant:
        targets.append((f"mutant {mutant!r}", mutant, MUTANTS[mutant].table))
    targets.append(("reference", None, None))
    outcomes = [(label, name, replay_trace(trace, table)) for label, name, table in targets]
    reference = outcomes[-1][2]
    if args.json:
        replays = [
            {
                "breaker": label,
                "mutant": name,
                "reproduces": outcome.reproduces,
                "violated_step": outcome.violated_step,
                "matches": outcome.matches,
                "steps_matched": outcome.steps_matched,
                "steps_run": outcome.steps_run,
                "detail": outcome.detail,
            }
            for label, name, outcome in outcomes
        ]
        print(json.dumps({"property": trace.property_id, "kind": trace.kind, "found_on": found_on,
                          "replays": replays, "ok": not reference.reproduces}, indent=2))
    else:
        origin = f"mutant {found_on!r}" if found_on else "the reference table"
        print(f"replaying {args.replay} (found on {origin}) on the Python breaker\n")
        print(trace.describe())
        print()
        width = max(len(label) for label, _, _ in outcomes) + len(" breaker:")
        for label, _, outcome in outcomes:
            print(f"{label + ' breaker:':<{width}} {_verdict(trace.property_id, len(trace.steps), outcome)}")
    return 1 if reference.reproduces else 0


def _verdict(property_id: str, steps: int, outcome: TraceReplay) -> str:
    """One line: whether the breaker exhibits the violation, and where it leaves the trace."""
    if outcome.reproduces:
        how = "following every step of the trace" if outcome.matches else f"on its own run ({outcome.detail})"
        return f"reproduces: step {outcome.violated_step} violates {property_id}, {how}"
    ran = f"all {steps} steps" if outcome.steps_run == steps else f"{outcome.steps_run} of {steps} steps"
    if outcome.matches:
        return f"does not reproduce: {property_id} holds on {ran}, and the breaker follows every step of the trace"
    return f"does not reproduce: {property_id} holds on {ran}; it leaves the trace at {outcome.detail}"
