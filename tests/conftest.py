"""Shared fixtures: the real MNIST tensors (loaded once), one small trained network (a checkpoint
written by the command line, and the same network as a ``FitResult``), an IDX writer, a network
blocker."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import torch

from mnist_cnn import checkpoints, cli, data, training
from tests.offline import sitecustomize as offline


def write_idx(
    path: Path,
    tensor: torch.Tensor,
    compress: bool | None = None,
    magic: bytes | None = None,
) -> Path:
    """Write ``tensor`` (uint8) as an IDX file, the format of the MNIST page; gzip if the name ends in .gz."""
    t = tensor.to(torch.uint8).contiguous()
    header = magic if magic is not None else bytes([0, 0, 0x08, t.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in t.shape)
    payload = header + t.numpy().tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        payload = gzip.compress(payload)
    path.write_bytes(payload)
    return path


@pytest.fixture(scope="session")
def mnist() -> data.MNIST:
    return data.load_mnist()


# One training run for every test that needs a trained network: `python -m mnist_cnn train`
# for one epoch, the book's recipe on all 55,000 training images (5-8 s of training on a 2-core
# CPU, 99 % test accuracy), so the checkpoint holds the metrics the command line writes. On
# 10,000 images the network read only 80-85 % of the photos with several digits.
TRAIN_ARGS = ["train", "--epochs", "1", "--quiet"]


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint of the book's network written by the command line (read it, never write it)."""
    out = tmp_path_factory.mktemp("trained") / "book.pt"
    assert cli.main([*TRAIN_ARGS, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def trained(checkpoint: Path) -> training.FitResult:
    """The network of ``checkpoint`` as a ``FitResult`` (eval mode; no history)."""
    ckpt = checkpoints.load_checkpoint(checkpoint)
    return training.FitResult(
        ckpt.model, ckpt.config, [], ckpt.mean, ckpt.std, ckpt.config.epochs
    )


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every attempt to open a network connection fail, loopback included, as on an offline
    machine: tests/offline/sitecustomize.py's blocker, allowing no host, undone after the test."""
    offline.block_network(
        monkeypatch.setattr,
        allow=lambda host: False,
        by="the no_network fixture (tests/conftest.py)",
    )


@pytest.fixture()
def tiny_root(tmp_path: Path) -> Path:
    """A folder with four small, valid IDX files (20 train and 10 test images), not the real MNIST."""
    g = torch.Generator().manual_seed(0)
    root = tmp_path / "tiny"
    root.mkdir()
    for split, n in (("train", 20), ("test", 10)):
        images_name, labels_name = data.FILES[split]
        write_idx(
            root / f"{images_name}.gz",
            torch.randint(0, 256, (n, 28, 28), generator=g),
        )
        write_idx(
            root / f"{labels_name}.gz", torch.randint(0, 10, (n,), generator=g)
        )
    return root
