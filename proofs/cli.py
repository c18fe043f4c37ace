"""``breakerlab prove``: run every proof layer and print a verdict table, or replay a saved
counterexample on the Python breaker (``--replay``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from breakerlab.model.errors import BreakerError
from breakerlab.proofs.mutants import MUTANTS

__all__ = ["prove_command"]

_LAYER_NAMES = {"z3": "z3", "spin": "SPIN", "refinement": "refinement"}


def prove_command(subparsers: Any) -> None:
    """Register ``breakerlab prove``."""
    parser = subparsers.add_parser(
        "prove",
        help="prove the model's properties (z3, SPIN, refinement) and print a verdict table",
        description=(
            "Prove the safety properties S1-S10 for all parameter values with z3 (induction over "
            "the relation generated from the transition table), model-check concurrent callers "
            "and liveness L1-L5 with SPIN (Promela generated from the same table; also the breaker "
            "shared by processes through one store over a lossy network, SH1-SH3), check that the "
            "executable Python breaker refines the proved relation, and check the generated "
            "artifacts did not drift from the table. Exit status 0 only if everything holds. "
            "Properties are listed in proofs/README.md. With --json, every counterexample (a z3 "
            "trace, a SPIN trail, a refinement mismatch) comes with its steps (event, the process "
            "or permit, time, state before and after); save the output and replay it on the Python "
            "breaker with --replay FILE.json."
        ),
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the verdicts as JSON instead of a table (a counterexample's steps under 'trace')",
    )
    parser.add_argument(
        "--replay",
        metavar="FILE.json",
        help="replay every counterexample saved from --json (z3, SPIN, refinement) on the Python breaker "
        "(the reference one, and the mutant's it was found on) and say whether each reproduces the "
        "violation; exit 1 if the reference breaker exhibits one the proofs exclude (or misses an "
        "expected one found on the reference table)",
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
                layer = verdict.trace.get("layer", "z3")
                print(
                    f"  (to replay it on the Python breaker: breakerlab prove{mutant} --layer {layer} --json > cx.json; "
                    "breakerlab prove --replay cx.json)"
                )
    if not failed and args.update_generated and args.mutant is None:
        from .drift import write_all

        for path in write_all():
            print(f"wrote {path}", file=sys.stderr)
    return 1 if failed else 0


def _replay(args: argparse.Namespace) -> int:
    """``--replay FILE``: each counterexample's events on the mutant's breaker and the reference's."""
    from .replay import read_counterexamples, replay

    combined = [flag for flag, used in (("--layer", args.layer), ("--update-generated", args.update_generated)) if used]
    if combined:
        raise BreakerError(
            f"'--replay' must be used without --layer and --update-generated (got {' '.join(combined)}); "
            "a replay runs no proof layer"
        )
    counterexamples = read_counterexamples(args.replay)
    results = [replay(cx, args.mutant, args.replay) for cx in counterexamples]
    ok = all(r.ok for r in results)
    if args.json:
        blocks = [r.as_json() for r in results]
        # the top level reads as the first counterexample (a file with one reads as it always did)
        print(json.dumps(blocks[0] | {"counterexamples": blocks, "ok": ok}, indent=2))
        return 0 if ok else 1
    several = len(results) > 1
    if several:
        layers = ", ".join(sorted({_LAYER_NAMES[r.counterexample.layer] for r in results}))
        print(f"replaying {args.replay}: {len(results)} counterexamples ({layers}) on the Python breaker")
    for number, result in enumerate(results, start=1):
        cx = result.counterexample
        origin = f"mutant {cx.mutant!r}" if cx.mutant else "the reference table"
        if several:
            print(f"\n--- counterexample {number} of {len(results)}: {_LAYER_NAMES[cx.layer]} {cx.property_id} (found on {origin})\n")
        else:
            print(f"replaying {args.replay} (found on {origin}) on the Python breaker\n")
        print(cx.description)
        print()
        width = max(len(r.label) for r in result.replays) + len(" breaker:")
        for breaker in result.replays:
            print(f"{breaker.label + ' breaker:':<{width}} {breaker.line}")
        if not result.ok:
            reference = result.replays[-1].outcome
            what = ("exhibits a violation the proofs exclude" if reference.reproduces
                    else "does not exhibit this expected violation, found on the reference table")
            print(f"=> the reference breaker {what}")
    return 0 if ok else 1
