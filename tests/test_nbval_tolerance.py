"""The tolerance bands nbval applies to trained figures (tests/nbval_tolerance.py, tests/tolerances.yml):
a run on another CPU passes, a real regression fails, and every band names a value the book glues."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import nbval_tolerance as tol

ROOT = Path(__file__).resolve().parents[1]


def glued(name: str, value: object) -> dict:
    return {
        "output_type": "display_data",
        "data": {tol.GLUE_MIME: repr(value)},
        "metadata": {
            "scrapbook": {
                "name": name,
                "mime_prefix": "application/papermill.record/",
            }
        },
    }


def test_mask_numbers() -> None:
    assert (
        tol.mask_numbers(
            "test accuracy: 0.9941 (59 mistakes), 1e-05, -3.5, 29,818, nan"
        )
        == "test accuracy: # ( # mistakes), #, #, #, #"
    )
    assert tol.mask_numbers("digit 9 read as 4") == "digit # read as #"
    assert tol.mask_numbers("eager    8,852 images/s") == tol.mask_numbers(
        "eager   10,123 images/s"
    )


@pytest.mark.parametrize(
    ("stored", "computed", "band", "ok"),
    [
        (
            99.41,
            99.36,
            {"abs": 0.3},
            True,
        ),  # the evaluation chapter on an AVX2 CPU (the issue's report)
        (99.41, 99.10, {"abs": 0.3}, False),  # 0.31 points: outside
        (99.41, 97.9, {"abs": 0.3}, False),  # a learning rate 10x too low
        (0.1258, 0.1330, {"rel": 0.1}, True),
        (0.1258, 0.1400, {"rel": 0.1}, False),
        (59, 64, {"abs": 30}, True),
        (float("nan"), float("nan"), {"abs": 1}, True),
        (float("nan"), 3.0, {"abs": 100}, False),
        (1.0, 1e9, {"any": True}, True),
    ],
)
def test_within(stored: float, computed: float, band: dict, ok: bool) -> None:
    assert tol.within(stored, computed, band) is ok


def test_compare_glue_uses_the_band_or_exact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        tol,
        "tolerances",
        lambda: {"nb.ipynb": {"acc": {"abs": 0.3}, "best": {"any": True}}},
    )
    ref = [glued("acc", 99.41), glued("best", "LoRA"), glued("count", 10)]
    assert (
        tol.compare_glue(
            "nb.ipynb",
            ref,
            [glued("acc", 99.2), glued("best", "probe"), glued("count", 10)],
        )
        == []
    )
    problems = tol.compare_glue(
        "nb.ipynb",
        ref,
        [glued("acc", 98.0), glued("best", "probe"), glued("count", 11)],
    )
    assert (
        len(problems) == 2
        and "'acc'" in problems[0]
        and "'count'" in problems[1]
        and "exact" in problems[1]
    )
    assert (
        "glued names differ"
        in tol.compare_glue("nb.ipynb", ref, [glued("acc", 99.41)])[0]
    )
    assert tol.compare_glue(
        "other.ipynb", [glued("acc", 99.41)], [glued("acc", 99.40)]
    )  # no band: exact


def test_numbers_glued_as_text_are_compared_as_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """f"{x:.1g}" and f"{n:,}" glue strings; their band applies to the number they show."""
    monkeypatch.setattr(
        tol, "tolerances", lambda: {"nb.ipynb": {"diff": {"abs": 1e-4}}}
    )
    assert (
        tol.compare_glue(
            "nb.ipynb",
            [glued("diff", "2e-06"), glued("n", "29,818")],
            [glued("diff", "3e-06"), glued("n", "29,818")],
        )
        == []
    )
    assert tol.compare_glue(
        "nb.ipynb", [glued("diff", "2e-06")], [glued("diff", "0.001")]
    )
    assert tol.compare_glue(
        "nb.ipynb", [glued("n", "29,818")], [glued("n", "29,819")]
    )  # no band: exact


def test_text_of_a_tolerance_cell_keeps_its_shape() -> None:
    stored = [
        {
            "output_type": "stream",
            "name": "stdout",
            "text": "test accuracy: 0.9941 (59 mistakes)\n",
        },
        glued("acc", 99.41),
    ]
    same_shape = [
        {
            "output_type": "stream",
            "name": "stdout",
            "text": "test accuracy: 0.9936 (64 mistakes)\n",
        },
        glued("acc", 99.36),
    ]
    other_shape = [
        {
            "output_type": "stream",
            "name": "stdout",
            "text": "test accuracy: 0.9936\n",
        },
        glued("acc", 99.36),
    ]
    assert tol._masked(stored) == tol._masked(same_shape)
    assert tol._masked(stored) != tol._masked(other_shape)


def notebook_cells(name: str) -> list[dict]:
    return [
        c
        for c in json.loads((ROOT / "book" / name).read_text())["cells"]
        if c["cell_type"] == "code"
    ]


def test_every_band_names_a_value_glued_in_a_tolerance_cell() -> None:
    """A band for a name the notebook no longer glues (or glues outside a tagged cell) is dead
    configuration, and a glued value in a tagged cell without a band is compared exactly."""
    for notebook, bands in tol.tolerances().items():
        tagged = [
            c
            for c in notebook_cells(notebook)
            if tol.TAG in c.get("metadata", {}).get("tags", [])
        ]
        names = {tol.glue_name(o) for c in tagged for o in c["outputs"]} - {
            None
        }
        assert set(bands) <= names, (
            f"{notebook}: bands for names no tagged cell glues: {sorted(set(bands) - names)}"
        )


def test_trained_chapters_use_tolerance_cells() -> None:
    """Every chapter that trains a network has its trained figures under bands."""
    for notebook in (
        "quickstart.ipynb",
        "training.ipynb",
        "scratch.ipynb",
        "evaluation.ipynb",
        "overfitting.ipynb",
        "finetune.ipynb",
        "applications.ipynb",
        "engineering.ipynb",
    ):
        assert notebook in tol.tolerances(), (
            f"{notebook} trains networks but has no tolerance bands"
        )
