"""The tolerance bands catch a real regression: with the book recipe's peak learning rate 10x too
low, the chapter "Evaluation" fails nbval on its accuracy (``make test-portable`` shows the same
notebooks passing on other CPUs and thread counts)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_learning_rate_ten_times_too_low_fails_the_bands(
    tmp_path: Path,
) -> None:
    # the notebook's kernel runs this at start-up (IPython's startup folder), before any cell
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-regression.py").write_text(
        textwrap.dedent("""
        import torch.optim.lr_scheduler as schedulers
        _init = schedulers.OneCycleLR.__init__
        def init(self, optimizer, max_lr, *args, **kwargs):  # the regression: the peak rate 10x too low
            _init(self, optimizer, max_lr / 10, *args, **kwargs)
        schedulers.OneCycleLR.__init__ = init
    """)
    )
    env = os.environ | {
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "MNIST_CNN_CACHE": str(tmp_path / "cache"),
    }
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "book/evaluation.ipynb",
            "-q",
            "-p",
            "no:cacheprovider",
            "-x",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode != 0, run.stdout[-2000:]
    assert (
        "Glued values outside their tolerance bands" in run.stdout
        and "glue 'accuracy'" in run.stdout
    ), run.stdout[-4000:]
