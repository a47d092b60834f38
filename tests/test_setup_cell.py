"""The set-up cell every notebook starts with (tools/notebook_setup.py): it is current in every
chapter, it does nothing where the package is installed, and in a Python without the package it
clones the book and installs it, so the notebook runs — here offline, from a local clone, in a
fresh virtual environment, from a working directory outside the repository (as in Colab)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from tests import processes

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import notebook_setup  # noqa: E402


def test_every_notebook_starts_with_the_current_set_up_cell() -> None:
    url = notebook_setup.repository_url()
    source = notebook_setup.cell_source()
    assert (
        url.startswith("https://") and source.count(url) == 1
    )  # the URL comes from _config.yml, once
    for nb_path in sorted((ROOT / "book").glob("*.ipynb")):
        code = [
            c
            for c in json.loads(nb_path.read_text())["cells"]
            if c["cell_type"] == "code"
        ]
        assert "".join(code[0]["source"]) == source, (
            f"{nb_path.name}: run python tools/notebook_setup.py, then make notebooks"
        )
        assert code[0]["outputs"] == [], (
            f"{nb_path.name}: the set-up cell printed something where the package is installed"
        )


def tracked_tree(dest: Path) -> Path:
    """A git repository holding this working tree's files (committed or not, ignored files left out)."""
    files = (
        subprocess.run(
            [
                "git",
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    git = [
        "git",
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "-c",
        "commit.gpgsign=false",
    ]
    subprocess.run(git + ["init", "-q", "-b", "main"], cwd=dest, check=True)
    subprocess.run(git + ["add", "-A"], cwd=dest, check=True)
    subprocess.run(
        git + ["commit", "-q", "-m", "snapshot"], cwd=dest, check=True
    )
    return dest


@pytest.mark.slow
def test_a_notebook_without_the_package_installs_it_and_runs(
    tmp_path: Path,
) -> None:
    repo = tracked_tree(tmp_path / "repo")
    venv = tmp_path / "venv"
    # no pip or setuptools of its own: those of this environment (pyproject.toml needs setuptools >= 77)
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True
    )
    python = venv / "bin" / "python"
    site = Path(
        processes.run(
            [
                python,
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ]
        ).stdout.strip()
    )
    # torch, jupyter and the rest come from this environment's site-packages (offline, no GBs to
    # download); the editable mnist_cnn does not: its import hook is a .pth file, which a path
    # added this way does not run
    (site / "dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    home, work = tmp_path / "home", tmp_path / "somewhere"
    home.mkdir()
    work.mkdir()
    # offline: pip finds every dependency installed and builds with the setuptools it has
    # (PIP_NO_BUILD_ISOLATION=0 is pip's spelling of --no-build-isolation)
    env = os.environ | {
        "HOME": str(home),
        "MNIST_CNN_REPO": str(repo),
        "PIP_NO_INDEX": "1",
        "PIP_NO_BUILD_ISOLATION": "0",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env.pop("MNIST_CNN_HOME", None)
    assert (
        subprocess.run(
            [python, "-c", "import mnist_cnn"], env=env, capture_output=True
        ).returncode
        != 0
    )
    script = textwrap.dedent(f"""
        import nbformat
        from nbclient import NotebookClient
        nb = nbformat.read({str(ROOT / "book" / "pooling.ipynb")!r}, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell("import mnist_cnn; print(mnist_cnn.__file__)"))
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={{"metadata": {{"path": {str(work)!r}}}}}).execute()
        print("LAST:", nb.cells[-1].outputs[0]["text"].strip())
    """)
    run = subprocess.run(
        [python, "-c", script],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    imported_from = run.stdout.split("LAST:")[1].strip()
    assert imported_from == str(
        home / "cnn-from-scratch" / "src" / "mnist_cnn" / "__init__.py"
    )
    # the package is installed for the next kernel too (editable, from the clone)
    again = subprocess.run(
        [python, "-c", "import mnist_cnn; print(mnist_cnn.__file__)"],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert again.stdout.strip() == imported_from, again.stderr


def test_the_cells_the_html_hides_are_collapsed_in_jupyter() -> None:
    """In Jupyter (and the zh edition, which shares the code cells) the
    set-up cell, the glue/assertion cells and the checks whose code the HTML
    hides (``hide-input``) start collapsed, as the HTML hides them; a reader
    expands one with a click."""
    pages = [
        *(ROOT / "book").glob("*.ipynb"),
        *(ROOT / "book/zh").glob("*.ipynb"),
    ]
    for nb_path in sorted(pages):
        cells = json.loads(nb_path.read_text())["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        hidden = [code[0]] + [
            c
            for c in code
            if {"remove-cell", "hide-input"}
            & set(c["metadata"].get("tags", []))
        ]
        open_ = [
            c["id"]
            for c in hidden
            if not c["metadata"].get("jupyter", {}).get("source_hidden")
        ]
        assert "hide-cell" in code[0]["metadata"].get("tags", []), (
            f"{nb_path.relative_to(ROOT)}: the set-up cell is not behind a "
            "toggle in the HTML; run python tools/notebook_setup.py"
        )
        assert not open_, (
            f"{nb_path.relative_to(ROOT)}: cells {open_} are hidden in the "
            "HTML but open in Jupyter; run python tools/notebook_setup.py "
            "(then tools/zh.py sync)"
        )
    code = [
        c
        for c in json.loads((ROOT / "book/data.ipynb").read_text())["cells"]
        if c["cell_type"] == "code"
    ]
    shown = [c for c in code[1:] if not c["metadata"].get("tags")]
    assert shown and not any(c["metadata"].get("jupyter") for c in shown)
