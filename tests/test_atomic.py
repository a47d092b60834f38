"""mnist_cnn.atomic.write_atomically: the file gets the usual permissions and no temporary file
is left. (A writer killed halfway leaves the previous file whole: test_reliability.py, with the
checkpoint the command line wrote.)"""

from __future__ import annotations

import os
from pathlib import Path

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
