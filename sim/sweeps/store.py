"""A sweep's output folder: the spec, one file per finished run (written atomically), and the
tidy tables assembled from them.

Layout::

    OUT/sweep.json          the spec and the package version (what --resume checks)
    OUT/runs/c00012-r003.json   breaker run of cell 12, replication 3 (its identity, rows and,
                                for replication 0, the time series)
    OUT/runs/w0002-r003.json    the baselines of world 2, replication 3
    OUT/runs/rejected/      run files set aside (damaged, or not this sweep's); recomputed
    OUT/selection.json      an adaptive sweep's record: runs per cell, and per trace family
                            (and overall) what the procedure selected and why it stopped
    OUT/results.csv         one row per (cell, replication): every parameter, seed and metric
    OUT/baselines.csv       one row per (world, replication, baseline policy)
    OUT/summary.csv         one row per cell: mean and 95% confidence interval of every metric
    OUT/results.parquet     the same as results.csv, when pyarrow is installed
    OUT/plots/*.png

Every file is written to a temporary name in its folder, flushed to disk and renamed, so a
kill leaves either the old file or the new one, never a torn one. After an interruption the
folder holds exactly the finished runs, and ``--resume`` computes the others. Each run file
carries its identity (the sweep's digest, cell or world, replication, seed), checked against
its name and the sweep before it is reused. The tables are assembled in canonical order from
the run files, so they do not depend on the order runs finished in, or on how many
interruptions there were, and can always be rebuilt from them (``repair_tables``).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import math
import os
import pathlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas and scipy load only where tables are built, not in every worker
    import pandas as pd

import numpy as np

from ..errors import InvalidConfigError
from ..result import metric_definitions
from .runfile import (
    DamagedFileError,
    RejectedRun,
    RunCheck,
    read_json,
    run_name,
    run_problem,
    write_atomically,
    write_text_atomically,
)
from .spec import SweepSpec

__all__ = ["SweepStore", "run_name", "summarise"]

SPEC_FILE = "sweep.json"
SELECTION_FILE = "selection.json"
#: Where run files that cannot be reused are moved (inside ``runs/``).
REJECTED_DIR = "rejected"
#: The tables ``assemble`` writes (besides results.parquet).
TABLES = ("results.csv", "summary.csv", "baselines.csv")


class SweepStore:
    """The output folder of one sweep."""

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.root = pathlib.Path(out_dir)
        self.runs = self.root / "runs"

    @staticmethod
    def fresh_folder(base: str | os.PathLike[str], name: str) -> pathlib.Path:
        """``base/name``, or ``base/name-2``, ``-3``... if taken (an existing sweep is never overwritten)."""
        folder = pathlib.Path(base) / name
        number = 2
        while folder.exists():
            folder = pathlib.Path(base) / f"{name}-{number}"
            number += 1
        return folder

    def create(self, spec: SweepSpec) -> None:
        """Start a new sweep here: the folder must hold no sweep, and no run files or tables of
        one (a sweep whose sweep.json is gone): they are never mixed into a new sweep."""
        if (self.root / SPEC_FILE).exists():
            raise InvalidConfigError(
                "--out", "a folder without a sweep in it", str(self.root),
                "add --resume to finish the sweep there, or choose another --out",
            )
        leftovers = [f"runs/{name}" for name in sorted(self.finished())]
        leftovers += [name for name in (*TABLES, SELECTION_FILE) if (self.root / name).exists()]
        if leftovers:
            raise InvalidConfigError(
                "--out", "a folder without a sweep in it", str(self.root),
                f"it holds files of an earlier sweep ({leftovers[0]}, {len(leftovers)} in all) but no sweep.json, "
                "so they cannot be checked or reused; choose another --out, or move them away",
            )
        self.runs.mkdir(parents=True, exist_ok=True)
        self.replace_spec(spec)

    def replace_spec(self, spec: SweepSpec) -> None:
        """Record ``spec`` as this folder's sweep (a resumed adaptive sweep with a new budget)."""
        document = {"spec": spec.as_mapping(), "version": importlib.metadata.version("breakerlab")}
        write_text_atomically(self.root / SPEC_FILE, json.dumps(document, indent=2, default=str) + "\n")

    def save_selection(self, selection: dict[str, Any]) -> None:
        """Write what an adaptive sweep's procedure decided (``selection.json``)."""
        write_text_atomically(self.root / SELECTION_FILE, json.dumps(selection, indent=2, default=str) + "\n")

    def load_selection(self) -> dict[str, Any] | None:
        """The adaptive procedure's record, or None for a sweep with fixed replications (or one
        whose procedure has not finished)."""
        path = self.root / SELECTION_FILE
        if not path.exists():
            return None
        try:
            result = read_json(path)
            if not isinstance(result, dict) or not isinstance(result.get("runs"), dict):
                raise DamagedFileError("not a record of the adaptive procedure")
        except DamagedFileError as exc:
            raise InvalidConfigError(
                str(path), "the adaptive procedure's record", str(exc),
                f"rebuild it from the saved runs (nothing is simulated again): breakerlab sweep --resume --out {self.root}",
            ) from None
        return result

    def spec_problem(self) -> str | None:
        """What is wrong with this folder's sweep.json (None if it reads as a sweep or is absent)."""
        path = self.root / SPEC_FILE
        if not path.exists():
            return None
        try:
            self._read_spec(path)
        except DamagedFileError as exc:
            return str(exc)
        return None

    def load_spec(self, field: str = "--out") -> SweepSpec:
        """The spec of the sweep in this folder (``field`` names the folder in errors)."""
        path = self.root / SPEC_FILE
        if not path.exists():
            raise InvalidConfigError(field, "a folder holding a sweep (with sweep.json)", str(self.root))
        try:
            return self._read_spec(path)
        except DamagedFileError as exc:
            raise InvalidConfigError(
                str(path), "a sweep written by breakerlab sweep", str(exc),
                "restore it, or resume with the sweep file it was started from (its run files are checked "
                f"against it): breakerlab sweep --config FILE --resume --out {self.root}",
            ) from None

    @staticmethod
    def _read_spec(path: pathlib.Path) -> SweepSpec:
        document = read_json(path)
        if not isinstance(document, dict) or not isinstance(document.get("spec"), dict):
            raise DamagedFileError("no 'spec' table (not a sweep.json written by breakerlab sweep)")
        try:
            return SweepSpec.from_mapping(document["spec"])
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # InvalidConfigError is a ValueError
            raise DamagedFileError(f"its spec is invalid: {exc}") from None

    def finished(self) -> set[str]:
        """Names of the run files present (complete by construction)."""
        if not self.runs.exists():
            return set()
        return {path.name for path in self.runs.glob("*.json")}

    def save_run(self, name: str, payload: dict[str, Any]) -> None:
        """Write one finished run atomically."""
        write_text_atomically(self.runs / name, json.dumps(payload, allow_nan=True) + "\n")

    def read_run(self, name: str) -> dict[str, Any]:
        """One run file's content."""
        try:
            result = read_json(self.runs / name)
            if not isinstance(result, dict):
                raise DamagedFileError("not a run file (a JSON object)")
        except DamagedFileError as exc:
            raise InvalidConfigError(
                str(self.runs / name), "a run file written by breakerlab sweep", str(exc),
                f"set it aside and compute it again: breakerlab sweep --resume --out {self.root}",
            ) from None
        return result

    def check_runs(self, expect: Callable[[str], RunCheck | None]) -> tuple[set[str], list[RejectedRun]]:
        """Sort the run files present into those this sweep can reuse and those it cannot.

        A file is reused only if it reads as JSON and its identity and rows are those
        ``expect(name)`` gives for its name (None: no run of this sweep has that name). Every
        other file is moved to ``runs/rejected/`` (its run is computed again); temporary files
        a killed process left behind are removed.

        Returns:
            The names of the reusable files, and what was set aside.
        """
        if not self.runs.exists():
            return set(), []
        for temporary in self.runs.glob(".*.tmp"):
            temporary.unlink(missing_ok=True)
        reusable: set[str] = set()
        rejected: list[RejectedRun] = []
        for name in sorted(self.finished()):
            check = expect(name)
            if check is None:
                problem: str | None = "no run of this sweep has that name"
            else:
                try:
                    problem = run_problem(read_json(self.runs / name), check)
                except DamagedFileError as exc:
                    problem = f"damaged: {exc}"
            if problem is None:
                reusable.add(name)
            else:
                rejected.append(RejectedRun(name, self._set_aside(name), problem))
        return reusable, rejected

    def _set_aside(self, name: str) -> pathlib.Path:
        folder = self.runs / REJECTED_DIR
        folder.mkdir(exist_ok=True)
        target = folder / name
        number = 2
        while target.exists():
            target = folder / f"{name.removesuffix('.json')}-{number}.json"
            number += 1
        os.replace(self.runs / name, target)
        return target

    # -- tables ----------------------------------------------------------------------------------

    def write_text(self, name: str, text: str) -> pathlib.Path:
        """Write ``text`` (UTF-8) to the file ``name`` of this folder atomically; returns its path."""
        path = self.root / name
        write_text_atomically(path, text)
        return path

    def write_table(self, name: str, frame: pd.DataFrame) -> pathlib.Path:
        """Write ``frame`` without its index to ``name`` (``.csv``, or ``.parquet``) atomically,
        with the bytes pandas itself would write; returns its path."""
        path = self.root / name
        if path.suffix == ".parquet":
            write_atomically(path, lambda stream: frame.to_parquet(stream, index=False))
        else:
            data = frame.to_csv(index=False).encode("utf-8")
            write_atomically(path, lambda stream: stream.write(data))
        return path

    def run_counts(self, spec: SweepSpec) -> dict[int, int]:
        """Runs per cell: ``spec.replications``, or what the adaptive procedure gave each
        (``selection.json``; raises if an adaptive sweep has none yet)."""
        counts = {cell.index: spec.replications for cell in spec.cells()}
        if spec.adaptive:
            selection = self.load_selection()
            if selection is None:
                raise self._unfinished("its adaptive procedure has not finished (no selection.json)")
            counts.update({int(cell): int(n) for cell, n in selection["runs"].items()})
        return counts

    def _unfinished(self, why: str) -> InvalidConfigError:
        return InvalidConfigError(
            "RESULTS_DIR", "a finished sweep (with results.csv)", str(self.root),
            f"{why}; finish it first: breakerlab sweep --resume --out {self.root}",
        )

    def assemble(self, spec: SweepSpec) -> dict[str, pathlib.Path]:
        """Write results.csv, baselines.csv, summary.csv (and results.parquet) from the run files,
        in canonical order; returns the paths written."""
        import pandas as pd

        cells = spec.cells()
        counts = self.run_counts(spec)
        rows = [self.read_run(run_name("c", c.index, r))["row"] for c in cells for r in range(counts[c.index])]
        results = pd.DataFrame(rows)
        written = {"results": self.write_table("results.csv", results),
                   "summary": self.write_table("summary.csv", summarise(results))}
        if spec.baselines:
            baseline_rows = [
                row
                for w in _worlds(spec)
                for r in range(spec.replications)
                for row in self.read_run(run_name("w", w, r))["rows"]
            ]
            written["baselines"] = self.write_table("baselines.csv", pd.DataFrame(baseline_rows))
        if importlib.util.find_spec("pyarrow") is not None:
            written["parquet"] = self.write_table("results.parquet", results)
        return written

    def table_problems(self, spec: SweepSpec) -> dict[str, str]:
        """The tables ``assemble`` writes that are missing, empty, torn or unreadable, each with
        what is wrong (empty if every table is whole)."""
        import pandas as pd

        counts = self.run_counts(spec)
        expected = {"results.csv": sum(counts.values()), "summary.csv": len(counts)}
        if spec.baselines:
            expected["baselines.csv"] = -1  # rows per world and replication: as many as baselines
        if importlib.util.find_spec("pyarrow") is not None:
            expected["results.parquet"] = sum(counts.values())
        problems = {}
        for name, rows in expected.items():
            path = self.root / name
            try:
                if not path.exists():
                    raise DamagedFileError("missing")
                if path.stat().st_size == 0:
                    raise DamagedFileError("empty")
                if path.suffix == ".csv" and not path.read_bytes().endswith(b"\n"):
                    raise DamagedFileError("torn (no end of line at its end)")
                frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
            except DamagedFileError as exc:
                problems[name] = str(exc)
                continue
            except Exception as exc:  # pandas and pyarrow raise many kinds for a torn file
                problems[name] = f"unreadable ({type(exc).__name__})"
                continue
            if rows < 0:
                worlds = [(w, r) for w in _worlds(spec) for r in range(spec.replications)]
                if not {"world", "replication"} <= set(frame.columns):
                    problems[name] = "torn (no world and replication columns)"
                    continue
                sizes = frame.groupby(["world", "replication"]).size()
                if sorted(sizes.index.tolist()) != worlds or sizes.nunique() != 1:
                    problems[name] = "torn (rows missing)"
            elif len(frame) != rows:
                problems[name] = f"torn ({len(frame)} rows, not {rows})"
        return problems

    def repair_tables(self, spec: SweepSpec) -> dict[str, str]:
        """Rebuild the tables from the run files if any is missing, empty, torn or unreadable
        (a kill during ``assemble``); returns what was wrong with each (empty: nothing to do).

        Raises:
            InvalidConfigError: The sweep has not finished (a run file is missing), or a run
                file is damaged (``--resume`` recomputes it).
        """
        problems = self.table_problems(spec)
        if problems:
            counts = self.run_counts(spec)
            names = [run_name("c", cell, r) for cell, n in counts.items() for r in range(n)]
            if spec.baselines:
                names += [run_name("w", w, r) for w in _worlds(spec) for r in range(spec.replications)]
            present = self.finished()
            missing = [name for name in names if name not in present]
            if missing:
                raise self._unfinished(f"{len(missing)} of its runs are missing (runs/{missing[0]}...)")
            self.assemble(spec)
        return problems

    def tables(self) -> dict[str, pd.DataFrame]:
        """The assembled tables (after ``assemble``)."""
        import pandas as pd

        found = {}
        for name in ("results", "summary", "baselines"):
            path = self.root / f"{name}.csv"
            if path.exists():
                try:
                    found[name] = pd.read_csv(path)
                except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
                    raise InvalidConfigError(
                        str(path), "a table written by breakerlab sweep", f"unreadable: {exc}",
                        f"rebuild the tables from the run files: breakerlab plot {self.root}",
                    ) from None
        return found


def _worlds(spec: SweepSpec) -> list[int]:
    return sorted({cell.world for cell in spec.cells()})


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """The metric columns of a results table, in definition order."""
    names = [m for m in metric_definitions() if m in frame.columns]
    names += sorted(c for c in frame.columns if c.startswith("time_in_state_s."))
    return names
def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: its parameters, ``n``, and each metric's ``.mean``, ``.ci_low`` and
    ``.ci_high`` (95% Student t interval over the replications; NaN values, e.g. a breaker that
    never opened, are left out, and the interval needs two values)."""
    import pandas as pd
    from scipy import stats

    metrics = metric_columns(results)
    keys = [c for c in results.columns if c not in metrics and c not in ("replication", "seed")]
    records = []
    for _, group in results.groupby("cell", sort=True):
        record: dict[str, Any] = {k: group[k].iloc[0] for k in keys}
        record["n"] = len(group)
        for metric in metrics:
            values = pd.to_numeric(group[metric], errors="coerce").dropna().to_numpy(dtype=float)
            mean = float(values.mean()) if len(values) else math.nan
            if len(values) >= 2:
                half = float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
            else:
                half = math.nan
            record[f"{metric}.mean"] = mean
            record[f"{metric}.ci_low"] = mean - half
            record[f"{metric}.ci_high"] = mean + half
        records.append(record)
    return pd.DataFrame(records)


def flatten(metrics: dict[str, Any]) -> dict[str, Any]:
    """A metrics dict with ``time_in_state_s`` spread into ``time_in_state_s.<state>`` columns
    (every state present, 0 when not visited) and None as NaN."""
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        if key == "time_in_state_s":
            for state in ("closed", "open", "half_open"):  # a baseline has no states: NaN
                flat[f"time_in_state_s.{state}"] = float(value.get(state, 0.0)) if value else np.nan
        else:
            flat[key] = np.nan if value is None else value
    return flat
