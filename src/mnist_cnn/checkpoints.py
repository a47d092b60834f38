"""Files a run leaves behind: checkpoints (a trained model) and training states
(a run to resume).

Used in the chapters "Training" and "Evaluation" and by the command line. Both
are written atomically (:func:`mnist_cnn.atomic.write_atomically`) and loaded
with ``weights_only=True``, so a file can hold only tensors and plain data,
never code. Every file that cannot be used ends in one :class:`CheckpointError`
that says what to do.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from mnist_cnn import models
from mnist_cnn.atomic import write_atomically
from mnist_cnn.config import TrainConfig

__all__ = [
    "CheckpointError",
    "Trained",
    "save_checkpoint",
    "load_checkpoint",
    "save_training_state",
    "load_training_state",
]


def _torch_load(
    path: Path, device: torch.device | str, what: str, advice: str
) -> Any:
    """``torch.load`` with ``weights_only=True``: tensors and plain data only.
    Anything it refuses (a truncated zip, random bytes, a pickle with code in
    it) ends in one :class:`CheckpointError` naming the file and ``advice``."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"{path}: not a readable {what} ({type(exc).__name__}: "
            f"{_first_line(exc)}). {advice}"
        ) from None


class Trained(Protocol):
    """What a checkpoint stores: a training run's model, its settings and the
    normalisation it was trained with (:class:`mnist_cnn.training.FitResult`)."""

    model: nn.Module
    config: TrainConfig
    mean: float
    std: float


_CHECKPOINT_FORMAT = 1
_STATE_FORMAT = "mnist_cnn training state 1"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used: missing, corrupt, or for another model."""


def _first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (some have none: torch.load of
    an empty file)."""
    lines = str(exc).splitlines()
    return lines[0][:limit] if lines else "no details"


def save_checkpoint(
    path: str | os.PathLike[str],
    result: Trained,
    metrics: dict[str, float] | None = None,
) -> Path:
    """Write weights, config, normalisation and metrics to ``path`` atomically."""
    state = {
        k: v.detach().cpu().contiguous()
        for k, v in result.model.state_dict().items()
    }
    payload = {
        "format": _CHECKPOINT_FORMAT,
        "state_dict": state,
        "config": dataclasses.asdict(result.config),
        "mean": result.mean,
        "std": result.std,
        "metrics": dict(metrics or {}),
    }
    return write_atomically(Path(path), lambda f: torch.save(payload, f))


def load_checkpoint(
    path: str | os.PathLike[str],
    device: torch.device | str = "cpu",
    expect_model: str | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """The model (eval mode) and the rest of the checkpoint; only tensors and
    plain data are unpickled. With ``expect_model`` a checkpoint of any other
    model is refused."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"{path}: no such checkpoint file. "
            f"Train one with `python -m mnist_cnn train --out {path}`."
        )
    payload = _torch_load(
        path,
        device,
        "checkpoint",
        "It is corrupt or not written by mnist_cnn; train again.",
    )
    if (
        not isinstance(payload, dict)
        or payload.get("format") != _CHECKPOINT_FORMAT
        or "state_dict" not in payload
    ):
        raise CheckpointError(
            f"{path}: not an mnist_cnn checkpoint (format "
            f"{_CHECKPOINT_FORMAT} expected)."
        )
    try:
        config = TrainConfig(**payload["config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: its training configuration is not valid here ({exc})."
        ) from None
    if expect_model is not None and config.model != expect_model:
        raise CheckpointError(
            f"{path}: holds a {config.model!r} model, not {expect_model!r}. "
            f"Pass --model {config.model} or a checkpoint of {expect_model!r}."
        )
    model = models.MODELS[config.model](**config.model_kwargs)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: its weights do not fit the model {config.model!r} it "
            "names "
            f"({_first_line(exc)}...). It was written by another version of "
            "mnist_cnn; train again."
        ) from None
    model.to(device).eval()
    return model, {k: v for k, v in payload.items() if k != "state_dict"} | {
        "config": config
    }


def save_training_state(
    path: str | os.PathLike[str], state: dict[str, Any]
) -> Path:
    """Write a resumable training state (see :func:`mnist_cnn.training.fit`)
    atomically: a kill while writing leaves the previous state file whole."""
    payload = {"format": _STATE_FORMAT, **state}
    return write_atomically(Path(path), lambda f: torch.save(payload, f))


def load_training_state(
    path: str | os.PathLike[str],
    config: TrainConfig,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """The state written by :func:`save_training_state`, loaded with
    ``weights_only=True``; refused (:class:`CheckpointError`) if unreadable or
    of another configuration."""
    path = Path(path)
    state = _torch_load(
        path, device, "training state", "Delete it to start the run afresh."
    )
    if not isinstance(state, dict) or state.get("format") != _STATE_FORMAT:
        raise CheckpointError(
            f"{path}: not an mnist_cnn training state. Delete it or pass "
            "another --state path."
        )
    if state["config"] != dataclasses.asdict(config):
        ours = dataclasses.asdict(config)
        changed = sorted(
            k for k, v in ours.items() if state["config"].get(k) != v
        )
        raise CheckpointError(
            f"{path}: written by a run with other settings "
            f"({', '.join(changed)}); "
            "resume with the same settings, or delete it to start afresh."
        )
    state["generator"] = state["generator"].cpu()
    return state
