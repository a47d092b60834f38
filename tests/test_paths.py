"""mnist_cnn.paths: the book's folders found from the package, whatever the
working directory, in a clone and as a wheel installs it (simulated here by
pointing the module at a folder that is not a clone; tests/test_wheel.py
installs a real wheel)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnist_cnn import paths

ROOT = Path(__file__).resolve().parents[1]


def tree(folder: Path) -> list[str]:
    """Every file and folder under ``folder``: what a call may have made."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture()
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MNIST_CNN_HOME", "MNIST_CNN_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture()
def as_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_env: None
) -> Path:
    """The module as a wheel installs it: its folder is in a site-packages
    that is no clone, with the MNIST files beside it; HOME is ``tmp_path``.
    Returns the package data folder."""
    site = tmp_path / "venv" / "lib" / "python3" / "site-packages"
    packaged = site / "mnist_cnn" / "_mnist"
    packaged.mkdir(parents=True)
    monkeypatch.setattr(paths, "_PACKAGE", site / "mnist_cnn")
    monkeypatch.setattr(paths, "_CLONE", site.parent)
    monkeypatch.setattr(paths, "_PACKAGED_MNIST", packaged)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return packaged


def test_the_repository_is_found_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_env: None
) -> None:
    monkeypatch.chdir(tmp_path)
    assert paths.repository() == ROOT
    assert (
        paths.book("images", "handwriting")
        == ROOT / "book" / "images" / "handwriting"
    )
    assert sorted(
        paths.book("images", "handwriting").glob("digit-*.jpg")
    )  # the photos the chapter reads
    assert paths.cache_dir() == ROOT / "checkpoints"
    assert paths.shipped_mnist() == ROOT / "data" / "mnist"
    assert paths.downloads() == ROOT / "data"


def test_environment_variables_name_another_clone_and_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = tmp_path / "clone"
    (clone / "book").mkdir(parents=True)
    (clone / "_config.yml").write_text("title: x\n")
    monkeypatch.setenv("MNIST_CNN_HOME", str(clone))
    monkeypatch.setenv("MNIST_CNN_CACHE", str(tmp_path / "cache"))
    assert (
        paths.repository() == clone
        and paths.book("x.ipynb") == clone / "book" / "x.ipynb"
    )
    assert paths.cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("MNIST_CNN_CACHE")
    assert paths.cache_dir() == clone / "checkpoints"


def test_a_folder_that_is_not_the_book_is_refused_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MNIST_CNN_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        paths.book()
    message = str(info.value)
    assert f"MNIST_CNN_HOME={str(tmp_path)!r}" in message
    assert "not the book's repository" in message and "unset it" in message
    # an explicit variable that is wrong is an error, not a fallback
    monkeypatch.delenv("MNIST_CNN_CACHE", raising=False)
    with pytest.raises(FileNotFoundError, match="MNIST_CNN_HOME"):
        paths.cache_dir()


def test_from_a_wheel_the_book_needs_a_clone_and_says_so(
    as_wheel: Path,
) -> None:
    with pytest.raises(FileNotFoundError) as info:
        paths.book("images")
    message = str(info.value)
    assert "not from a clone of the book" in message
    assert "set MNIST_CNN_HOME" in message and "pip install -e ." in message
    assert str(as_wheel.parent) in message  # where the package runs from


def test_from_a_wheel_data_and_caches_leave_the_package_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_wheel: Path
) -> None:
    """Shipped MNIST: the package data. Checkpoints and downloads: the user's
    cache folder (never site-packages); nothing is created by asking."""
    before = tree(tmp_path)
    home_cache = tmp_path / "home" / ".cache" / "mnist-cnn"
    assert paths.shipped_mnist() == as_wheel
    assert paths.cache_dir() == home_cache / "checkpoints"
    assert paths.downloads() == home_cache
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.cache_dir() == tmp_path / "xdg" / "mnist-cnn" / "checkpoints"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # ignored (XDG)
    assert paths.user_cache() == home_cache
    assert tree(tmp_path) == before


def test_from_a_wheel_without_its_data_mnist_goes_to_the_user_cache(
    tmp_path: Path, as_wheel: Path
) -> None:
    """A wheel built without the package data: torchvision's download (the
    last resort of load_mnist) lands in the cache, not in site-packages."""
    as_wheel.rmdir()
    expected = tmp_path / "home" / ".cache" / "mnist-cnn" / "mnist"
    assert paths.shipped_mnist() == expected


def test_from_a_wheel_a_clone_named_by_the_variable_holds_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_wheel: Path
) -> None:
    clone = tmp_path / "clone"
    (clone / "book").mkdir(parents=True)
    (clone / "_config.yml").write_text("title: x\n")
    monkeypatch.setenv("MNIST_CNN_HOME", str(clone))
    assert paths.book("x.ipynb") == clone / "book" / "x.ipynb"
    assert paths.cache_dir() == clone / "checkpoints"
    assert paths.shipped_mnist() == as_wheel  # the data stays the wheel's


def test_an_unpacked_sdist_uses_its_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_env: None
) -> None:
    """Installed from an unpacked sdist (src/ and data/mnist/, no book):
    the MNIST files beside src/; the book needs a clone."""
    sdist = tmp_path / "mnist_cnn-0.1.0"
    (sdist / "data" / "mnist").mkdir(parents=True)
    monkeypatch.setattr(paths, "_PACKAGE", sdist / "src" / "mnist_cnn")
    monkeypatch.setattr(paths, "_CLONE", sdist)
    monkeypatch.setattr(paths, "_PACKAGED_MNIST", sdist / "src" / "no")
    assert paths.shipped_mnist() == sdist / "data" / "mnist"
    with pytest.raises(FileNotFoundError, match="not from a clone"):
        paths.book()
