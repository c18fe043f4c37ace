"""``breakerlab diagram``: the state machine as Mermaid, drawn from the ``transitions`` machine."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["diagram_command"]


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
        help=(
            "also draw the rows that do not change state (admissions, counting) as self-loops "
            "labelled '(internal) trigger: cause' (Mermaid cannot draw a dotted transition)"
        ),
    )
    parser.set_defaults(func=_run_diagram)


def _run_diagram(args: argparse.Namespace) -> int:
    from breakerlab.model.diagram import mermaid
    from breakerlab.model.options import parse_assignments

    config = parse_assignments(args.set)
    print(mermaid(config, internal=args.internal))
    return 0
