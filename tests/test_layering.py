"""Layering and hygiene rules: what breakerlab.model may import and read."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

MODEL = pathlib.Path(__file__).resolve().parents[1] / "model"


def test_model_imports_neither_simpy_nor_numpy_nor_upper_layers() -> None:
    """Importing breakerlab.model (and its CLI) loads no simulator, numeric, upper-layer or
    OpenTelemetry module (only an explicit ``import breakerlab.runtime.otel`` does)."""
    code = (
        "import sys, breakerlab.model, breakerlab.cli, breakerlab.model.diagram;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('simpy', 'numpy', 'z3', 'matplotlib', 'opentelemetry')"
        " or m.startswith(('breakerlab.sim', 'breakerlab.proofs', 'breakerlab.runtime.otel'))];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


ALLOWED = {
    "__future__", "abc", "argparse", "asyncio", "collections", "dataclasses", "enum", "fractions", "functools",
    "hashlib", "importlib", "math", "random", "re", "sys", "typing", "transitions",
    # the runtime breaker: locks, context variables, the event log's files and JSON
    "contextvars", "inspect", "io", "json", "os", "threading",
}


# The only exceptions, each for one module: clock.py reads real time; otel.py is the optional
# OpenTelemetry listener (the `otel` extra), which nothing else in breakerlab.model imports.
EXCEPTIONS = {"clock.py": {"time"}, "otel.py": {"opentelemetry"}}


def test_model_uses_only_the_standard_library_and_transitions() -> None:
    """Every model module imports only allowed standard-library modules and transitions
    (plus its own listed exception)."""
    for path in sorted(MODEL.glob("*.py")):
        extra = _imports(path) - ALLOWED - EXCEPTIONS.get(path.name, set())
        assert not extra, f"{path.name} imports {sorted(extra)}"


def test_no_other_model_module_imports_otel() -> None:
    """Only an explicit import loads the OpenTelemetry listener: no other model module imports otel.py."""
    for path in sorted(MODEL.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module] if node.module else [alias.name for alias in node.names]
                assert "otel" not in names, f"{path.name}:{node.lineno} imports otel"


def test_no_wall_clock_or_global_random_state_in_model() -> None:
    """Only clock.py reads real time, and randomness comes from seeded random.Random instances."""
    for path in sorted(MODEL.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id == "time":
                    assert path.name == "clock.py", f"{path.name}:{node.lineno} reads time.{node.attr}"
                if node.value.id == "random":
                    assert node.attr == "Random", f"{path.name}:{node.lineno} uses global random.{node.attr}"
                assert node.value.id != "datetime", f"{path.name}:{node.lineno} uses datetime"


SIM = pathlib.Path(__file__).resolve().parents[1] / "sim"

#: What the simulator may import besides the standard library: the model, SimPy, numpy; for
#: sweeps pandas, scipy, tqdm and Dask's distributed; matplotlib in the plotting modules only.
SIM_THIRD_PARTY = {"breakerlab", "simpy", "numpy", "matplotlib", "pandas", "scipy", "tqdm", "distributed"}
SIM_PLOTTING = {"plot.py", "sweep_plots.py"}
SIM_FORBIDDEN_STDLIB = {"time", "random", "threading", "asyncio", "multiprocessing", "secrets", "uuid"}
#: The sweep runner starts local worker processes.
SIM_STDLIB_EXCEPTIONS = {"sweep.py": {"multiprocessing"}}


def test_sim_imports_the_model_and_never_the_reverse() -> None:
    """sim/ depends on model/ (and simpy, numpy; pandas, scipy, tqdm, Dask for sweeps); nothing
    in model/ imports sim/; only the plotting modules import matplotlib; importing the simulator
    or a sweep's worker code loads no plotting, table or cluster library."""
    for path in sorted(SIM.glob("*.py")):
        found = _imports(path) - SIM_STDLIB_EXCEPTIONS.get(path.name, set())
        assert not found & SIM_FORBIDDEN_STDLIB, f"{path.name} imports {sorted(found & SIM_FORBIDDEN_STDLIB)}"
        third_party = {name for name in found if name not in sys.stdlib_module_names}
        assert third_party <= SIM_THIRD_PARTY, f"{path.name} imports {sorted(third_party - SIM_THIRD_PARTY)}"
        if path.name not in SIM_PLOTTING:
            assert "matplotlib" not in found, f"{path.name} imports matplotlib"
    code = (
        "import sys, breakerlab.sim, breakerlab.sim.cli, breakerlab.sim.sweep;"
        "print(','.join(m for m in sys.modules if m.startswith(('matplotlib', 'z3', 'pandas', 'scipy', 'distributed'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_no_wall_clock_or_global_random_state_in_sim() -> None:
    """The simulator reads no real time (the CLI's wall_s comes from the model's MonotonicClock,
    outside every run) and draws only from seeded numpy Generators: no numpy.random module-level
    functions, no datetime.now()."""
    allowed_numpy_random = {"Generator", "PCG64", "SeedSequence"}
    for path in sorted(SIM.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                if isinstance(node.value, ast.Attribute) and node.value.attr == "random":
                    assert node.attr in allowed_numpy_random, f"{path.name}:{node.lineno} uses np.random.{node.attr}"
                assert node.attr not in ("now", "today", "utcnow") or not (
                    isinstance(node.value, ast.Attribute) and node.value.attr == "datetime"
                ), f"{path.name}:{node.lineno} reads the wall clock"
            if isinstance(node, ast.Name) and node.id == "MonotonicClock":
                assert path.name == "cli.py", f"{path.name}:{node.lineno} uses a real clock"


def test_the_command_line_works_without_the_optional_extras() -> None:
    """With only `pip install -e .` (no test, conform, dask, parquet or notebook extras), every
    subcommand registers, `sweep --help` works, and `conform` says which extra to install."""
    code = (
        "import sys\n"
        "for m in ('hypothesis', 'pybreaker', 'circuitbreaker', 'aiobreaker', 'purgatory', 'time_machine',\n"
        "          'distributed', 'pyarrow', 'jupytext', 'nbclient', 'pytest'):\n"
        "    sys.modules[m] = None\n"
        "from breakerlab.cli import main\n"
        "assert main(['diagram']) == 0\n"
        "sys.exit(main(['conform', 'pybreaker']))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    assert "pip install -e '.[conform]'" in out.stderr and "Traceback" not in out.stderr
