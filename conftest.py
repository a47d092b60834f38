"""Repository-wide pytest hooks: no network, and the training chapters' notebooks are marked ``slow``.

Every test runs offline: ``tests/offline/sitecustomize.py`` refuses connections to other machines
in this process and, through ``PYTHONPATH``, in every Python process a test starts (notebook
kernels, ``torchrun`` workers, the command line).

``make test`` runs everything except them and the browser test (about 3.5 minutes);
``make test-slow`` runs them (they train networks or start processes: about 23 minutes on a
2-core CPU); ``.ci/run`` runs both, and plain
``pytest`` runs everything.
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest
import yaml

pytest_plugins = [
    "tests.nbval_tolerance"
]  # nbval with tolerance bands for trained figures

OFFLINE = Path(__file__).resolve().parent / "tests" / "offline"
if os.environ.get("MNIST_CNN_ALLOW_NETWORK") != "1":
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(OFFLINE), os.environ.get("PYTHONPATH", "")) if p
    )
    runpy.run_path(
        str(OFFLINE / "sitecustomize.py")
    )  # this process (its start-up is over)

# The Chinese edition shares the English notebooks' code cells and outputs
# (tests/test_zh.py checks that), so nbval executes the English ones only.
collect_ignore = ["book/zh"]

SLOW_NOTEBOOKS = {
    "quickstart.ipynb",
    "training.ipynb",
    "scratch.ipynb",
    "evaluation.ipynb",
    "overfitting.ipynb",
    "finetune.ipynb",
    "applications.ipynb",
    "engineering.ipynb",
}


def chapter_order() -> list[str]:
    toc = yaml.safe_load(
        (Path(__file__).resolve().parent / "_toc.yml").read_text()
    )
    return [
        Path(c["file"]).name + ".ipynb"
        for part in toc["parts"]
        for c in part["chapters"]
    ]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the slow notebooks, and run the notebooks in the book's order (after the unit tests):
    the chapter "Training" writes the network that "Evaluation" reads from the checkpoint cache."""
    order = chapter_order()
    for item in items:
        if item.path.name in SLOW_NOTEBOOKS:
            item.add_marker(pytest.mark.slow)
    rank = {name: i for i, name in enumerate(order)}
    items.sort(
        key=lambda item: (
            rank.get(item.path.name, -1)
            if item.path.suffix == ".ipynb"
            else -1
        )
    )
