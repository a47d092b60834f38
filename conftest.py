"""Repository-wide pytest hooks: the training chapters' notebooks are marked ``slow``.

``make test`` runs everything except them (about a minute and a half); ``make test-slow`` runs
them (they train networks: a few minutes on a 2-core CPU); ``.ci/run`` runs both, and plain
``pytest`` runs everything.
"""

from __future__ import annotations

import pytest

SLOW_NOTEBOOKS = {"training.ipynb", "evaluation.ipynb", "overfitting.ipynb", "finetune.ipynb", "applications.ipynb"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in SLOW_NOTEBOOKS:
            item.add_marker(pytest.mark.slow)
