"""The project's own promises: environment.yml matches pyproject.toml, the table of contents lists
exactly the chapters that exist, and every notebook is stored executed (so nbval compares real
outputs instead of passing vacuously)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def load_pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_matches_pyproject() -> None:
    project = load_pyproject()["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip_sections = [
        d["pip"] for d in env["dependencies"] if isinstance(d, dict)
    ]
    # Python: the version pinned for conda is the minimum pyproject.toml requires.
    python = [d for d in conda if d.startswith("python")]
    minimum = re.fullmatch(
        r">=\s*(\d+\.\d+)", project["requires-python"]
    ).group(1)
    assert python == [f"python={minimum}"]
    # Everything else comes from pyproject.toml through pip: the package with all its extras.
    assert sorted(conda) == sorted(["pip", f"python={minimum}"])
    assert len(pip_sections) == 1
    extras = ",".join(sorted(project["optional-dependencies"]))
    assert pip_sections[0] == [f"-e .[{extras}]"]


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def test_toc_lists_exactly_the_chapters_that_exist() -> None:
    listed = toc_files()
    assert len(listed) == len(set(listed)), "a chapter is listed twice"
    for entry in listed:
        matches = [
            p
            for p in (ROOT / f"{entry}.md", ROOT / f"{entry}.ipynb")
            if p.is_file()
        ]
        assert len(matches) == 1, (
            f"_toc.yml lists {entry}, which has no single .md/.ipynb file"
        )
    on_disk = {
        str(p.relative_to(ROOT).with_suffix(""))
        for p in (ROOT / "book").glob("*")
        if p.suffix in {".md", ".ipynb"}
    }
    assert on_disk == set(listed), (
        f"pages not in _toc.yml: {sorted(on_disk - set(listed))}"
    )


def test_book_config_excludes_build_and_environment_folders() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert {".venv", "_build", "node_modules"} <= set(
        config["exclude_patterns"]
    )
    assert config["only_build_toc_files"] is True


def test_notebooks_are_stored_executed() -> None:
    notebooks = sorted((ROOT / "book").glob("*.ipynb"))
    assert notebooks
    for nb_path in notebooks:
        cells = [
            c
            for c in json.loads(nb_path.read_text())["cells"]
            if c["cell_type"] == "code"
        ]
        counts = [c["execution_count"] for c in cells]
        assert None not in counts, (
            f"{nb_path.name}: cells without stored execution"
        )
        assert counts == list(range(1, len(cells) + 1)), (
            f"{nb_path.name}: not executed top to bottom once"
        )
        for c in cells:
            errors = [o for o in c["outputs"] if o["output_type"] == "error"]
            assert not errors, f"{nb_path.name}: a stored error output"


def test_tests_run_offline() -> None:
    """The whole suite runs with the network blocked (conftest.py, tests/offline/sitecustomize.py),
    here and in the processes tests start; loopback stays open for notebook kernels and torchrun."""
    import socket
    import subprocess
    import sys

    with pytest.raises(OSError, match="network blocked"):
        socket.create_connection(("93.184.216.34", 80), timeout=2)
    with pytest.raises(OSError, match="network blocked"):
        socket.getaddrinfo("pypi.org", 443)
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import socket; socket.create_connection(('1.1.1.1', 53), timeout=2)",
        ],
        capture_output=True,
        text=True,
    )
    assert child.returncode != 0 and "network blocked" in child.stderr
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(
        server.getsockname(), timeout=2
    )  # loopback works
    client.close()
    server.close()


def test_no_network_fixture_refuses_loopback_too(no_network: None) -> None:
    """The ``no_network`` fixture (tests/conftest.py) is the same blocker as
    tests/offline/sitecustomize.py, allowing no host at all: an offline machine."""
    import socket

    with pytest.raises(OSError, match="blocked by the no_network fixture"):
        socket.create_connection(("127.0.0.1", 9), timeout=2)
    with pytest.raises(OSError, match="blocked by the no_network fixture"):
        socket.getaddrinfo("localhost", 80)


def test_dependency_floor_is_what_the_tests_run_on() -> None:
    """pyproject.toml promises torch and torchvision no older than the versions tested: the floor is
    the installed release (major.minor), and so is the Python floor. Testing an older release means
    installing it and lowering the floor together."""
    from importlib.metadata import version

    deps = {
        re.split(r"[<>=!~ ]", d)[0]: d
        for d in load_pyproject()["project"]["dependencies"]
    }
    for name in ("torch", "torchvision"):
        floor = re.search(r">=\s*([\d.]+)", deps[name]).group(1)
        installed = ".".join(version(name).split("+")[0].split(".")[:2])
        assert floor == installed, (
            f"pyproject.toml: {name}>={floor}, but the tests run on {version(name)}"
        )
    python_floor = re.fullmatch(
        r">=\s*(\d+\.\d+)", load_pyproject()["project"]["requires-python"]
    ).group(1)
    import sys

    assert f"{sys.version_info.major}.{sys.version_info.minor}" == python_floor


def test_every_chapter_shows_its_recorded_run() -> None:
    """Each notebook carries the record of its last full execution (tools/run_notebooks.py) and shows
    it with the {run-time} directive in its first cell; the page "Run times" lists them all."""
    keys = {
        "seconds",
        "date",
        "cpu",
        "cores",
        "threads",
        "isa",
        "device",
        "torch",
        "python",
    }
    for nb_path in sorted((ROOT / "book").glob("*.ipynb")):
        nb = json.loads(nb_path.read_text())
        run = nb["metadata"].get("mnist_cnn", {}).get("run")
        assert run is not None and keys <= set(run), (
            f"{nb_path.name}: no run record; execute it with `make notebooks`"
        )
        assert run["seconds"] > 0 and re.fullmatch(
            r"\d{4}-\d\d-\d\d", run["date"]
        )
        assert "```{run-time}\n```" in "".join(nb["cells"][0]["source"]), (
            f"{nb_path.name}: no {{run-time}} in its first cell"
        )
    assert "```{run-times}" in (ROOT / "book" / "run-times.md").read_text()
