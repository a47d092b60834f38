"""tools/option_walk.py: `--epochs` is read in few places on its way from
the command line to the loop, through a resumed and extended run."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import option_walk  # noqa: E402


def test_epochs_travels_through_at_most_8_functions(tmp_path: Path) -> None:
    stays = option_walk.walk("epochs", tmp_path)
    # the trace sees the places that must read it ...
    for needed in [
        ("config", "TrainConfig.__post_init__"),  # refuses --epochs 0
        ("run_state", "_check_epochs"),  # may the saved run be extended?
        ("training", "make_scheduler"),  # a schedule spans the whole run
        ("training", "fit"),  # the loop
        ("cli", "_resumed_line"),
    ]:
        assert needed in stays, stays
    # ... and few others (issue 31: 15 before the training code was reshaped)
    assert len(stays) <= 8, stays
