"""The notebooks: each Jupytext script is paired with a stripped .ipynb, runs at small scale (and,
marked slow, at full scale), and gives the numbers its prose quotes."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import json
import pathlib
import re

import jupytext
import nbclient
import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))
#: What each notebook must show, by stem: (MIME type, text the output must contain); the others
#: must show an image.
SHOWS = {"01_model_tour": ("text/markdown", "```mermaid")}
IMAGE = ("image/png", "")


def _cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def test_every_notebook_is_found() -> None:
    """The six notebooks exist as Jupytext scripts."""
    assert [path.stem for path in NOTEBOOKS] == [
        "01_model_tour", "02_anatomy_of_an_outage", "03_sweep", "04_retries_capacity_metastability",
        "05_library_fingerprints", "06_why_30_seconds",
    ]


@pytest.mark.parametrize("script", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_paired_and_stripped(script: pathlib.Path) -> None:
    """The paired .ipynb has the script's cells, no outputs and no execution counts."""
    paired = script.with_suffix(".ipynb")
    assert paired.exists(), f"run: jupytext --sync {script.relative_to(ROOT)}"
    notebook = jupytext.read(paired)
    assert _cells(notebook) == _cells(jupytext.read(script)), f"run: jupytext --sync {script.relative_to(ROOT)}"
    assert notebook.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "strip the outputs before committing"


@pytest.mark.parametrize("script", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_uses_only_the_public_api(script: pathlib.Path) -> None:
    """Every name a notebook imports from breakerlab is in its module's __all__, or is a public submodule."""
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("breakerlab"):
            public = importlib.import_module(node.module).__all__
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                assert alias.name in public or (
                    not alias.name.startswith("_") and importlib.util.find_spec(submodule) is not None
                ), f"{script.name}:{node.lineno} imports {alias.name!r}, not public in {node.module}"


#: A number quoted in a markdown cell, checked against the executed notebook:
#: ``NUMBER<!-- = EXPR -->``, ``NUMBER<!-- = EXPR ± TOL -->`` or either ending in ``@small`` /
#: ``@full`` (see notebooks/README.md, "Numbers in the prose").
CLAIM = re.compile(
    r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<percent>%?)`?"
    r"<!-- = (?P<expr>.+?)(?: ± (?P<tol>[\d.]+))?(?: @(?P<scale>small|full))? -->"
)
MARKER = re.compile(r"<!-- =")


@dataclasses.dataclass(frozen=True)
class Claim:
    """A number the prose quotes, and the expression of the notebook's state it must equal."""

    number: float
    decimals: int
    percent: bool
    expr: str
    tolerance: float | None
    scale: str | None
    text: str

    def holds(self, value: float) -> bool:
        """Whether ``value`` (the expression's value after the run) is what the prose says."""
        shown = value * 100 if self.percent else value
        if self.tolerance is not None:
            return abs(shown - self.number) <= self.tolerance
        return round(shown, self.decimals) == self.number


def claims(notebook: nbformat.NotebookNode) -> list[Claim]:
    """Every number the notebook's markdown cells tie to an expression."""
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        matches = list(CLAIM.finditer(cell.source))
        assert len(matches) == len(MARKER.findall(cell.source)), (
            f"a '<!-- =' marker that is not NUMBER<!-- = EXPR [± TOL] [@small|@full] --> in:\n{cell.source}"
        )
        for match in matches:
            number = match["number"].replace(",", "")
            found.append(Claim(
                number=float(number),
                decimals=len(number.partition(".")[2]),
                percent=bool(match["percent"]),
                expr=match["expr"],
                tolerance=None if match["tol"] is None else float(match["tol"]),
                scale=match["scale"],
                text=match[0],
            ))
    return found


def execute(script: pathlib.Path, scale: str, folder: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the notebook at ``scale``; check it shows its figure and every number its prose
    quotes for this scale."""
    monkeypatch.setenv("BREAKERLAB_NOTEBOOK_SCALE", scale)  # the kernel inherits the environment
    notebook = jupytext.read(script)
    checked = [claim for claim in claims(notebook) if claim.scale in (None, scale)]
    # One last cell evaluates the claims' expressions in the notebook's namespace.
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import json as _json\n"
        "def _value(_expr):\n"
        "    try:\n"
        "        return float(eval(_expr))\n"
        "    except Exception as _error:\n"
        "        return f'cannot evaluate {_expr!r}: {_error!r}'\n"
        f"print(_json.dumps([_value(_expr) for _expr in {[claim.expr for claim in checked]!r}]))"
    ))
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    mime, text = SHOWS.get(script.stem, IMAGE)
    shown = [output.data[mime] for output in outputs if mime in output.get("data", {})]
    assert any(text in content for content in shown), f"no {mime} output containing {text!r}"
    values = json.loads(notebook.cells[-1].outputs[-1]["text"])
    wrong = [
        f"{claim.text}: the notebook has {value!r}"
        for claim, value in zip(checked, values)
        if isinstance(value, str) or not claim.holds(value)
    ]
    assert not wrong, f"numbers in {script.name}'s prose that the {scale}-scale run does not give:\n" + "\n".join(wrong)


@pytest.mark.parametrize("script", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_prose_ties_its_numbers_to_the_run(script: pathlib.Path) -> None:
    """Every '<!-- =' marker in a notebook's prose is a well-formed claim, and each notebook quotes
    at least one checked number."""
    assert claims(jupytext.read(script)), f"{script.name} checks no number of its prose"


@pytest.mark.parametrize("script", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_at_small_scale(
    script: pathlib.Path, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notebook runs without an error at small scale, shows its figure or diagram, and gives
    every number its prose quotes (except those marked @full)."""
    execute(script, "small", tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("script", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_at_full_scale(
    script: pathlib.Path, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At full scale too, the notebook runs, shows its figure, and gives every number its prose
    quotes (except those marked @small)."""
    execute(script, "full", tmp_path, monkeypatch)
