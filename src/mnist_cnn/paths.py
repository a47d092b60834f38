"""Where the book's files are, from any working directory (page "Run times").

A notebook may run in ``book/`` (Jupyter, nbval), in the repository root, or in
Colab's ``/content`` after the set-up cell cloned the book into
``~/cnn-from-scratch``. The package is found in one of two installations:

* **from a clone** (``pip install -e .``, the set-up cell): the clone is found
  from this file; ``MNIST_CNN_HOME`` names another one. The MNIST files are
  the clone's ``data/mnist/``, shared networks are cached in ``checkpoints/``;
* **from a wheel** (``pip install .``, ``pip install mnist_cnn-*.whl``): the
  wheel holds the package and, as package data built from ``data/mnist/``,
  the four MNIST files (``mnist_cnn/_mnist/``), but no notebooks or photos.
  :func:`book` then needs ``MNIST_CNN_HOME`` (else one clear error), and
  shared networks and downloads go to the user's cache folder
  (``$XDG_CACHE_HOME/mnist-cnn`` or ``~/.cache/mnist-cnn``).

``MNIST_CNN_CACHE`` names the checkpoint cache in both (an empty folder there
means "train everything again"). Nothing here creates a folder.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "repository",
    "book",
    "cache_dir",
    "shipped_mnist",
    "downloads",
    "user_cache",
]

ENV_HOME = "MNIST_CNN_HOME"
ENV_CACHE = "MNIST_CNN_CACHE"
_PACKAGE = Path(__file__).resolve().parent
_CLONE = _PACKAGE.parents[1]  # src/mnist_cnn/ -> the clone, if it is one
_PACKAGED_MNIST = _PACKAGE / "_mnist"  # package data of a wheel


def _is_clone(root: Path) -> bool:
    """True if ``root`` holds the book (its ``_config.yml`` and ``book/``)."""
    return (root / "_config.yml").is_file() and (root / "book").is_dir()


def repository() -> Path:
    """The book's repository: ``$MNIST_CNN_HOME``, or the clone this package
    was installed from. Installed from a wheel, with the variable unset,
    there is none: :class:`FileNotFoundError` says what to do."""
    env = os.environ.get(ENV_HOME)
    if env:
        if not _is_clone(Path(env)):
            raise FileNotFoundError(
                f"{ENV_HOME}={env!r}: not the book's repository (no "
                "_config.yml and book/ there). Clone the book and set "
                f"{ENV_HOME} to the clone's folder, or unset it."
            )
        return Path(env)
    if not _is_clone(_CLONE):
        raise FileNotFoundError(
            f"mnist_cnn runs from {_PACKAGE}, not from a clone of the book: "
            "a wheel holds the package and MNIST, not the notebooks and "
            f"photos. Clone the book and set {ENV_HOME} to the clone's "
            "folder, or install the package from the clone "
            "(`pip install -e .` in it)."
        )
    return _CLONE


def book(*parts: str) -> Path:
    """A path inside ``book/`` (``book("images", "handwriting")``); needs the
    clone (:func:`repository`)."""
    return repository().joinpath("book", *parts)


def cache_dir() -> Path:
    """The folder for networks the chapters share: ``$MNIST_CNN_CACHE``, else
    ``checkpoints/`` of the clone (:func:`repository`), else, installed from
    a wheel with no clone, ``checkpoints/`` in :func:`user_cache`. Created
    by the first checkpoint written there, not here."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env)
    if os.environ.get(ENV_HOME) or _is_clone(_CLONE):
        return repository() / "checkpoints"
    return user_cache() / "checkpoints"


def shipped_mnist() -> Path:
    """The folder of the four MNIST files that come with the package: the
    wheel's package data (``mnist_cnn/_mnist/``, copied from ``data/mnist/``
    when the wheel is built), else ``data/mnist/`` beside ``src/`` (a clone,
    an unpacked sdist), else ``mnist/`` in :func:`downloads`, where
    :func:`mnist_cnn.data.load_mnist` would download them."""
    if _PACKAGED_MNIST.is_dir():
        return _PACKAGED_MNIST
    if (_CLONE / "data" / "mnist").is_dir():
        return _CLONE / "data" / "mnist"
    return downloads() / "mnist"


def downloads() -> Path:
    """Where data sets go that torchvision downloads: ``data/`` of the clone
    this package was installed from, else :func:`user_cache` (never the
    installed package's folder)."""
    return _CLONE / "data" if _is_clone(_CLONE) else user_cache()


def user_cache() -> Path:
    """The user's cache folder for this package: ``$XDG_CACHE_HOME/mnist-cnn``
    if that variable is an absolute path, else ``~/.cache/mnist-cnn``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "mnist-cnn"
