"""Where the book's files are, whatever the working directory (page "Run times").

A notebook may run in ``book/`` (Jupyter, nbval), in the repository root, or in
Colab's ``/content`` after the set-up cell cloned the book into
``~/cnn-from-scratch``. The package is installed from that clone (editable), so
the clone is found from this file; ``MNIST_CNN_HOME`` names another one.
Trained networks the chapters share are cached in ``checkpoints/`` of the
clone, or in ``MNIST_CNN_CACHE`` (an empty folder there means "train everything
again").
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["repository", "book", "cache_dir"]


def repository() -> Path:
    """The book's repository: ``$MNIST_CNN_HOME``, or the clone this package
    was installed from."""
    env = os.environ.get("MNIST_CNN_HOME")
    root = Path(env) if env else Path(__file__).resolve().parents[2]
    if not (root / "_config.yml").is_file() or not (root / "book").is_dir():
        raise FileNotFoundError(
            f"{root}: not the book's repository (no _config.yml and book/). "
            "Install the package from a clone "
            "(`pip install -e .` in it) or set MNIST_CNN_HOME to the clone's "
            "folder."
        )
    return root


def book(*parts: str) -> Path:
    """A path inside ``book/`` (``book("images", "handwriting")``)."""
    return repository().joinpath("book", *parts)


def cache_dir() -> Path:
    """The folder for networks the chapters share: ``$MNIST_CNN_CACHE`` or
    ``checkpoints/`` of the clone."""
    env = os.environ.get("MNIST_CNN_CACHE")
    return Path(env) if env else repository() / "checkpoints"
