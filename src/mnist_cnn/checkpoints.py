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


_IMAGE_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


def _head(path: Path, n: int = 12) -> bytes:
    """The first ``n`` bytes of ``path`` (empty if it cannot be read)."""
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError:
        return b""


def image_format(path: str | os.PathLike[str]) -> str | None:
    """ "PNG", "JPEG", "GIF", "BMP", "TIFF" or "WebP" if ``path`` starts as
    such an image does; None otherwise."""
    head = _head(Path(path))
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next(
        (
            kind
            for magic, kind in _IMAGE_MAGIC.items()
            if head[: len(magic)] == magic
        ),
        None,
    )


def _why_unreadable(path: Path, exc: Exception) -> str:
    """Why ``torch.load`` refused ``path``, in the reader's words."""
    head = _head(path, 4)
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


def torch_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` starts as ``torch.save`` files do (a zip archive)."""
    return _head(Path(path), 4) == b"PK\x03\x04"


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


def _check_is_checkpoint(path: Path, payload: Any, advice: str) -> None:
    """Refuse a training state or any other PyTorch file, naming it."""
    if isinstance(payload, dict) and payload.get("format") == _STATE_FORMAT:
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
) -> tuple[nn.Module, dict[str, Any]]:
    """The model (eval mode) and the rest of the checkpoint; only tensors and
    plain data are unpickled. With ``expect_model`` a checkpoint of any other
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
    payload = _torch_load(
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
    of another configuration. ``config`` may differ in ``epochs`` alone (the
    run is extended or ends sooner) where the run continues exactly as one of
    ``config.epochs`` would (see ``_check_epochs``)."""
    path = Path(path)
    state = _torch_load(
        path,
        device,
        "training state",
        "Pass another --state (the file --save-every writes), or leave out "
        "--resume to start afresh.",
    )
    if not isinstance(state, dict) or state.get("format") != _STATE_FORMAT:
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
    if changed == ["epochs"]:
        _check_epochs(path, state, config)
    elif changed:
        raise CheckpointError(
            f"{path}: written by a run with other settings "
            f"({', '.join(changed)}); "
            "resume with the same settings, or delete it to start afresh."
        )
    state["generator"] = state["generator"].cpu()
    return state


# schedules whose learning rate at a step depends on the run's length
_LENGTH_SCHEDULES = ("onecycle", "cosine")


def _check_epochs(
    path: Path, state: dict[str, Any], config: TrainConfig
) -> None:
    """A saved run may continue to another number of epochs only where that
    gives exactly the run of ``config.epochs`` never stopped: its schedule does
    not depend on the run's length (constant, step), and it has not trained
    further already."""
    saved = state["config"]["epochs"]
    epoch, step = state["epoch"], state["step"]
    begun = epoch if step > 0 else epoch - 1  # epochs trained, or begun
    if config.epochs < begun:
        raise CheckpointError(
            f"{path}: the saved run has already trained {begun} epochs "
            f"(of {saved}); pass --epochs {begun} or more."
        )
    if config.schedule in _LENGTH_SCHEDULES:
        raise CheckpointError(
            f"{path}: saved by a run of {saved} epochs whose "
            f"{config.schedule} schedule is fitted to {saved} epochs; a run "
            f"of {config.epochs} would have had other learning rates from "
            f"its first step, so it cannot be continued. Resume with "
            f"--epochs {saved}, or train {config.epochs} epochs afresh "
            "(leave out --resume, or pass another --state); a run with "
            "--schedule constant or step can be extended."
        )


def _model_file_of(state: Path) -> str:
    """The checkpoint next to a training state named OUT.state, if there is
    one; else where `train` writes by default."""
    if state.name.endswith(".state"):
        model = state.with_name(state.name.removesuffix(".state"))
        if model.is_file():
            return str(model)
    return "by default checkpoints/model.pt"
