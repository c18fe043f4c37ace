"""``breakerlab simulate``: one scenario and seed from the command line, as a table, JSON or a plot."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from typing import Any

from breakerlab.model.clock import MonotonicClock
from breakerlab.model.config import BreakerConfig
from breakerlab.model.errors import BreakerError
from breakerlab.model.options import config_fields, config_from_mapping, parse_value
from breakerlab.model.presets import PRESETS, preset_named

from .errors import InvalidConfigError
from .option_help import breaker_option_help, breaker_option_metavar, option_flag, trace_option_help
from .plot_target import PLOT_NAME, plot_target
from .result import BREAKER, SimResult
from .scenario import Arrivals, Balancer, BreakerScope, Jitter, RetryPolicy, Scenario, Service, ServiceKind, Workload
from .simulate import simulate
from .traces.families import FAMILIES, family_fields, make_trace_spec

__all__ = ["build_scenario", "simulate_command"]

_EXAMPLES = """\
examples:
  breakerlab simulate --trace hard_down --rate 100 --horizon 600 --fail-max 5 --reset-timeout 30
  breakerlab simulate --trace brownout --error-rate 0.3 --trip-rule count_window --window-size 50 \\
      --minimum-calls 20 --json
  breakerlab simulate --trace hang --timeout 2 --workers 32 --plot hang.png
  breakerlab simulate --trace replay --path incident.csv --retries 3 --retry-budget 0.1
  breakerlab simulate --preset pybreaker --fail-max 3 --json   # a library's preset, one option changed

What each breaker option means in full: model/SEMANTICS.md; the caller, the service and the
traces: sim/README.md.
"""


# The defaults are the dataclasses' own (one copy of them).
_WORKLOAD = Workload()
_RETRY = RetryPolicy()
_SERVICE = Service()
_SCENARIO = {f.name: f.default for f in dataclasses.fields(Scenario)}


def _trace_options() -> dict[str, list[str]]:
    """Each trace parameter's name and the families that take it."""
    found: dict[str, list[str]] = {}
    for family in FAMILIES:
        for field in family_fields(family):
            found.setdefault(field.name, []).append(family)
    return found


def simulate_command(subparsers: Any) -> None:
    """Register ``breakerlab simulate``."""
    parser = subparsers.add_parser(
        "simulate",
        help="simulate a caller protected by the breaker through an outage",
        description=(
            "Simulate open-loop requests into a worker pool calling a service through an outage "
            "trace, protected by the reference breaker on simulated time, and report the metrics "
            "(also for the no-breaker and oracle baselines, on the same random numbers). The same "
            "options and seed always give the same numbers."
        ),
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--trace", default="hard_down", choices=list(FAMILIES), metavar="NAME",
        help=f"the outage the service goes through: {', '.join(FAMILIES)} (default hard_down)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="N",
        help="the seed every random stream is split from: the same options and seed give the same numbers (default 0)",
    )
    parser.add_argument(
        "--horizon", type=float, default=_SCENARIO["horizon_s"], metavar="SECONDS",
        help="simulated seconds during which requests arrive; every metric is over that span (default %(default)g)",
    )
    parser.add_argument(
        "--bin", type=float, default=_SCENARIO["bin_s"], metavar="SECONDS",
        help="width of the time-series bins (--series, --plot), in simulated seconds (default %(default)g)",
    )
    parser.add_argument(
        "--recovery-window", type=float, default=_SCENARIO["recovery_window_s"], metavar="SECONDS",
        help="seconds after the last fault ends over which recovery_load_* and time_to_recover_s are measured "
        "(default %(default)g)",
    )
    parser.add_argument(
        "--json", action="store_true",
        help="print one JSON object instead of a table: the metrics (the breaker's and the baselines') and the "
        "breaker configuration as it ran",
    )
    parser.add_argument("--series", action="store_true", help="with --json: include each run's time series")
    parser.add_argument(
        "--plot", metavar="PATH",
        help="draw the run's timeline to this file (.png, .svg, .pdf, ...; no extension: .png), or into an existing "
        f"folder as {PLOT_NAME.format(trace='TRACE', seed='SEED')}",
    )
    parser.add_argument(
        "--no-baselines", action="store_true", help="simulate only the breaker, not the no-breaker and oracle baselines"
    )
    parser.add_argument(
        "--serialize-calls", action="store_true",
        help="the breaker holds a lock across each call, as pybreaker does (callers wait for it)",
    )
    parser.add_argument(
        "--preset", metavar="LIBRARY",
        help=f"start from a library's preset ({', '.join(PRESETS)}: see breakerlab.model.presets), "
        "including pybreaker's whole-call lock; breaker options override it",
    )

    trace = parser.add_argument_group("trace options (each applies to the traces named)")
    for name, families in _trace_options().items():
        metavar, text = trace_option_help(name, families)
        trace.add_argument(option_flag(name), dest=f"trace_{name}", metavar=metavar, help=text)

    workload = parser.add_argument_group("caller")
    workload.add_argument(
        "--rate", type=float, default=_WORKLOAD.rate_rps, metavar="RPS",
        help="offered requests per second, before the trace's load factor (default %(default)g)",
    )
    workload.add_argument(
        "--rate-schedule", metavar="T:RPS,...", default="",
        help="a rate that varies over time: from T seconds on, RPS requests per second (e.g. 60:200,120:100)",
    )
    workload.add_argument(
        "--arrivals", default=_WORKLOAD.arrivals.value, choices=[a.value for a in Arrivals],
        help="how arrival times are drawn: poisson (exponential gaps at the current rate) or constant (evenly "
        "spaced) (default %(default)s)",
    )
    workload.add_argument(
        "--workers", type=int, default=_WORKLOAD.workers, metavar="N",
        help="size of the caller's worker pool (threads or connections): calls in flight at once (default %(default)s)",
    )
    workload.add_argument(
        "--queue-limit", type=int, default=_WORKLOAD.queue_limit, metavar="N",
        help="requests that may wait for a worker; beyond it a request fails at once (pool_full); 0: no waiting "
        "(default %(default)s)",
    )
    workload.add_argument(
        "--timeout", type=float, default=_WORKLOAD.call_timeout_s, metavar="SECONDS",
        help="the caller's timeout per attempt: an attempt unanswered by then fails and frees its worker (default "
        "%(default)g); not the breaker's --call-timeout",
    )
    workload.add_argument(
        "--instances", type=int, default=_WORKLOAD.instances, metavar="N",
        help="caller instances sharing the load, each with its own pool of --workers (default %(default)s)",
    )
    workload.add_argument(
        "--balancer", default=_WORKLOAD.balancer.value, choices=[b.value for b in Balancer],
        help="how requests are spread over the instances: random (each drawn uniformly) or round_robin (request i "
        "to instance i mod N) (default %(default)s)",
    )
    workload.add_argument(
        "--breaker-scope", default=_WORKLOAD.breaker_scope.value, choices=[b.value for b in BreakerScope],
        help="whose breaker an instance asks: instance (its own, seeing only its own calls) or shared (one breaker "
        "for the whole fleet) (default %(default)s)",
    )
    workload.add_argument(
        "--shared-propagation", type=float, default=_WORKLOAD.shared_propagation_s, metavar="SECONDS",
        help="with --breaker-scope shared: how long each call's outcome takes to reach the shared breaker "
        "(default %(default)g)",
    )
    workload.add_argument(
        "--retries", type=int, default=_RETRY.max_retries, metavar="N",
        help="retries per request after the first attempt; 0: no retries (default %(default)s)",
    )
    workload.add_argument(
        "--retry-backoff", type=float, default=_RETRY.backoff_s, metavar="SECONDS",
        help="delay before the first retry; retry k waits SECONDS x multiplier**k (default %(default)g)",
    )
    workload.add_argument(
        "--retry-backoff-multiplier", type=float, default=_RETRY.backoff_multiplier, metavar="FACTOR",
        help="growth of the retry delay per retry, >= 1 (default %(default)g)",
    )
    workload.add_argument(
        "--retry-backoff-cap", type=float, default=_RETRY.backoff_cap_s, metavar="SECONDS",
        help="the largest retry delay, before jitter (default %(default)g)",
    )
    workload.add_argument(
        "--retry-jitter", default=_RETRY.jitter.value, choices=[j.value for j in Jitter],
        help="randomisation of each retry delay: none, full (uniform in [0, delay]) or equal (half the delay plus "
        "uniform in [0, delay/2]) (default %(default)s)",
    )
    workload.add_argument(
        "--retry-budget", type=float, metavar="RATIO",
        help="a token-bucket retry budget: each request adds RATIO tokens and a retry spends one, so retries stay "
        "below that fraction of requests (default: no budget)",
    )
    workload.add_argument(
        "--retry-rejected", action="store_true", help="also retry calls the breaker rejected (most clients do not)"
    )
    workload.add_argument(
        "--retry-breaker", type=float, metavar="RATIO",
        help="the retry breaker (Brooker 2022): no retries, first tries unaffected, while more than RATIO of "
        "the caller's last --retry-breaker-window answered attempts failed (default: off)",
    )
    workload.add_argument(
        "--retry-breaker-window", type=int, default=_RETRY.breaker_window, metavar="N",
        help="answered attempts the retry breaker looks at (default %(default)s)",
    )

    service = parser.add_argument_group("service")
    service.add_argument(
        "--service", default=_SERVICE.kind.value, choices=[k.value for k in ServiceKind],
        help="how the service answers: open_loop (each attempt depends only on the trace) or capacity (servers "
        "and a queue: latency and errors grow with load) (default %(default)s)",
    )
    service.add_argument(
        "--latency", type=float, default=_SERVICE.latency_median_s, metavar="SECONDS",
        help="median latency of a successful call, log-normal (default %(default)g)",
    )
    service.add_argument(
        "--latency-sigma", type=float, default=_SERVICE.latency_sigma, metavar="SIGMA",
        help="shape of the log-normal latency; 0: every call takes the median (default %(default)g)",
    )
    service.add_argument(
        "--error-latency", type=float, default=_SERVICE.error_latency_s, metavar="SECONDS",
        help="time the service takes to answer with an error, e.g. connection refused or 503 (default %(default)g)",
    )
    service.add_argument(
        "--servers", type=int, default=_SERVICE.servers, metavar="N",
        help="capacity service: calls processed at once (default %(default)s)",
    )
    service.add_argument(
        "--service-queue", type=int, default=_SERVICE.queue_limit, metavar="N",
        help="capacity service: calls that may wait for a server; beyond it the service answers with an error at "
        "once (default %(default)s)",
    )
    service.add_argument(
        "--crash-after", type=float, metavar="SECONDS",
        help="capacity service: crash after this long overloaded (queue full, until drained to half); default: never",
    )
    service.add_argument(
        "--restart", type=float, default=_SERVICE.restart_s, metavar="SECONDS",
        help="capacity service: down this long after a crash (default %(default)g)",
    )
    service.add_argument(
        "--warmup", type=float, default=_SERVICE.warmup_s, metavar="SECONDS",
        help="capacity service: capacity returns over this long after a restart or an outage (default %(default)g)",
    )

    breaker = parser.add_argument_group(
        "breaker options", "every BreakerConfig option (defaults: the article's); in full in model/SEMANTICS.md"
    )
    defaults = BreakerConfig()
    for name, kind in config_fields().items():
        breaker.add_argument(
            option_flag(name), dest=f"breaker_{name}", metavar=breaker_option_metavar(name, kind),
            help=breaker_option_help(name, getattr(defaults, name)),
        )
    parser.set_defaults(func=_run)


def build_scenario(args: argparse.Namespace) -> Scenario:
    """The scenario the parsed options describe (errors name the option and the value)."""
    trace_params: dict[str, str] = {}
    accepted = {field.name for field in family_fields(args.trace)}
    for name, families in _trace_options().items():
        value = getattr(args, f"trace_{name}")
        if value is None:
            continue
        if name not in accepted:
            raise InvalidConfigError(
                option_flag(name), f"an option of the {' or '.join(map(repr, families))} trace, not of {args.trace!r}", value
            )
        trace_params[name] = value
    spec = make_trace_spec(args.trace, **trace_params)
    breaker_values = {
        name: parse_value(name, getattr(args, f"breaker_{name}"))
        for name in config_fields()
        if getattr(args, f"breaker_{name}") is not None
    }
    base = None
    preset_serializes = False
    if args.preset:
        preset = preset_named(args.preset)
        base = BreakerConfig(**preset.options)
        preset_serializes = preset.serializes_calls
    # The name says what ran: the preset, and each breaker option given explicitly over it.
    overrides = [f"{name}={_override(value)}" for name, value in breaker_values.items()]
    if args.serialize_calls and not preset_serializes:
        overrides.append("serialize_calls=true")
    name = f"simulate --trace {args.trace}" + (f" --preset {args.preset}" if args.preset else "")
    return Scenario(
        trace=spec,
        breaker=config_from_mapping(breaker_values, base),
        workload=Workload(
            rate_rps=args.rate, rate_schedule=_rate_schedule(args.rate_schedule), arrivals=args.arrivals, workers=args.workers, queue_limit=args.queue_limit,
            call_timeout_s=args.timeout, instances=args.instances, balancer=args.balancer,
            breaker_scope=args.breaker_scope, shared_propagation_s=args.shared_propagation,
            retry=RetryPolicy(
                max_retries=args.retries, backoff_s=args.retry_backoff, backoff_multiplier=args.retry_backoff_multiplier,
                backoff_cap_s=args.retry_backoff_cap, jitter=args.retry_jitter, budget_ratio=args.retry_budget,
                retry_rejected=args.retry_rejected, breaker_threshold=args.retry_breaker,
                breaker_window=args.retry_breaker_window,
            ),
        ),
        service=Service(
            kind=args.service, latency_median_s=args.latency, latency_sigma=args.latency_sigma,
            error_latency_s=args.error_latency, servers=args.servers, queue_limit=args.service_queue,
            crash_after_s=args.crash_after, restart_s=args.restart, warmup_s=args.warmup,
        ),
        horizon_s=args.horizon,
        bin_s=args.bin,
        recovery_window_s=args.recovery_window,
        serialize_calls=args.serialize_calls or preset_serializes,
        name=name + (" + " + ", ".join(overrides) if overrides else ""),
    )


def _override(value: Any) -> str:
    """An explicit breaker option's value in the scenario's name, as it is typed."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ",".join(t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}" for t in value)
    return str(value)


def _rate_schedule(text: str) -> tuple[tuple[float, float], ...]:
    steps = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        time_s, sep, rate = item.partition(":")
        try:
            if not sep:
                raise ValueError(item)
            steps.append((float(time_s), float(rate)))
        except ValueError:
            raise InvalidConfigError("--rate-schedule", "comma-separated T:RPS pairs, e.g. 60:200,120:100", text) from None
    return tuple(steps)


def _format(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if not math.isfinite(value) else f"{value:.4g}"
    if isinstance(value, dict):
        return " ".join(f"{k}={v:.4g}" for k, v in value.items()) or "-"
    return str(value)


def _table(result: SimResult, wall_s: float) -> str:
    names = list(result.runs)
    rows = [result.runs[name].metrics.as_dict() for name in names]
    lines = [
        f"trace {result.trace.name}, seed {result.seed}, {result.requests} requests simulated in {wall_s:.2f} s",
        f"{'metric':<32}" + "".join(f"{name:>14}" for name in names),
    ]
    for field in dataclasses.fields(type(result.metrics)):
        if field.name == "time_in_state_s":
            continue
        lines.append(f"{field.name:<32}" + "".join(f"{_format(row[field.name]):>14}" for row in rows))
    states = result.metrics.time_in_state_s
    lines.append(f"{'time_in_state_s':<32}  {_format(states)}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    if args.series and not args.json:
        raise InvalidConfigError("--series", "used with --json", True)
    scenario = build_scenario(args)
    plot = None
    if args.plot is not None:
        if not args.plot.strip():
            raise InvalidConfigError("--plot", "a file or folder name", args.plot, "e.g. --plot timeline.png")
        from .plot import plot_timeline  # matplotlib: only with --plot

        plot = plot_target(args.plot, args.trace, args.seed)  # before the run: a bad path costs no simulation
    clock = MonotonicClock()  # wall_s only: nothing simulated reads it
    started = clock()
    result = simulate(scenario, args.seed, baselines=not args.no_baselines)
    wall_s = clock() - started
    if plot is not None:
        try:
            plot_timeline(result, plot, policies=[name for name in result.runs if name != BREAKER])
        except (OSError, ValueError) as exc:
            raise BreakerError(f"cannot write the plot {str(plot)!r}: {exc}") from None
    if args.json:
        document = result.as_dict(series=args.series)
        document["requests"] = result.requests
        document["wall_s"] = wall_s
        document["breaker_config"] = scenario.breaker.as_json()
        document["serialize_calls"] = scenario.serialize_calls
        if plot is not None:
            document["plot"] = str(plot)
        json.dump(document, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(_table(result, wall_s))
        if plot is not None:
            print(f"timeline written to {plot}")
    return 0
