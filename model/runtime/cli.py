"""``breakerlab replay``: check a ``CircuitBreaker`` event log against the reference model."""

from __future__ import annotations

import argparse
from typing import Any

from breakerlab.model.errors import BreakerError

__all__ = ["replay_command"]


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
