"""Replayed traces: load a real incident's measured timeline from a CSV or JSON file as a ``Trace``.

A trace file lists conditions in time order; each row (CSV) or entry (JSON) gives the service's
condition from its time on, until the next one (piecewise constant). Columns:

- ``time_s`` (seconds) or ``time`` (an ISO-8601 timestamp; seconds are counted from the first
  row's), required;
- any of ``Condition``'s fields, optional: ``error_rate``, ``hang``, ``latency_factor``,
  ``extra_latency_s``, ``capacity_factor``, ``load_factor``, ``paused``, ``healthy``. An empty
  CSV cell or a missing (or ``null``) JSON key takes the field's default; a missing ``healthy``
  is derived (see ``derived_health``). Booleans are ``true``/``false``, ``yes``/``no`` or
  ``1``/``0`` (any case), or JSON booleans.

If the first row's time is after 0, the service is as usual (``Condition()``) until then. A
JSON file is a list of entries, or an object ``{"name": ..., "segments": [entries]}``. Every
problem raises ``TraceFileError`` naming the file, the 1-based line and the column.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
import math
import os
import pathlib
import re
import sys

from ..errors import InvalidConfigError, TraceFileError
from ..inputs import InputFileError, read_bytes
from .trace import Condition, Segment, Trace

__all__ = ["COLUMNS", "EXAMPLE_INCIDENT", "MAX_FILE_BYTES", "load_trace"]

#: The largest trace file read (a day at one row per 100 ms is about 35 MB of CSV at most).
MAX_FILE_BYTES = 64 * 2**20

#: A shipped example timeline (a database failover), for ``--trace replay --path``.
EXAMPLE_INCIDENT = pathlib.Path(__file__).resolve().parents[1] / "data" / "example-incident.csv"

_TIME_COLUMNS = ("time_s", "time")
_CONDITION_TYPES = {field.name: str(field.type) for field in dataclasses.fields(Condition)}
#: Every column (CSV) or key (JSON) a trace file may have.
COLUMNS: tuple[str, ...] = (*_TIME_COLUMNS, *_CONDITION_TYPES)
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NO_TIME = "'time_s' (seconds) or 'time' (an ISO-8601 timestamp)"
_SHOWN = 60  # characters of a value shown in a message


@dataclasses.dataclass(frozen=True)
class _Row:
    """One row or entry: where it begins, and its given values (absent: the default)."""

    line: int
    cells: dict[str, object]


def load_trace(path: str | os.PathLike[str]) -> Trace:
    """Load a replayed trace from a ``.csv`` or ``.json`` file.

    Args:
        path: The file; its extension chooses the format.

    Returns:
        The trace, named by the JSON ``"name"`` if given, else by the file's stem.

    Raises:
        TraceFileError: the file cannot be read or is malformed; the message names the file,
            the line and the column, and says what is expected.
    """
    shown = os.fspath(path)
    suffix = pathlib.Path(shown).suffix.lower()
    if suffix not in (".csv", ".json"):
        raise TraceFileError(shown, 0, "", f"must be a .csv or .json file (got {suffix or 'no extension'!r})")
    text = _read(shown)
    if not text.strip():
        raise TraceFileError(shown, 0, "", f"is empty: expected rows in time order, each with {_NO_TIME}")
    name: str | None = None
    if suffix == ".csv":
        column, rows = _csv_rows(shown, text)
    else:
        name, rows = _json_rows(shown, text)
        column = _json_time_column(shown, rows[0])
    return Trace(name if name is not None else pathlib.Path(shown).stem, _segments(shown, column, rows))


def _read(path: str) -> str:
    try:
        data = read_bytes(path, MAX_FILE_BYTES)
    except InputFileError as error:
        raise TraceFileError(path, 0, "", error.problem) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise TraceFileError(path, 0, "", f"is not UTF-8 text ({error.reason} at byte {error.start})") from None


# -- CSV --------------------------------------------------------------------------------------------


def _csv_rows(path: str, text: str) -> tuple[str, list[_Row]]:
    """The time column and the data rows."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[_Row] = []
    consumed = 0  # physical lines read so far
    try:
        for cells in reader:
            line, consumed = consumed + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank line, or only separators
            if header is None:
                header = _header(path, line, cells)
                continue
            if len(cells) < len(header):
                missing = ", ".join(header[len(cells) :])
                raise TraceFileError(
                    path, line, header[len(cells)], f"is missing: the row has {len(cells)} cells but the header "
                    f"has {len(header)} columns (missing: {missing}); leave a cell empty for the default"
                )
            if len(cells) > len(header):
                raise TraceFileError(
                    path, line, "", f"has {len(cells)} cells but the header has {len(header)} columns "
                    f"({', '.join(header)})"
                )
            rows.append(_Row(line, {column: cell for column, cell in zip(header, cells) if cell.strip()}))
    except csv.Error as error:
        raise TraceFileError(path, reader.line_num, "", f"is not valid CSV ({error})") from None
    if header is None or not rows:
        raise TraceFileError(path, 0, "", "has no data rows: expected a header, then one row per change of condition")
    return next(column for column in header if column in _TIME_COLUMNS), rows


def _header(path: str, line: int, cells: list[str]) -> list[str]:
    header = [cell.strip() for cell in cells]
    for position, column in enumerate(header, start=1):
        if not column:
            raise TraceFileError(path, line, "", f"header cell {position} is empty: name every column")
        if header.count(column) > 1:
            raise TraceFileError(path, line, column, "appears twice in the header")
    times = [column for column in header if column in _TIME_COLUMNS]
    if not times:
        raise TraceFileError(path, line, "", f"has no time column: found {', '.join(header)}; expected {_NO_TIME}")
    if len(times) > 1:
        raise TraceFileError(path, line, "time", "cannot be given with 'time_s': keep one time column")
    for column in header:
        if column not in COLUMNS:
            raise TraceFileError(path, line, column, f"is not a known column; valid columns: {', '.join(COLUMNS)}")
    return header


# -- JSON -------------------------------------------------------------------------------------------


def _json_rows(path: str, text: str) -> tuple[str | None, list[_Row]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise TraceFileError(path, error.lineno, "", f"is not valid JSON at character {error.colno} ({error.msg})") from None
    except RecursionError:
        raise TraceFileError(path, 0, "", "is nested too deeply to read: a trace is a list of flat entries") from None
    except ValueError as error:  # an integer with more digits than Python converts
        reason = str(error).split(":")[0]
        raise TraceFileError(path, 0, "", f"holds a number that cannot be read ({reason})") from None
    start = _skip(text, 0)
    name: str | None = None
    if isinstance(document, list):
        entries = _array_items(text, start)
    elif isinstance(document, dict):
        members = _object_members(text, start)
        for key, (offset, _) in members.items():
            if key not in ("name", "segments"):
                raise TraceFileError(
                    path, _line(text, offset), key, "is not a known key; a trace object has 'name' and 'segments'"
                )
        if "segments" not in members:
            raise TraceFileError(path, _line(text, start), "segments", "is missing: list the entries under it")
        if "name" in members:
            offset, value = members["name"]
            if not isinstance(value, str):
                raise TraceFileError(path, _line(text, offset), "name", f"must be a string (got {_shown(value)})")
            name = value
        offset, segments = members["segments"]
        if not isinstance(segments, list):
            raise TraceFileError(path, _line(text, offset), "segments", "must be a list of entries")
        entries = _array_items(text, offset)
    else:
        raise TraceFileError(
            path, _line(text, start), "", 'must hold a list of entries or an object {"name": ..., "segments": [...]}'
        )
    rows: list[_Row] = []
    for offset, entry in entries:
        line = _line(text, offset)
        if not isinstance(entry, dict):
            raise TraceFileError(path, line, "", f'each entry must be an object like {{"time_s": 0}} (got {_shown(entry)})')
        for key in entry:
            if key not in COLUMNS:
                raise TraceFileError(path, line, key, f"is not a known key; valid keys: {', '.join(COLUMNS)}")
        rows.append(_Row(line, {key: value for key, value in entry.items() if value is not None}))
    if not rows:
        raise TraceFileError(path, 0, "", "has no entries: expected one per change of condition")
    return name, rows


def _skip(text: str, index: int) -> int:
    match = _WHITESPACE.match(text, index)
    return match.end() if match else index


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _array_items(text: str, start: int) -> list[tuple[int, object]]:
    """The elements of the (valid) JSON array at ``start``, each with its starting offset."""
    decoder = json.JSONDecoder()
    items: list[tuple[int, object]] = []
    index = _skip(text, start + 1)
    while text[index] != "]":
        value, end = decoder.raw_decode(text, index)
        items.append((index, value))
        index = _skip(text, end)
        if text[index] == ",":
            index = _skip(text, index + 1)
    return items


def _object_members(text: str, start: int) -> dict[str, tuple[int, object]]:
    """The members of the (valid) JSON object at ``start``: key -> (value's offset, value)."""
    decoder = json.JSONDecoder()
    members: dict[str, tuple[int, object]] = {}
    index = _skip(text, start + 1)
    while text[index] != "}":
        key, end = decoder.raw_decode(text, index)
        index = _skip(text, _skip(text, end) + 1)  # past the colon
        value, end = decoder.raw_decode(text, index)
        members[str(key)] = (index, value)
        index = _skip(text, end)
        if text[index] == ",":
            index = _skip(text, index + 1)
    return members


# -- rows to segments -------------------------------------------------------------------------------


def _json_time_column(path: str, first: _Row) -> str:
    """The first entry's time key, which every entry must use."""
    column = next((c for c in _TIME_COLUMNS if c in first.cells), None)
    if column is None:
        found = ", ".join(first.cells) or "nothing"
        raise TraceFileError(path, first.line, "", f"has no time: found {found}; expected {_NO_TIME}")
    return column


def _segments(path: str, column: str, rows: list[_Row]) -> list[Segment]:
    other = "time" if column == "time_s" else "time_s"
    segments: list[Segment] = []
    origin: datetime.datetime | None = None
    previous: tuple[float, object, int] | None = None  # time, as written, line
    for row in rows:
        if other in row.cells:
            problem = f"cannot be mixed with {column!r}: use {column!r} like the first row"
            raise TraceFileError(path, row.line, other, problem)
        raw = row.cells.get(column)
        if raw is None:
            raise TraceFileError(path, row.line, column, "is missing: every row needs a time")
        if column == "time_s":
            time_s = _number(path, row.line, column, raw)
            if not (math.isfinite(time_s) and time_s >= 0):
                raise TraceFileError(path, row.line, column, f"must be a finite number >= 0 (got {_shown(raw)})")
        else:
            stamp = _timestamp(path, row.line, raw, origin)
            if origin is None:
                origin = stamp
            time_s = (stamp - origin).total_seconds()
        if previous is not None and time_s <= previous[0]:
            raise TraceFileError(
                path, row.line, column, f"must be later than the previous row's {_shown(previous[1])} (line {previous[2]}) "
                f"(got {_shown(raw)}): rows must be in strictly increasing time order"
            )
        previous = (time_s, raw, row.line)
        segments.append(Segment(time_s, _condition(path, row)))
    if segments[0].start_s > 0:
        segments.insert(0, Segment(0.0, Condition()))
    return segments


def _condition(path: str, row: _Row) -> Condition:
    values: dict[str, float | bool] = {}
    for column, raw in row.cells.items():
        kind = _CONDITION_TYPES.get(column)
        if kind is not None:
            parse = _boolean if "bool" in kind else _number
            values[column] = parse(path, row.line, column, raw)
    try:
        return Condition(**values)  # type: ignore[arg-type]
    except InvalidConfigError as error:
        raw = row.cells.get(error.field, error.value)
        raise TraceFileError(path, row.line, error.field, f"must be {error.rule} (got {_shown(raw)})") from None


def _shown(value: object) -> str:
    """``repr(value)``, shortened if long (a cell may hold thousands of digits)."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to convert to text
        return "an integer of thousands of digits"
    return text if len(text) <= _SHOWN else f"{text[: _SHOWN // 2]}...{text[-8:]} ({len(text):,} characters)"


def _number(path: str, line: int, column: str, raw: object) -> float:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        try:
            return float(raw)
        except OverflowError:  # a JSON integer beyond any float
            raise TraceFileError(
                path, line, column, f"must be a number a float can hold, at most {sys.float_info.max:.4g} "
                f"(got {_shown(raw)})"
            ) from None
    if isinstance(raw, str):
        try:
            return float(raw.strip())
        except ValueError:
            pass
    raise TraceFileError(path, line, column, f"must be a number (got {_shown(raw)})")


def _boolean(path: str, line: int, column: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    word = raw.strip().lower() if isinstance(raw, str) else None
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise TraceFileError(path, line, column, f"must be true or false (or yes/no, 1/0) (got {_shown(raw)})")


def _timestamp(path: str, line: int, raw: object, origin: datetime.datetime | None) -> datetime.datetime:
    try:
        stamp = datetime.datetime.fromisoformat(raw.strip()) if isinstance(raw, str) else None
    except ValueError:
        stamp = None
    if stamp is None:
        raise TraceFileError(
            path, line, "time", f"must be an ISO-8601 timestamp such as '2024-03-01T12:00:00Z' (got {_shown(raw)})"
        )
    if origin is not None and (stamp.tzinfo is None) != (origin.tzinfo is None):
        which = "no time zone" if origin.tzinfo is None else "a time zone"
        raise TraceFileError(path, line, "time", f"must have {which}, like the first row's (got {_shown(raw)})")
    return stamp
