"""Merging the event logs of processes sharing one breaker (``breakerlab.runtime.shared``) into
one replayable history, ordered by the fleet-wide ``seq`` the store gives every event."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

from breakerlab.model.files import open_regular_file

from .eventlog import MAX_LOG_BYTES, EventLogError

__all__ = ["merge_event_logs", "merged_lines"]


def _parse(text: str, source: str, line: int) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise EventLogError(f"not JSON: {exc}", line=line, source=source) from None


def merged_lines(sources: Sequence[str | os.PathLike[str]], *, max_bytes: int = MAX_LOG_BYTES) -> list[str]:
    """The lines of one log holding every event of ``sources``: one header, then the events
    by ``seq`` (each line ends with a newline).

    Raises:
        EventLogError: a log is empty or not JSON lines, its events carry no integer ``seq``,
            the logs were written for different breakers or configurations (their headers
            differ), two events have the same ``seq``, or together they exceed ``max_bytes``.
        OSError: a log cannot be read (``NotRegularFileError``: it is not a regular file).
    """
    head: Any = None
    head_line = ""
    events: list[tuple[int, str]] = []
    total = 0
    for path in sources:
        name = os.fspath(path)
        stream, size = open_regular_file(path)
        total += size
        if total > max_bytes:
            stream.close()
            raise EventLogError(f"the logs hold more than {max_bytes} bytes (--max-bytes)", source=name)
        with io.TextIOWrapper(stream, encoding="utf-8", errors="replace") as text:
            first = text.readline()
            if not first.strip():
                raise EventLogError("the log is empty; expected a config line first", line=1, source=name)
            parsed = _parse(first, name, 1)
            if head is None:
                head, head_line = parsed, first if first.endswith("\n") else first + "\n"
            elif parsed != head:
                raise EventLogError(
                    "written for another breaker or configuration than the first log", line=1, source=name
                )
            for number, line in enumerate(text, start=2):
                if not line.strip():
                    continue
                record = _parse(line, name, number)
                seq = record.get("seq") if isinstance(record, dict) else None
                if not isinstance(seq, int) or isinstance(seq, bool):
                    raise EventLogError("an event without an integer 'seq'", line=number, source=name)
                events.append((seq, line if line.endswith("\n") else line + "\n"))
    if head is None:
        raise EventLogError("no logs to merge")
    events.sort(key=lambda item: item[0])
    for (seq, _), (following, _) in zip(events, events[1:]):
        if seq == following:
            raise EventLogError(f"two events have seq {seq}: were these logs written by one fleet, each once?")
    return [head_line, *(line for _, line in events)]


def merge_event_logs(sources: Iterable[str | os.PathLike[str]], target: str | os.PathLike[str]) -> int:
    """Merge the JSON-lines logs of every process sharing one breaker into ``target`` (see
    ``merged_lines``); returns the number of events. ``breakerlab replay TARGET`` (or
    ``breakerlab replay LOG LOG ...``) then re-checks the fleet's whole history against the
    reference model."""
    lines = merged_lines(list(sources))
    with open(target, "w", encoding="utf-8") as out:
        out.writelines(lines)
    return len(lines) - 1
