"""Layering and hygiene rules: what breakerlab.model may import and read."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODEL = ROOT / "model"


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
    "hashlib", "importlib", "logging", "math", "random", "re", "sys", "typing", "transitions",
    # the runtime breaker: locks, context variables, the event log's files and JSON; input files (files.py)
    "contextvars", "inspect", "io", "json", "os", "stat", "threading",
}


# The only exceptions, each for one module: clock.py reads real time; otel.py is the optional
# OpenTelemetry listener (the `otel` extra), which nothing else in breakerlab.model imports.
EXCEPTIONS = {"clock.py": {"time", "datetime"}, "otel.py": {"opentelemetry"}}


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
    """Only clock.py reads real time, and randomness comes from seeded random.Random instances,
    in the model and in every package kept under model/ (runtime, compat, cli)."""
    for path in sorted(MODEL.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id == "time":
                    assert path == MODEL / "clock.py", f"{path.name}:{node.lineno} reads time.{node.attr}"
                if node.value.id == "random":
                    assert node.attr == "Random", f"{path.name}:{node.lineno} uses global random.{node.attr}"
                if node.value.id in ("datetime", "date") and node.attr in ("now", "utcnow", "today"):
                    assert path == MODEL / "clock.py", f"{path.name}:{node.lineno} reads the wall clock"


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
        "import sys, breakerlab.sim, breakerlab.sim.cli, breakerlab.sim.sweeps.run;"
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


# -- packages and their allowed imports ---------------------------------------------------------

#: Each package of the distribution and the other breakerlab packages it may import. The
#: reference model is the bottom layer; the runtime breaker, the command line, the simulator
#: and the proofs each build on the model's public API alone (conformance also on the proofs).
ALLOWED_IMPORTS: dict[str, set[str]] = {
    "breakerlab.model": set(),
    "breakerlab.runtime": {"breakerlab.model"},
    # the breaker shared through Redis: the model, and the runtime's event log and local breaker
    "breakerlab.runtime.shared": {"breakerlab.model", "breakerlab.runtime"},
    # the pybreaker-compatible API: a translation onto the runtime breakers
    "breakerlab.compat": {"breakerlab.model", "breakerlab.runtime", "breakerlab.runtime.shared"},
    "breakerlab.cli": {"breakerlab.model"},
    "breakerlab.sim": {"breakerlab.model"},
    "breakerlab.proofs": {"breakerlab.model"},
    "breakerlab.proofs.conform": {"breakerlab.model", "breakerlab.proofs"},
}


def _package_dirs() -> dict[str, pathlib.Path]:
    """``package-dir`` of pyproject.toml: each installed package and its folder."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {name: ROOT / folder for name, folder in config["tool"]["setuptools"]["package-dir"].items()}


def _modules() -> dict[str, pathlib.Path]:
    """Every module of the distribution by dotted name (each file under its own package only)."""
    dirs = _package_dirs()
    owned = set(dirs.values())
    modules: dict[str, pathlib.Path] = {}
    for package, folder in dirs.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            # a subfolder mapped to a package of its own belongs to that package
            if any((folder.joinpath(*parts[:k]) in owned) for k in range(1, len(parts))):
                continue
            name = ".".join((package, *parts)).removesuffix(".__init__")
            modules[name] = path
    return modules


def _imported(name: str, path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                found.add(".".join([*base, *([node.module] if node.module else [])]))
            elif node.module:
                found.add(node.module)
    return {m for m in found if m.startswith("breakerlab.")}


def _owner(module: str) -> str:
    """The most specific package of ALLOWED_IMPORTS that ``module`` belongs to."""
    return max((p for p in ALLOWED_IMPORTS if module == p or module.startswith(p + ".")), key=len)


def test_packages_import_only_the_packages_they_build_on() -> None:
    """Every import between breakerlab's packages is one ALLOWED_IMPORTS lists (the runtime, the
    command line, the simulator and the proofs use the model; the model uses none of them), and
    nothing reaches the runtime or the command line as breakerlab.model.*."""
    bad = []
    for name, path in _modules().items():
        package = _owner(name)
        for imported in _imported(name, path):
            target = _owner(imported)
            if imported.startswith(("breakerlab.model.runtime", "breakerlab.model.cli")):
                bad.append(f"{name} imports {imported}: use breakerlab.runtime / breakerlab.cli")
            elif target != package and target not in ALLOWED_IMPORTS[package]:
                bad.append(f"{name} imports {imported} ({package} may import {sorted(ALLOWED_IMPORTS[package])})")
    assert not bad, "\n".join(bad)


#: The one deliberate exception, with its reason: the conformance harness replaces pybreaker's
#: internal lock by a FIFO lock so that blocked callers are handed the lock in a deterministic
#: order (pybreaker has no public way to choose its lock); the adapter documents it.
ALLOWED_PRIVATE = {"proofs/conform/adapters/pybreaker_adapter.py: setattr(..., '_lock')"}


def _is_own(value: ast.expr) -> bool:
    """``self``, ``cls`` or ``super()``: the object's own names."""
    if isinstance(value, ast.Name):
        return value.id in ("self", "cls")
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "super"


def _underscore_reads(path: pathlib.Path) -> list[str]:
    """``x._name`` (and ``getattr``/``setattr``/``hasattr`` with a ``"_name"`` string) where ``x``
    is not ``self``, ``cls`` or ``super()``: a read of another object's private name."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if not _is_own(node.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and node.args[1].value.startswith("_")
            and not node.args[1].value.startswith("__")
        ):
            where = f"{path.relative_to(ROOT)}: {node.func.id}(..., {node.args[1].value!r})"
            if where not in ALLOWED_PRIVATE:
                found.append(where)
    return found


def test_no_module_reads_another_objects_underscore_names() -> None:
    """No library module, benchmark or notebook reads another object's underscore names (of
    breakerlab's or of a third-party library's, such as SimPy's ``env._now``): modules talk
    through public APIs."""
    paths = [*_modules().values(), *(ROOT / "benchmarks").glob("*.py"), *(ROOT / "notebooks").glob("*.py")]
    found = [hit for path in paths for hit in _underscore_reads(path)]
    assert not found, "\n".join(found)
