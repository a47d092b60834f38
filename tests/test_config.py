"""mnist_cnn.config: TrainConfig's defaults are the recipe the book documents, and every bad value
is refused with a message that names it."""

from __future__ import annotations

import dataclasses

import pytest

from mnist_cnn import config, training

# The book's recipe as the chapter "Training" (book/training.ipynb, "The book's recipe") documents
# it: AdamW, one-cycle schedule peaking at lr 0.01, batch 128, label smoothing 0.1, channels_last,
# normalisation constants measured on the training images; one epoch (what the benchmark times),
# weight decay 5e-4, 5,000 validation images held out of the 60,000. Written here by hand, not
# read from TrainConfig, so that a changed default fails until the chapter is changed with it.
BOOK_RECIPE = {
    "model": "book",
    "optimizer": "adamw",
    "lr": 0.01,
    "schedule": "onecycle",
    "batch_size": 128,
    "epochs": 1,
    "weight_decay": 5e-4,
    "label_smoothing": 0.1,
    "augment": False,
    "amp": "off",
    "channels_last": True,
    "normalization": "measured",
    "n_val": 5000,
    "train_subset": None,
    "patience": None,
    "seed": 0,
}


def test_defaults_are_the_books_recipe() -> None:
    defaults = dataclasses.asdict(config.TrainConfig())
    assert {k: defaults[k] for k in BOOK_RECIPE} == BOOK_RECIPE
    # one import path: mnist_cnn.config (training uses it, does not export it)
    assert "TrainConfig" not in training.__all__


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"model": "resnet"}, r"model='resnet': expected one of"),
        ({"optimizer": "lion"}, r"optimizer='lion'"),
        ({"epochs": 0}, r"epochs=0: must be a positive integer"),
        ({"batch_size": -1}, r"batch_size=-1"),
        ({"lr": -0.1}, r"lr=-0.1: must be a positive number"),
        ({"lr": float("nan")}, r"lr=nan"),
        ({"schedule": "linear"}, r"schedule='linear'"),
        ({"amp": "fp8"}, r"amp='fp8'"),
        ({"patience": 0}, r"patience=0"),
    ],
)
def test_config_rejects_bad_values(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        config.TrainConfig(**kwargs)
