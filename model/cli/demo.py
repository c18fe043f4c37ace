"""``breakerlab demo``: the article's scenario run through the reference model on a manual clock.

UserAuth calls UserProfile through a breaker with ``fail_max=5`` and ``reset_timeout=60``.
UserProfile answers, then goes down; the breaker trips on the fifth consecutive failure,
rejects calls while open, probes after 60 s (the service is still down: the probe fails and the
timer restarts), probes again 60 s later (the service is back: the probe closes the breaker).
Every call's outcome and every state change is printed, with the virtual time.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TextIO

from breakerlab.model.breaker import Breaker
from breakerlab.model.clock import ManualClock
from breakerlab.model.config import BreakerConfig
from breakerlab.model.errors import CircuitOpenError
from breakerlab.model.events import BreakerListener, StateChange

__all__ = ["demo_command", "run_demo"]


class ServiceDown(ConnectionError):
    """UserProfile refused the connection."""


class _PrintChanges(BreakerListener):
    def __init__(self, out: Callable[[str], Any]) -> None:
        self._out = out

    def state_change(self, change: StateChange) -> None:
        self._out(
            f"{change.time:8.1f}s   ** state change: {change.source.value} -> {change.dest.value} "
            f"({change.cause}, generation {change.generation})"
        )


def run_demo(fail_max: int = 5, reset_timeout: float = 60.0, write: Callable[[str], Any] = print) -> Breaker:
    """Run the scenario, writing one line per call and per state change; returns the breaker."""
    clock = ManualClock()
    breaker = Breaker(BreakerConfig(fail_max=fail_max, reset_timeout=reset_timeout), clock=clock, name="user-profile")
    breaker.add_listener(_PrintChanges(write))
    service_up = True

    def get_user_profile(user_id: int) -> dict[str, Any]:
        if not service_up:
            raise ServiceDown(f"user-profile-service:8080 refused the connection (user {user_id})")
        return {"id": user_id, "name": "Ada"}

    def attempt(label: str) -> None:
        try:
            profile = breaker.call(get_user_profile, 123)
        except CircuitOpenError as exc:
            outcome = f"rejected, not sent: CircuitOpenError ({exc.remaining_s:.1f} s until a probe)"
        except ServiceDown:
            outcome = "sent, failed: ServiceDown"
        else:
            outcome = f"sent, ok: {profile}"
        write(f"{clock():8.1f}s   {label:<24} {outcome:<68} state={breaker.state.value}")

    write(f"breaker: fail_max={fail_max}, reset_timeout={reset_timeout:g} s, virtual clock from 0 s")
    write("")
    write("-- UserProfile is healthy")
    for n in range(1, 3):
        attempt(f"call {n}")
        clock.advance(1.0)
    write("")
    write(f"-- UserProfile goes down; {fail_max + 2} more calls, one per second")
    service_up = False
    for n in range(1, fail_max + 3):
        attempt(f"call {n} (down)")
        clock.advance(1.0)
    write("")
    write(f"-- {reset_timeout:g} s after the trip: the breaker lets one probe through (still down)")
    clock.advance(max(0.0, breaker.time_until_half_open()))
    attempt("probe")
    attempt("call right after")
    write("")
    write(f"-- UserProfile recovers; {reset_timeout:g} s later the next probe succeeds")
    service_up = True
    clock.advance(max(0.0, breaker.time_until_half_open()))
    attempt("probe")
    clock.advance(1.0)
    attempt("call after recovery")
    stats = breaker.stats
    write("")
    write(
        f"totals: {stats.admitted} sent, {stats.successes} ok, {stats.failures} failed, "
        f"{stats.rejections} rejected without reaching the service, {stats.state_changes} state changes"
    )
    return breaker


def demo_command(subparsers: Any) -> None:
    """Register ``breakerlab demo``."""
    parser = subparsers.add_parser(
        "demo",
        help="run the article's scenario through the model and print every call and state change",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--fail-max", type=int, default=5, help="consecutive failures that trip (default 5)")
    parser.add_argument("--reset-timeout", type=float, default=60.0, help="seconds open before a probe (default 60)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    run_demo(args.fail_max, args.reset_timeout)
    return 0
