"""Running a command from a test so that its failure shows why: the exit
status with the command's own stderr and stdout (``check=True`` with
``capture_output=True`` shows only "returned non-zero exit status 1")."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import Any


def run(
    args: Sequence[str], tail: int = 4000, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(args, capture_output=True, text=True, **kwargs)``;
    on a non-zero exit an AssertionError naming the command, its status and
    the last ``tail`` characters of its stderr and stdout."""
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, **kwargs
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(str(a) for a in args)} exited with "
            f"{done.returncode}\n--- stderr ---\n{done.stderr[-tail:]}"
            f"\n--- stdout ---\n{done.stdout[-tail:]}"
        )
    return done
