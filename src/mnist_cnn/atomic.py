"""The book's file utilities: writing a file so that a crash never leaves half
of it (temporary file, flush, rename), checking before a long run that it can
be written at all, saving a result elsewhere when its place fails after the
work is done, and telling files apart by their first bytes (an image, a file
``torch.save`` wrote).

Used by everything that writes a file another run will trust: the MNIST files
laid out for torchvision (:mod:`mnist_cnn.data`), checkpoints and training
states (:mod:`mnist_cnn.checkpoints`), exported models
(:mod:`mnist_cnn.deploy`); the command line checks ``--out`` and ``--state``
with :func:`check_writable` before it trains and saves with
:func:`save_or_rescue` after.
"""

from __future__ import annotations

import contextlib
import glob
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "OutputPathError",
    "write_atomically",
    "check_writable",
    "save_or_rescue",
    "read_head",
    "image_format",
    "torch_file",
]


class OutputPathError(ValueError):
    """An output path that cannot be written: a folder, a missing folder, a
    read-only place."""


def write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file)`` on a temporary file next to ``path``, flush it to
    disk, then rename it to ``path``: readers see the old file or the complete
    new one, never half of one.

    Creates ``path``'s folder if needed. A process killed while writing leaves
    its hidden temporary file (``.NAME.*.part``) behind, never a damaged
    ``path``; the next write of the same ``path`` removes such leftovers.
    Ctrl-C during the write waits for it: the file is finished, then
    :class:`KeyboardInterrupt` is raised (``_ctrl_c_waits``)."""
    with _ctrl_c_waits():
        return _write_atomically(path, write)


@contextlib.contextmanager
def _ctrl_c_waits() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) inside the block and raise it after.

    Interrupted halfway, ``torch.save`` can raise a ``RuntimeError`` from
    its zip writer in place of the ``KeyboardInterrupt``, and the run would
    end with a traceback instead of its resume command. Only the main
    thread can set a signal handler, and a handler other than Python's own
    (a notebook kernel's, a test's) is left alone."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    caught: list[int] = []
    signal.signal(signal.SIGINT, lambda number, _: caught.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if caught:
        raise KeyboardInterrupt


def _write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> Path:
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


def check_writable(
    path: Path, option: str, make_folders: bool = False
) -> None:
    """Refuse, before any work, a ``path`` that :func:`write_atomically`
    could not write: an existing folder, a parent that is missing (unless
    ``make_folders``) or not a folder, a folder where no file can be created
    (read-only, no permission). ``option`` names it in the message."""
    if path.is_dir():
        raise OutputPathError(
            f"{option} {path}: is a folder; name a file in it, e.g. "
            f"{option} {path / 'model.pt'}."
        )
    folder = path.parent
    while make_folders and not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.exists():
        raise OutputPathError(
            f"{option} {path}: the folder {folder} does not exist; create it "
            f"(mkdir -p {folder}) or choose another {option}."
        )
    if not folder.is_dir():
        raise OutputPathError(
            f"{option} {path}: {folder} is a file, not a folder; choose "
            f"another {option}."
        )
    try:  # the only test that also sees read-only file systems and ACLs
        with tempfile.TemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as exc:
        raise OutputPathError(
            f"{option} {path}: cannot write in {folder} "
            f"({exc.strerror or exc}); choose a folder you can write to."
        ) from None


def save_or_rescue(
    path: Path, save: Callable[[Path], Path]
) -> tuple[Path, OSError | None]:
    """``save(path)``; if that fails (disk full, permission changed during a
    run), ``save`` to a new file next to ``path``, then in the system's
    temporary folder. Returns where the file went and the error that sent it
    elsewhere (None if ``path`` worked); raises that error if nowhere
    worked."""
    try:
        return save(path), None
    except OSError as exc:
        error = exc
    for folder in (path.parent, Path(tempfile.gettempdir())):
        try:
            fd, name = tempfile.mkstemp(
                dir=folder, prefix=f"{path.stem}.rescued-", suffix=path.suffix
            )
        except OSError:
            continue
        os.close(fd)
        try:
            return save(Path(name)), error
        except OSError:
            Path(name).unlink(missing_ok=True)
    raise error


_IMAGE_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


def read_head(path: Path, n: int = 12) -> bytes:
    """The first ``n`` bytes of ``path`` (empty if it cannot be read)."""
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError:
        return b""


def image_format(path: str | os.PathLike[str]) -> str | None:
    """ "PNG", "JPEG", "GIF", "BMP", "TIFF" or "WebP" if ``path`` starts as
    such an image does; None otherwise."""
    head = read_head(Path(path))
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next(
        (
            kind
            for magic, kind in _IMAGE_MAGIC.items()
            if head[: len(magic)] == magic
        ),
        None,
    )


def torch_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` starts as ``torch.save`` files do (a zip archive)."""
    return read_head(Path(path), 4) == b"PK\x03\x04"
