"""The structured event log: every acquire, outcome and transition of a breaker as a JSON line.

The first line describes the configuration; every other line is one event, in the order the
breaker performed them (events are logged inside the breaker's critical section):

``{"seq": 7, "t": 12.5, "event": "record_failure", "permit": 3, "permit_generation": 1,
"permit_state": "closed", "verdict": null, "source": "closed", "dest": "open",
"generation": 2, "cause": "trip", "counters": {...}}``

``verdict`` is ``admit``/``admit_probe``/``reject`` for acquires. ``counters`` holds every
variable of the formal state after the event. ``breakerlab replay LOG`` re-executes a log on a
fresh reference breaker and reports the first event where they disagree.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any

from breakerlab.model.config import BreakerConfig
from breakerlab.model.errors import BreakerError

__all__ = ["EventLogError", "JsonLinesLog", "config_from_json", "config_to_json", "read_log"]

FORMAT_VERSION = 1

Record = dict[str, Any]
Sink = Callable[[Record], None]


class EventLogError(BreakerError, ValueError):
    """A malformed event log; the message names the line and the problem."""


def config_to_json(config: BreakerConfig) -> dict[str, Any]:
    """The configuration as JSON values: exception types by qualified name, predicates by repr
    (a replay does not need them: the log records outcomes after classification)."""
    result: dict[str, Any] = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if isinstance(value, enum.Enum):
            value = value.value
        elif field.name in ("failure_exceptions", "excluded_exceptions"):
            value = [f"{t.__module__}.{t.__qualname__}" for t in value]
        elif callable(value):
            value = repr(value)
        result[field.name] = value
    return result


_NOT_REPLAYED = ("failure_exceptions", "excluded_exceptions", "is_failure", "is_failure_result")


def config_from_json(data: Mapping[str, Any]) -> BreakerConfig:
    """The configuration a log was written with (classification options left at defaults: a
    replay feeds outcomes that are already classified)."""
    known = {f.name for f in dataclasses.fields(BreakerConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise EventLogError(f"unknown configuration option(s) {unknown} in the log header")
    values = {k: v for k, v in data.items() if k not in _NOT_REPLAYED}
    return BreakerConfig(**values)


class JsonLinesLog:
    """A thread-safe sink writing one JSON object per line to a file or stream.

    Args:
        target: A path (opened for writing, truncated) or a text stream.
        flush_every: Flush after this many records (1: every record survives a crash).
    """

    def __init__(self, target: str | os.PathLike[str] | IO[str], *, flush_every: int = 1) -> None:
        if isinstance(target, str | os.PathLike):
            self._stream: IO[str] = open(target, "w", encoding="utf-8")  # noqa: SIM115
            self._owned = True
        else:
            self._stream = target
            self._owned = False
        self._flush_every = max(1, flush_every)
        self._pending = 0
        self._closed = False
        self._lock = threading.Lock()

    def __call__(self, record: Record) -> None:
        line = json.dumps(record, separators=(",", ":"), allow_nan=True)
        with self._lock:
            self._stream.write(line + "\n")
            self._pending += 1
            if self._pending >= self._flush_every:
                self._stream.flush()
                self._pending = 0

    def close(self) -> None:
        """Flush, and close the file if this log opened it (closing twice is harmless)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stream.flush()
            if self._owned:
                self._stream.close()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    def __enter__(self) -> JsonLinesLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def header(config: BreakerConfig, name: str) -> Record:
    """The first line of a log."""
    return {"event": "config", "format": FORMAT_VERSION, "breaker": name, "config": config_to_json(config)}


def _read_header(first: str) -> BreakerConfig:
    if not first:
        raise EventLogError("line 1: the log is empty; expected a config line first")
    try:
        head = json.loads(first)
    except json.JSONDecodeError as exc:
        raise EventLogError(f"line 1: not JSON ({exc.msg})") from None
    if not isinstance(head, dict) or head.get("event") != "config" or not isinstance(head.get("config"), dict):
        raise EventLogError('line 1: expected the config line {"event": "config", "config": {...}}')
    if head.get("format", FORMAT_VERSION) != FORMAT_VERSION:
        raise EventLogError(f"line 1: log format {head.get('format')!r} is not supported (this version reads {FORMAT_VERSION})")
    try:
        return config_from_json(head["config"])
    except EventLogError as exc:
        raise EventLogError(f"line 1: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise EventLogError(f"line 1: the logged configuration is invalid: {exc}") from None


def read_log(source: str | os.PathLike[str] | IO[str]) -> tuple[BreakerConfig, Iterator[tuple[int, Record]]]:
    """Parse a log: its configuration and an iterator of (line number, event record)."""
    owned = isinstance(source, str | os.PathLike)
    stream: IO[str]
    if isinstance(source, str | os.PathLike):
        stream = open(source, encoding="utf-8")  # noqa: SIM115
    else:
        stream = source
    try:
        config = _read_header(stream.readline())
    except BaseException:
        if owned:
            stream.close()
        raise

    def events() -> Iterator[tuple[int, Record]]:
        try:
            for number, line in enumerate(stream, start=2):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise EventLogError(f"line {number}: not JSON ({exc.msg})") from None
                if not isinstance(record, dict) or "event" not in record or "t" not in record:
                    raise EventLogError(f"line {number}: an event needs at least 'event' and 't'")
                yield number, record
        finally:
            if owned:
                stream.close()

    return config, events()
