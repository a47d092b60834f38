"""mnist_cnn.atomic.write_atomically: the file gets the usual permissions and no temporary file
is left. (A writer killed halfway leaves the previous file whole: test_reliability.py, with the
checkpoint the command line wrote.)"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import BinaryIO

import pytest
import torch

from mnist_cnn import atomic


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    path = atomic.write_atomically(
        tmp_path / "x.bin", lambda f: f.write(b"abc")
    )
    assert path.read_bytes() == b"abc" and (path.stat().st_mode & 0o777) == (
        0o666 & ~umask
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.bin"]


def test_ctrl_c_while_writing_waits_for_the_whole_file(
    tmp_path: Path,
) -> None:
    """A SIGINT that arrives halfway through the write (as when the command
    line saves its training state) finishes the file, then raises
    KeyboardInterrupt. Interrupted torch.save raised a RuntimeError from its
    zip writer instead, and the run ended with a traceback (CI, stop 39)."""
    path = tmp_path / "state.pt"
    payload = {"w": torch.arange(50_000.0)}

    def interrupted_halfway(f: BinaryIO) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # delivered before the save
        torch.save(payload, f)

    # Python's own handler, as in a terminal (a job started in the background
    # by a script inherits SIGINT ignored, and pytest keeps that)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            atomic.write_atomically(path, interrupted_halfway)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, before)
    assert torch.equal(torch.load(path)["w"], payload["w"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.pt"]
