"""``breakerlab replay``: check a ``CircuitBreaker`` event log (or the merged logs of the
processes sharing one breaker) against the reference model."""

from __future__ import annotations

import argparse
from typing import Any

from breakerlab.model.errors import BreakerError

from .eventlog import MAX_LOG_BYTES

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
            "Exit status: 0 the log agrees, 1 it does not, 2 the log is malformed (a field of the "
            "wrong type, a repeated or missing seq, a permit admitted or settled twice, ...) or "
            "cannot be read."
        ),
    )
    parser.add_argument(
        "log",
        metavar="LOG",
        nargs="+",
        help=(
            "the event log (a regular file of JSON lines); several logs (the processes sharing "
            "one breaker through Redis, breakerlab.runtime.shared) are merged by their fleet-wide "
            "seq first"
        ),
    )
    parser.add_argument(
        "--max-bytes",
        type=_positive_int,
        default=MAX_LOG_BYTES,
        metavar="N",
        help=f"refuse a log larger than N bytes (default {MAX_LOG_BYTES}, 1 GiB)",
    )
    parser.set_defaults(func=_run_replay)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"'--max-bytes' must be an int >= 1 (got {text!r})")
    return value


def _run_replay(args: argparse.Namespace) -> int:
    import io

    from .merge import merged_lines
    from .replay import replay_log

    try:
        if len(args.log) == 1:
            report = replay_log(args.log[0], max_bytes=args.max_bytes)
        else:
            merged = io.StringIO("".join(merged_lines(args.log, max_bytes=args.max_bytes)))
            report = replay_log(merged, max_bytes=args.max_bytes)
    except OSError as exc:
        names = ", ".join(repr(name) for name in args.log)
        raise BreakerError(f"cannot read the log {names}: {exc.strerror or exc}") from None
    if report.ok:
        print(f"{report.events} events replayed: the log agrees with the reference model")
        return 0
    print(f"the log disagrees with the reference model after {report.events - 1} agreeing events:")
    print(f"  {report.mismatch}")
    return 1
