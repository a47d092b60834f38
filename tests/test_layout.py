"""The package and the pages as a reader meets them: every module listed where a reader looks
for it, code that fits the page column, figures sized for it, bookkeeping hidden."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

import mnist_cnn
from tests import processes

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "mnist_cnn"
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
COLUMN = 79  # characters: ruff's line length, what the page column shows (test_html.py)
COLUMN_INCHES = (
    6.88  # a figure this wide is drawn at its own size (test_plots.py)
)
HIDDEN = {"remove-cell", "remove-input"}
# lines from `def` to the last line: longer, a function is split into named
# steps (the book shows functions whole, with literalinclude's :pyobject:)
LONGEST_FUNCTION = 60


def modules() -> list[str]:
    return sorted(
        p.stem
        for p in PACKAGE.glob("*.py")
        if p.stem not in ("__init__", "__main__")
    )


def functions(
    node: ast.AST, prefix: str = ""
) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method under ``node``, with its qualified name
    (``Class.method``, ``outer.inner``)."""
    found = []
    for child in ast.iter_child_nodes(node):
        if isinstance(
            child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        ):
            name = prefix + child.name
            if not isinstance(child, ast.ClassDef):
                found.append((name, child))
            found += functions(child, name + ".")
        else:
            found += functions(child, prefix)
    return found


def visible_code(nb_path: Path) -> list[tuple[int, str]]:
    nb = nbformat.read(nb_path, as_version=4)
    return [
        (i, c.source)
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        and not HIDDEN & set(c.metadata.get("tags", []))
    ]


def test_the_package_docstring_and_the_api_page_list_every_module() -> None:
    listed = re.findall(r":mod:`mnist_cnn\.(\w+)`", mnist_cnn.__doc__ or "")
    assert sorted(listed) == modules()
    api = (ROOT / "book" / "api.md").read_text()
    assert (
        sorted(re.findall(r"automodule:: mnist_cnn\.(\w+)", api)) == modules()
    )


def test_version_comes_from_the_package_metadata() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert mnist_cnn.__version__ == importlib.metadata.version("mnist-cnn")
    assert mnist_cnn.__version__ == pyproject["project"]["version"]


def test_every_module_declares_all_at_the_top_and_nothing_is_appended() -> (
    None
):
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        assigns = [
            n
            for n in tree.body
            if isinstance(n, (ast.Assign, ast.AugAssign))
            and any(
                isinstance(t, ast.Name) and t.id == "__all__"
                for t in (
                    n.targets if isinstance(n, ast.Assign) else [n.target]
                )
            )
        ]
        if path.stem in ("__init__", "__main__"):
            continue
        assert len(assigns) == 1, (
            f"{path.name}: __all__ assigned {len(assigns)} times"
        )
        first_def = next(
            n.lineno
            for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.ClassDef))
        )
        assert assigns[0].lineno < first_def, (
            f"{path.name}: __all__ after code"
        )
        exported = ast.literal_eval(assigns[0].value)
        defined = {
            n.name
            for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.ClassDef))
        } | {
            t.id
            for n in tree.body
            if isinstance(n, (ast.Assign, ast.AnnAssign))
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
            if isinstance(t, ast.Name)
        }
        imported = {
            a.asname or a.name
            for n in tree.body
            if isinstance(n, ast.ImportFrom)
            for a in n.names
        }
        missing = set(exported) - defined - imported
        assert not missing, f"{path.name}: __all__ names {sorted(missing)}"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_visible_code_fits_the_column_and_shows_no_glue(nb_path: Path) -> None:
    for i, source in visible_code(nb_path):
        for line in source.splitlines():
            assert len(line) <= COLUMN, (
                f"cell {i}: {len(line)} characters: {line}"
            )
        for node in ast.parse(source).body:
            call = node.value if isinstance(node, ast.Expr) else None
            is_glue = (
                isinstance(call, ast.Call)
                and getattr(call.func, "id", None) == "glue"
            )
            assert not is_glue, f"cell {i}: glue(...) belongs in a hidden cell"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_figures_fit_the_column_with_legible_fonts(
    nb_path: Path,
) -> None:
    for i, source in visible_code(nb_path):
        for w in re.findall(r"figsize=\(([\d.]+),", source):
            assert float(w) <= COLUMN_INCHES, f"cell {i}: figsize width {w} in"
        for size in re.findall(r"fontsize=([\d.]+)", source):
            assert float(size) >= 7, f"cell {i}: fontsize={size}"


@pytest.mark.slow  # runs the benchmarks (5 s): make test-slow, CI
def test_benchmarks_run_through_the_one_command_line() -> None:
    done = processes.run(
        [sys.executable, "-m", "mnist_cnn", "bench", "--help"]
    )
    for what in ("data", "conv", "train", "gpu"):
        assert what in done.stdout
    old = subprocess.run(
        [sys.executable, "-m", "mnist_cnn.bench"],
        capture_output=True,
        text=True,
    )
    assert (
        old.stdout == "" and old.returncode == 0
    )  # a module, no second command line


def test_no_function_in_the_package_is_longer_than_a_screen() -> None:
    too_long = [
        f"src/mnist_cnn/{path.name}: {name} is {length} lines"
        for path in sorted(PACKAGE.glob("*.py"))
        for name, node in functions(ast.parse(path.read_text()))
        if (length := (node.end_lineno or node.lineno) - node.lineno + 1)
        > LONGEST_FUNCTION
    ]
    assert not too_long, (
        f"longer than {LONGEST_FUNCTION} lines, split into named steps: "
        + "; ".join(too_long)
    )
