"""The ``breakerlab`` command: a dispatcher for subcommands that each layer registers.

Subcommands are entry points in the ``breakerlab.commands`` group (see ``pyproject.toml``), so
this module, in the bottom layer, never imports the layers above it (``sim``, ``proofs``).
Each entry point names a function ``(subparsers) -> None`` that adds its parser and sets
``func`` (``(args) -> int``) as the parser's default. Every parser is a
``breakerlab.cli.helptext.PlainTextParser``, so help built from docstrings prints without reST
markup, with nothing for the registering command to do.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, entry_points, version
from typing import Any

from breakerlab.model.errors import BreakerError
from breakerlab.model.extras import MissingExtraError

from .helptext import PlainTextParser

__all__ = ["build_parser", "installed_version", "main"]

GROUP = "breakerlab.commands"
DISTRIBUTION = "breakerlab"


def installed_version() -> str:
    """The installed distribution's version (``importlib.metadata``), or a note saying it is not installed."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown (the distribution is not installed: pip install -e .)"


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = PlainTextParser(
        prog="breakerlab",
        description=(
            "A formally checked model of the circuit-breaker pattern, and a simulator of what "
            "its settings do to a system in an outage."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {installed_version()}", help="print the installed version and exit"
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")  # PlainTextParser, like the parent
    found = sorted(entry_points(group=GROUP), key=lambda ep: ep.name)
    if not found:
        parser.epilog = (
            "no subcommands are registered: install the package (pip install -e .) so its "
            "entry points exist"
        )
    for ep in found:
        try:
            register: Callable[[Any], None] = ep.load()
        except MissingExtraError as exc:
            register = _needs_extra(ep.name, exc)
        register(subparsers)
    return parser


def _needs_extra(name: str, error: MissingExtraError) -> Callable[[Any], None]:
    """A stand-in for a subcommand whose extra is not installed: listed, and saying how to get it."""

    def register(subparsers: Any) -> None:
        parser = subparsers.add_parser(name, help=f"(not installed) {error}", add_help=False)
        parser.add_argument("ignored", nargs=argparse.REMAINDER)
        parser.set_defaults(func=lambda _args: _fail(str(error)))

    return register


def _fail(message: str) -> int:
    print(f"breakerlab: error: {message}", file=sys.stderr)
    return 2


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


