"""What defines a training run: the option names and the typed, validated
``TrainConfig``.

Explained in the chapter "Training" (``book/training.ipynb``). The option names
are declared once, here, as ``Literal`` types; :class:`TrainConfig` validates
against them and the command line (:mod:`mnist_cnn.cli`) takes its choices and
defaults from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from mnist_cnn import models

__all__ = [
    "Optimizer",
    "Schedule",
    "Precision",
    "Normalization",
    "OPTIMIZERS",
    "SCHEDULES",
    "PRECISIONS",
    "NORMALIZATIONS",
    "DEVICES",
    "ARTICLE_MEAN_STD",
    "TrainConfig",
    "count",
]

Optimizer = Literal["sgd", "momentum", "adam", "adamw", "adadelta"]
Schedule = Literal["constant", "onecycle", "cosine", "step"]
Precision = Literal["off", "bf16", "fp16"]  # mixed precision: fp16 needs CUDA
# mean/std measured, or the article's 0.5/0.5
Normalization = Literal["measured", "article"]
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)
SCHEDULES: tuple[str, ...] = get_args(Schedule)
PRECISIONS: tuple[str, ...] = get_args(Precision)
NORMALIZATIONS: tuple[str, ...] = get_args(Normalization)
# "auto": CUDA, then MPS, then the CPU
DEVICES = ("auto", "cpu", "cuda", "cuda:N", "mps")

ARTICLE_MEAN_STD = (0.5, 0.5)  # the article's Normalize((0.5,), (0.5,))


@dataclass
class TrainConfig:
    """Everything that defines a training run. The defaults are the book's fast
    recipe."""

    model: str = "book"  # a key of mnist_cnn.models.MODELS
    # e.g. {"dropout": 0.3}
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    optimizer: Optimizer = "adamw"
    lr: float = 0.01  # the peak learning rate for "onecycle"
    schedule: Schedule = "onecycle"
    # "step": multiply the learning rate by this every epoch
    step_gamma: float = 0.7
    batch_size: int = 128
    epochs: int = 1
    weight_decay: float = 5e-4
    # target 1 - 0.1 + 0.1/10 = 0.91 on the right class, not 1.0
    label_smoothing: float = 0.1
    # random rotation, scale and shift (augment.random_affine)
    augment: bool = False
    # mirror half of the images left-right (augment.random_flip): wrong for
    # digits, which the chapter "Overfitting" measures
    flip: bool = False
    seed: int = 0
    device: str = "auto"  # one of DEVICES
    amp: Precision = "off"
    channels_last: bool = True
    normalization: Normalization = "measured"
    n_val: int = 5000  # validation images held out of the 60,000
    train_subset: int | None = None  # train on the first N of the rest only
    patience: int | None = None  # early stopping: epochs without progress
    # False: the validation pass runs after the last epoch only (about a
    # third faster for a small training set; no curve, no early stopping)
    validate_every_epoch: bool = True
    threads: int | None = None  # torch.set_num_threads for this run (CPU)

    def __post_init__(self) -> None:
        problems = []
        choices = {
            "model": tuple(models.MODELS),
            "optimizer": OPTIMIZERS,
            "schedule": SCHEDULES,
            "amp": PRECISIONS,
            "normalization": NORMALIZATIONS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                value = getattr(self, name)
                problems.append(
                    f"{name}={value!r}: expected one of {', '.join(allowed)}"
                )
        for name in ("batch_size", "epochs"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                problems.append(
                    f"{name}={value!r}: must be a positive integer"
                )
        lr = self.lr
        if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
            problems.append(f"lr={lr!r}: must be a positive number")
        if self.weight_decay < 0:
            problems.append(
                f"weight_decay={self.weight_decay!r}: must be >= 0"
            )
        if not 0 <= self.label_smoothing < 1:
            problems.append(
                f"label_smoothing={self.label_smoothing!r}: must be in [0, 1)"
            )
        for name in ("train_subset", "patience", "threads"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                problems.append(
                    f"{name}={value!r}: must be a positive integer"
                )
        if self.patience is not None and not self.validate_every_epoch:
            problems.append(
                "patience needs validate_every_epoch=True: early stopping "
                "watches the validation loss after every epoch"
            )
        if problems:
            raise ValueError("TrainConfig: " + "; ".join(problems) + ".")


def count(n: int, word: str) -> str:
    """``1 epoch``, ``2 epochs``, ``60,000 images``: how a run's messages
    count."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"
