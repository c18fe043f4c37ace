"""``SweepSpec``: a parameter sweep described in TOML (or the built-in default), validated whole
before anything runs.

A sweep is a grid of dotted options (``breaker.fail_max``, ``workload.rate_rps``,
``trace.duration_s``, ...) crossed with a list of trace families, each cell simulated
``replications`` times. Example::

    name = "my-sweep"
    replications = 5
    seed = 1
    horizon_s = 300

    [grid]
    "breaker.fail_max" = [1, 3, 5, 10]
    "breaker.reset_timeout" = [1, 5, 30, 60]

    [base]                              # fixed options for every cell
    "workload.rate_rps" = 200
    "workload.call_timeout_s" = 2.0

    [[traces]]
    family = "hard_down"
    start_s = 30
    duration_s = 120

    [[traces]]
    family = "flapping"

Seeds: a run's seed is derived from the root ``seed``, the cell's *world* (its trace and every
option that is not a breaker option) and the replication number, so every breaker setting
meets the same random numbers (common random numbers) and any cell can be rerun alone.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import math
import pathlib
import tomllib
import typing
from collections.abc import Mapping
from typing import Any

import numpy as np

from breakerlab.model.config import BreakerConfig
from breakerlab.model.options import config_fields, config_from_mapping, parse_value
from breakerlab.model.presets import preset_named

from .. import budget
from ..errors import InvalidConfigError
from ..inputs import InputFileError, read_bytes
from ..scenario import RetryPolicy, Scenario, Service, Workload
from ..streams import check_seed
from ..traces.families import FAMILIES, family_fields, make_trace_spec

__all__ = ["Cell", "SweepSpec", "breaker_side", "default_spec", "load_spec", "valid_options"]

TOP_LEVEL = {
    "name": "shown in the output folder's name and the plots",
    "replications": "runs per cell, each with its own seed; or a table {min, max, confidence, indifference, "
    "max_runs} for adaptive replications (KN)",
    "seed": "the root seed every run's seed is derived from",
    "horizon_s": "simulated seconds per run",
    "bin_s": "time-series bin width",
    "recovery_window_s": "window after the outage for recovery_load_*",
    "baselines": "also simulate no-breaker and oracle runs per world (true/false)",
    "grid": "table of dotted options, each with a list of values",
    "base": "table of dotted options fixed for every cell",
    "traces": "array of tables, each with family = NAME and that family's parameters",
    "objective": "table of metric = weight for the recommendation",
}


def _dataclass_options(prefix: str, cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f"{prefix}.{f.name}": hints[f.name] for f in dataclasses.fields(cls) if f.name != "retry"}


def valid_options() -> dict[str, Any]:
    """Every dotted option a grid or base may set, with its type (``trace.*`` accept any of the
    chosen families' parameters)."""
    options: dict[str, Any] = {f"breaker.{name}": kind for name, kind in config_fields().items()}
    options.update(_dataclass_options("workload", Workload))
    options.update(_dataclass_options("workload.retry", RetryPolicy))
    options.update(_dataclass_options("service", Service))
    options["scenario.serialize_calls"] = bool
    options["breaker.preset"] = str
    for family in FAMILIES:
        for field in family_fields(family):
            options.setdefault(f"trace.{field.name}", field.type)
    return options


#: The largest sweep file read.
MAX_FILE_BYTES = 2**20
#: The longest sweep name (it names the output folder).
MAX_NAME_LENGTH = 100
#: TOML integers are 64-bit (TOML 1.0: larger ones are an error); a float holds them all.
_TOML_INT = (-(2**63), 2**63 - 1)

#: The sweep keys that are single values (the others are tables or arrays of tables).
_SCALARS = ("name", "replications", "seed", "horizon_s", "bin_s", "recovery_window_s", "baselines")


@dataclasses.dataclass(frozen=True)
class Cell:
    """One point of the sweep: a trace family with its parameters and one grid combination.

    Attributes:
        index: Position in the sweep's canonical order (traces outer, grid inner).
        trace: The trace family's name.
        values: Every dotted option this cell sets (base, grid and trace parameters).
        scenario: The validated scenario.
        world: Index of the cell's world (trace and non-breaker options).
        world_key: The world's canonical description (what seeds are derived from).
    """

    index: int
    trace: str
    values: Mapping[str, Any]
    scenario: Scenario
    world: int
    world_key: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepSpec:
    """A validated sweep: build with ``load_spec``, ``default_spec`` or ``SweepSpec.from_mapping``."""

    name: str = "sweep"
    replications: int = 5
    seed: int = 0
    horizon_s: float = 300.0
    bin_s: float = 1.0
    recovery_window_s: float = 10.0
    baselines: bool = True
    grid: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    base: tuple[tuple[str, Any], ...] = ()
    traces: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = (("hard_down", ()),)
    objective: tuple[tuple[str, float], ...] = ()
    #: Adaptive replications (``replications = {min, max, ...}``): the cap on runs per setting
    #: (None: a fixed ``replications`` per cell, no adaptation).
    max_replications: int | None = None
    #: The probability of correct selection the adaptive procedure aims at.
    confidence: float = 0.95
    #: Its indifference zone: a difference in objective units, or a percentage of the best
    #: first-stage mean (``"5%"``, the default).
    indifference: float | str = "5%"
    #: The cap on the adaptive sweep's simulations, baselines included (None: no cap).
    max_runs: int | None = None

    @property
    def adaptive(self) -> bool:
        """Whether replications are added where the best setting is still in doubt."""
        return self.max_replications is not None

    @classmethod
    def from_mapping(cls, document: Mapping[str, Any]) -> SweepSpec:
        """A spec from a parsed TOML document; every key and value is checked (and every cell's
        scenario built) before it returns."""
        _check_integers(document)
        unknown = sorted(set(document) - set(TOP_LEVEL))
        if unknown:
            raise InvalidConfigError(unknown[0], f"a sweep key ({', '.join(TOP_LEVEL)})", document[unknown[0]])
        grid_table = _table(document, "grid")
        base_table = _table(document, "base")
        grid = []
        for key, values in grid_table.items():
            if not isinstance(values, list) or not values:
                raise InvalidConfigError(f"grid.{key}", "a non-empty list of values", values)
            grid.append((key, tuple(values)))
        traces = []
        raw_traces = document.get("traces", [{"family": "hard_down"}])
        if not isinstance(raw_traces, list) or not raw_traces:
            raise InvalidConfigError("traces", "a non-empty array of tables ([[traces]] family = NAME)", raw_traces)
        for position, entry in enumerate(raw_traces):
            if not isinstance(entry, dict) or "family" not in entry:
                raise InvalidConfigError(f"traces[{position}]", "a table with family = NAME", entry)
            if not isinstance(entry["family"], str):
                raise InvalidConfigError(
                    f"traces[{position}].family", 'a string naming a trace family, e.g. family = "hard_down"', entry["family"],
                )
            params = {k: v for k, v in entry.items() if k != "family"}
            traces.append((entry["family"], tuple(params.items())))
        objective = _table(document, "objective")
        # Scalars the document leaves out keep the dataclass's defaults (one copy of them).
        scalars = {key: document[key] for key in _SCALARS if key in document}
        if isinstance(scalars.get("replications"), dict):
            scalars.update(_adaptive(scalars.pop("replications")))
        spec = cls(
            **scalars,
            grid=tuple(grid),
            base=tuple(base_table.items()),
            traces=tuple(traces),
            objective=tuple((k, v) for k, v in objective.items()),
        )
        spec.cells()  # builds and validates every scenario
        spec.check_budget()
        return spec

    def check_budget(self) -> None:
        """Raise if an adaptive sweep's ``max_runs`` cannot hold its first stage, or if the
        sweep, baselines included, plans more than ``budget.MAX_SWEEP_RUNS`` simulations."""
        if self.adaptive and self.max_runs is not None and self.max_runs < self.first_stage_runs():
            raise InvalidConfigError(
                "replications.max_runs", f"at least the first stage's {self.first_stage_runs()} simulations "
                f"(every cell's {self.replications} first replications and the baselines)", self.max_runs,
            )
        cells = self.cells()
        worlds = len({cell.world for cell in cells}) if self.baselines else 0
        self._check_size(len(cells), worlds)

    def _check_size(self, cells: int, worlds: int) -> None:
        """Refuse more cells or (at most) runs than ``budget`` allows; ``worlds``: 0 while unknown."""
        if self.adaptive:
            most = budget.sweep_runs(cells, typing.cast(int, self.max_replications), worlds)
            if self.max_runs is not None and self.max_runs < most:
                budget.check_sweep("replications.max_runs", self.max_runs, cells, self.max_runs,
                                   "lower replications.max_runs (--max-runs)")
            else:
                budget.check_sweep(
                    "replications.max", self.max_replications, cells, most,
                    "lower replications.max, or set replications.max_runs (--max-runs), the budget of simulations",
                )
        runs = budget.sweep_runs(cells, self.replications, worlds)
        field = "replications.min" if self.adaptive else "replications"
        budget.check_sweep(field, self.replications, cells, runs, f"lower {field}, or use fewer grid values")

    def grid_cells(self) -> int:
        """The sweep's cells, counted without building them: traces x the grid's combinations."""
        return len(self.traces) * math.prod(len(values) for _, values in self.grid)

    def first_stage_requests(self) -> float:
        """The requests the first stage simulates (every run's ``budget.offered_requests``,
        each baseline's too): the size of its work."""
        cells = self.cells()
        total = sum(budget.offered_requests(cell.scenario) for cell in cells)
        if self.baselines:
            worlds = {cell.world: cell.scenario for cell in cells}
            total += sum(budget.offered_requests(s) * len(s.baselines) for s in worlds.values())
        return total * self.replications

    def __post_init__(self) -> None:
        if isinstance(self.replications, bool) or not isinstance(self.replications, int) or self.replications < 1:
            field = "replications.min" if self.adaptive else "replications"
            raise InvalidConfigError(field, "an int >= 1", self.replications)
        check_seed(self.seed)
        if self.adaptive:
            self._check_adaptive()
        if not isinstance(self.baselines, bool):
            raise InvalidConfigError("baselines", "true or false", self.baselines)
        if not isinstance(self.name, str):
            raise InvalidConfigError("name", 'a string, e.g. name = "my-sweep"', self.name)
        if not 0 < len(self.name) <= MAX_NAME_LENGTH or any(c in self.name for c in "/\\\0"):
            raise InvalidConfigError(
                "name", f"a non-empty name without slashes, at most {MAX_NAME_LENGTH} characters", self.name
            )
        options = valid_options()
        seen: set[str] = set()
        for key, _ in (*self.grid, *self.base):
            if key in seen:
                raise InvalidConfigError(key, "set once (in grid or in base, not both)", key)
            seen.add(key)
            if key not in options:
                sections = sorted({k.rsplit(".", 1)[0] for k in options})
                same = sorted(k for k in options if k.rsplit(".", 1)[0] == key.rsplit(".", 1)[0])
                listing = ", ".join(same) if same else "sections " + ", ".join(sections)
                raise InvalidConfigError(key, f"a known option ({listing})", key)
        for family, _ in self.traces:
            if family not in FAMILIES:
                raise InvalidConfigError("traces.family", "one of " + ", ".join(map(repr, FAMILIES)), family)
        trace_keys = {k.split(".", 1)[1] for k in seen if k.startswith("trace.")}
        for key in trace_keys:
            if not any(key in {f.name for f in family_fields(f)} for f, _ in self.traces):
                families = ", ".join(f for f, _ in self.traces)
                raise InvalidConfigError(f"trace.{key}", f"a parameter of one of the sweep's traces ({families})", key)
        for metric, weight in self.objective:
            from ..result import metric_definitions

            if metric not in metric_definitions():
                raise InvalidConfigError(f"objective.{metric}", "a metric (" + ", ".join(metric_definitions()) + ")", metric)
            if isinstance(weight, bool) or not isinstance(weight, (int, float)):
                raise InvalidConfigError(f"objective.{metric}", "a number (the metric's weight)", weight)
        self._check_size(self.grid_cells(), 0)  # before any cell is built

    def _check_adaptive(self) -> None:
        most = self.max_replications
        if isinstance(most, bool) or not isinstance(most, int) or most < self.replications:
            raise InvalidConfigError("replications.max", f"an int >= replications.min ({self.replications})", most)
        if self.replications < 2:
            raise InvalidConfigError(
                "replications.min", "an int >= 2 (the adaptive procedure estimates variances from it)", self.replications,
            )
        if isinstance(self.confidence, bool) or not isinstance(self.confidence, (int, float)) or not 0 < self.confidence < 1:
            raise InvalidConfigError("replications.confidence", "a probability in (0, 1), e.g. 0.95", self.confidence)
        self.indifference_zone()
        if self.max_runs is not None and (isinstance(self.max_runs, bool) or not isinstance(self.max_runs, int)
                                          or self.max_runs < 1):
            raise InvalidConfigError("replications.max_runs", "an int >= 1 (simulations in all)", self.max_runs)

    def indifference_zone(self) -> tuple[float | None, float]:
        """The indifference zone as ``(absolute, relative)``: an absolute delta in objective
        units and None, or None and a fraction of the best first-stage mean."""
        delta = self.indifference
        if isinstance(delta, str) and delta.strip().endswith("%"):
            try:
                fraction = float(delta.strip()[:-1]) / 100.0
            except ValueError:
                fraction = math.nan
            if math.isfinite(fraction) and fraction > 0:
                return None, fraction
        elif not isinstance(delta, bool) and isinstance(delta, (int, float)) and math.isfinite(delta) and delta > 0:
            return float(delta), 0.0
        raise InvalidConfigError(
            "replications.indifference",
            "a positive difference in objective units (e.g. 100) or a percentage of the best mean (e.g. \"5%\")", delta,
            hint="the smallest difference in the objective worth telling apart",
        )

    def first_stage_runs(self) -> int:
        """Simulations before any adaptation: every cell's first replications and the baselines."""
        cells = self.cells()
        worlds = len({cell.world for cell in cells}) if self.baselines else 0
        return budget.sweep_runs(len(cells), self.replications, worlds)

    # -- cells -----------------------------------------------------------------------------------

    def cells(self) -> list[Cell]:
        """Every cell in canonical order (traces outer, grid combinations inner, in file order)."""
        return list(self._cells)

    @functools.cached_property
    def _cells(self) -> tuple[Cell, ...]:
        """The cells, built once per spec (each validates a scenario)."""
        cells: list[Cell] = []
        worlds: dict[str, int] = {}
        keys = [key for key, _ in self.grid]
        for family, params in self.traces:
            accepted = {f.name for f in family_fields(family)}
            for combination in itertools.product(*(values for _, values in self.grid)):
                values: dict[str, Any] = dict(self.base)
                values.update(zip(keys, combination))
                trace_params = dict(params)
                for key, value in values.items():
                    if key.startswith("trace.") and key[6:] in accepted:
                        trace_params[key[6:]] = value
                values = {k: v for k, v in values.items() if not k.startswith("trace.") or k[6:] in accepted}
                values.update({f"trace.{k}": v for k, v in trace_params.items()})
                scenario = self._scenario(len(cells), family, trace_params, values)
                world_key = json.dumps(
                    {"trace": family, **{k: v for k, v in values.items() if not breaker_side(k)},
                     "horizon_s": self.horizon_s, "bin_s": self.bin_s},
                    sort_keys=True, default=str,
                )
                world = worlds.setdefault(world_key, len(worlds))
                cells.append(Cell(len(cells), family, values, scenario, world, world_key))
        return tuple(cells)

    def _scenario(self, index: int, family: str, trace_params: dict[str, Any], values: dict[str, Any]) -> Scenario:
        try:
            kinds = {field.name: field.type for field in family_fields(family)}
            for key, value in trace_params.items():
                if isinstance(value, str) and kinds.get(key, "str") != "str":
                    raise InvalidConfigError(
                        f"trace.{key}", f"{'an int' if kinds[key] == 'int' else 'a number'}, not a string "
                        "(write 30, not \"30\")", value,
                    )
            trace = make_trace_spec(family, **trace_params)
            breaker_values = {k[8:]: v for k, v in values.items() if k.startswith("breaker.")}
            preset = preset_named(breaker_values.pop("preset")) if "preset" in breaker_values else None
            breaker = _breaker(breaker_values, BreakerConfig(**preset.options) if preset else None)
            serialize = values.get("scenario.serialize_calls", preset.serializes_calls if preset else False)
            retry = RetryPolicy(**{k[15:]: v for k, v in values.items() if k.startswith("workload.retry.")})
            workload = Workload(
                retry=retry,
                **{k[9:]: _tuple(v) for k, v in values.items() if k.startswith("workload.") and not k.startswith("workload.retry.")},
            )
            service = Service(**{k[8:]: v for k, v in values.items() if k.startswith("service.")})
            return Scenario(
                trace=trace, breaker=breaker, workload=workload, service=service, horizon_s=self.horizon_s,
                bin_s=self.bin_s, recovery_window_s=self.recovery_window_s, name=f"{self.name} cell {index}",
                serialize_calls=serialize,
            )
        except InvalidConfigError as exc:
            exc.add_note(f"in cell {index} of sweep {self.name!r}: trace {family!r} with {values}")
            raise

    def run_seed(self, cell: Cell, replication: int) -> int:
        """The seed of ``cell``'s run number ``replication`` (0-based)."""
        digest = hashlib.sha256(cell.world_key.encode()).digest()
        words = np.frombuffer(digest[:8], dtype=np.uint32).tolist()
        sequence = np.random.SeedSequence(entropy=self.seed, spawn_key=(*words, replication))
        return int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(1))

    def as_mapping(self) -> dict[str, Any]:
        """The spec as TOML-shaped data (what ``from_mapping`` reads)."""
        replications: Any = self.replications
        if self.adaptive:
            replications = {"min": self.replications, "max": self.max_replications, "confidence": self.confidence,
                            "indifference": self.indifference}
            if self.max_runs is not None:
                replications["max_runs"] = self.max_runs
        return {
            "name": self.name, "replications": replications, "seed": self.seed, "horizon_s": self.horizon_s,
            "bin_s": self.bin_s, "recovery_window_s": self.recovery_window_s, "baselines": self.baselines,
            "grid": {k: list(v) for k, v in self.grid},
            "base": dict(self.base),
            "traces": [{"family": family, **dict(params)} for family, params in self.traces],
            "objective": dict(self.objective),
        }


_ADAPTIVE_KEYS = {"min": "replications", "max": "max_replications", "confidence": "confidence",
                  "indifference": "indifference", "max_runs": "max_runs"}


def _adaptive(table: Mapping[str, Any]) -> dict[str, Any]:
    """The spec fields of a ``replications = {min, max, ...}`` table."""
    for key in table:
        if key not in _ADAPTIVE_KEYS:
            raise InvalidConfigError(f"replications.{key}", "a key of the table (" + ", ".join(_ADAPTIVE_KEYS) + ")", key)
    for key in ("min", "max"):
        if key not in table:
            raise InvalidConfigError(f"replications.{key}", "given (replications = {min = 4, max = 64})", "missing")
    return {_ADAPTIVE_KEYS[key]: value for key, value in table.items()}


def breaker_side(key: str) -> bool:
    """Options of the breaker itself (they do not change the world, so not the seeds)."""
    return key.startswith("breaker.") or key == "scenario.serialize_calls"


def _table(document: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise InvalidConfigError(key, "a table ([" + key + "])", value)
    return value


def _tuple(value: Any) -> Any:
    return tuple(tuple(v) if isinstance(v, list) else v for v in value) if isinstance(value, list) else value


def _breaker(values: dict[str, Any], base: BreakerConfig | None = None) -> BreakerConfig:
    typed: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, list):
            value = ",".join(map(str, value))
        kind = config_fields().get(name)
        if isinstance(value, str) and kind is not str:
            value = parse_value(name, value)
        typed[name] = value
    return config_from_mapping(typed, base)


def load_spec(path: str | pathlib.Path) -> SweepSpec:
    """Read and validate a sweep file (a regular file of at most ``MAX_FILE_BYTES``, UTF-8 TOML)."""
    shown = str(path)
    try:
        text = read_bytes(shown, MAX_FILE_BYTES).decode("utf-8")
    except InputFileError as exc:
        raise InvalidConfigError("--config", "a readable TOML file", shown, exc.problem) from None
    except UnicodeDecodeError as exc:
        raise InvalidConfigError(
            "--config", "a UTF-8 text file (TOML)", shown, f"{exc.reason} at byte {exc.start}: is it a sweep file?"
        ) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidConfigError("--config", "valid TOML", shown, str(exc)) from None
    except RecursionError:
        raise InvalidConfigError(
            "--config", "valid TOML", shown, "arrays or tables nested too deeply to read (a sweep file is shallow)"
        ) from None
    except ValueError as exc:  # an integer with more digits than Python converts
        raise InvalidConfigError("--config", "valid TOML", shown, str(exc).split(":")[0]) from None
    return SweepSpec.from_mapping(document)


def _check_integers(document: Mapping[str, Any]) -> None:
    """Every integer in the document is a 64-bit one, as TOML requires (``budget`` and the
    validators compare them with floats)."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((f"{where}.{key}" if where else str(key), item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((f"{where}[{index}]", item) for index, item in enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool) and not _TOML_INT[0] <= value <= _TOML_INT[1]:
            shown = value if abs(value) < 10**30 else _Digits(len(str(abs(value))))
            raise InvalidConfigError(where, "an integer of at most 64 bits (TOML's), below 2**63 in size", shown)


class _Digits(int):
    """A long integer, shown by its length in messages."""

    def __repr__(self) -> str:
        return f"an integer of {int(self)} digits"


def default_spec() -> SweepSpec:
    """The built-in sweep: a fleet calling a fragile dependency through four kinds of outage,
    ``fail_max`` × ``reset_timeout`` (log-spaced from 0.5 s to 120 s), four runs each, then
    adaptive replications (KN, ``selection``) for the settings that can still be the best, up
    to 64 runs each and 800 simulations in all.

    The indifference zone is 1,000 (objective units: one re-crash, or a thousand failed
    requests, about five seconds of the fleet's traffic): smaller differences are not worth
    telling apart.

    The world: 20 caller instances, each with its own pool of 32 workers and its own breaker,
    sharing 200 requests per second and retrying a failed call twice (0.1 s backoff, full
    jitter). They call one capacity-limited service: 16 servers, about 280 calls per second
    when warm, a queue of 200. It crashes after 2 s of overload and is down 10 s. After a
    restart or an outage it comes back cold, at 10% of its capacity, and warms over 30 s, four
    times more slowly while overloaded. So callers that return all at once can knock it down
    again (a metastable failure), and waiting has a price too: every rejection is a request
    that failed.

    The outages last 97 s and the flaps repeat every 16 s: lengths that no reset_timeout of the
    grid divides, so no setting's probes happen to land just after an outage ends. A 1%
    background error rate makes needless trips possible.

    The objective counts what users see, and what the dependency suffers:
    - ``failed``: every request that ended without a success, from any cause, rejections
      included;
    - 1,000 × ``service_crashes_after_fault``: each time the callers knocked the dependency
      down again after the outage ended. A crash pages someone and puts work at risk, so it is
      weighted as a thousand failed requests, about five seconds of the fleet's traffic;
    - 100 × ``overloaded_after_fault_s``: each second the callers kept the recovering dependency
      overloaded (its queue full), weighted as a hundred failed requests: every call waits
      behind a full queue, and two seconds of it crash the service.
    """
    noise = 0.01
    return SweepSpec.from_mapping({
        "name": "default",
        "replications": {"min": 4, "max": 64, "indifference": 1000.0, "max_runs": 800},
        "seed": 2026,
        "horizon_s": 240.0,
        "grid": {
            "breaker.fail_max": [2, 5, 10, 20],
            "breaker.reset_timeout": [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0],
        },
        "base": {
            "workload.rate_rps": 200.0, "workload.instances": 20, "workload.workers": 32,
            "workload.call_timeout_s": 1.0, "workload.retry.max_retries": 2, "workload.retry.backoff_s": 0.1,
            "service.kind": "capacity", "service.servers": 16, "service.queue_limit": 200,
            "service.crash_after_s": 2.0, "service.restart_s": 10.0, "service.warmup_s": 30.0,
        },
        "objective": {"failed": 1.0, "service_crashes_after_fault": 1000.0, "overloaded_after_fault_s": 100.0},
        "traces": [
            {"family": "hard_down", "start_s": 30.0, "duration_s": 97.0, "noise_error_rate": noise},
            {"family": "hang", "start_s": 30.0, "duration_s": 97.0, "noise_error_rate": noise},
            {"family": "brownout", "start_s": 30.0, "duration_s": 97.0, "error_rate": 0.5, "noise_error_rate": noise},
            {"family": "flapping", "start_s": 30.0, "duration_s": 120.0, "down_s": 5.0, "up_s": 11.0,
             "noise_error_rate": noise},
        ],
    })
