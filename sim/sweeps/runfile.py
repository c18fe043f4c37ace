"""A sweep's run files: their names, the identity each records, whether one can be reused, and
the atomic writes every output of a sweep goes through.

A run file is reused only if it is what its name says in the current sweep: it records the
digest of the sweep's spec, its cell (or world, for baselines), its replication and its seed,
and its rows carry the same labels. Anything else (a truncated or binary file, another sweep's
run, a file copied over another) is set aside and computed again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pathlib
import re
from collections.abc import Callable, Mapping
from typing import IO, Any

from .. import outputs
from ..result import metric_definitions
from .spec import SweepSpec

__all__ = [
    "DamagedFileError", "RejectedRun", "RunCheck", "parse_run_name", "read_json", "run_identity", "run_name",
    "run_problem", "spec_digest", "write_atomically", "write_text_atomically",
]

_RUN_NAME = re.compile(r"(?P<kind>[cw])(?P<index>\d+)-r(?P<replication>\d+)\.json")
_STATES = ("closed", "open", "half_open")


class DamagedFileError(ValueError):
    """A file cannot be read as what it should be; the message says why (``empty``, ...)."""


def write_atomically(path: pathlib.Path, write: Callable[[IO[bytes]], object]) -> None:
    """Have ``write`` fill a temporary file next to ``path``, flush it to disk and rename it to
    ``path``: a reader, or a kill at any moment, sees the old file or the new one, never a part
    (``breakerlab.sim.outputs.write_atomically``)."""
    outputs.write_atomically(path, write)


def write_text_atomically(path: pathlib.Path, text: str) -> None:
    """``write_atomically`` of ``text`` in UTF-8 (newlines as given)."""
    data = text.encode("utf-8")
    write_atomically(path, lambda stream: stream.write(data))


def read_json(path: pathlib.Path) -> Any:
    """The JSON document in ``path``.

    Raises:
        DamagedFileError: It cannot be read, is empty, is not UTF-8 text or not valid JSON.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DamagedFileError(f"unreadable: {exc.strerror or exc}") from None
    if not data.strip():
        raise DamagedFileError("empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DamagedFileError("not text (binary content)") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DamagedFileError(f"not valid JSON: truncated or garbled ({exc})") from None


def run_name(kind: str, index: int, replication: int) -> str:
    """The file name of a run: ``c`` for a breaker cell, ``w`` for a world's baselines."""
    width = 5 if kind == "c" else 4
    return f"{kind}{index:0{width}d}-r{replication:03d}.json"


def parse_run_name(name: str) -> tuple[str, int, int] | None:
    """``(kind, index, replication)`` of a run file's name, or None if ``run_name`` never writes it."""
    match = _RUN_NAME.fullmatch(name)
    if match is None:
        return None
    kind, index, replication = match["kind"], int(match["index"]), int(match["replication"])
    return (kind, index, replication) if run_name(kind, index, replication) == name else None


def _canonical(value: Any) -> Any:
    """``value`` with integral floats as ints, so equal specs (``40`` or ``40.0`` in a file)
    have one digest."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value


def spec_digest(spec: SweepSpec) -> str:
    """The SHA-256 of ``spec``'s canonical mapping, which every run file of its sweep records.

    An adaptive sweep's budget (``max_runs``) is left out: it decides how many runs there are,
    not what any of them holds, so a sweep resumed with a larger budget reuses its runs.
    """
    mapping = spec.as_mapping()
    if isinstance(mapping["replications"], dict):
        mapping["replications"] = {k: v for k, v in mapping["replications"].items() if k != "max_runs"}
    text = json.dumps(_canonical(mapping), sort_keys=True, default=str, allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_identity(digest: str, *, baseline: bool, index: int, replication: int, seed: int) -> dict[str, Any]:
    """What a run file records about itself: its sweep's ``spec_digest``, whether it holds
    baselines, its cell (for baselines, its world), its replication and its seed."""
    return {"sweep": digest, "baseline": baseline, "world" if baseline else "cell": index,
            "replication": replication, "seed": seed}


@dataclasses.dataclass(frozen=True)
class RunCheck:
    """What a run file of the current sweep must hold to be reused.

    Attributes:
        identity: Its ``run_identity``.
        labels: The columns that identify it in the tables, which its row (or each of its
            baseline rows) must hold with these values.
        series: Whether it must hold the time series (replication 0 of a cell).
    """

    identity: Mapping[str, Any]
    labels: Mapping[str, Any]
    series: bool


@dataclasses.dataclass(frozen=True)
class RejectedRun:
    """A run file that was not reused: where it went and why.

    Attributes:
        name: Its name in ``runs/`` (the run is computed again under that name).
        moved_to: Where it was set aside (``runs/rejected/NAME``).
        reason: What is wrong with it.
    """

    name: str
    moved_to: pathlib.Path
    reason: str


def _describe(identity: Mapping[str, Any]) -> str:
    if identity.get("baseline"):
        return f"the baselines of world {identity.get('world')!r}, replication {identity.get('replication')!r}"
    return f"cell {identity.get('cell')!r}, replication {identity.get('replication')!r}"


def run_problem(document: Any, check: RunCheck) -> str | None:
    """Why a run file's ``document`` is not the run ``check`` describes, or None if it is."""
    if not isinstance(document, dict):
        return "not a run file (a JSON object with an identity)"
    identity = document.get("identity")
    expected = dict(check.identity)
    if not isinstance(identity, dict):
        return "it records no identity (written by an older breakerlab, or not a run file)"
    if identity.get("sweep") != expected["sweep"]:
        return "a run of another sweep (its digest is not sweep.json's)"
    if identity != expected:
        return f"it holds {_describe(identity)}, not {_describe(expected)} (a copied or renamed file)"
    if expected["baseline"]:
        rows = document.get("rows")
        if not isinstance(rows, list) or not rows or not all(isinstance(row, dict) for row in rows):
            return "incomplete: no baseline rows"
    else:
        rows = [document.get("row")]
        if not isinstance(rows[0], dict):
            return "incomplete: no row"
        if check.series and not isinstance(document.get("series"), dict):
            return "incomplete: no time series"
    labels = json.loads(json.dumps(dict(check.labels), default=str))  # as the row holds them
    columns = [m for m in metric_definitions() if m != "time_in_state_s"] + [f"time_in_state_s.{s}" for s in _STATES]
    for row in rows:
        wrong = [key for key, value in labels.items() if key not in row or row[key] != value]
        if wrong:
            return f"its row's {wrong[0]!r} does not match its identity"
        missing = [column for column in columns if column not in row]
        if missing:
            return f"incomplete: its row has no {missing[0]!r}"
    return None
