"""The package as ``pip install .`` or a wheel installs it, away from the
clone: a wheel built from this working tree, installed in a fresh virtual
environment, run offline from a folder outside the repository, finds the four
MNIST files it ships (package data built from data/mnist/).

Reference: the repository's own files, read by this process (the ``mnist``
fixture of tests/conftest.py) and their bytes in data/mnist/.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

from mnist_cnn import data
from tests import processes

# builds and installs a wheel (8 s): make test-slow and CI
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "data" / "mnist"
NAMES = [n for pair in data.FILES.values() for n in pair]

# Run by the wheel's Python: where it imports from, what it loads, how it
# answers the calls that need a clone. Prints one JSON object.
REPORT = textwrap.dedent("""
    import hashlib, json, socket, mnist_cnn
    from mnist_cnn import data, paths
    m = data.load_mnist()
    try:
        paths.book()
        book_error = None
    except FileNotFoundError as exc:
        book_error = str(exc)
    print(json.dumps({
        "file": mnist_cnn.__file__,
        "offline": getattr(socket.socket.connect, "_mnist_cnn_offline", 0),
        "root": str(data.default_root()),
        "counts": [len(m.train_labels), len(m.test_labels)],
        "shapes": [list(m.train_images.shape), list(m.test_images.shape)],
        "train_labels": m.train_labels[:100].tolist(),
        "test_labels": m.test_labels[:100].tolist(),
        "test_images_sha256": hashlib.sha256(
            m.test_images.numpy().tobytes()).hexdigest(),
        "book_error": book_error,
        "cache_dir": str(paths.cache_dir()),
    }))
""")


def run(args: list[str | Path], **kwargs: object) -> str:
    """Run ``args``; its stdout, or a failure that shows its output."""
    return processes.run(args, **kwargs).stdout


def working_tree(dest: Path) -> Path:
    """A copy of this working tree as ``pip install .`` sees a clone (its
    files, committed or not, ignored ones left out), so that the build
    writes nothing into the repository."""
    listed = run(
        [
            "git",
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
        cwd=ROOT,
    )
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            (dest / name).write_bytes((ROOT / name).read_bytes())
    return dest


def install_in_fresh_venv(wheel: Path, venv: Path) -> Path:
    """``pip install --no-deps --no-index wheel`` in a new environment; its
    dependencies come from this one through a .pth file, written after the
    install (pip then never sees this environment's editable mnist-cnn, and
    a path added by a .pth file does not run that install's import hook).
    Returns the environment's Python."""
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", python, "--no-cache-dir"]
    run([*pip, "install", "--no-deps", "--no-index", "-q", wheel])
    site = run(
        [python, "-c", "import sysconfig as s; print(s.get_path('purelib'))"]
    )
    (Path(site.strip()) / "dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n"
    )
    return python


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``pip wheel`` builds from a copy of this working tree."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = working_tree(tmp / "source")
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index"]
        + ["--no-cache-dir"]
        + ["--no-build-isolation", "-q", "-w", tmp / "dist", source]
    )
    (built,) = (tmp / "dist").glob("mnist_cnn-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path) -> dict:
    """The wheel installed in a fresh environment; REPORT's answers and the
    command line's help, both run offline outside the repository."""
    tmp = wheel.parents[1]
    python = install_in_fresh_venv(wheel, tmp / "venv")
    home, work = tmp / "home", tmp / "work"
    home.mkdir()
    work.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MNIST_CNN_") and k != "XDG_CACHE_HOME"
    }
    # tests/offline/sitecustomize.py refuses connections to other machines
    env |= {"HOME": str(home), "PYTHONPATH": str(ROOT / "tests" / "offline")}
    report = json.loads(run([python, "-c", REPORT], cwd=work, env=env))
    cli = run(
        [tmp / "venv" / "bin" / "mnist-cnn", "--help"], cwd=work, env=env
    )
    return {"venv": tmp / "venv", "home": home, "report": report, "cli": cli}


def test_the_wheel_holds_every_module_and_the_shipped_files(
    wheel: Path,
) -> None:
    """Every module of src/ (the packages are listed in pyproject.toml, not
    discovered) and the four .gz files, byte for byte, with their README
    (licence and credit)."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        modules = {n for n in names if n.endswith(".py")}
        source = ROOT / "src"
        assert modules == {
            str(p.relative_to(source))
            for p in (source / "mnist_cnn").rglob("*.py")
        }
        for name in [f"{n}.gz" for n in NAMES] + ["README.md"]:
            packaged = archive.read(f"mnist_cnn/_mnist/{name}")
            assert packaged == (SHIPPED / name).read_bytes(), name


def test_the_installed_wheel_loads_the_shipped_mnist_offline(
    installed: dict, mnist: data.MNIST
) -> None:
    report = installed["report"]
    site = installed["venv"] / "lib"
    assert Path(report["file"]).is_relative_to(site)  # not the clone's
    assert report["offline"]  # the network was blocked
    assert Path(report["root"]) == Path(report["file"]).parent / "_mnist"
    assert report["counts"] == [60000, 10000]
    assert report["shapes"] == [[60000, 28, 28], [10000, 28, 28]]
    assert report["train_labels"] == mnist.train_labels[:100].tolist()
    assert report["test_labels"] == mnist.test_labels[:100].tolist()
    digest = hashlib.sha256(mnist.test_images.numpy().tobytes()).hexdigest()
    assert report["test_images_sha256"] == digest
    # the entry point runs (its exit status 0 is checked by run)
    assert (
        installed["cli"].startswith("usage:") and "train" in installed["cli"]
    )


def test_the_installed_wheel_needs_a_clone_only_for_the_book(
    installed: dict,
) -> None:
    """paths.book() says what to do; the checkpoint cache falls back to the
    user's cache folder, which asking does not create."""
    report = installed["report"]
    assert "not from a clone of the book" in report["book_error"]
    assert "MNIST_CNN_HOME" in report["book_error"]
    cache = installed["home"] / ".cache" / "mnist-cnn" / "checkpoints"
    assert Path(report["cache_dir"]) == cache
    assert not (installed["home"] / ".cache").exists()
