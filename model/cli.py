"""The ``breakerlab`` command: a dispatcher for subcommands that each layer registers.

Subcommands are entry points in the ``breakerlab.commands`` group (see ``pyproject.toml``), so
this module, in the bottom layer, never imports the layers above it (``sim``, ``proofs``).
Each entry point names a function ``(subparsers) -> None`` that adds its parser and sets
``func`` (``(args) -> int``) as the parser's default.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Any

from .errors import BreakerError

__all__ = ["diagram_command", "main", "replay_command"]

GROUP = "breakerlab.commands"


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="breakerlab",
        description=(
            "A formally checked model of the circuit-breaker pattern, and a simulator of what "
            "its settings do to a system in an outage."
        ),
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    found = sorted(entry_points(group=GROUP), key=lambda ep: ep.name)
    if not found:
        parser.epilog = (
            "no subcommands are registered: install the package (pip install -e .) so its "
            "entry points exist"
        )
    for ep in found:
        register: Callable[[Any], None] = ep.load()
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except BreakerError as exc:
        print(f"breakerlab: error: {exc}", file=sys.stderr)
        for note in getattr(exc, "__notes__", ()):  # where it happened, e.g. a sweep's cell
            print(f"  {note}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def diagram_command(subparsers: Any) -> None:
    """Register ``breakerlab diagram``."""
    parser = subparsers.add_parser(
        "diagram",
        help="print the breaker's state machine as a Mermaid diagram",
        description=(
            "Print the breaker's state machine as a Mermaid stateDiagram, drawn from the "
            "transitions machine built for a configuration (the article's defaults unless "
            "options are given). Paste it into any Mermaid renderer, or a Markdown file on GitHub."
        ),
    )
    parser.add_argument(
        "--set",
        metavar="OPTION=VALUE",
        action="append",
        default=[],
        help="a BreakerConfig option, e.g. --set late_result=admitting_state (repeatable)",
    )
    parser.add_argument(
        "--internal",
        action="store_true",
        help="also draw the rows that do not change state (admissions, counting) as self-loops",
    )
    parser.set_defaults(func=_run_diagram)


def replay_command(subparsers: Any) -> None:
    """Register ``breakerlab replay``."""
    parser = subparsers.add_parser(
        "replay",
        help="check a breaker's JSON-lines event log against the reference model",
        description=(
            "Re-execute an event log written by CircuitBreaker(event_log=...) on a fresh "
            "reference breaker, event by event, and report the first event where the verdict, "
            "the state or a counter differs (trace validation of a real, concurrent run). "
            "Exit status: 0 the log agrees, 1 it does not, 2 the log is malformed."
        ),
    )
    parser.add_argument("log", metavar="LOG", help="the event log (JSON lines)")
    parser.set_defaults(func=_run_replay)


def _run_replay(args: argparse.Namespace) -> int:
    from .replay import replay_log

    try:
        report = replay_log(args.log)
    except OSError as exc:
        raise BreakerError(f"cannot read the log {args.log!r}: {exc.strerror or exc}") from None
    if report.ok:
        print(f"{report.events} events replayed: the log agrees with the reference model")
        return 0
    print(f"the log disagrees with the reference model after {report.events - 1} agreeing events:")
    print(f"  {report.mismatch}")
    return 1


def _run_diagram(args: argparse.Namespace) -> int:
    from .diagram import mermaid
    from .options import parse_assignments

    config = parse_assignments(args.set)
    print(mermaid(config, internal=args.internal))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
