"""Shared fixtures: the real MNIST tensors (loaded once), an IDX writer, a network blocker."""

from __future__ import annotations

import gzip
import socket
from pathlib import Path

import pytest
import torch

from mnist_cnn import data


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


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every attempt to open a network connection fail, as on an offline machine."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled by the test (offline)")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


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
