"""The simulator's exceptions (all under ``breakerlab.model.BreakerError``)."""

from __future__ import annotations

from breakerlab.model.errors import BreakerError, InvalidConfigError

__all__ = ["InvalidConfigError", "SimulationError", "TraceFileError"]


class SimulationError(BreakerError, RuntimeError):
    """A run could not complete; the notes name its scenario and seed so it can be replayed."""


class TraceFileError(BreakerError, ValueError):
    """A replayed trace file is malformed; the message names the file, the line and the column.

    Attributes:
        path: The file.
        line: 1-based line number (0 when the problem is the whole file).
        column: The column's name (``""`` when the problem is not one column's).
    """

    def __init__(self, path: str, line: int, column: str, problem: str) -> None:
        self.path = path
        self.line = line
        self.column = column
        where = path
        if line:
            where += f", line {line}"
        if column:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")
