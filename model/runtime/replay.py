"""Trace validation: re-execute an event log on a fresh reference breaker, event by event.

A real run (many threads, real time) writes its events, in the order the breaker performed
them, to a JSON-lines log (``eventlog.py``). Replaying the log sequentially on a fresh
``Breaker`` with a ``ManualClock`` set to each event's time must reproduce every verdict and
every state: a difference means the concurrent run did something the sequential reference
model cannot (a lost update, a torn read, an outcome recorded twice).
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import IO, Any

from breakerlab.model.driver import OUTCOMES, Driver

from .eventlog import EventLogError, read_log

__all__ = ["Mismatch", "ReplayReport", "replay_log"]

@dataclasses.dataclass(frozen=True)
class Mismatch:
    """The first event where the log and the reference model disagree."""

    line: int
    event: dict[str, Any]
    differences: tuple[str, ...]

    def __str__(self) -> str:
        e = self.event
        what = e["event"] + (f" of permit {e['permit']}" if e.get("permit") is not None else "")
        return f"line {self.line} (seq {e.get('seq')}, {what} at t={e['t']}): " + "; ".join(self.differences)


@dataclasses.dataclass(frozen=True)
class ReplayReport:
    """How many events were replayed, and the first mismatch if any."""

    events: int
    mismatch: Mismatch | None

    @property
    def ok(self) -> bool:
        """Whether the whole log agrees with the reference model."""
        return self.mismatch is None


def _same(logged: Any, replayed: Any) -> bool:
    if isinstance(logged, float) or isinstance(replayed, float):
        return float(logged) == float(replayed) or (math.isinf(float(logged)) and math.isinf(float(replayed)))
    return bool(logged == replayed)


def _number(value: Any, name: str, line: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EventLogError(f"line {line}: {name!r} must be a finite number of seconds (got {value!r})")
    return float(value)


def replay_log(source: str | os.PathLike[str] | IO[str]) -> ReplayReport:
    """Replay a log; raises ``EventLogError`` (naming the line) if it is malformed."""
    config, events = read_log(source)
    driver = Driver(config)
    breaker = driver.breaker
    count = 0
    for line, record in events:
        count += 1
        event = record["event"]
        t = _number(record["t"], "t", line)
        if record.get("permit") is not None and not isinstance(record["permit"], int):
            raise EventLogError(f"line {line}: 'permit' must be an int or null (got {record['permit']!r})")
        if not isinstance(record.get("counters") or {}, dict):
            raise EventLogError(f"line {line}: 'counters' must be an object (got {record['counters']!r})")
        differences: list[str] = []
        if event in OUTCOMES and record.get("permit") not in driver.permits:
            raise EventLogError(
                f"line {line}: {event} of permit {record.get('permit')!r}, which no earlier acquire admitted"
            )
        try:
            verdict = driver.step(t, event, record.get("permit"))
        except ValueError as exc:
            raise EventLogError(f"line {line}: {exc}") from None
        if event == "acquire" and verdict != record.get("verdict"):
            differences.append(f"verdict: logged {record.get('verdict')!r}, model {verdict!r}")
        snapshot = breaker.snapshot()
        state = snapshot.pop("state")
        if record.get("dest") is not None and record["dest"] != str(state):
            differences.append(f"state: logged {record['dest']!r}, model {str(state)!r}")
        for name, logged in (record.get("counters") or {}).items():
            if name not in snapshot:
                raise EventLogError(f"line {line}: unknown counter {name!r}")
            if not _same(logged, snapshot[name]):
                differences.append(f"{name}: logged {logged!r}, model {snapshot[name]!r}")
        if differences:
            return ReplayReport(count, Mismatch(line, record, tuple(differences)))
    return ReplayReport(count, None)
