"""mnist_cnn.training: config validation, determinism, early stopping, evaluation against a direct
F.cross_entropy computation, checkpoints (round trip, atomic write, every bad file)."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from mnist_cnn import augment, checkpoints, data, training

SMALL = dict(
    train_subset=1024, n_val=1000, batch_size=128, epochs=2, progress=False
)


def small_config(**overrides) -> training.TrainConfig:
    kwargs = {k: v for k, v in SMALL.items() if k != "progress"} | overrides
    return training.TrainConfig(**kwargs)


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
        training.TrainConfig(**kwargs)


def test_fit_is_deterministic_and_learns(mnist: data.MNIST) -> None:
    a = training.fit(small_config(), mnist, progress=False)
    b = training.fit(small_config(), mnist, progress=False)
    c = training.fit(small_config(seed=1), mnist, progress=False)
    strip = lambda r: [dataclasses.replace(h, seconds=0.0) for h in r.history]  # noqa: E731
    assert strip(a) == strip(b) and strip(a) != strip(c)
    assert (
        len(a.history) == 2
        and a.history[1].train_loss < a.history[0].train_loss
    )
    assert (
        a.history[-1].val_acc > 0.8
    )  # 1,024 images, 2 epochs: far above chance (0.1)


def test_evaluate_equals_a_direct_computation(mnist: data.MNIST) -> None:
    result = training.fit(small_config(epochs=1), mnist, progress=False)
    images, labels = mnist.test_images[:500], mnist.test_labels[:500]
    loss, acc = training.evaluate(
        result.model, images, labels, result.mean, result.std
    )
    x = (images.float().div(255).unsqueeze(1) - result.mean) / result.std
    with torch.no_grad():
        logits = result.model.eval()(x)
    assert loss == pytest.approx(
        float(F.cross_entropy(logits, labels)), rel=1e-5
    )
    assert acc == pytest.approx(
        float((logits.argmax(1) == labels).float().mean())
    )


def test_early_stopping_restores_the_best_epoch(mnist: data.MNIST) -> None:
    # 64 images, lr without decay: the validation loss soon stops improving
    config = small_config(
        train_subset=64,
        batch_size=32,
        epochs=30,
        patience=2,
        schedule="constant",
        lr=0.01,
        optimizer="adam",
    )
    result = training.fit(config, mnist, progress=False)
    assert len(result.history) < 30
    best = min(result.history, key=lambda h: h.val_loss)
    assert (
        result.best_epoch == best.epoch
        and len(result.history) == best.epoch + 2
    )
    _, val_idx = data.train_val_split(60000, config.n_val, config.seed)
    val_loss, _ = training.evaluate(
        result.model,
        mnist.train_images[val_idx],
        mnist.train_labels[val_idx],
        result.mean,
        result.std,
    )
    assert val_loss == pytest.approx(best.val_loss, rel=1e-5)


def test_article_normalisation_and_fp16_on_cpu(mnist: data.MNIST) -> None:
    result = training.fit(
        small_config(
            epochs=1, normalization="article", model="article-simple"
        ),
        mnist,
        progress=False,
    )
    assert (result.mean, result.std) == (0.5, 0.5)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="amp='fp16' needs a CUDA device"):
            training.fit(
                small_config(epochs=1, amp="fp16", device="cpu"),
                mnist,
                progress=False,
            )


def test_random_affine_identity_and_range() -> None:
    x = torch.randn(8, 1, 28, 28)
    same = augment.random_affine(
        x, degrees=0.0, translate=0.0, scale=(1.0, 1.0)
    )
    torch.testing.assert_close(
        same, x, atol=1e-5, rtol=0
    )  # identity transform, bilinear at pixel centres
    moved = augment.random_affine(x, torch.Generator().manual_seed(0))
    assert moved.shape == x.shape and not torch.allclose(moved, x)
    assert (
        moved.min() >= x.min() - 1e-6 and moved.max() <= x.max() + 1e-6
    )  # interpolation never overshoots


# --- checkpoints ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(mnist: data.MNIST) -> training.FitResult:
    return training.fit(small_config(epochs=1), mnist, progress=False)


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
    )  # channels_last vs NCHW kernels differ in rounding


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


def test_resolve_device() -> None:
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else ("mps" if torch.backends.mps.is_available() else "cpu")
    )
    assert training.resolve_device("auto").type == expected
    assert training.resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device='cuda:99': this machine has"):
        training.resolve_device("cuda:99")
    with pytest.raises(ValueError, match="device='gpu': not a device name"):
        training.resolve_device("gpu")
