"""The set-up cell every chapter notebook starts with, written from ``_config.yml``.

In Jupyter with the package installed (``make install``) the cell does nothing. In Colab, or any
Python without the package, it clones the book (for its data, images and package) into
``~/cnn-from-scratch``, installs the package with the notebooks' extras (``pip install -e``, so a
later kernel imports it too), and puts the clone's ``src/`` on ``sys.path``, so the next cell's
``import mnist_cnn`` works without a restart. A failed step stops the cell with its message.

The repository URL lives once, in ``_config.yml`` (``repository.url``, which the launch buttons
use too); ``MNIST_CNN_REPO`` overrides it (a fork, or a local clone in the test).

    python tools/notebook_setup.py          # rewrite the first code cell of every book/*.ipynb
                                            # and collapse it and the hidden cells in Jupyter
    python tools/notebook_setup.py --check  # exit 1 and name the notebooks whose cell is stale

``tests/test_setup_cell.py`` fails when a notebook's cell differs from :func:`cell_source`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
MARKER = "# Set-up:"


def repository_url() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"][
        "url"
    ]


def cell_source(url: str | None = None) -> str:
    url = url or repository_url()
    return f"""{MARKER} does nothing where the book's package is installed. In Colab, or any
# Python without it, clones the book into ~/cnn-from-scratch and installs the
# package (about a minute).
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("mnist_cnn") is None:
    url = "{url}"
    repo = os.environ.get("MNIST_CNN_REPO", url)
    home = os.path.expanduser("~/cnn-from-scratch")

    def run(*command):  # a failed step stops the cell with the tool's message
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{{command[0]}} failed:\\n{{done.stderr[-3000:]}}")

    if not os.path.isdir(home):
        run("git", "clone", "-q", "--depth=1", repo, home)
    run(sys.executable, "-m", "pip", "install", "-q", "-e", f"{{home}}[book]")
    sys.path.insert(0, f"{{home}}/src")  # importable without a restart"""


# the tags of the cells whose code the HTML does not show
COLLAPSED = {"remove-cell", "hide-input"}


def is_setup_cell(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and cell.source.startswith(MARKER)


def to_collapse(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The code cells a reader need not read: the set-up cell, the cells the
    HTML removes (glue and the text's assertions) and the checks whose code
    it hides behind a toggle (``hide-input``: their output stays in view).
    Jupyter shows them collapsed (``jupyter.source_hidden``), one click
    away, as the HTML hides them."""
    return [
        c
        for c in nb.cells
        if c.cell_type == "code"
        and (is_setup_cell(c) or COLLAPSED & set(c.metadata.get("tags", [])))
    ]


def collapsed(cell: nbformat.NotebookNode) -> bool:
    """Collapsed in Jupyter; the set-up cell also sits behind a toggle in the
    HTML (``hide-cell``), where the reader does not need it."""
    hidden = cell.metadata.get("jupyter", {}).get("source_hidden") is True
    toggled = "hide-cell" in cell.metadata.get("tags", [])
    return hidden and (toggled or not is_setup_cell(cell))


def stale(nb_path: Path) -> bool:
    nb = nbformat.read(nb_path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code or code[0].source != cell_source():
        return True
    return not all(collapsed(c) for c in to_collapse(nb))


def write(nb_path: Path) -> bool:
    """Make the current set-up cell the first code cell (updating an older one), and collapse
    the cells of :func:`to_collapse`. True if the file changed."""
    nb = nbformat.read(nb_path, as_version=4)
    source = cell_source()
    code = [c for c in nb.cells if c.cell_type == "code"]
    changed = False
    if code and is_setup_cell(code[0]):
        if code[0].source != source:
            code[0].update(source=source, outputs=[], execution_count=None)
            changed = True
    else:
        first_code = next(
            i for i, c in enumerate(nb.cells) if c.cell_type == "code"
        )
        nb.cells.insert(first_code, nbformat.v4.new_code_cell(source))
        changed = True
    for cell in to_collapse(nb):
        if not collapsed(cell):
            cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
            tags = cell.metadata.setdefault("tags", [])
            if is_setup_cell(cell) and "hide-cell" not in tags:
                tags.append("hide-cell")
            changed = True
    if not changed:
        return False
    nbformat.validator.normalize(nb)
    nbformat.write(nb, nb_path)
    return True


def main(argv: list[str]) -> int:
    notebooks = sorted((ROOT / "book").glob("*.ipynb"))
    if "--check" in argv:
        bad = [p.name for p in notebooks if stale(p)]
        for name in bad:
            print(
                f"book/{name}: the set-up cell is missing or stale, or a hidden cell is not "
                "collapsed; run python tools/notebook_setup.py",
                file=sys.stderr,
            )
        return 1 if bad else 0
    for p in notebooks:
        if write(p):
            print(
                f"book/{p.name}: set-up cell written (re-execute the notebook: make notebooks)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
