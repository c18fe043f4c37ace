"""The npm libraries' node driver and its Python side, end to end with the real node and packages:
observations in the harness's vocabulary, fake timers, errors that say how to fix them, and the
``breakerlab conform`` command on an npm library."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
from collections.abc import Iterator, Sequence

import pytest

from breakerlab.cli import main as cli_main
from breakerlab.proofs.conform import Advance, Begin, Call, Finish, ReadState, failures, script
from breakerlab.proofs.conform.adapters import AdapterError, CockatielAdapter, NodeAdapter, OpossumAdapter
from breakerlab.proofs.conform.adapters.node_process import (
    DRIVER_DIR,
    INSTALL_HINT,
    NodeProcess,
    installed_version,
    step_to_json,
)
from breakerlab.proofs.conform.catalogue import CALL_TIMEOUT_S, EPSILON_S, FAIL_MAX, RESET_TIMEOUT_S
from breakerlab.proofs.conform.script import Excluded, Observation, Step

NODE = shutil.which("node")
DRIVER = DRIVER_DIR / "driver.mjs"


def _configured(adapter: NodeAdapter) -> NodeAdapter:
    adapter.configure(FAIL_MAX, RESET_TIMEOUT_S, (Excluded,))
    return adapter


@pytest.fixture(scope="module")
def opossum() -> Iterator[NodeAdapter]:
    """One opossum driver for the module (configured as the catalogue is), stopped afterwards."""
    adapter = _configured(OpossumAdapter())
    yield adapter
    adapter.close()


@pytest.fixture(scope="module")
def cockatiel() -> Iterator[NodeAdapter]:
    """One cockatiel driver for the module (configured as the catalogue is), stopped afterwards."""
    adapter = _configured(CockatielAdapter())
    yield adapter
    adapter.close()


def briefs(adapter: NodeAdapter, *steps: Step | Sequence[Step]) -> list[str]:
    """The compact observations of one run of ``steps``."""
    return [o.brief() for o in adapter.run(script(*steps))]


def _driver_copy(directory: pathlib.Path) -> pathlib.Path:
    """``directory`` holding a copy of driver.mjs and nothing else (no node_modules)."""
    directory.mkdir()
    shutil.copy(DRIVER, directory / "driver.mjs")
    return directory


def _fake_package(directory: pathlib.Path, name: str, version: str, code: str | None = None) -> None:
    """A package in ``directory/node_modules``: a manifest, and ``index.js`` only if ``code`` is given."""
    package = directory / "node_modules" / name
    package.mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": name, "version": version, "main": "index.js"}))
    if code is not None:
        (package / "index.js").write_text(code)


def _one_line_message(error: pytest.ExceptionInfo[AdapterError]) -> str:
    """The error's message, checked to be a sentence and not a stack trace from node."""
    message = str(error.value)
    assert "\n" not in message and " at " not in message and "Error:" not in message, message
    return message


# -- observations in the harness's vocabulary ----------------------------------------------------


@pytest.mark.parametrize(("library", "rejection"), [("opossum", "EOPENBREAKER"), ("cockatiel", "BrokenCircuitError")])
def test_npm_libraries_trip_and_reject_with_their_own_error(request: pytest.FixtureRequest, library: str, rejection: str) -> None:
    """Three failures trip either npm library; the tripping call gets the original error and the
    next one is rejected without running, with the library's own error named as the harness names
    errors (opossum's by its ``code``, cockatiel's by its class)."""
    adapter: NodeAdapter = request.getfixturevalue(library)
    assert briefs(adapter, failures(3), Call(4), ReadState()) == [
        "call 1: raised:Boom", "call 2: raised:Boom", "call 3: raised:Boom", f"call 4: rejected:{rejection}", "state: open",
    ]


@pytest.mark.parametrize("library", ["opossum", "cockatiel"])
def test_a_begun_call_stays_in_flight_until_its_finish(request: pytest.FixtureRequest, library: str) -> None:
    """A Begin enters the protected function and stays there while other calls come and go; its
    Finish delivers the scripted outcome to its caller; one never finished is drained with success
    after the last step."""
    adapter: NodeAdapter = request.getfixturevalue(library)
    observations = adapter.run(script(Begin(1), Call(2, "failure"), ReadState(), Finish(1, "failure"), Begin(3)))
    assert observations == (
        Observation(0, "begin", "in_flight", 1, True),
        Observation(1, "call", "raised:Boom", 2, True),
        Observation(2, "state", "closed", None, None),
        Observation(3, "finish", "raised:Boom", 1, True),
        Observation(4, "begin", "in_flight", 3, True),
        Observation(5, "drained", "ok", 3, True),
    )


def test_cockatiel_makes_a_caller_wait_for_the_probe(cockatiel: NodeAdapter) -> None:
    """During cockatiel's half-open probe a second caller neither runs nor is rejected (``blocked``:
    every promise job has run and it has not entered); the probe's success lets it in."""
    assert briefs(cockatiel, failures(3), Advance(RESET_TIMEOUT_S + EPSILON_S), Begin(4), ReadState(), Call(5),
                  Finish(4), ReadState()) == [
        "call 1: raised:Boom", "call 2: raised:Boom", "call 3: raised:Boom", "t=10.001",
        "begin 4: in_flight", "state: half_open", "call 5: blocked", "finish 4: ok", "resumed 5: ok", "state: closed",
    ]


# -- fake timers ---------------------------------------------------------------------------------


def test_opossum_half_opens_on_its_timer_exactly_at_reset_timeout(opossum: NodeAdapter) -> None:
    """opossum's resetTimeout timer fires under the fake clock exactly when an Advance reaches it:
    open 1 ms before, half_open at the deadline and after it, with no call needed."""
    assert briefs(opossum, failures(3), Advance(RESET_TIMEOUT_S - EPSILON_S), ReadState(), Advance(EPSILON_S), ReadState(),
                  Advance(EPSILON_S), ReadState(), Call(4), ReadState()) == [
        "call 1: raised:Boom", "call 2: raised:Boom", "call 3: raised:Boom",
        "t=9.999", "state: open", "t=10", "state: half_open", "t=10.001", "state: half_open", "call 4: ok", "state: closed",
    ]


def test_cockatiel_half_opens_only_when_a_call_arrives(cockatiel: NodeAdapter) -> None:
    """cockatiel has no timer: past halfOpenAfter it still reports open until a call comes, which
    is then admitted as the probe (the same script as opossum's timer)."""
    assert briefs(cockatiel, failures(3), Advance(RESET_TIMEOUT_S - EPSILON_S), ReadState(), Advance(EPSILON_S), ReadState(),
                  Advance(EPSILON_S), ReadState(), Call(4), ReadState()) == [
        "call 1: raised:Boom", "call 2: raised:Boom", "call 3: raised:Boom",
        "t=9.999", "state: open", "t=10", "state: open", "t=10.001", "state: open", "call 4: ok", "state: closed",
    ]


@pytest.mark.parametrize(
    ("library", "at_timeout", "finish"),
    [("opossum", ["resumed 1: raised:ETIMEDOUT"], "finish 1: not_in_flight"), ("cockatiel", [], "finish 1: ok")],
)
def test_opossums_own_call_timeout_fails_an_in_flight_call(
    request: pytest.FixtureRequest, library: str, at_timeout: list[str], finish: str
) -> None:
    """opossum's ``timeout`` timer fails a call still in flight with ETIMEDOUT exactly at
    CALL_TIMEOUT_S of fake time (200 s, far longer than the driver's real-time run limit, so nothing
    sleeps), and its later Finish finds nothing in flight; cockatiel has no call timeout."""
    adapter: NodeAdapter = request.getfixturevalue(library)
    assert briefs(adapter, Begin(1), Advance(CALL_TIMEOUT_S - EPSILON_S), ReadState(), Advance(EPSILON_S), ReadState(),
                  Finish(1), Call(2)) == [
        "begin 1: in_flight", "t=199.999", "state: closed", "t=200", *at_timeout, "state: closed", finish, "call 2: ok",
    ]


# -- the protocol --------------------------------------------------------------------------------


def test_steps_are_sent_as_the_driver_reads_them() -> None:
    """Every step kind becomes the JSON object the driver's protocol documents."""
    assert [step_to_json(s) for s in (Call(1, "failure"), Begin(2), Finish(2, "cancel"), Advance(10.001), ReadState())] == [
        {"step": "Call", "call_id": 1, "outcome": "failure"},
        {"step": "Begin", "call_id": 2},
        {"step": "Finish", "call_id": 2, "outcome": "cancel"},
        {"step": "Advance", "seconds": 10.001},
        {"step": "ReadState"},
    ]


def test_installed_versions_are_the_pinned_ones(opossum: NodeAdapter, cockatiel: NodeAdapter) -> None:
    """The adapters report the versions in node_modules, which are the pinned ones."""
    assert (opossum.version, cockatiel.version) == ("9.0.0", "3.2.1")
    assert installed_version("@sinonjs/fake-timers") == "15.5.0"


def test_a_malformed_line_is_answered_with_an_error_and_the_driver_keeps_serving() -> None:
    """Raw lines to ``node driver.mjs opossum``: a line that is not JSON, or a step that cannot be
    run, is answered with one ``{"error": ...}`` naming the line and what was wrong, the rest of
    that run is skipped, and the next run is served normally."""
    assert NODE is not None, "node must be on PATH for these tests"
    configure = {"configure": _configured(OpossumAdapter()).driver_configuration()}
    lines = [
        json.dumps(configure), "not json", json.dumps({"step": "Call", "call_id": 1}), json.dumps({"end": True}),
        json.dumps({"step": "Call", "call_id": 1, "outcome": "failure"}), json.dumps({"step": "ReadState"}),
        json.dumps({"end": True}),
        json.dumps({"step": "Finish", "call_id": 5, "outcome": "success"}), json.dumps({"end": True}),
        json.dumps({"step": "Jump"}), json.dumps({"end": True}),
    ]
    answer = subprocess.run([NODE, str(DRIVER), "opossum"], input="\n".join(lines) + "\n", capture_output=True,
                            text=True, cwd=DRIVER_DIR, timeout=60)
    assert answer.returncode == 0 and answer.stderr == ""
    out = [json.loads(line) for line in answer.stdout.splitlines()]
    assert len(out) == 6
    assert out[0]["error"].startswith("line 2: not a JSON object (") and out[0]["error"].endswith("): not json")
    assert [Observation.from_dict(o).brief() for o in out[1:3]] == ["call 1: raised:Boom", "state: closed"]
    assert out[3] == {"done": 2}
    assert out[4] == {"error": "line 8: Finish(5) needs an earlier Begin(5)"}
    assert out[5] == {"error": "line 10: 'step' must be one of Call, Begin, Finish, Advance, ReadState (got \"Jump\")"}


def test_a_refused_configuration_is_an_adapter_error_and_the_process_serves_on() -> None:
    """A configuration the driver refuses comes back as an AdapterError quoting the driver's rule
    and value; the same NodeProcess then runs the next script."""
    process = NodeProcess("opossum")
    try:
        good = _configured(OpossumAdapter()).driver_configuration()
        with pytest.raises(AdapterError) as refused:
            process.run({**good, "fail_max": 0}, [Call(1)])
        assert _one_line_message(refused) == (
            "the opossum driver refused the script: line 1: 'fail_max' must be an int >= 1 (got 0)"
        )
        assert [o.brief() for o in process.run(good, [Call(1, "failure")])] == ["call 1: raised:Boom"]
    finally:
        process.close()


def test_an_unknown_library_argument_exits_2_naming_the_known_ones() -> None:
    """``node driver.mjs hystrix`` exits with status 2 and one line naming the libraries it runs."""
    assert NODE is not None, "node must be on PATH for these tests"
    answer = subprocess.run([NODE, str(DRIVER), "hystrix"], capture_output=True, text=True, cwd=DRIVER_DIR, timeout=60)
    assert answer.returncode == 2 and answer.stdout == ""
    assert answer.stderr == 'breakerlab conform driver: LIBRARY must be one of opossum, cockatiel (got "hystrix")\n'


# -- errors that say how to fix them -------------------------------------------------------------


def test_node_missing_from_path_is_an_adapter_error_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    """With no ``node`` on PATH, a run raises AdapterError saying to install Node.js and the packages."""
    monkeypatch.setenv("PATH", str(tmp_path))
    adapter = _configured(OpossumAdapter())
    with pytest.raises(AdapterError) as missing:
        adapter.run(script(Call(1)))
    message = _one_line_message(missing)
    assert "node (Node.js >= 20) is not on PATH" in message and INSTALL_HINT in message


def test_an_explicit_node_that_does_not_exist_is_an_adapter_error() -> None:
    """An explicit ``node=`` path that does not exist raises AdapterError naming it, not OSError."""
    adapter = _configured(OpossumAdapter(node="/nonexistent/node"))
    with pytest.raises(AdapterError, match=r"cannot start node \(/nonexistent/node\).*npm ci --prefix"):
        adapter.run(script(Call(1)))


def test_packages_not_installed_is_an_adapter_error_with_the_install_command(tmp_path: pathlib.Path) -> None:
    """A driver folder without node_modules: the run and the version both raise AdapterError naming
    the missing package and the install command (before node is started)."""
    directory = _driver_copy(tmp_path / "driver")
    adapter = _configured(OpossumAdapter(directory=directory))
    with pytest.raises(AdapterError) as run:
        adapter.run(script(Call(1)))
    message = _one_line_message(run)
    assert message.startswith("the npm package opossum is not installed in ") and message.endswith(f"run: {INSTALL_HINT}")
    with pytest.raises(AdapterError, match="the npm package cockatiel is not installed"):
        _ = CockatielAdapter(directory=directory).version


def test_the_driver_says_which_package_it_cannot_load(tmp_path: pathlib.Path) -> None:
    """Where the manifests are there but a package's code is not, the driver itself exits with one
    line naming the package and the install command, and the run raises AdapterError quoting it."""
    directory = _driver_copy(tmp_path / "driver")
    _fake_package(directory, "opossum", "9.0.0")
    _fake_package(directory, "@sinonjs/fake-timers", "15.5.0")
    adapter = _configured(OpossumAdapter(directory=directory))
    with pytest.raises(AdapterError) as stopped:
        adapter.run(script(Call(1)))
    assert _one_line_message(stopped) == (
        "the opossum driver stopped: breakerlab conform driver: the npm package @sinonjs/fake-timers is not "
        f"installed; install the driver's packages: {INSTALL_HINT}"
    )


def test_a_driver_dying_mid_run_is_an_adapter_error_naming_what_it_said(tmp_path: pathlib.Path) -> None:
    """A library that kills node in the middle of a run (here an opossum stand-in that exits inside
    ``fire``, under the real fake-timers package) gives AdapterError with the driver's last words;
    the next run starts a new driver, which fails the same way instead of hanging."""
    directory = _driver_copy(tmp_path / "driver")
    (directory / "node_modules" / "@sinonjs").mkdir(parents=True)
    os.symlink(DRIVER_DIR / "node_modules" / "@sinonjs" / "fake-timers", directory / "node_modules" / "@sinonjs" / "fake-timers")
    _fake_package(directory, "opossum", "9.0.0", "module.exports = class { fire () { "
                  "process.stderr.write('stand-in opossum: out of memory\\n'); process.exit(7); } };\n")
    adapter = _configured(OpossumAdapter(directory=directory))
    for _ in range(2):
        with pytest.raises(AdapterError) as died:
            adapter.run(script(Call(1), ReadState()))
        assert _one_line_message(died) == "the opossum driver stopped: stand-in opossum: out of memory"
    adapter.close()


def test_an_exclusion_the_driver_cannot_express_is_an_adapter_error() -> None:
    """The driver knows only the scripted errors: excluding another exception type is refused with
    its name, before any node process starts."""
    adapter = OpossumAdapter()
    adapter.configure(FAIL_MAX, RESET_TIMEOUT_S, (Excluded, KeyError))
    with pytest.raises(AdapterError, match=r"opossum: only Excluded can be excluded in an npm library \(got KeyError\)"):
        adapter.run(script(Call(1)))


# -- the command ---------------------------------------------------------------------------------


def test_conform_command_reports_opossum_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`breakerlab conform opossum --json --examples 5` prints one JSON object a user can read: the
    version, the fingerprint (a time-window rate rule tripping only above 50%, opossum's own call
    timeout, a timer-driven half-open), each unexplained scenario with both observation lists, and
    no difference from the opossum preset; it exits 1 because some scenarios are unexplained."""
    assert cli_main(["conform", "opossum", "--json", "--examples", "5"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["library"] == "opossum" and document["version"] == "9.0.0"
    assert document["exact"] is False and document["ok"] is False
    fingerprint = document["fingerprint"]
    assert {k: fingerprint[k] for k in ("trip_rule", "window_duration", "minimum_calls", "failure_rate_threshold",
                                        "trip_on_equal_rate", "call_timeout", "half_open_entry")} == {
        "trip_rule": "time_window", "window_duration": 10.0, "minimum_calls": FAIL_MAX, "failure_rate_threshold": 0.5,
        "trip_on_equal_rate": False, "call_timeout": CALL_TIMEOUT_S, "half_open_entry": "at_deadline",
    }
    unexplained = document["unexplained_scenarios"]
    assert set(unexplained) == {
        "success_resets_count", "excluded_in_probe", "late_success_while_open", "late_failure_while_open",
        "late_success_in_half_open", "late_failure_in_half_open",
    }
    for name, sides in unexplained.items():
        assert set(sides) == {"library", "model"}, name
        assert all(isinstance(line, str) and line for side in sides.values() for line in side), name
        assert sides["library"] != sides["model"], name
    assert "call 4: raised:Boom" in unexplained["success_resets_count"]["library"]
    assert "call 4: rejected:CircuitOpenError" in unexplained["success_resets_count"]["model"]
    assert document["preset_differences"] == {}
    assert document["generated_examples"] == 5
