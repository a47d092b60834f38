"""Writing a file so that a crash never leaves half of it: temporary file,
flush, rename.

Used by everything that writes a file another run will trust: the MNIST files
laid out for torchvision (:mod:`mnist_cnn.data`), checkpoints and training
states (:mod:`mnist_cnn.checkpoints`), exported models
(:mod:`mnist_cnn.deploy`).
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["write_atomically"]


def write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file)`` on a temporary file next to ``path``, flush it to
    disk, then rename it to ``path``: readers see the old file or the complete
    new one, never half of one.

    Creates ``path``'s folder if needed. A process killed while writing leaves
    its hidden temporary file (``.NAME.*.part``) behind, never a damaged
    ``path``; the next write of the same ``path`` removes such leftovers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.part"):
        leftover.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".part"
    )
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        # mkstemp makes 0600 files; give the usual permissions
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
