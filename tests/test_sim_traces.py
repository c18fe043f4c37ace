"""Tests of outage traces: the synthetic families, their registry, and replayed trace files."""

from __future__ import annotations

import dataclasses
import importlib.resources
import pathlib
import re
from collections.abc import Callable

import numpy as np
import pytest

from breakerlab.sim.errors import InvalidConfigError, TraceFileError
from breakerlab.sim.traces.families import (
    FAMILIES,
    BackgroundNoise,
    Brownout,
    CapacityLoss,
    FlappingRandom,
    FlappingSquare,
    GcPauses,
    HardDown,
    HardDownHang,
    Healthy,
    LatencySpike,
    LoadSpike,
    ReplayFile,
    SlowRecovery,
    TraceFamily,
    family_fields,
    family_names,
    make_trace_spec,
)
from breakerlab.sim.traces.files import load_trace
from breakerlab.sim.traces.trace import Condition, Segment, Trace, TraceSpec

HORIZON_S = 600.0
DOWN = Condition(error_rate=1.0, healthy=False)


def build(family: TraceFamily, horizon_s: float = HORIZON_S, seed: int = 0) -> Trace:
    return family.build(horizon_s, np.random.default_rng(seed))


# -- families -------------------------------------------------------------------------------------


def test_healthy_has_one_healthy_segment_with_the_noise() -> None:
    """The healthy family is one healthy segment at 0 whose error rate is the noise."""
    trace = build(Healthy(noise_error_rate=0.2))
    assert trace.segments == (Segment(0.0, Condition(error_rate=0.2, healthy=True)),)
    assert trace.fault_windows(HORIZON_S) == []
    assert trace.name == "healthy"


@pytest.mark.parametrize(
    ("family", "fault"),
    [
        (HardDown(), DOWN),
        (HardDownHang(), Condition(hang=True, healthy=False)),
        (Brownout(), Condition(error_rate=0.3, healthy=False)),
        (LatencySpike(), Condition(latency_factor=20.0, healthy=False)),
        (CapacityLoss(), Condition(capacity_factor=0.3, healthy=False)),
    ],
)
def test_windowed_family_is_faulty_exactly_during_its_window(family: TraceFamily, fault: Condition) -> None:
    """A windowed family holds its fault condition during [start, start + duration) and is healthy otherwise."""
    trace = build(family)
    assert trace.segments == (Segment(0.0, Condition(healthy=True)), Segment(60.0, fault), Segment(180.0, Condition()))
    assert trace.fault_windows(HORIZON_S) == [(60.0, 180.0)]
    assert trace.name == family.name


def test_load_spike_multiplies_the_load_during_its_short_window() -> None:
    """The load spike's default window is 10 s long, unhealthy, with the load multiplied."""
    trace = build(LoadSpike(load_factor=3.0))
    assert trace.fault_windows(HORIZON_S) == [(60.0, 70.0)]
    assert trace.condition_at(65.0) == Condition(load_factor=3.0, healthy=False)


def test_noise_is_kept_in_healthy_segments_and_under_non_error_faults() -> None:
    """noise_error_rate sets the healthy segments' error rate (still labelled healthy) and continues under a
    latency spike."""
    trace = build(LatencySpike(noise_error_rate=0.1))
    assert trace.condition_at(0.0) == Condition(error_rate=0.1, healthy=True)
    assert trace.condition_at(599.0) == Condition(error_rate=0.1, healthy=True)
    assert trace.condition_at(100.0) == Condition(error_rate=0.1, latency_factor=20.0, healthy=False)


def test_brownout_error_rate_is_at_least_the_noise() -> None:
    """A brownout's error rate is the larger of its own and the background noise."""
    assert build(Brownout(error_rate=0.1, noise_error_rate=0.2)).condition_at(100.0).error_rate == 0.2
    assert build(Brownout(error_rate=0.5, noise_error_rate=0.2)).condition_at(100.0).error_rate == 0.5


def test_fault_at_time_zero_and_beyond_the_horizon() -> None:
    """A fault may start at 0 (it is then the first segment) and may extend beyond the horizon (clipped)."""
    trace = build(HardDown(start_s=0.0, duration_s=1000.0))
    assert trace.segments[0] == Segment(0.0, DOWN)
    assert trace.fault_windows(HORIZON_S) == [(0.0, HORIZON_S)]


def test_flapping_square_alternates_and_cuts_the_last_period() -> None:
    """Flapping is down for down_s then up for up_s from the start, the last period cut at the window's end."""
    trace = build(FlappingSquare(start_s=60.0, duration_s=23.0, down_s=5.0, up_s=5.0))
    assert trace.fault_windows(HORIZON_S) == [(60.0, 65.0), (70.0, 75.0), (80.0, 83.0)]
    assert trace.condition_at(67.0) == Condition(healthy=True)
    assert trace.condition_at(83.0).is_healthy


def test_flapping_square_stops_at_the_horizon() -> None:
    """Periods starting at or after the horizon are left out, and the last included one still ends."""
    trace = build(FlappingSquare(start_s=0.0, duration_s=1e9, down_s=2.0, up_s=3.0), horizon_s=12.0)
    assert trace.fault_windows(12.0) == [(0.0, 2.0), (5.0, 7.0), (10.0, 12.0)]
    assert trace.condition_at(12.0).is_healthy
    assert len(trace.segments) == 6


def test_flapping_random_is_determined_by_the_seed() -> None:
    """The same seed gives the same trace, a different seed a different one."""
    family = FlappingRandom()
    assert build(family, seed=7) == build(family, seed=7)
    assert build(family, seed=7) != build(family, seed=8)


def test_flapping_random_long_run_unhealthy_fraction_is_one_minus_availability() -> None:
    """Over a long window the unhealthy fraction approaches 1 - availability.

    With mean_down 5 s and availability 0.9 a down/up cycle averages 50 s, so 1e6 s holds about
    20,000 cycles; the fraction's standard error is about 0.0015, and 0.01 is over six of them.
    """
    duration_s = 1e6
    trace = build(FlappingRandom(start_s=0.0, duration_s=duration_s, availability=0.9), horizon_s=duration_s)
    down_s = sum(end - start for start, end in trace.fault_windows(duration_s))
    assert down_s / duration_s == pytest.approx(0.1, abs=0.01)
    assert FlappingRandom(availability=0.9, mean_down_s=5.0).mean_up_s == pytest.approx(45.0)


def test_flapping_random_stays_inside_its_window() -> None:
    """Every fault of flapping_random lies inside [start, start + duration), starting with a down period."""
    trace = build(FlappingRandom(start_s=60.0, duration_s=300.0, availability=0.5), seed=3)
    windows = trace.fault_windows(HORIZON_S)
    assert windows[0][0] == 60.0
    assert all(60.0 <= start < end <= 360.0 for start, end in windows)
    assert trace.condition_at(360.0).is_healthy


def test_slow_recovery_ramps_capacity_up_and_errors_down() -> None:
    """After the hard outage, step k of the ramp has capacity f = (k + 0.5) / steps and error rate 1 - f."""
    trace = build(SlowRecovery(start_s=60.0, duration_s=120.0, ramp_s=40.0, steps=4))
    assert trace.fault_windows(HORIZON_S) == [(60.0, 220.0)]
    assert trace.condition_at(100.0) == DOWN
    ramp = [trace.condition_at(180.0 + 10.0 * k + 5.0) for k in range(4)]
    assert [c.capacity_factor for c in ramp] == [0.125, 0.375, 0.625, 0.875]
    assert [c.error_rate for c in ramp] == [0.875, 0.625, 0.375, 0.125]
    assert trace.boundaries() == (0.0, 60.0, 180.0, 190.0, 200.0, 210.0, 220.0)


def test_slow_recovery_error_rate_is_at_least_the_noise_and_a_zero_ramp_has_no_steps() -> None:
    """Ramp error rates never fall below the noise; with ramp_s 0 the outage ends abruptly."""
    trace = build(SlowRecovery(ramp_s=40.0, steps=4, noise_error_rate=0.3))
    assert trace.condition_at(215.0).error_rate == 0.3
    abrupt = build(SlowRecovery(ramp_s=0.0))
    assert abrupt.boundaries() == (0.0, 60.0, 180.0)


def test_background_noise_is_healthy_errors_throughout() -> None:
    """The noise family is one healthy segment with the larger of its two error rates."""
    assert build(BackgroundNoise(error_rate=0.3)).segments == (Segment(0.0, Condition(error_rate=0.3, healthy=True)),)
    assert build(BackgroundNoise(error_rate=0.1, noise_error_rate=0.2)).condition_at(5.0).error_rate == 0.2
    assert build(BackgroundNoise(error_rate=0.3)).fault_windows(HORIZON_S) == []


def test_gc_pauses_repeat_until_the_horizon_and_extend_calls() -> None:
    """Pauses start at start_s + k * period_s before the horizon, and a call running into one is extended by
    the pause's length."""
    trace = build(GcPauses(start_s=10.0, period_s=30.0, pause_s=2.0), horizon_s=100.0)
    assert trace.fault_windows(100.0) == [(10.0, 12.0), (40.0, 42.0), (70.0, 72.0)]
    assert trace.pauses == ((10.0, 12.0), (40.0, 42.0), (70.0, 72.0))
    assert trace.finish_time(9.5, 1.0) == pytest.approx(12.5)
    assert trace.finish_time(11.0, 1.0) == pytest.approx(13.0)
    assert trace.finish_time(20.0, 1.0) == pytest.approx(21.0)


def test_random_families_alone_draw_from_the_generator() -> None:
    """Deterministic families leave the generator untouched; flapping_random advances it."""
    for name, family in FAMILIES.items():
        if name in ("replay", "flapping_random"):
            continue
        rng = np.random.default_rng(1)
        family().build(HORIZON_S, rng)
        assert rng.random() == np.random.default_rng(1).random(), name
    rng = np.random.default_rng(1)
    FlappingRandom().build(HORIZON_S, rng)
    assert rng.random() != np.random.default_rng(1).random()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: HardDown(start_s=-1.0), "'start_s' must be a finite number >= 0 (got -1.0)"),
        (lambda: HardDown(start_s=float("inf")), "'start_s' must be a finite number >= 0 (got inf)"),
        (lambda: HardDown(duration_s=0.0), "'duration_s' must be a finite number > 0 (got 0.0)"),
        (lambda: HardDownHang(duration_s=float("nan")), "'duration_s' must be a finite number > 0 (got nan)"),
        (lambda: HardDown(start_s="60"), "'start_s' must be a finite number >= 0 (got '60')"),  # type: ignore[arg-type]
        (lambda: HardDown(start_s=True), "'start_s' must be a finite number >= 0 (got True)"),
        (lambda: Healthy(noise_error_rate=1.0), "'noise_error_rate' must be a number in [0, 1) (got 1.0)"),
        (lambda: Brownout(error_rate=0.0), "'error_rate' must be a number in (0, 1] (got 0.0)"),
        (lambda: LatencySpike(latency_factor=1.0), "'latency_factor' must be a finite number > 1 (got 1.0)"),
        (lambda: FlappingSquare(up_s=-5.0), "'up_s' must be a finite number > 0 (got -5.0)"),
        (lambda: FlappingRandom(availability=1.0), "'availability' must be a number in (0, 1) (got 1.0)"),
        (lambda: FlappingRandom(mean_down_s=0), "'mean_down_s' must be a finite number > 0 (got 0)"),
        (lambda: SlowRecovery(ramp_s=-1.0), "'ramp_s' must be a finite number >= 0 (got -1.0)"),
        (lambda: SlowRecovery(steps=0), "'steps' must be an int >= 1 (got 0)"),
        (lambda: SlowRecovery(steps=2.0), "'steps' must be an int >= 1 (got 2.0)"),  # type: ignore[arg-type]
        (lambda: CapacityLoss(capacity_factor=1.0), "'capacity_factor' must be a number in (0, 1) (got 1.0)"),
        (lambda: LoadSpike(load_factor=0.5), "'load_factor' must be a finite number > 1 (got 0.5)"),
        (lambda: BackgroundNoise(error_rate=1.0), "'error_rate' must be a number in [0, 1) (got 1.0)"),
        (lambda: GcPauses(pause_s=30.0), "'pause_s' must be < period_s (30.0) (got 30.0)"),
        (lambda: ReplayFile(path=""), "'path' must be a non-empty file path"),
    ],
)
def test_invalid_fields_name_the_field_the_rule_and_the_value(make: Callable[[], object], message: str) -> None:
    """Each invalid field raises InvalidConfigError naming the field, the rule and the value."""
    with pytest.raises(InvalidConfigError, match=re.escape(message)):
        make()


def test_families_are_frozen_keyword_only_and_store_floats() -> None:
    """Families are immutable, take keywords only, and store number fields as floats."""
    family = HardDown(start_s=10)
    assert family.start_s == 10.0 and isinstance(family.start_s, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        family.start_s = 5.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        HardDown(10.0)  # type: ignore[call-arg]


# -- registry --------------------------------------------------------------------------------------


def test_registry_lists_every_family_in_order_under_its_name() -> None:
    """FAMILIES maps each name to its class, in the documented order, and every family is a TraceSpec."""
    assert family_names() == [
        "healthy", "hard_down", "hang", "brownout", "latency_spike", "flapping", "flapping_random",
        "slow_recovery", "capacity_loss", "load_spike", "noise", "gc_pauses", "replay",
    ]
    assert all(cls.name == name for name, cls in FAMILIES.items())
    assert all(isinstance(cls(), TraceSpec) for name, cls in FAMILIES.items() if name != "replay")


def test_every_field_is_documented_with_its_type_default_and_rule() -> None:
    """family_fields gives each parameter's type, default, doc and rule, and the class docstring lists it."""
    for name, cls in FAMILIES.items():
        fields = family_fields(name)
        assert fields[-1].name == "noise_error_rate"
        for field in fields:
            assert field.type in ("float", "int", "str") and field.doc and field.rule
            assert f"        {field.name}: " in (cls.__doc__ or ""), (name, field.name)
    steps = {f.name: f for f in family_fields("slow_recovery")}["steps"]
    assert (steps.type, steps.default, steps.required) == ("int", 20, False)
    path = family_fields("replay")[0]
    assert (path.name, path.type, path.required) == ("path", "str", True)


def test_make_trace_spec_converts_strings_by_the_field_types() -> None:
    """String parameters (from a command line) are converted to int or float."""
    spec = make_trace_spec("slow_recovery", start_s="5", ramp_s="1.5e1", steps="3")
    assert spec == SlowRecovery(start_s=5.0, ramp_s=15.0, steps=3)
    assert make_trace_spec("hard_down", duration_s=30) == HardDown(duration_s=30.0)


def test_make_trace_spec_rejects_unknown_names_and_bad_values() -> None:
    """Unknown families and parameters list the valid ones; unconvertible or missing values name the field."""
    with pytest.raises(InvalidConfigError, match=r"'trace' must be one of 'healthy', 'hard_down', .*'replay' "
                       r"\(got 'hard-down'\)"):
        make_trace_spec("hard-down")
    with pytest.raises(InvalidConfigError, match=re.escape(
        "'start' must be a parameter of the 'hard_down' trace (start_s, duration_s, noise_error_rate) (got '5')"
    )):
        make_trace_spec("hard_down", start="5")
    with pytest.raises(InvalidConfigError, match=re.escape("'steps' must be an int (an int >= 1) (got '2.5')")):
        make_trace_spec("slow_recovery", steps="2.5")
    with pytest.raises(InvalidConfigError, match=re.escape("'start_s' must be a number (a finite number >= 0) "
                                                           "(got 'soon')")):
        make_trace_spec("hard_down", start_s="soon")
    with pytest.raises(InvalidConfigError, match=re.escape("'start_s' must be a finite number >= 0 (got -3.0)")):
        make_trace_spec("hard_down", start_s="-3")
    with pytest.raises(InvalidConfigError, match="'path' must be given for the 'replay' trace"):
        make_trace_spec("replay")


def test_replay_family_reads_its_file_at_construction(tmp_path: pathlib.Path) -> None:
    """The replay family is the file's trace, named by its stem, read once when the family is made."""
    path = tmp_path / "incident.csv"
    path.write_text("time_s,error_rate\n0,0.01\n10,1\n20,0\n")
    spec = make_trace_spec("replay", path=str(path))
    path.unlink()  # read at construction: building needs no file
    assert build(spec) == Trace("incident", [
        Segment(0.0, Condition(error_rate=0.01)), Segment(10.0, DOWN), Segment(20.0, Condition()),
    ])


def test_replay_family_noise_raises_only_healthy_error_rates(tmp_path: pathlib.Path) -> None:
    """With noise_error_rate, healthy segments' error rates rise to it and fault segments are unchanged; a
    missing file fails at construction."""
    path = tmp_path / "incident.csv"
    path.write_text("time_s,error_rate\n0,0.01\n10,1\n20,0.03\n")
    trace = build(ReplayFile(path=str(path), noise_error_rate=0.02))
    assert [s.condition.error_rate for s in trace.segments] == [0.02, 1.0, 0.03]
    assert [s.condition.is_healthy for s in trace.segments] == [True, False, True]
    with pytest.raises(TraceFileError, match="missing.csv"):
        ReplayFile(path=str(tmp_path / "missing.csv"))


# -- Trace -----------------------------------------------------------------------------------------


def test_trace_merges_equal_consecutive_conditions_and_compares_by_content() -> None:
    """Consecutive equal conditions merge into one segment; traces are equal by name and segments."""
    healthy = Condition()
    trace = Trace("t", [Segment(0.0, healthy), Segment(5.0, Condition(healthy=True)), Segment(10.0, DOWN),
                        Segment(20.0, DOWN), Segment(30.0, healthy)])
    assert trace.boundaries() == (0.0, 10.0, 30.0)
    assert trace == Trace("t", [Segment(0.0, healthy), Segment(10.0, DOWN), Segment(30.0, healthy)])
    assert trace != Trace("u", trace.segments)
    assert hash(trace) == hash(Trace("t", trace.segments))


def test_trace_rejects_decreasing_starts_even_after_a_merged_segment() -> None:
    """Start times must increase across every given segment, including ones merged away."""
    with pytest.raises(InvalidConfigError, match="increasing start_s order"):
        Trace("t", [Segment(0.0, Condition()), Segment(10.0, Condition()), Segment(5.0, DOWN)])


# -- trace files -----------------------------------------------------------------------------------


def test_csv_loads_rows_as_segments_with_defaults_for_empty_cells(tmp_path: pathlib.Path) -> None:
    """Each CSV row is a segment from its time on; empty cells take defaults and booleans accept yes/no/1/0."""
    path = tmp_path / "outage.csv"
    path.write_text(
        "time_s, error_rate ,hang,latency_factor,extra_latency_s,capacity_factor,load_factor,paused,healthy\n"
        "0,0.01,,,,,,,\n"
        "\n"
        "12.5,,YES,,,,,,\n"
        "20,0.5,no,2,0.1,0.5,3,0,true\n"
        "30,,,,,,,1,\n"
    )
    trace = load_trace(path)
    assert trace == Trace("outage", [
        Segment(0.0, Condition(error_rate=0.01)),
        Segment(12.5, Condition(hang=True)),
        Segment(20.0, Condition(error_rate=0.5, latency_factor=2.0, extra_latency_s=0.1, capacity_factor=0.5,
                                load_factor=3.0, healthy=True)),
        Segment(30.0, Condition(paused=True)),
    ])
    assert trace.fault_windows(40.0) == [(12.5, 20.0), (30.0, 40.0)]


def test_a_first_time_after_zero_adds_a_leading_healthy_segment(tmp_path: pathlib.Path) -> None:
    """If the first row is after 0, the service is as usual from 0 until then."""
    path = tmp_path / "late.csv"
    path.write_text("time_s,error_rate\n30,1\n90,0\n")
    assert load_trace(path).segments == (Segment(0.0, Condition()), Segment(30.0, DOWN), Segment(90.0, Condition()))


def test_iso_timestamps_count_seconds_from_the_first_row(tmp_path: pathlib.Path) -> None:
    """ISO-8601 times become seconds since the first row's, across time zones when all are aware."""
    path = tmp_path / "stamps.csv"
    path.write_text("time,error_rate\n2024-03-01T12:00:00Z,0\n2024-03-01T12:01:30Z,1\n2024-03-01T13:05:00+01:00,0\n")
    assert load_trace(path).boundaries() == (0.0, 90.0, 300.0)
    naive = tmp_path / "naive.json"
    naive.write_text('[{"time": "2024-03-01 12:00:00"}, {"time": "2024-03-01 12:00:02.5", "hang": true}]')
    assert load_trace(naive).boundaries() == (0.0, 2.5)


def test_json_list_and_named_object_load_like_csv(tmp_path: pathlib.Path) -> None:
    """A JSON list of entries, or an object with name and segments, gives the same segments; name wins."""
    entries = '[{"time_s": 0, "error_rate": 0.01}, {"time_s": 10, "error_rate": 1, "healthy": false},' \
              ' {"time_s": 20, "error_rate": null, "paused": "no"}]'
    listed = tmp_path / "listed.json"
    listed.write_text(entries)
    named = tmp_path / "named.json"
    named.write_text('{"name": "db failover", "segments": ' + entries + "}")
    expected = (Segment(0.0, Condition(error_rate=0.01)), Segment(10.0, DOWN), Segment(20.0, Condition()))
    assert load_trace(listed).segments == expected and load_trace(listed).name == "listed"
    assert load_trace(named).segments == expected and load_trace(named).name == "db failover"


def test_the_shipped_example_incident_loads() -> None:
    """The packaged example incident loads: normal, degraded, down, recovering, normal again."""
    resource = importlib.resources.files("breakerlab.sim") / "data" / "example-incident.csv"
    with importlib.resources.as_file(resource) as path:
        trace = load_trace(path)
    assert trace.name == "example-incident"
    assert trace.condition_at(10.0).is_healthy and trace.condition_at(590.0).is_healthy
    assert trace.condition_at(210.0).error_rate == 1.0
    assert any(s.condition.capacity_factor < 1.0 for s in trace.segments)
    assert len(trace.fault_windows(600.0)) == 1


CSV_ERRORS = [
    # (file text, line, column or "", words the problem mentions)
    ("", 0, "", "is empty"),
    ("time_s,error_rate\n", 0, "", "no data rows"),
    ("when,error_rate\n0,0\n", 1, "", "found when, error_rate; expected 'time_s'"),
    ("time_s,errors\n0,0\n", 1, "errors", "valid columns: time_s, time, error_rate"),
    ("time_s,error_rate,error_rate\n0,0,0\n", 1, "error_rate", "twice"),
    ("time_s,time\n0,0\n", 1, "time", "keep one time column"),
    ("time_s,error_rate\n0,0\n5,abc\n", 3, "error_rate", "must be a number (got 'abc')"),
    ("time_s,error_rate\n0,0\n1,0\n2,0\n3,0\n4,0\n5,1.5\n", 7, "error_rate",
     "must be a finite number in [0, 1] (got '1.5')"),
    ("time_s,capacity_factor\n0,0\n", 2, "capacity_factor", "in (0, 1] (got '0')"),
    ("time_s,latency_factor\n0,inf\n", 2, "latency_factor", "a finite number > 0 (got 'inf')"),
    ("time_s,hang\n0,maybe\n", 2, "hang", "must be true or false"),
    ("time_s,error_rate\n0,0\n10,1\n10,0\n", 4, "time_s", "later than the previous row's '10' (line 3) (got '10')"),
    ("time_s,error_rate\n0,0\n10,1\n5,0\n", 4, "time_s", "later than the previous row's '10' (line 3) (got '5')"),
    ("time_s,error_rate\n-1,0\n", 2, "time_s", "must be a finite number >= 0 (got '-1')"),
    ("time_s,error_rate\n,0.5\n", 2, "time_s", "is missing"),
    ("time_s,error_rate,hang\n0,0\n", 2, "hang", "the row has 2 cells but the header has 3 columns"),
    ("time_s,error_rate\n0,0,1\n", 2, "", "has 3 cells but the header has 2 columns"),
    ('time_s,error_rate\n0,"0\n', 2, "", "is not valid CSV"),
    ("time\n2024-03-01T12:00:00Z\nyesterday\n", 3, "time", "ISO-8601 timestamp"),
    ("time\n2024-03-01T12:00:00Z\n2024-03-01T12:00:05\n", 3, "time", "must have a time zone"),
]


@pytest.mark.parametrize(("text", "line", "column", "problem"), CSV_ERRORS)
def test_csv_errors_name_the_line_and_column(
    tmp_path: pathlib.Path, text: str, line: int, column: str, problem: str
) -> None:
    """Each malformed CSV raises TraceFileError whose message names the file, the line and the column."""
    path = tmp_path / "incident.csv"
    path.write_text(text)
    with pytest.raises(TraceFileError) as caught:
        load_trace(path)
    where = str(path) + (f", line {line}" if line else "") + (f", column {column!r}" if column else "") + ": "
    assert str(caught.value).startswith(where), str(caught.value)
    assert problem in str(caught.value)
    assert (caught.value.line, caught.value.column) == (line, column)


JSON_ERRORS = [
    ('[\n  {"time_s": 0},\n  {"time_s": 1,, }\n]', 3, "", "is not valid JSON at character 16"),
    ('[\n  {"time_s": 0},\n  {\n    "time_s": 5,\n    "error_rate": 2\n  }\n]', 3, "error_rate",
     "must be a finite number in [0, 1] (got 2)"),
    ('[\n  {"time_s": 0},\n  {"time_s": 5, "errors": 1}\n]', 3, "errors", "valid keys: time_s, time"),
    ('[\n  {"time_s": 0},\n  [5, 1]\n]', 3, "", "each entry must be an object"),
    ('[\n  {"time_s": 0},\n  {"time": "2024-03-01T12:00:00Z"}\n]', 3, "time", "cannot be mixed with 'time_s'"),
    ('[\n  {"time_s": 0},\n  {"error_rate": 1}\n]', 3, "time_s", "is missing"),
    ('[\n  {"time_s": 0},\n\n  {"time_s": 1, "hang": 2}\n]', 4, "hang", "must be true or false"),
    ('[{"time_s": 0}, {"time_s": "later"}]', 1, "time_s", "must be a number (got 'later')"),
    ('[{"error_rate": 0}]', 1, "", "has no time: found error_rate; expected 'time_s'"),
    ("[]", 0, "", "has no entries"),
    ("  ", 0, "", "is empty"),
    ('{"segments": []}', 0, "", "has no entries"),
    ('{\n  "name": "x",\n  "rows": []\n}', 3, "rows", "'name' and 'segments'"),
    ('{\n  "name": "x"\n}', 1, "segments", "is missing"),
    ('{\n  "name": 3,\n  "segments": [{"time_s": 0}]\n}', 2, "name", "must be a string"),
    ('{\n  "segments": {"time_s": 0}\n}', 2, "segments", "must be a list"),
    ('\n"text"', 2, "", "must hold a list of entries"),
]


@pytest.mark.parametrize(("text", "line", "column", "problem"), JSON_ERRORS)
def test_json_errors_name_the_line_of_the_entry_and_the_key(
    tmp_path: pathlib.Path, text: str, line: int, column: str, problem: str
) -> None:
    """Each malformed JSON file raises TraceFileError naming the line where the offending entry begins and the key
    (syntax errors: the decoder's line and character)."""
    path = tmp_path / "incident.json"
    path.write_text(text)
    with pytest.raises(TraceFileError) as caught:
        load_trace(path)
    assert (caught.value.line, caught.value.column) == (line, column), str(caught.value)
    assert problem in str(caught.value)


def test_unreadable_files_and_unknown_extensions(tmp_path: pathlib.Path) -> None:
    """A missing file, a directory, a non-UTF-8 file and an unknown extension each raise TraceFileError naming
    the file."""
    with pytest.raises(TraceFileError, match=r"missing\.csv: cannot be read"):
        load_trace(tmp_path / "missing.csv")
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(TraceFileError, match=r"folder\.json: cannot be read"):
        load_trace(tmp_path / "folder.json")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"time_s,error_rate\n0,0\xe9\n")
    with pytest.raises(TraceFileError, match="is not UTF-8"):
        load_trace(latin)
    with pytest.raises(TraceFileError, match=r"incident\.txt: must be a \.csv or \.json file \(got '\.txt'\)"):
        load_trace(tmp_path / "incident.txt")
