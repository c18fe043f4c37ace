"""Trace validation: re-execute an event log on a fresh reference breaker, event by event.

A real run (many threads, real time) writes its events, in the order the breaker performed
them, to a JSON-lines log (``eventlog.py``). Replaying the log sequentially on a fresh
``Breaker`` with a ``ManualClock`` set to each event's time must reproduce every verdict and
every state: a difference means the concurrent run did something the sequential reference
model cannot (a lost update, a torn read, an outcome recorded twice). A log that breaks the
format's own rules (``eventcheck.py``: a field of the wrong type, a repeated or missing
``seq``, a permit admitted or settled twice) is not replayed at all: it is malformed.
"""

from __future__ import annotations

import dataclasses
import os
from typing import IO, Any

from breakerlab.model.driver import Driver

from .eventlog import MAX_LOG_BYTES, EventLogError, read_log, source_name

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
        return float(logged) == float(replayed)  # inf == inf; NaN never passes check_event
    return bool(logged == replayed)


def replay_log(source: str | os.PathLike[str] | IO[str], *, max_bytes: int = MAX_LOG_BYTES) -> ReplayReport:
    """Replay a log on a fresh reference breaker, event by event.

    Args:
        source: A path to a regular file, or a text stream.
        max_bytes: Refuse a log larger than this.

    Raises:
        EventLogError: The log is malformed (not JSON, a field of the wrong type or range, a
            repeated or missing ``seq``, a permit admitted twice or settled twice, ...); the
            message names the file, the line and the problem.
        OSError: The file cannot be opened or read.
    """
    config, events = read_log(source, max_bytes=max_bytes)
    driver = Driver(config)
    breaker = driver.breaker
    count = 0
    try:
        for line, record in events:
            count += 1
            event = record["event"]
            source_state = str(breaker.state)
            try:
                verdict = driver.step(float(record["t"]), event, record.get("permit"))
            except ValueError as exc:
                raise EventLogError(str(exc), line=line, source=source_name(source)) from None
            differences = _differences(record, verdict, source_state, breaker.snapshot())
            if differences:
                return ReplayReport(count, Mismatch(line, record, differences))
    finally:
        events.close()
    return ReplayReport(count, None)


def _differences(record: dict[str, Any], verdict: str | None, source: str, snapshot: dict[str, Any]) -> tuple[str, ...]:
    """What the logged event says that the reference model, having performed it, does not."""
    differences: list[str] = []
    if record["event"] == "acquire" and verdict != record.get("verdict"):
        differences.append(f"verdict: logged {record.get('verdict')!r}, model {verdict!r}")
    if record.get("source") is not None and record["source"] != source:
        differences.append(f"source state: logged {record['source']!r}, model {source!r}")
    state = str(snapshot.pop("state"))
    if record.get("dest") is not None and record["dest"] != state:
        differences.append(f"state: logged {record['dest']!r}, model {state!r}")
    if record.get("generation") is not None and record["generation"] != snapshot["generation"]:
        differences.append(
            f"generation (the event's field): logged {record['generation']!r}, model {snapshot['generation']!r}"
        )
    for name, logged in (record.get("counters") or {}).items():
        if not _same(logged, snapshot[name]):
            differences.append(f"{name}: logged {logged!r}, model {snapshot[name]!r}")
    return tuple(differences)
