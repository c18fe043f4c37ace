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
import itertools
import json
import os
import threading
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import IO, Any

from breakerlab.model.config import BreakerConfig
from breakerlab.model.files import NotRegularFileError, open_regular_file

from .eventcheck import EventLogError, LogSequence, check_event, shown

__all__ = [
    "EventLogTarget",
    "MAX_LINE_BYTES",
    "MAX_LOG_BYTES",
    "EventLogError",
    "JsonLinesLog",
    "config_from_json",
    "config_to_json",
    "open_sink",
    "read_log",
    "source_name",
]

#: Longest line read, in bytes: an event line is a few hundred bytes, the header a few thousand.
MAX_LINE_BYTES = 1 << 20

#: Default limit on the bytes read from one log (``read_log``/``replay_log`` ``max_bytes``).
MAX_LOG_BYTES = 1 << 30

FORMAT_VERSION = 1

Record = dict[str, Any]
Sink = Callable[[Record], None]


def config_to_json(config: BreakerConfig) -> dict[str, Any]:
    """The configuration as JSON values (``BreakerConfig.as_json``): exception types by qualified
    name, predicates by repr (a replay does not need them: the log records outcomes after
    classification)."""
    return config.as_json()


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


EventLogTarget = str | os.PathLike[str] | IO[str] | Sink
"""Where a breaker logs its events: a path, a text stream, or a callable taking one record."""


def open_sink(event_log: EventLogTarget | None) -> tuple[Sink | None, JsonLinesLog | None]:
    """The sink for a breaker's ``event_log=`` argument, and the log it opened (to close).

    Raises:
        TypeError: ``event_log`` is none of a path, a text stream, a callable, ``None``.
    """
    if event_log is None:
        return None, None
    if isinstance(event_log, str | os.PathLike) or hasattr(event_log, "write"):
        log = JsonLinesLog(event_log)  # type: ignore[arg-type]
        return log, log
    if callable(event_log):
        return event_log, None
    raise TypeError(
        "'event_log' must be a path, a text stream or a callable taking one record (a dict), "
        f"e.g. event_log=\"breaker-events.jsonl\" (got {event_log!r})"
    )


def header(config: BreakerConfig, name: str) -> Record:
    """The first line of a log."""
    return {"event": "config", "format": FORMAT_VERSION, "breaker": name, "config": config_to_json(config)}


def _read_header(first: str) -> BreakerConfig:
    if not first:
        raise EventLogError("the log is empty; expected a config line first", line=1)
    head = _parse_json(first, 1)
    if not isinstance(head, dict) or head.get("event") != "config" or not isinstance(head.get("config"), dict):
        raise EventLogError('expected the config line {"event": "config", "config": {...}}', line=1)
    if head.get("format", FORMAT_VERSION) != FORMAT_VERSION:
        raise EventLogError(
            f"log format {shown(head.get('format'))} is not supported (this version reads {FORMAT_VERSION})", line=1
        )
    try:
        return config_from_json(head["config"])
    except EventLogError as exc:
        raise EventLogError(exc.problem, line=1) from None
    except (ValueError, TypeError) as exc:
        raise EventLogError(f"the logged configuration is invalid: {exc}", line=1) from None


def read_log(
    source: str | os.PathLike[str] | IO[str], *, max_bytes: int = MAX_LOG_BYTES
) -> tuple[BreakerConfig, Generator[tuple[int, Record], None, None]]:
    """Parse a log: its configuration and a generator of (line number, validated event record).

    A path must name a regular file (not a directory, a FIFO or a device) of at most
    ``max_bytes`` bytes; a stream is read up to ``max_bytes`` characters. Every event line is
    checked by ``check_event`` and, against the lines before it, by its ``seq``, its time and
    its permit (see ``LogSequence``). Close the generator to close the file early.

    Raises:
        EventLogError: The log is malformed; the message names the file, the line and the
            problem (raised by the generator for event lines).
        OSError: The file cannot be opened or read.
    """
    name = source_name(source)
    stream: IO[bytes] | IO[str]
    if isinstance(source, str | os.PathLike):
        try:
            stream = _open_regular_file(source, max_bytes)
        except EventLogError as exc:
            raise exc.located(name) from None
        owned = True
    else:
        stream, owned = source, False
    lines = _lines(stream, max_bytes)
    try:
        first = next(lines, None)
        config = _read_header(first[1] if first is not None else "")
    except EventLogError as exc:
        if owned:
            stream.close()
        raise exc.located(name) from None
    except BaseException:
        if owned:
            stream.close()
        raise

    def events() -> Generator[tuple[int, Record], None, None]:
        sequence = LogSequence()
        try:
            for number, text in lines:
                if not text.strip():
                    continue
                record = check_event(_parse_json(text, number), number)
                sequence.check(record, number)
                yield number, record
        except EventLogError as exc:
            raise exc.located(name) from None
        finally:
            if owned:
                stream.close()

    return config, events()


def source_name(source: str | os.PathLike[str] | IO[str]) -> str | None:
    """How errors name a log: its path, a stream's ``name``, or ``None`` for an unnamed stream."""
    name = os.fsdecode(source) if isinstance(source, str | os.PathLike) else getattr(source, "name", None)
    if not isinstance(name, str):
        return None
    return name if name.isprintable() else repr(name)


def _open_regular_file(path: str | os.PathLike[str], max_bytes: int) -> IO[bytes]:
    try:
        stream, size = open_regular_file(path)
    except NotRegularFileError as error:
        raise EventLogError(f"is {error.kind}, not a regular file: give the path of an event log file") from None
    if size > max_bytes:
        stream.close()
        raise EventLogError(
            f"the log is {size} bytes, over the limit of {max_bytes} bytes; raise the limit "
            "(breakerlab replay --max-bytes N, or replay_log(..., max_bytes=N)) to read it"
        )
    return stream


def _lines(stream: IO[bytes] | IO[str], max_bytes: int) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line, refusing a line or a log over its size limit and bytes
    that are not UTF-8 (with where they are)."""
    total = 0
    for number in itertools.count(1):
        try:
            raw = stream.readline(MAX_LINE_BYTES + 1)
        except UnicodeDecodeError as exc:  # a text stream over bytes that are not UTF-8
            raise EventLogError(f"not UTF-8 text ({exc.reason}): is this an event log?", line=number) from None
        if not raw:
            return
        total += len(raw)
        if len(raw) > MAX_LINE_BYTES:
            raise EventLogError(
                f"the line is longer than {MAX_LINE_BYTES} bytes (an event line is a few hundred): is this an event log?",
                line=number,
            )
        if total > max_bytes:
            raise EventLogError(
                f"the log goes on past the limit of {max_bytes} bytes; raise the limit "
                "(breakerlab replay --max-bytes N, or replay_log(..., max_bytes=N)) to read it",
                line=number,
            )
        if isinstance(raw, bytes):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise EventLogError(
                    f"not UTF-8 text (byte {raw[exc.start]:#04x} at column {exc.start + 1}): is this an event log?",
                    line=number,
                ) from None
        else:
            text = raw
        yield number, text


def _parse_json(text: str, number: int) -> object:
    try:
        return json.loads(text)
    except RecursionError:
        raise EventLogError(
            "nested too deeply (an event is a flat object whose only nested value is 'counters')", line=number
        ) from None
    except ValueError as exc:  # JSONDecodeError, or an integer with more digits than Python converts
        if isinstance(exc, json.JSONDecodeError):
            detail = f"{exc.msg}{'' if exc.msg.endswith(' at') else ' at'} column {exc.colno}"
        else:
            detail = str(exc).split(";")[0]
        cut = "" if text.endswith("\n") else "; the line is cut short, as when the writer stops mid-line (a crash)"
        raise EventLogError(f"not JSON ({detail}){cut}", line=number) from None
