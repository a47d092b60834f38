"""mnist_cnn.checkpoints: a round trip gives the same logits and leaves no temporary file; every
file that cannot be used (missing, random, truncated, another model, code in the pickle, weights
that do not fit) ends in one CheckpointError. The trained network: ``trained`` in conftest.py."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from mnist_cnn import checkpoints, data, training


def test_checkpoint_round_trip(
    tmp_path: Path, trained: training.FitResult, mnist: data.MNIST
) -> None:
    path = checkpoints.save_checkpoint(
        tmp_path / "sub" / "m.pt", trained, {"val_acc": 0.5}
    )
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "m.pt"
    ]  # no temporary file left
    model, meta = checkpoints.load_checkpoint(path)
    assert meta["config"] == trained.config and meta["metrics"] == {
        "val_acc": 0.5
    }
    ref = training.predict_logits(
        trained.model, mnist.test_images[:50], trained.mean, trained.std
    )
    out = training.predict_logits(
        model, mnist.test_images[:50], meta["mean"], meta["std"]
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
        checkpoints.CheckpointError, match="not a readable checkpoint.*corrupt"
    ):
        checkpoints.load_checkpoint(tmp_path / "random.pt")
    good = checkpoints.save_checkpoint(tmp_path / "good.pt", trained)
    (tmp_path / "truncated.pt").write_bytes(good.read_bytes()[:3000])
    with pytest.raises(
        checkpoints.CheckpointError, match="not a readable checkpoint"
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
        checkpoints.CheckpointError, match="not a readable checkpoint"
    ):
        checkpoints.load_checkpoint(
            tmp_path / "evil.pt"
        )  # weights_only=True refuses arbitrary objects
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
