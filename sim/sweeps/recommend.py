"""Recommend breaker settings from a sweep's tables: the cell minimising a weighted sum of metrics,
with a 95% confidence interval and whether the runner-up is statistically distinct, and the
Pareto front of two metrics.

The objective is a linear combination ``sum(weight * metric)`` evaluated on each run and then
averaged; lower is better, so metrics where higher is better (``availability``, ``goodput``,
``succeeded``) need a negative weight.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from breakerlab.model import State

from ..errors import InvalidConfigError
from ..result import metric_definitions

__all__ = [
    "DEFAULT_OBJECTIVE",
    "HIGHER_IS_BETTER",
    "baseline_objectives",
    "breaker_columns",
    "format_recommendation",
    "describe_objective",
    "describe_selection",
    "format_value",
    "metric_names",
    "objective_by_setting",
    "pareto_front",
    "parameter_columns",
    "parse_objective",
    "pooled_options",
    "recommend",
    "recommend_overall",
    "run_objective",
]

#: Metrics where a higher value is better; every other metric is better lower.
HIGHER_IS_BETTER: frozenset[str] = frozenset({"availability", "goodput", "succeeded"})

#: "Requests harmed by the breaker's choices": calls it let through that failed (wasted work that
#: holds a worker until it errors or times out) plus good calls it turned away. Both are counts
#: of attempts, so equal weights need no unit conversion, and both are defined on every run
#: (unlike ``time_to_open_s``, undefined when the breaker never opens), so no run is dropped.
#: The first rewards a breaker that trips early and stays open while the service is down; the
#: second punishes one that trips needlessly or stays open after it recovers: the trade-off
#: ``fail_max`` and ``reset_timeout`` control. (``calls_to_unhealthy`` would count the calls that
#: succeed during a brownout as harm too.)
DEFAULT_OBJECTIVE: Mapping[str, float] = {"failed_calls": 1.0, "false_rejections": 1.0}

_STATS = (".mean", ".ci_low", ".ci_high")
_LEVEL = 0.95


def metric_names() -> list[str]:
    """Every numeric metric a run reports, as a column name of the sweep's per-run table."""
    names = [name for name in metric_definitions() if name != "time_in_state_s"]
    return names + [f"time_in_state_s.{state.value}" for state in State]


def parameter_columns(frame: pd.DataFrame) -> list[str]:
    """The dotted parameter columns (``breaker.*``, ``trace.*``, ``workload.*``, ...), in order.

    A column is a parameter when its name has a dot, its first part is not a metric, and it is
    not a summary statistic (``<metric>.mean``, ``.ci_low``, ``.ci_high``).
    """
    metrics = set(metric_definitions())
    return [
        str(column) for column in frame.columns
        if "." in str(column) and str(column).split(".")[0] not in metrics and not str(column).endswith(_STATS)
    ]


def breaker_columns(frame: pd.DataFrame) -> list[str]:
    """The ``breaker.*`` parameter columns, in order."""
    return [column for column in parameter_columns(frame) if column.startswith("breaker.")]


def pareto_front(
    points: pd.DataFrame, x: str, y: str, *, higher_is_better: Collection[str] = ()
) -> pd.DataFrame:
    """The rows of ``points`` that no other row dominates on columns ``x`` and ``y``.

    A row dominates another when it is at least as good on both columns and better on one; lower
    is better unless the column is named in ``higher_is_better``. Rows with NaN in ``x`` or ``y``
    are left out; equal points are all kept.

    Returns:
        The non-dominated rows (original index), sorted by ``x`` ascending then ``y``.

    Raises:
        InvalidConfigError: ``x`` or ``y`` is not a column of ``points``.
    """
    for name, column in (("x", x), ("y", y)):
        if column not in points.columns:
            raise InvalidConfigError(name, f"a column of points ({', '.join(map(str, points.columns))})", column)
    valid = points[np.isfinite(points[x].astype(float)) & np.isfinite(points[y].astype(float))]
    xs = valid[x].to_numpy(dtype=float) * (-1.0 if x in higher_is_better else 1.0)
    ys = valid[y].to_numpy(dtype=float) * (-1.0 if y in higher_is_better else 1.0)
    no_worse = (xs[:, None] <= xs[None, :]) & (ys[:, None] <= ys[None, :])  # [j, i]: j no worse than i
    better = (xs[:, None] < xs[None, :]) | (ys[:, None] < ys[None, :])
    dominated = (no_worse & better).any(axis=0)
    return valid[~dominated].sort_values([x, y], kind="stable")


def format_value(value: float) -> str:
    """A compact number: three significant digits, thousands as ``12,345``, ``—`` for NaN."""
    if not math.isfinite(value):
        return "—" if math.isnan(value) else ("∞" if value > 0 else "-∞")
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _check_weight(name: str, weight: float) -> None:
    """Reject unknown metrics, and weights that would make the minimisation absurd."""
    valid = metric_names()
    if name not in valid:
        close = difflib.get_close_matches(name, valid, n=1)
        raise InvalidConfigError(
            "objective", f"a weighted sum of metrics named from: {', '.join(valid)}", name,
            hint=f"did you mean {close[0]!r}?" if close else "",
        )
    if not math.isfinite(weight) or weight == 0:
        raise InvalidConfigError(f"objective[{name!r}]", "a finite, non-zero weight", weight)
    if name in HIGHER_IS_BETTER and weight > 0:
        raise InvalidConfigError(
            f"objective[{name!r}]", f"negative ({name} is better higher and the objective is minimised)", weight,
        )


def parse_objective(text: str) -> dict[str, float]:
    """Parse ``"time_to_open_s=1,false_rejections=0.01"`` into ``{metric: weight}``.

    A term without ``=weight`` has weight 1. Higher-is-better metrics need negative weights.

    Raises:
        InvalidConfigError: The text is empty, a term is malformed or repeated, a weight is not a
            finite non-zero number, or a metric is unknown (the message lists the valid names).
    """
    terms = [term.strip() for term in text.split(",")]
    if not text.strip():
        raise InvalidConfigError("objective", "one or more 'metric=weight' terms separated by commas", text)
    objective: dict[str, float] = {}
    for term in terms:
        name, equals, weight_text = (part.strip() for part in term.partition("="))
        if not name:
            raise InvalidConfigError("objective", "terms of the form metric=weight, separated by commas", term)
        try:
            weight = float(weight_text) if equals else 1.0
        except ValueError:
            raise InvalidConfigError(
                "objective", "terms of the form metric=<number>", term, hint=f"the weight of {name!r} is not a number",
            ) from None
        if name in objective:
            raise InvalidConfigError("objective", "terms naming each metric once", term, hint=f"{name!r} is repeated")
        _check_weight(name, weight)
        objective[name] = weight
    return objective


def run_objective(rows: pd.DataFrame, objective: Mapping[str, float]) -> pd.Series:
    """Each run's ``sum(weight * metric)`` (``rows``: per-run metrics); NaN where any weighted
    metric is NaN."""
    if not objective:
        raise InvalidConfigError("objective", "a non-empty mapping of metric to weight", dict(objective))
    total = pd.Series(0.0, index=rows.index)
    for name, weight in objective.items():
        _check_weight(name, float(weight))
        if name not in rows.columns:
            raise InvalidConfigError("objective", "metrics that are columns of rows", name)
        total = total + float(weight) * pd.to_numeric(rows[name], errors="coerce").astype(float)
    return total


def _weighted_interval(groups: Sequence[tuple[float, pd.Series]]) -> tuple[float, float, float]:
    """Mean and 95% t interval of ``sum(w_k * mean_k)`` over independent strata ``(w_k, values_k)``.

    The variance is ``sum(w_k**2 * s_k**2 / n_k)``; the degrees of freedom follow
    Welch-Satterthwaite (``n - 1`` for one stratum). The interval is NaN when a stratum has
    fewer than two values.
    """
    mean = sum(weight * float(values.mean()) for weight, values in groups)
    if any(len(values) < 2 for _, values in groups):
        return mean, math.nan, math.nan
    parts = [weight**2 * float(values.var(ddof=1)) / len(values) for weight, values in groups]
    variance = sum(parts)
    if variance == 0:
        return mean, mean, mean
    dof = variance**2 / sum(part**2 / (len(values) - 1) for part, (_, values) in zip(parts, groups))
    half = float(stats.t.ppf(0.5 + _LEVEL / 2, dof)) * math.sqrt(variance)
    return mean, mean - half, mean + half


@dataclasses.dataclass
class _Candidate:
    """One breaker setting's objective within a group of runs."""

    setting: dict[str, object]
    cell: int | None
    mean: float
    low: float
    high: float
    n: int
    n_used: int


def _same_setting(candidate: Mapping[str, object], chosen: Mapping[str, object]) -> bool:
    for key, value in chosen.items():
        if key not in candidate:
            continue
        mine = candidate[key]
        if isinstance(value, (int, float)) and isinstance(mine, (int, float, np.number)):
            if not math.isclose(float(mine), float(value), rel_tol=1e-12, abs_tol=0.0):
                return False
        elif str(mine) != str(value):
            return False
    return True


def _rank(
    runs: pd.DataFrame, params: list[str], coverage: float, label: str, chosen: Mapping[str, object] | None = None
) -> dict[str, object]:
    """The best setting in ``runs`` (columns: params, ``cell``, ``_obj``, ``_stratum``, ``_weight``).

    A setting must have been run in every stratum and have a defined objective on at least
    ``coverage`` of its runs; its objective is the weighted sum of its stratum means. With
    ``chosen`` (an adaptive sweep's selection), that setting is the best and the runner-up is
    the best of the others by mean.
    """
    strata = runs["_stratum"].nunique()
    candidates: list[_Candidate] = []
    for key, unit in runs.groupby(params, sort=False, dropna=False):
        used = unit[np.isfinite(unit["_obj"])]
        groups = [
            (float(values["_weight"].iloc[0]), values["_obj"]) for _, values in used.groupby("_stratum", sort=False)
        ]
        if len(groups) < strata or len(used) < coverage * len(unit):
            continue
        mean, low, high = _weighted_interval(groups)
        cells = unit["cell"].unique()
        values = key if isinstance(key, tuple) else (key,)
        candidates.append(_Candidate(
            dict(zip(params, values)), int(cells[0]) if len(cells) == 1 else None, mean, low, high,
            len(unit), len(used),
        ))
    if not candidates:
        raise InvalidConfigError(
            "objective", f"defined on at least {coverage:.0%} of some setting's runs in every world of {label}",
            "undefined for every setting",
            hint="a weighted metric is NaN (e.g. time_to_open_s when the breaker never opened); lower "
            "coverage to rank settings on their defined runs, or weight a count metric instead",
        )
    candidates.sort(key=lambda c: (c.mean, math.inf if c.cell is None else c.cell))
    if chosen is not None:
        picked = [c for c in candidates if _same_setting(c.setting, chosen)]
        if picked:
            candidates.remove(picked[0])
            candidates.insert(0, picked[0])
    best = candidates[0]
    runner = candidates[1] if len(candidates) > 1 else None
    overlaps = False
    if runner is not None:  # the runner-up's mean is >= the best's: overlap iff its low <= the best's high
        overlaps = not (math.isfinite(runner.low) and math.isfinite(best.high)) or runner.low <= best.high
    return {
        "cell": pd.NA if best.cell is None else best.cell, **best.setting,
        "objective_mean": best.mean, "objective_ci_low": best.low, "objective_ci_high": best.high,
        "n": best.n, "n_used": best.n_used,
        "runner_up_overlaps": overlaps, "runner_up_mean": math.nan if runner is None else runner.mean,
    }


def _prepare(rows: pd.DataFrame, objective: Mapping[str, float], coverage: float) -> tuple[pd.DataFrame, list[str]]:
    """Check the arguments and copy ``rows`` with ``_obj``, each run's objective."""
    if not 0 < coverage <= 1:
        raise InvalidConfigError("coverage", "a fraction in (0, 1]", coverage)
    for column in ("trace", "cell", "breaker.fail_max"):
        if column not in rows.columns:
            raise InvalidConfigError(
                "rows", f"a per-run sweep table with a {column!r} column", sorted(map(str, rows.columns)),
            )
    if rows.empty:
        raise InvalidConfigError("rows", "a non-empty per-run sweep table", "0 rows")
    runs = rows.copy()
    runs["_obj"] = run_objective(rows, objective)
    return runs, breaker_columns(rows)


def pooled_options(rows: pd.DataFrame, *, skip: tuple[str, ...] = ("breaker.",)) -> str:
    """The options that vary among ``rows`` (so a setting's objective pools over them), but
    those whose column starts with one of ``skip``, as ``option (value, value)`` joined by
    ``; ``; empty when nothing is pooled."""
    parts = []
    for column in parameter_columns(rows):
        if column.startswith(skip):
            continue
        values = pd.unique(rows[column].dropna())
        if len(values) > 1:
            shown = ", ".join(format_value(float(v)) if isinstance(v, (int, float, np.number)) else str(v) for v in values)
            parts.append(f"{column} ({shown})")
    return "; ".join(parts)


def describe_selection(record: Mapping[str, object]) -> str:
    """One problem of an adaptive sweep's ``selection.json`` as a readable clause."""
    confidence = float(record["confidence"])  # type: ignore[arg-type]
    delta = format_value(float(record["indifference"]))  # type: ignore[arg-type]
    procedure = f"KN (Kim and Nelson 2001) at {confidence:.0%} confidence, indifference zone {delta}"
    runs = f"{record['runs']} runs"
    identical = int(record.get("identical", 0))  # type: ignore[call-overload]
    tie = (f"; {identical} other setting{'s' if identical != 1 else ''} gave identical results on every run "
           "(the first in grid order is shown)") if identical else ""
    if record["stopped"] == "separated":
        others = int(record["systems"]) - 1 - identical  # type: ignore[call-overload]
        return (f"selected by {procedure}: the other {others} eliminated within {record['replications']} "
                f"replications ({runs}){tie}")
    survivors = list(record["survivors"])  # type: ignore[call-overload]
    means = list(record.get("survivor_means", [math.nan] * len(survivors)))  # type: ignore[call-overload]
    order = sorted(range(len(survivors)), key=lambda i: means[i])
    named = "; ".join(
        f"{_setting(pd.Series(survivors[i]), list(survivors[i]))}: {format_value(float(means[i]))}" for i in order[:4]
    ) + ("; ..." if len(survivors) > 4 else "")
    why = (f"within {record['replications']} replications (the cap)" if record["stopped"] == "max_replications"
           else f"when the sweep's budget ran out at {record['replications']} replications")
    count = f"{len(survivors)} other setting{'s' if len(survivors) != 1 else ''}"
    return f"not separated by {procedure} {why}: {count} still in contention, by mean ({named}) ({runs}){tie}"


def _selected(selection: Mapping[str, object] | None, name: str) -> Mapping[str, object] | None:
    if selection is None:
        return None
    for record in selection["problems"]:  # type: ignore[attr-defined]
        if record["problem"] == name:
            return record  # type: ignore[no-any-return]
    return None


def _table(records: list[dict[str, object]], params: list[str]) -> pd.DataFrame:
    """The records as a frame with the documented columns and dtypes."""
    columns = ["trace", "cell", *params, "objective_mean", "objective_ci_low", "objective_ci_high", "n", "n_used",
               "runner_up_overlaps", "runner_up_mean", "pooled_over", "selection"]
    table = pd.DataFrame.from_records(records, columns=columns)
    return table.astype({"cell": "Int64", "n": "int64", "n_used": "int64", "runner_up_overlaps": "bool"})


def _apply(record: dict[str, object], selected: Mapping[str, object] | None) -> dict[str, object]:
    if selected is not None:
        record["runner_up_overlaps"] = selected["stopped"] != "separated"
        record["selection"] = describe_selection(selected)
    else:
        record["selection"] = ""
    return record


def recommend(
    rows: pd.DataFrame, objective: Mapping[str, float], *, coverage: float = 1.0,
    selection: Mapping[str, object] | None = None,
) -> pd.DataFrame:
    """Per trace family, the breaker setting minimising the mean per-run objective.

    Each run's objective is ``sum(weight * metric)``. A run where a weighted metric is NaN (a
    time metric for something that did not happen) has no objective and is left out; ``n_used``
    counts the runs kept. Leaving runs out flatters a cell (a breaker that rarely opens would be
    judged only on the runs where it did), so by default only cells with every run defined are
    ranked (``coverage=1.0``). When a family was swept in several worlds (e.g. two request
    rates), a setting's objective is the mean over its worlds, each with equal weight, and
    ``pooled_over`` names the options it pooled over.

    Args:
        rows: The sweep's per-run table (``trace``, ``cell``, ``breaker.*`` and metric columns;
            ``world`` if present).
        objective: ``{metric: weight}``, e.g. ``DEFAULT_OBJECTIVE`` or ``parse_objective(...)``.
        coverage: The fraction of a setting's runs that must have a defined objective for it to
            be ranked, in ``(0, 1]``.

    Returns:
        One row per trace family, in order of first appearance: ``trace``, ``cell`` (``<NA>``
        when the setting spans several worlds), the ``breaker.*`` columns, ``objective_mean``,
        ``objective_ci_low``/``objective_ci_high`` (95% t interval; NaN with fewer than two
        runs), ``n``, ``n_used``, ``runner_up_overlaps`` (the second-best setting's interval
        overlaps the best's, or an interval is undefined: the choice is not statistically clear;
        False without a runner-up), ``runner_up_mean`` and ``pooled_over`` (the non-breaker
        options that vary among the family's runs, with their values; empty if none) and
        ``selection`` (empty, or for an adaptive sweep what its procedure decided: then the
        setting is the procedure's leader, and ``runner_up_overlaps`` is True unless the
        procedure separated it from every other).
        selection: An adaptive sweep's ``selection.json`` (``SweepStore.load_selection``),
            made with this objective.

    Raises:
        InvalidConfigError: A column is missing, the objective or ``coverage`` is invalid, or no
            setting of a family meets ``coverage``.
    """
    runs, params = _prepare(rows, objective, coverage)
    runs["_stratum"] = runs["world"] if "world" in runs.columns else runs["trace"]
    records = []
    for trace, group in runs.groupby("trace", sort=False):
        group = group.assign(_weight=1.0 / group["_stratum"].nunique())
        selected = _selected(selection, str(trace))
        chosen = selected["leader"] if selected is not None else None
        records.append(_apply({
            "trace": str(trace), **_rank(group, params, coverage, f"trace {trace!r}", chosen),  # type: ignore[arg-type]
            "pooled_over": pooled_options(group),
        }, selected))
    return _table(records, params)


def recommend_overall(
    rows: pd.DataFrame, objective: Mapping[str, float], *, coverage: float = 1.0,
    selection: Mapping[str, object] | None = None,
) -> pd.DataFrame:
    """The one breaker setting minimising the objective averaged over trace families.

    Each family has equal weight whatever its number of runs (and within a family, each world);
    a setting must have been run in every world. Runs are kept or left out as in ``recommend``.

    Args:
        rows: The sweep's per-run table, as for ``recommend``.
        objective: ``{metric: weight}``.
        coverage: As for ``recommend``.
        selection: As for ``recommend`` (its ``all`` problem).

    Returns:
        One row with ``trace="all"`` and the columns of ``recommend``.

    Raises:
        InvalidConfigError: As for ``recommend``.
    """
    runs, params = _prepare(rows, objective, coverage)
    world = runs["world"] if "world" in runs.columns else runs["trace"]
    runs["_stratum"] = list(zip(runs["trace"], world))
    worlds_per_family = runs.groupby("trace", sort=False)["_stratum"].nunique()
    runs["_weight"] = 1.0 / (len(worlds_per_family) * runs["trace"].map(worlds_per_family))
    selected = _selected(selection, "all")
    chosen = selected["leader"] if selected is not None else None
    record = _apply({
        "trace": "all", **_rank(runs, params, coverage, "all trace families", chosen),  # type: ignore[arg-type]
        "pooled_over": pooled_options(runs, skip=("breaker.", "trace.")),
    }, selected)
    return _table([record], params)


def objective_by_setting(rows: pd.DataFrame, objective: Mapping[str, float]) -> pd.DataFrame:
    """Per trace family and breaker setting, the objective's mean over the runs and its 95%
    interval, pooled over the family's worlds with equal weight (as ``recommend`` ranks them).

    Returns:
        Columns ``trace``, the ``breaker.*`` columns, ``objective_mean``, ``objective_ci_low``,
        ``objective_ci_high`` and ``n`` (runs with a defined objective), in order of first
        appearance; settings whose objective is undefined on every run are left out.
    """
    runs, params = _prepare(rows, objective, 1.0)
    runs["_stratum"] = runs["world"] if "world" in runs.columns else runs["trace"]
    records = []
    for trace, group in runs.groupby("trace", sort=False):
        weight = 1.0 / group["_stratum"].nunique()
        for key, unit in group.groupby(params, sort=False, dropna=False):
            used = unit[np.isfinite(unit["_obj"])]
            if used.empty:
                continue
            strata = [(weight, values["_obj"]) for _, values in used.groupby("_stratum", sort=False)]
            mean, low, high = _weighted_interval(strata)
            values = key if isinstance(key, tuple) else (key,)
            records.append({"trace": str(trace), **dict(zip(params, values)), "objective_mean": mean,
                            "objective_ci_low": low, "objective_ci_high": high, "n": len(used)})
    return pd.DataFrame.from_records(
        records, columns=["trace", *params, "objective_mean", "objective_ci_low", "objective_ci_high", "n"]
    )


def baseline_objectives(baselines: pd.DataFrame, objective: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """Per trace family and baseline policy, the objective's mean over its runs with a defined
    objective, pooled over the family's worlds with equal weight (as ``objective_by_setting``
    pools a setting's): ``{trace: {policy: mean}}``, NaN where no run defines it.

    Args:
        baselines: A sweep's per-run baseline table (``trace``, ``policy``, optionally ``world``,
            and the objective's metrics).
        objective: ``{metric: weight}``.
    """
    for column in ("trace", "policy"):
        if column not in baselines.columns:
            raise InvalidConfigError("baselines", f"a per-run baseline table with a {column!r} column",
                                     sorted(map(str, baselines.columns)))
    runs = baselines.assign(_obj=run_objective(baselines, objective))
    runs["_stratum"] = runs["world"] if "world" in runs.columns else runs["trace"]
    found: dict[str, dict[str, float]] = {}
    for (trace, policy), group in runs.groupby(["trace", "policy"], sort=False):
        means = group[np.isfinite(group["_obj"])].groupby("_stratum", sort=False)["_obj"].mean()
        found.setdefault(str(trace), {})[str(policy)] = float(means.mean()) if len(means) else math.nan
    return found


def describe_objective(objective: Mapping[str, float]) -> str:
    terms = [f"{format_value(abs(w))} × {name}" for name, w in objective.items()]
    signs = [" - " if w < 0 else " + " for w in objective.values()]
    text = ("-" if signs[0] == " - " else "") + terms[0]
    return text + "".join(sign + term for sign, term in zip(signs[1:], terms[1:]))


def _setting(row: pd.Series, params: list[str]) -> str:
    parts = []
    for column in params:
        name, value = column.removeprefix("breaker."), row[column]
        text = format_value(float(value)) if isinstance(value, (int, float, np.number)) else str(value)
        parts.append(f"{name}={text}" + (" s" if name == "reset_timeout" else ""))
    return ", ".join(parts)


def format_recommendation(table: pd.DataFrame, objective: Mapping[str, float]) -> str:
    """A few readable lines: the objective, then each family's (or ``all``) recommended setting.

    Example line: ``hard_down: fail_max=3, reset_timeout=5 s: objective 12.3 (95% CI 10.1–14.5,
    10 runs); the runner-up's interval overlaps``.
    """
    params = breaker_columns(table)
    lines = [f"objective (lower is better): {describe_objective(objective)} per run"]
    definitions = metric_definitions()
    for name, weight in objective.items():
        lines.append(f"  {format_value(weight)} × {name}: {definitions.get(name, 'a metric')}")
    for _, row in table.iterrows():
        low, high = float(row["objective_ci_low"]), float(row["objective_ci_high"])
        runs = f"{row['n_used']} runs" if row["n_used"] == row["n"] else f"{row['n_used']} of {row['n']} runs"
        interval = f"95% CI {format_value(low)}–{format_value(high)}" if math.isfinite(low) else "no CI"
        selection = row.get("selection", "")
        if isinstance(selection, str) and selection:
            verdict = selection
        elif math.isnan(float(row["runner_up_mean"])):
            verdict = "no other setting was ranked"
        elif row["runner_up_overlaps"]:
            runner_up = format_value(float(row["runner_up_mean"]))
            verdict = f"the runner-up's interval overlaps (runner-up {runner_up}): not a clear choice"
        else:
            verdict = "clearly better than the runner-up (the intervals do not overlap)"
        pooled = row.get("pooled_over", "")
        if isinstance(pooled, str) and pooled:
            verdict += f"; averaged with equal weight over {pooled}"
        lines.append(
            f"{row['trace']}: {_setting(row, params)}: objective {format_value(float(row['objective_mean']))} "
            f"({interval}, {runs}); {verdict}"
        )
    return "\n".join(lines)
