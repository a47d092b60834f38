"""Checkpoints: the file a training run leaves behind, a trained model with
its settings and normalisation. (The file a run resumes from, its training
state, is :mod:`mnist_cnn.run_state`'s.)

Used in the chapters "Training" and "Evaluation" and by the command line. A
checkpoint is written atomically (:func:`mnist_cnn.atomic.write_atomically`);
it and a training state are read by :func:`safe_load`, with
``weights_only=True``, so a file can hold only tensors and plain data, never
code. Every file that cannot be used ends in one :class:`CheckpointError`
that says what to do.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from mnist_cnn import models
from mnist_cnn.atomic import image_format, read_head, write_atomically
from mnist_cnn.config import TrainConfig

__all__ = [
    "CheckpointError",
    "Checkpoint",
    "Trained",
    "save_checkpoint",
    "load_checkpoint",
    "safe_load",
]


def safe_load(
    path: Path,
    device: torch.device | str,
    what: str,
    advice: str,
    for_images: str = "",
) -> Any:
    """``torch.load`` with ``weights_only=True``: tensors and plain data only.
    A folder, an image or anything it refuses (a truncated zip, random bytes,
    a pickle with code in it) ends in one :class:`CheckpointError` that says
    what the file is and ``advice``; PyTorch's own message, which suggests
    turning ``weights_only`` off, is never passed on. An image gets
    ``for_images`` too."""
    if path.is_dir():
        raise CheckpointError(
            f"{path}: is a folder, not a {what} file. {advice}"
        )
    image = image_format(path)
    if image is not None:
        raise CheckpointError(
            f"{path}: this is an image ({image}), not a {what}. {advice}"
            + for_images
        )
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"{path}: not a {what}: {_why_unreadable(path, exc)}. {advice}"
        ) from None


def _why_unreadable(path: Path, exc: Exception) -> str:
    """Why ``torch.load`` refused ``path``, in the reader's words."""
    head = read_head(path, 4)
    if not head:
        return "the file is empty"
    if "Unsupported global" in str(exc):
        return (
            "it holds Python objects besides tensors and plain data, which "
            "could run code when loaded, so it is refused"
        )
    if head == b"PK\x03\x04":
        return "the file is truncated or damaged"
    return "its contents are not a file PyTorch wrote"


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint, read: the model (eval mode), the settings it was trained
    with, its normalisation and the metrics saved beside it."""

    model: nn.Module
    config: TrainConfig
    mean: float
    std: float
    metrics: dict[str, float]


class Trained(Protocol):
    """What a checkpoint stores: a training run's model, its settings and the
    normalisation it was trained with (:class:`mnist_cnn.training.FitResult`)."""

    model: nn.Module
    config: TrainConfig
    mean: float
    std: float


_CHECKPOINT_FORMAT = 1


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


def _check_is_checkpoint(path: Path, payload: Any, advice: str) -> None:
    """Refuse a training state or any other PyTorch file, naming it."""
    from mnist_cnn.run_state import STATE_FORMAT  # it imports this module

    if isinstance(payload, dict) and payload.get("format") == STATE_FORMAT:
        raise CheckpointError(
            f"{path}: this is a training state (written by --save-every, "
            "read by --resume), not a checkpoint. Pass the model file "
            f"`train` wrote with --out ({_model_file_of(path)})."
        )
    if (
        not isinstance(payload, dict)
        or payload.get("format") != _CHECKPOINT_FORMAT
        or "state_dict" not in payload
    ):
        raise CheckpointError(
            f"{path}: not an mnist_cnn checkpoint (a PyTorch file, but not "
            f"of format {_CHECKPOINT_FORMAT}). {advice}"
        )


def load_checkpoint(
    path: str | os.PathLike[str],
    device: torch.device | str = "cpu",
    expect_model: str | None = None,
) -> Checkpoint:
    """The checkpoint at ``path``, read; only tensors and plain data are
    unpickled. With ``expect_model`` a checkpoint of any other
    model is refused."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(
            f"{path}: no such checkpoint file. "
            f"Train one with `python -m mnist_cnn train --out {path}`."
        )
    advice = (
        "Pass the .pt file that `python -m mnist_cnn train --out` wrote, or "
        "train one again."
    )
    payload = safe_load(
        path,
        device,
        "checkpoint",
        advice,
        " Images go after it: predict --checkpoint model.pt digit.png.",
    )
    _check_is_checkpoint(path, payload, advice)
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
    return Checkpoint(
        model,
        config,
        payload["mean"],
        payload["std"],
        dict(payload.get("metrics", {})),
    )


def _model_file_of(state: Path) -> str:
    """The checkpoint next to a training state named OUT.state, if there is
    one; else where `train` writes by default."""
    if state.name.endswith(".state"):
        model = state.with_name(state.name.removesuffix(".state"))
        if model.is_file():
            return str(model)
    return "by default checkpoints/model.pt"
