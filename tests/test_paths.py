"""mnist_cnn.paths: the book's folders found from the package, whatever the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnist_cnn import paths

ROOT = Path(__file__).resolve().parents[1]


def test_the_repository_is_found_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MNIST_CNN_HOME", raising=False)
    monkeypatch.delenv("MNIST_CNN_CACHE", raising=False)
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


def test_a_folder_that_is_not_the_book_is_refused_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MNIST_CNN_HOME", str(tmp_path))
    with pytest.raises(
        FileNotFoundError,
        match=r"not the book's repository .* set MNIST_CNN_HOME",
    ):
        paths.book()
