"""A sweep's output folder: the spec, one file per finished run (written atomically), and the
tidy tables assembled from them.

Layout::

    OUT/sweep.json          the spec and the package version (what --resume checks)
    OUT/runs/c00012-r003.json   breaker run of cell 12, replication 3 (rows and, for
                                replication 0, the time series)
    OUT/runs/w0002-r003.json    the baselines of world 2, replication 3
    OUT/selection.json      an adaptive sweep's record: runs per cell, and per trace family
                            (and overall) what the procedure selected and why it stopped
    OUT/results.csv         one row per (cell, replication): every parameter, seed and metric
    OUT/baselines.csv       one row per (world, replication, baseline policy)
    OUT/summary.csv         one row per cell: mean and 95% confidence interval of every metric
    OUT/results.parquet     the same as results.csv, when pyarrow is installed
    OUT/plots/*.png

A run file appears only once complete (written to a temporary name, then renamed), so after an
interruption the folder holds exactly the finished runs, and ``--resume`` computes the others.
The tables are assembled in canonical order from the run files, so they do not depend on the
order runs finished in, or on how many interruptions there were.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import math
import os
import pathlib
import tempfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas and scipy load only where tables are built, not in every worker
    import pandas as pd

import numpy as np

from ..errors import InvalidConfigError
from ..result import metric_definitions
from .spec import SweepSpec

__all__ = ["SweepStore", "run_name", "summarise"]

SPEC_FILE = "sweep.json"
SELECTION_FILE = "selection.json"


def run_name(kind: str, index: int, replication: int) -> str:
    """The file name of a run: ``c`` for a breaker cell, ``w`` for a world's baselines."""
    width = 5 if kind == "c" else 4
    return f"{kind}{index:0{width}d}-r{replication:03d}.json"


def _atomic_write(path: pathlib.Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise


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
        """Start a new sweep here (the folder must not hold one)."""
        if (self.root / SPEC_FILE).exists():
            raise InvalidConfigError(
                "--out", "a folder without a sweep in it", str(self.root),
                "add --resume to finish the sweep there, or choose another --out",
            )
        self.runs.mkdir(parents=True, exist_ok=True)
        document = {"spec": spec.as_mapping(), "version": importlib.metadata.version("breakerlab")}
        _atomic_write(self.root / SPEC_FILE, json.dumps(document, indent=2, default=str) + "\n")

    def replace_spec(self, spec: SweepSpec) -> None:
        """Record ``spec`` as this folder's sweep (a resumed adaptive sweep with a new budget)."""
        document = {"spec": spec.as_mapping(), "version": importlib.metadata.version("breakerlab")}
        _atomic_write(self.root / SPEC_FILE, json.dumps(document, indent=2, default=str) + "\n")

    def save_selection(self, selection: dict[str, Any]) -> None:
        """Write what an adaptive sweep's procedure decided (``selection.json``)."""
        _atomic_write(self.root / SELECTION_FILE, json.dumps(selection, indent=2, default=str) + "\n")

    def load_selection(self) -> dict[str, Any] | None:
        """The adaptive procedure's record, or None for a sweep with fixed replications."""
        path = self.root / SELECTION_FILE
        if not path.exists():
            return None
        result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return result

    def load_spec(self, field: str = "--out") -> SweepSpec:
        """The spec of the sweep in this folder (``field`` names the folder in errors)."""
        path = self.root / SPEC_FILE
        if not path.exists():
            raise InvalidConfigError(field, "a folder holding a sweep (with sweep.json)", str(self.root))
        document = json.loads(path.read_text(encoding="utf-8"))
        return SweepSpec.from_mapping(document["spec"])

    def finished(self) -> set[str]:
        """Names of the run files present (complete by construction)."""
        if not self.runs.exists():
            return set()
        return {path.name for path in self.runs.glob("*.json")}

    def save_run(self, name: str, payload: dict[str, Any]) -> None:
        """Write one finished run atomically."""
        _atomic_write(self.runs / name, json.dumps(payload, allow_nan=True) + "\n")

    def read_run(self, name: str) -> dict[str, Any]:
        """One run file's content."""
        result: dict[str, Any] = json.loads((self.runs / name).read_text(encoding="utf-8"))
        return result

    # -- tables ----------------------------------------------------------------------------------

    def assemble(self, spec: SweepSpec) -> dict[str, pathlib.Path]:
        """Write results.csv, baselines.csv, summary.csv (and results.parquet) from the run files,
        in canonical order; returns the paths written."""
        import pandas as pd

        cells = spec.cells()
        counts = {c.index: spec.replications for c in cells}
        selection = self.load_selection() if spec.adaptive else None
        if selection is not None:
            counts.update({int(cell): int(n) for cell, n in selection["runs"].items()})
        rows = [self.read_run(run_name("c", c.index, r))["row"] for c in cells for r in range(counts[c.index])]
        results = pd.DataFrame(rows)
        written = {"results": self.root / "results.csv", "summary": self.root / "summary.csv"}
        results.to_csv(written["results"], index=False)
        summarise(results).to_csv(written["summary"], index=False)
        if spec.baselines:
            worlds = sorted({c.world for c in cells})
            baseline_rows = [
                row
                for w in worlds
                for r in range(spec.replications)
                for row in self.read_run(run_name("w", w, r))["rows"]
            ]
            written["baselines"] = self.root / "baselines.csv"
            pd.DataFrame(baseline_rows).to_csv(written["baselines"], index=False)
        if importlib.util.find_spec("pyarrow") is not None:
            written["parquet"] = self.root / "results.parquet"
            results.to_parquet(written["parquet"], index=False)
        return written

    def tables(self) -> dict[str, pd.DataFrame]:
        """The assembled tables (after ``assemble``)."""
        import pandas as pd

        found = {}
        for name in ("results", "summary", "baselines"):
            path = self.root / f"{name}.csv"
            if path.exists():
                found[name] = pd.read_csv(path)
        return found


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
