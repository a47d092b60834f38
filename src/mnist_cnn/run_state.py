"""Where a training run is, as typed objects: the running sums of the epoch in
progress, the record of every finished epoch, the early-stopping bookkeeping,
and writing all of it (with the model, optimizer, schedule, the run's random
generator and torch's global ones, which dropout draws from) to a file that :func:`mnist_cnn.training.fit` can resume from.

Used by ``fit(..., state_path=..., save_every=..., resume=True)`` and
``python -m mnist_cnn train --save-every N --resume``; a resumed run ends with
the same weights, bit for bit, as one never stopped
(``tests/test_reliability.py``). The file is written by
:mod:`mnist_cnn.checkpoints`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from mnist_cnn.checkpoints import load_training_state, save_training_state
from mnist_cnn.config import TrainConfig

__all__ = ["Sums", "EpochRecord", "Progress", "save_progress", "load_progress"]


@dataclass
class Sums:
    """Running sums of one epoch, kept on the device (no ``.item()`` a step,
    which would make a GPU wait): Σ loss × batch size, Σ right answers, images.
    """

    loss: torch.Tensor
    correct: torch.Tensor
    seen: int = 0

    @classmethod
    def zeros(cls, device: torch.device | str) -> Sums:
        loss = torch.zeros((), device=device)
        return cls(loss, torch.zeros((), device=device, dtype=torch.int64))

    def add(
        self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor
    ) -> None:
        self.loss += loss.detach() * y.shape[0]
        self.correct += (logits.argmax(1) == y).sum()
        self.seen += y.shape[0]


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: (
        float  # mean over the epoch's batches (dropout, augmentation on)
    )
    train_acc: float  # accuracy on the batches as they were trained on
    val_loss: float
    val_acc: float
    seconds: float  # training time of this epoch, evaluation excluded
    lr: float  # learning rate at the end of the epoch


@dataclass
class Progress:
    """A run's position: the epoch and step it has reached, the order and sums
    of an unfinished epoch, the finished epochs, and early stopping's state."""

    epoch: int = 1
    step: int = 0  # steps done in ``epoch``
    order: torch.Tensor | None = None  # the unfinished epoch's image order
    sums: Sums | None = None  # ... and its running sums
    seconds: float = 0.0  # ... and its training time so far
    history: list[EpochRecord] = field(default_factory=list)
    best_loss: float = math.inf  # the lowest validation loss so far
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None  # its weights
    stale: int = 0  # epochs since the validation loss last improved
    resumed_from: tuple[int, int] | None = None  # (epoch, step) of the file

    def record(
        self, record: EpochRecord, model: nn.Module, keep: bool
    ) -> None:
        """Add a finished epoch; remember its weights if they are the best
        so far and ``keep`` (early stopping is on)."""
        self.history.append(record)
        if record.val_loss < self.best_loss:
            self.best_loss, self.best_epoch, self.stale = (
                record.val_loss,
                record.epoch,
                0,
            )
            if keep:
                self.best_state = {
                    k: v.clone() for k, v in model.state_dict().items()
                }
        else:
            self.stale += 1
        self.epoch, self.step = record.epoch + 1, 0
        self.order, self.sums, self.seconds = None, None, 0.0

    def out_of_patience(self, patience: int | None) -> bool:
        """Early stopping: ``patience`` epochs in a row without a lower
        validation loss (never when ``patience`` is None)."""
        return patience is not None and self.stale >= patience


def save_progress(
    path: str | os.PathLike[str],
    config: TrainConfig,
    progress: Progress,
    parts: dict[str, Any],  # model, optimizer, scheduler, scaler, generator
) -> None:
    """Write everything a resumed run needs, atomically."""
    sums = progress.sums
    state = {
        "config": dataclasses.asdict(config),
        "epoch": progress.epoch,
        "step": progress.step,
        "order": (
            progress.order.cpu()
            if progress.order is not None
            else torch.empty(0, dtype=torch.int64)
        ),
        "sums": [sums.loss.cpu(), sums.correct.cpu()] if sums else [],
        "seen": sums.seen if sums else 0,
        "seconds": progress.seconds,
        "history": [dataclasses.asdict(r) for r in progress.history],
        "best_loss": progress.best_loss,
        "best_epoch": progress.best_epoch,
        "best_state": progress.best_state,
        "stale": progress.stale,
        # torch's global generators: dropout draws its masks from them
        "global_rng": torch.get_rng_state(),
        "cuda_rng": (
            torch.cuda.get_rng_state_all()
            if torch.cuda.is_initialized()
            else []
        ),
    }
    for name, part in parts.items():
        state[name] = (
            part.get_state()
            if name == "generator"
            else (part.state_dict() if part is not None else {})
        )
    save_training_state(path, state)


def load_progress(
    path: str | os.PathLike[str],
    config: TrainConfig,
    device: torch.device,
    parts: dict[str, Any],
) -> Progress:
    """Restore the parts from the file written by :func:`save_progress` and
    return the run's position."""
    saved = load_training_state(path, config, device)
    if "global_rng" in saved:  # states of earlier versions lack it
        torch.set_rng_state(saved["global_rng"])
    if saved.get("cuda_rng") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(saved["cuda_rng"])
    for name, part in parts.items():
        if name == "generator":
            part.set_state(saved["generator"])
        elif part is not None:
            part.load_state_dict(saved[name])
    unfinished = saved["step"] > 0
    sums = None
    if unfinished:
        loss, correct = (t.to(device) for t in saved["sums"])
        sums = Sums(loss, correct, saved["seen"])
    return Progress(
        epoch=saved["epoch"],
        step=saved["step"],
        order=saved["order"].to(device) if unfinished else None,
        sums=sums,
        seconds=saved["seconds"] if unfinished else 0.0,
        history=[EpochRecord(**r) for r in saved["history"]],
        best_loss=saved["best_loss"],
        best_epoch=saved["best_epoch"],
        best_state=saved["best_state"],
        stale=saved["stale"],
        resumed_from=(saved["epoch"], saved["step"]),
    )
