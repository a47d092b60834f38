"""Where a training run is, as typed objects: the running sums of the epoch in
progress, the record of every finished epoch, the early-stopping bookkeeping,
and writing all of it (with the model, optimizer, schedule, the run's random
generator and torch's global ones, which dropout draws from) to a file that :func:`mnist_cnn.training.fit` can resume from.

Used by ``fit(..., state_path=..., save_every=..., resume=True)`` and
``python -m mnist_cnn train --save-every N --resume``; a resumed run ends with
the same weights, bit for bit, as one never stopped
(``tests/test_reliability.py``). This module owns the file: its format, its
checks (the settings of the run that wrote it, and which runs may extend it)
and what a resumed run learns from it.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from mnist_cnn.atomic import write_atomically
from mnist_cnn.checkpoints import CheckpointError, safe_load
from mnist_cnn.config import TrainConfig, count

__all__ = [
    "Sums",
    "EpochRecord",
    "ResumedFrom",
    "Progress",
    "SavedState",
    "save_progress",
    "load_progress",
    "save_training_state",
    "load_training_state",
]

STATE_FORMAT = "mnist_cnn training state 1"


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


class ResumedFrom(NamedTuple):
    """Where a resumed run picked up: the epoch, and the steps already done
    in it."""

    epoch: int
    step: int


@dataclass(frozen=True)
class SavedState:
    """A training-state file, read and checked against the run's settings."""

    path: Path
    epochs: int  # the epochs the run that wrote it was set to train
    contents: dict[str, Any]  # what save_progress wrote (tensors on the CPU)


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
    resumed_from: ResumedFrom | None = None  # where the file left the run
    saved_epochs: int | None = None  # the epochs the file's run was set to

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
    saved: SavedState, device: torch.device, parts: dict[str, Any]
) -> Progress:
    """Restore the parts from a state read by :func:`load_training_state`
    and return the run's position."""
    state = saved.contents
    if "global_rng" in state:  # states of earlier versions lack it
        torch.set_rng_state(state["global_rng"])
    if state.get("cuda_rng") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    for name, part in parts.items():
        if name == "generator":
            part.set_state(state["generator"])
        elif part is not None:
            part.load_state_dict(state[name])
    unfinished = state["step"] > 0
    sums = None
    if unfinished:
        loss, correct = (t.to(device) for t in state["sums"])
        sums = Sums(loss, correct, state["seen"])
    return Progress(
        epoch=state["epoch"],
        step=state["step"],
        order=state["order"].to(device) if unfinished else None,
        sums=sums,
        seconds=state["seconds"] if unfinished else 0.0,
        history=[EpochRecord(**r) for r in state["history"]],
        best_loss=state["best_loss"],
        best_epoch=state["best_epoch"],
        best_state=state["best_state"],
        stale=state["stale"],
        resumed_from=ResumedFrom(state["epoch"], state["step"]),
        saved_epochs=saved.epochs,
    )


def save_training_state(
    path: str | os.PathLike[str], state: dict[str, Any]
) -> Path:
    """Write a resumable training state (see :func:`mnist_cnn.training.fit`)
    atomically: a kill while writing leaves the previous state file whole."""
    payload = {"format": STATE_FORMAT, **state}
    return write_atomically(Path(path), lambda f: torch.save(payload, f))


def load_training_state(
    path: str | os.PathLike[str], config: TrainConfig
) -> SavedState:
    """The state written by :func:`save_training_state`, read on the CPU
    with ``weights_only=True`` and checked once; refused
    (:class:`~mnist_cnn.checkpoints.CheckpointError`) if unreadable or of
    another configuration. ``config`` may differ in ``epochs`` alone (the
    run is extended or ends sooner) where the run continues exactly as one of
    ``config.epochs`` would (see ``_check_epochs``)."""
    path = Path(path)
    state = safe_load(
        path,
        "cpu",  # fit moves what it needs to its device
        "training state",
        "Pass another --state (the file --save-every writes), or leave out "
        "--resume to start afresh.",
    )
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        model = isinstance(state, dict) and "state_dict" in state
        raise CheckpointError(
            f"{path}: "
            + ("a checkpoint (a trained model)" if model else "a PyTorch file")
            + ", not an mnist_cnn training state. Pass the file --save-every "
            "writes (by default OUT.state), or leave out --resume."
        )
    ours = dataclasses.asdict(config)
    # a setting added to TrainConfig after the state was written: its default
    saved = {**dataclasses.asdict(TrainConfig()), **state["config"]}
    changed = sorted(k for k, v in ours.items() if saved.get(k) != v)
    if set(changed) - {_MAY_CHANGE}:
        raise CheckpointError(
            f"{path}: written by a run with other settings "
            f"({', '.join(changed)}); "
            "resume with the same settings, or delete it to start afresh."
        )
    return SavedState(path, _check_epochs(path, state, config), state)


# the one setting a resumed run may change: it is extended, or ends sooner
_MAY_CHANGE = "epochs"


# schedules whose learning rate at a step depends on the run's length
_LENGTH_SCHEDULES = ("onecycle", "cosine")


def _check_epochs(
    path: Path, state: dict[str, Any], config: TrainConfig
) -> int:
    """The epochs the saved run was set to train. It may continue to another
    number only where that gives exactly the run of ``config.epochs`` never
    stopped: its schedule does not depend on the run's length (constant,
    step), and it has not trained further already."""
    saved = int(state["config"]["epochs"])
    if config.epochs == saved:
        return saved
    epoch, step = state["epoch"], state["step"]
    begun = epoch if step > 0 else epoch - 1  # epochs trained, or begun
    if config.epochs < begun:
        raise CheckpointError(
            f"{path}: the saved run has already trained "
            f"{count(begun, 'epoch')} (of {saved}); pass --epochs {begun} "
            "or more."
        )
    if config.schedule in _LENGTH_SCHEDULES:
        raise CheckpointError(
            f"{path}: saved by a run of {count(saved, 'epoch')} whose "
            f"{config.schedule} schedule is fitted to {count(saved, 'epoch')}; "
            f"a run of {config.epochs} would have had other learning rates "
            "from its first step, so it cannot be continued. Resume with "
            f"--epochs {saved}, or train {count(config.epochs, 'epoch')} "
            "afresh (leave out --resume, or pass another --state); a run with "
            "--schedule constant or step can be extended."
        )
    return saved
