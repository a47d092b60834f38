"""mnist_cnn.checkpoints: a round trip gives the same logits and leaves no temporary file; every
file that cannot be used (missing, random, truncated, another model, code in the pickle, weights
that do not fit, an image, a folder, a training state) ends in one CheckpointError that says what
the file is; a training state resumes to more epochs only where that is exact. The trained
network: ``trained`` in conftest.py."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest
import torch
from PIL import Image

from mnist_cnn import atomic, checkpoints, data, run_state, training
from mnist_cnn.config import Schedule, TrainConfig


def test_checkpoint_round_trip(
    tmp_path: Path, trained: training.FitResult, mnist: data.MNIST
) -> None:
    path = checkpoints.save_checkpoint(
        tmp_path / "sub" / "m.pt", trained, {"val_acc": 0.5}
    )
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "m.pt"
    ]  # no temporary file left
    ckpt = checkpoints.load_checkpoint(path)
    assert ckpt.config == trained.config and ckpt.metrics == {"val_acc": 0.5}
    ref = training.predict_logits(
        trained.model, mnist.test_images[:50], trained.mean, trained.std
    )
    out = training.predict_logits(
        ckpt.model, mnist.test_images[:50], ckpt.mean, ckpt.std
    )
    torch.testing.assert_close(
        out, ref, atol=1e-5, rtol=1e-5
    )  # the same weights; kernels may round differently


def test_checkpoint_errors(
    tmp_path: Path, trained: training.FitResult
) -> None:
    with pytest.raises(
        checkpoints.CheckpointError, match="no such checkpoint file"
    ):
        checkpoints.load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "random.pt").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(
        checkpoints.CheckpointError,
        match="not a checkpoint: its contents are not a file PyTorch wrote",
    ):
        checkpoints.load_checkpoint(tmp_path / "random.pt")
    good = checkpoints.save_checkpoint(tmp_path / "good.pt", trained)
    (tmp_path / "truncated.pt").write_bytes(good.read_bytes()[:3000])
    with pytest.raises(
        checkpoints.CheckpointError,
        match="not a checkpoint: the file is truncated or damaged",
    ):
        checkpoints.load_checkpoint(tmp_path / "truncated.pt")
    with pytest.raises(
        checkpoints.CheckpointError,
        match=r"holds a 'book' model, not 'lenet5'",
    ):
        checkpoints.load_checkpoint(good, expect_model="lenet5")


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_checkpoint_with_code_or_wrong_weights_is_refused(
    tmp_path: Path, trained: training.FitResult
) -> None:
    class Evil:
        def __reduce__(self):
            return (print, ("this would run on load",))

    torch.save(
        {"format": 1, "state_dict": {}, "payload": Evil()},
        tmp_path / "evil.pt",
    )
    with pytest.raises(
        checkpoints.CheckpointError,
        match="not a checkpoint: it holds Python objects besides tensors",
    ) as refused:
        checkpoints.load_checkpoint(
            tmp_path / "evil.pt"
        )  # weights_only=True refuses arbitrary objects
    # PyTorch's own message advises turning weights_only off: never passed on
    assert "weights_only" not in str(refused.value)
    path = checkpoints.save_checkpoint(tmp_path / "m.pt", trained)
    payload = torch.load(path, weights_only=True)
    payload["config"]["model"] = (
        "lenet5"  # BookCNN weights labelled as LeNet-5
    )
    torch.save(payload, tmp_path / "mislabelled.pt")
    with pytest.raises(
        checkpoints.CheckpointError, match="do not fit the model 'lenet5'"
    ):
        checkpoints.load_checkpoint(tmp_path / "mislabelled.pt")
    with open(tmp_path / "list.pt", "wb") as f:
        pickle.dump([1, 2, 3], f)
    with pytest.raises(checkpoints.CheckpointError):
        checkpoints.load_checkpoint(tmp_path / "list.pt")


def test_what_the_file_is_instead_of_a_checkpoint(
    tmp_path: Path, trained: training.FitResult
) -> None:
    """Reference: the files' first bytes as PIL and torch.save write them. An
    image, a folder or a training state given as a checkpoint is named as
    what it is, with the file to pass instead."""
    Image.new("L", (8, 8)).save(tmp_path / "digit.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "photo.jpg")
    (tmp_path / "folder.pt").mkdir()
    model = checkpoints.save_checkpoint(tmp_path / "m.pt", trained)
    state = run_state.save_training_state(
        tmp_path / "m.pt.state", {"config": {}, "epoch": 1}
    )
    cases = {
        "digit.png": r"this is an image \(PNG\), not a checkpoint",
        "photo.jpg": r"this is an image \(JPEG\), not a checkpoint",
        "folder.pt": "is a folder, not a checkpoint file",
        "m.pt.state": rf"a training state .* --out \({model}\)",
    }
    for name, message in cases.items():
        with pytest.raises(checkpoints.CheckpointError, match=message) as e:
            checkpoints.load_checkpoint(tmp_path / name)
        assert "weights_only" not in str(e.value), name
    assert atomic.image_format(tmp_path / "digit.png") == "PNG"
    assert atomic.image_format(state) is None
    assert atomic.torch_file(state) and atomic.torch_file(model)
    assert not atomic.torch_file(tmp_path / "photo.jpg")
    with pytest.raises(
        checkpoints.CheckpointError,
        match=r"a checkpoint \(a trained model\), not an mnist_cnn training",
    ):
        run_state.load_training_state(model, trained.config)


def _saved_run(
    path: Path, epochs: int, epoch: int, step: int, schedule: Schedule
) -> TrainConfig:
    """A training state of a run of ``epochs`` epochs at (epoch, step)."""
    config = TrainConfig(epochs=epochs, schedule=schedule)
    run_state.save_training_state(
        path,
        {
            "config": dataclasses.asdict(config),
            "epoch": epoch,
            "step": step,
            "generator": torch.Generator().get_state(),
        },
    )
    return config


@pytest.mark.parametrize("schedule", ["constant", "step"])
def test_a_saved_run_continues_to_more_epochs_where_that_is_exact(
    tmp_path: Path, schedule: Schedule
) -> None:
    """Reference: what an uninterrupted run of N epochs is. With a schedule
    that does not depend on the run's length, a run saved after 2 of 2 epochs
    (or during its 2nd of 5) is the start of any longer run, and of a shorter
    one that has not trained further; onecycle and cosine are not."""
    path = tmp_path / "run.state"
    saved = _saved_run(path, epochs=2, epoch=3, step=0, schedule=schedule)
    for epochs in (2, 3, 10):
        longer = dataclasses.replace(saved, epochs=epochs)
        state = run_state.load_training_state(path, longer)
        assert state.contents["epoch"] == 3 and state.epochs == 2
    with pytest.raises(
        checkpoints.CheckpointError,
        match="already trained 2 epochs .*; pass --epochs 2 or more",
    ):
        run_state.load_training_state(
            path, dataclasses.replace(saved, epochs=1)
        )
    saved = _saved_run(path, epochs=5, epoch=2, step=7, schedule=schedule)
    run_state.load_training_state(path, dataclasses.replace(saved, epochs=2))
    with pytest.raises(checkpoints.CheckpointError, match="--epochs 2 or"):
        run_state.load_training_state(
            path, dataclasses.replace(saved, epochs=1)
        )


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_a_saved_run_whose_schedule_fits_its_length_is_not_extended(
    tmp_path: Path, schedule: Schedule
) -> None:
    path = tmp_path / "run.state"
    saved = _saved_run(path, epochs=2, epoch=3, step=0, schedule=schedule)
    run_state.load_training_state(path, saved)  # the same run: fine
    with pytest.raises(
        checkpoints.CheckpointError,
        match=f"{schedule} schedule is fitted to 2 epochs.*--epochs 2",
    ):
        run_state.load_training_state(
            path, dataclasses.replace(saved, epochs=3)
        )
    with pytest.raises(
        checkpoints.CheckpointError, match=r"other settings \(epochs, lr\)"
    ):
        run_state.load_training_state(
            path, dataclasses.replace(saved, epochs=3, lr=0.5)
        )
