"""MNIST as tensors: read, verify, split, normalise and batch.

Explained in the chapter "Data" (``book/data.ipynb``).

Two routes lead to the same pixels:

* the **fast route** -- :func:`load_mnist` reads the four IDX files once into uint8 tensors,
  :func:`train_val_split` makes a seeded validation split, :func:`compute_mean_std` measures the
  normalisation constants on the training split, and :func:`iterate_batches` gathers shuffled
  batches with ``randperm`` and normalises them per batch (optionally on a GPU, channels_last);
* the **article's route** -- ``torchvision.datasets.MNIST(root, download=True, transform=...)``
  plus a ``DataLoader``. :func:`prepare_torchvision_root` lays the shipped files out where
  torchvision looks, so that route also runs with no network.

Sources: Y. LeCun, C. Cortes, C. J. C. Burges, "The MNIST database of
handwritten digits" (CC BY-SA 3.0); the IDX format as described on that page
and as read by ``torchvision.datasets.mnist.read_sn3_pascalvincent_tensor``.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import math
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from mnist_cnn import paths
from mnist_cnn.atomic import write_atomically

__all__ = [
    "FILES",
    "IDX_SHA256",
    "DataFileError",
    "MNISTNotFoundError",
    "MNIST",
    "default_root",
    "read_idx",
    "load_split",
    "load_mnist",
    "train_val_split",
    "compute_mean_std",
    "iterate_batches",
    "shuffled_order",
    "batch_indices",
    "make_batch",
    "prepare_torchvision_root",
    "article_loader",
    "normalize",
    "FASHION_IDX_SHA256",
    "load_fashion_mnist",
]

# split -> (images file, labels file), as named by the MNIST page and by
# torchvision.
FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# SHA-256 of the *uncompressed* IDX bytes. We check the content, not the .gz
# archive, because
# two gzip files of the same bytes differ in their headers: the copies shipped
# in data/mnist/
# and the ones torchvision downloads are both accepted, and both must
# decompress to these bytes.
IDX_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

_IDX_UINT8 = 0x08  # IDX type code for unsigned bytes, the only one MNIST uses
_GZIP_MAGIC = b"\x1f\x8b"
_ENV_ROOT = "MNIST_CNN_DATA"


class DataFileError(ValueError):
    """A data file exists but is not what it should be (corrupt, truncated,
    wrong content)."""


class MNISTNotFoundError(FileNotFoundError):
    """MNIST is neither on disk nor downloadable (typically: offline)."""


@dataclass(frozen=True)
class MNIST:
    """The two official splits as tensors (values exactly as stored in the IDX files)."""

    train_images: torch.Tensor  # (60000, 28, 28) uint8
    train_labels: torch.Tensor  # (60000,) int64
    test_images: torch.Tensor  # (10000, 28, 28) uint8
    test_labels: torch.Tensor  # (10000,) int64


def default_root() -> Path:
    """Where the IDX files are looked for: ``$MNIST_CNN_DATA``, else the
    files shipped with the package (:func:`mnist_cnn.paths.shipped_mnist`:
    the clone's ``data/mnist/`` or the wheel's copy).

    A set variable must name a folder that holds the four files (in it or
    in its ``MNIST/raw/``); otherwise one :class:`MNISTNotFoundError` names
    the variable, its value and the files expected. Nothing is created, and
    nothing is downloaded into that folder.
    """
    value = os.environ.get(_ENV_ROOT)
    if not value:
        return paths.shipped_mnist()
    folder = Path(value).expanduser()
    problem = _folder_problem(folder)
    if problem:
        names = ", ".join(n for pair in FILES.values() for n in pair)
        raise MNISTNotFoundError(
            f"${_ENV_ROOT}={value!r}: {problem}. The variable must name a "
            f"folder with the four MNIST files ({names}; .gz or not, in it "
            f"or in its MNIST/raw/). {_unset_hint()}"
        )
    return folder


def _folder_problem(folder: Path) -> str | None:
    """What keeps ``folder`` from being an MNIST folder, or None."""
    if not folder.exists():
        return "no such folder"
    if not folder.is_dir():
        return "a file, not a folder"
    names = [n for pair in FILES.values() for n in pair]
    missing = [n for n in names if _find(folder, n) is None]
    if len(missing) < len(names):
        return f"the folder has no {', '.join(missing)}" if missing else None
    held = sorted(p.name + "/" * p.is_dir() for p in folder.iterdir())
    if not held:
        return "the folder is empty"
    shown = ", ".join(held[:5]) + (", ..." if len(held) > 5 else "")
    return f"the folder holds none of the four MNIST files (it holds {shown})"


def _unset_hint() -> str:
    """The way back to the shipped files, for errors ``$MNIST_CNN_DATA``
    caused."""
    return (
        f"Unset {_ENV_ROOT} to use the files shipped with the package "
        f"({paths.shipped_mnist()})."
    )


@contextlib.contextmanager
def _blame_env(root: object) -> Iterator[None]:
    """Say in a bad file's :class:`DataFileError` that ``$MNIST_CNN_DATA``
    chose its folder, when it did (``root`` is None and the variable set)."""
    try:
        yield
    except DataFileError as exc:
        value = os.environ.get(_ENV_ROOT)
        if root is not None or not value:
            raise
        raise DataFileError(
            f"{exc} The folder was chosen by ${_ENV_ROOT}={value!r}. "
            f"{_unset_hint()}"
        ) from exc


def _read_bytes(path: Path) -> bytes:
    """The IDX bytes of ``path``, decompressing gzip when the file starts with
    gzip's magic."""
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise DataFileError(
            f"{path}: not a complete gzip file ({exc}). The file is "
            "truncated or corrupt; "
            "delete it and copy it again (or let torchvision download it)."
        ) from exc


def read_idx(
    path: str | os.PathLike[str], expected_sha256: str | None = None
) -> torch.Tensor:
    """Read one IDX file (raw or gzip) into a uint8 tensor of the shape its
    header declares.

    The header is checked before any data is used: two zero bytes, type code
    0x08 (uint8), a dimension count, one big-endian uint32 per dimension, then
    exactly prod(dims) bytes. With ``expected_sha256`` the uncompressed bytes
    must also have that SHA-256.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no such IDX file. Check the path or the data root."
        )
    data = _read_bytes(path)
    dims, header_len = _parse_header(path, data)
    _check_data_length(path, data, dims, header_len)
    if expected_sha256 is not None:
        _check_sha256(path, data, expected_sha256)
    return _uint8_tensor(data[header_len:], dims)


def _parse_header(path: Path, data: bytes) -> tuple[list[int], int]:
    """The checked IDX header of ``data``: its dimensions and its length."""
    if len(data) < 4:
        raise DataFileError(
            f"{path}: {len(data)} bytes is too short for an IDX header (4 "
            "bytes at least)."
        )
    zero0, zero1, dtype_code, ndim = data[0], data[1], data[2], data[3]
    if (
        zero0 != 0
        or zero1 != 0
        or dtype_code != _IDX_UINT8
        or not 1 <= ndim <= 4
    ):
        raise DataFileError(
            f"{path}: wrong magic number 0x{data[:4].hex()} (expected "
            "0x000008NN: two zero bytes, "
            "type 0x08 = uint8, then 1-4 dimensions). This is not an MNIST "
            "IDX file."
        )
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataFileError(
            f"{path}: header declares {ndim} dimensions but the file ends at "
            f"byte {len(data)}."
        )
    dims = [
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    ]
    return dims, header_len


def _check_data_length(
    path: Path, data: bytes, dims: list[int], header_len: int
) -> None:
    """Refuse a file whose data after the header is not exactly prod(dims)
    bytes."""
    n_items = math.prod(dims)
    if len(data) != header_len + n_items:
        raise DataFileError(
            f"{path}: header declares shape {tuple(dims)} = {n_items} bytes "
            "of data, "
            f"but the file holds {len(data) - header_len}. The file is "
            "truncated or corrupt; copy it again."
        )


def _check_sha256(path: Path, data: bytes, expected_sha256: str) -> None:
    """Refuse uncompressed bytes whose SHA-256 is not ``expected_sha256``."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise DataFileError(
            f"{path}: SHA-256 of the uncompressed bytes is {actual}, "
            f"expected {expected_sha256}. "
            "The file is not the official MNIST file; replace it with "
            f"the one shipped in {paths.shipped_mnist()}."
        )


def _uint8_tensor(payload: bytes, dims: list[int]) -> torch.Tensor:
    """The bytes after the header as a uint8 tensor of shape ``dims``
    (row-major, as IDX stores them)."""
    if math.prod(dims) == 0:  # torch.frombuffer refuses an empty buffer
        return torch.empty(dims, dtype=torch.uint8)
    # (prod(dims),)
    flat = torch.frombuffer(bytearray(payload), dtype=torch.uint8)
    return flat.reshape(dims)


def _find(root: Path, name: str) -> Path | None:
    """The first of ``name.gz``/``name`` in ``root`` or torchvision's
    ``root/MNIST/raw`` (or ``FashionMNIST/raw``)."""
    for folder in (
        root,
        root / "MNIST" / "raw",
        root / "FashionMNIST" / "raw",
    ):
        for candidate in (folder / f"{name}.gz", folder / name):
            if candidate.is_file():
                return candidate
    return None


def load_split(
    split: str,
    root: str | os.PathLike[str] | None = None,
    verify: bool = True,
    checksums: dict[str, str] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``(N, 28, 28)`` uint8 and labels ``(N,)`` int64 of ``split``
    ("train" or "test").

    ``checksums`` (default: MNIST's ``IDX_SHA256``) are the expected SHA-256
    per file name.
    """
    checksums = IDX_SHA256 if checksums is None else checksums
    if split not in FILES:
        raise ValueError(f"split={split!r}: expected one of {sorted(FILES)}.")
    with _blame_env(root):
        folder = Path(root) if root is not None else default_root()
        return _read_split(split, folder, verify, checksums)


def _read_split(
    split: str, root: Path, verify: bool, checksums: dict[str, str]
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`load_split` once ``root`` is known: find, read and check."""
    tensors = []
    for name in FILES[split]:
        path = _find(root, name)
        if path is None:
            raise MNISTNotFoundError(
                f"{name}(.gz) not found in {root} nor in "
                f"{root / 'MNIST' / 'raw'}. "
                f"Copy the four MNIST files there, or set ${_ENV_ROOT} to "
                "the folder that holds them."
            )
        tensors.append(read_idx(path, checksums[name] if verify else None))
    images, labels = tensors
    if (
        images.ndim != 3
        or tuple(images.shape[1:]) != (28, 28)
        or labels.ndim != 1
    ):
        raise DataFileError(
            f"{root}: {split} images have shape {tuple(images.shape)} and "
            f"labels {tuple(labels.shape)}; "
            "expected (N, 28, 28) and (N,). The files are swapped or not "
            "MNIST."
        )
    if images.shape[0] != labels.shape[0]:
        raise DataFileError(
            f"{root}: {images.shape[0]} {split} images but {labels.shape[0]} "
            "labels; "
            "the image and label files must come from the same split. Copy "
            "both again."
        )
    if labels.numel() and int(labels.max()) > 9:
        raise DataFileError(
            f"{root}: {split} labels go up to {int(labels.max())}; MNIST "
            "labels are 0-9."
        )
    return images, labels.long()


def _find_or_download(
    # "MNIST" or "FashionMNIST": the torchvision class and folder name
    dataset: str,
    candidates: list[Path],
    download: bool,
    hint: str,  # what to do when the files are nowhere
) -> Path:
    """The first folder of ``candidates`` that holds all four IDX files; else
    torchvision downloads ``dataset`` into the last one
    (``<folder>/<dataset>/raw``, needs the network). Files missing everywhere
    end in one :class:`MNISTNotFoundError` that says where we looked."""
    names = [name for pair in FILES.values() for name in pair]
    for folder in candidates:
        if all(_find(folder, name) is not None for name in names):
            return folder
    target = candidates[-1]
    missing = [name for name in names if _find(target, name) is None]
    where = ", ".join(f"{c} (and {c / dataset / 'raw'})" for c in candidates)
    if not download:
        raise MNISTNotFoundError(
            f"{dataset}: {missing[0]}(.gz) not found in {where}. {hint}"
        )
    try:
        import torchvision.datasets

        for train in (True, False):
            getattr(torchvision.datasets, dataset)(
                str(target), train=train, download=True
            )
    # torchvision raises RuntimeError/URLError/OSError when offline
    except Exception as exc:
        raise MNISTNotFoundError(
            f"{dataset} is not in {where} (missing: {', '.join(missing)}) "
            "and downloading it "
            f"with torchvision failed: {exc}. Offline? {hint}"
        ) from exc
    return target


def _load(folder: Path, verify: bool, checksums: dict[str, str]) -> MNIST:
    train_images, train_labels = load_split("train", folder, verify, checksums)
    test_images, test_labels = load_split("test", folder, verify, checksums)
    return MNIST(train_images, train_labels, test_images, test_labels)


def load_mnist(
    root: str | os.PathLike[str] | None = None,
    verify: bool = True,
    download: bool = True,
) -> MNIST:
    """Both splits as tensors; see the chapter "Data".

    Looks in ``root`` (default :func:`default_root`) and in ``root/MNIST/raw``.
    If a file is missing and ``download`` is true, torchvision downloads MNIST
    into ``root/MNIST/raw``; offline this fails with one
    :class:`MNISTNotFoundError` that says where we looked. A folder named by
    ``$MNIST_CNN_DATA`` is never downloaded into: it must hold the files.
    """
    with _blame_env(root):
        folder = Path(root) if root is not None else default_root()
        hint = (
            f"Copy the four .gz files from the book's data/mnist/ into "
            f"{folder}, or set ${_ENV_ROOT} to a folder that holds them."
        )
        found = _find_or_download("MNIST", [folder], download, hint)
        return _load(found, verify, IDX_SHA256)


def train_val_split(
    n: int, n_val: int = 5000, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices ``(n - n_val,)`` and ``(n_val,)`` of a seeded random split of
    ``range(n)``."""
    if not 0 <= n_val < n:
        raise ValueError(
            f"n_val={n_val}: must be at least 0 and smaller than n={n}."
        )
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[n_val:], order[:n_val]


def compute_mean_std(images: torch.Tensor) -> tuple[float, float]:
    """Mean and (population) standard deviation of all pixels of ``images``
    scaled to [0, 1]."""
    if images.dtype != torch.uint8 or images.numel() == 0:
        raise ValueError(
            f"images: expected a non-empty uint8 tensor, got {images.dtype} "
            f"with {images.numel()} elements."
        )
    # (N, 28, 28), float64 so the sum does not drift
    x = images.to(torch.float64).div_(255)
    return float(x.mean()), float(x.std(unbiased=False))


def iterate_batches(
    images: torch.Tensor,  # (N, 28, 28) uint8, on any device
    labels: torch.Tensor,  # (N,) int64
    batch_size: int,
    mean: float,
    std: float,
    shuffle: bool = True,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    channels_last: bool = False,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(x, y)`` batches: x ``(B, 1, 28, 28)`` float32, ``(x/255 -
    mean)/std``; y ``(B,)``.

    The whole split stays one uint8 tensor; each batch is a ``randperm``
    gather, moved to ``device`` while still uint8 (4x fewer bytes), then
    converted and normalised there.
    """
    if images.dtype != torch.uint8 or images.ndim != 3:
        raise ValueError(
            f"images: expected uint8 (N, H, W), got {images.dtype} "
            f"{tuple(images.shape)}."
        )
    if labels.shape != images.shape[:1]:
        raise ValueError(
            f"labels: shape {tuple(labels.shape)} does not match "
            f"{images.shape[0]} images."
        )
    if batch_size < 1:
        raise ValueError(
            f"batch_size={batch_size}: must be a positive integer."
        )
    if not std > 0:
        raise ValueError(f"std={std}: must be positive.")
    if shuffle:
        order = shuffled_order(images.shape[0], generator, images.device)
    else:
        order = torch.arange(images.shape[0], device=images.device)
    for idx in batch_indices(order, batch_size, drop_last):
        yield make_batch(images, labels, idx, mean, std, device, channels_last)


def shuffled_order(
    n: int, generator: torch.Generator | None, device: torch.device | str
) -> torch.Tensor:
    """A random permutation of ``range(n)`` on ``device``, drawn on the
    generator's device (a CUDA generator cannot draw on the CPU). ``(n,)``
    int64."""
    draw_on = generator.device if generator is not None else device
    return torch.randperm(n, generator=generator, device=draw_on).to(device)


def batch_indices(
    order: torch.Tensor,  # (N,) the epoch's order of the images
    batch_size: int,
    drop_last: bool = False,
    rank: int = 0,
    world_size: int = 1,
    start: int = 0,
) -> Iterator[torch.Tensor]:
    """The image indices of each training step of one epoch, from step ``start`` on.

    Consecutive slices of ``batch_size`` of ``order`` are the global batches.
    With ``world_size`` > 1 (data-parallel training) process ``rank`` takes
    every ``world_size``-th index of each global batch, so the processes'
    shards are disjoint, cover every batch, and all processes take the same
    number of steps (``batch_size`` must divide evenly).
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(
            f"rank={rank}, world_size={world_size}: need 0 <= rank < "
            "world_size."
        )
    if batch_size % world_size:
        raise ValueError(
            f"batch_size={batch_size}: must be a multiple of the number of "
            f"processes ({world_size})."
        )
    n = order.shape[0]
    for first in range(start * batch_size, n, batch_size):
        idx = order[first : first + batch_size]  # (B,) a global batch
        if drop_last and idx.numel() < batch_size:
            break
        if world_size > 1:
            if idx.numel() < world_size:
                break  # too few images left to give every process one
            # (B / world_size,)
            idx = idx[: idx.numel() - idx.numel() % world_size][
                rank::world_size
            ]
        yield idx


def make_batch(
    images: torch.Tensor,  # (N, 28, 28) uint8
    labels: torch.Tensor,  # (N,)
    idx: torch.Tensor,  # (B,)
    mean: float,
    std: float,
    device: torch.device | str | None = None,
    channels_last: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gather images ``idx``, move them to ``device`` while still uint8 (4x
    fewer bytes), then convert and normalise there: x ``(B, 1, 28, 28)``
    float32, y ``(B,)``."""
    xb, yb = images[idx], labels[idx]  # (B, 28, 28) uint8, (B,)
    if device is not None:
        xb = xb.to(device, non_blocking=True)
        yb = yb.to(device, non_blocking=True)
    return normalize(xb, mean, std, channels_last), yb


def normalize(
    images: torch.Tensor,  # (N, 28, 28) uint8
    mean: float,
    std: float,
    channels_last: bool = False,
) -> torch.Tensor:
    """uint8 pixels to the network's input: ``(x/255 - mean)/std``, ``(N, 1,
    28, 28)`` float32, computed on the images' device."""
    if images.dtype != torch.uint8:
        raise ValueError(f"images: expected uint8 pixels, got {images.dtype}.")
    # (N, 1, 28, 28)
    x = images.unsqueeze(1).to(torch.float32).div_(255).sub_(mean).div_(std)
    memory_format = (
        torch.channels_last if channels_last else torch.contiguous_format
    )
    return x.contiguous(memory_format=memory_format)


def prepare_torchvision_root(
    root: str | os.PathLike[str], source: str | os.PathLike[str] | None = None
) -> Path:
    """Lay out ``root/MNIST/raw/`` so that ``torchvision.datasets.MNIST(root,
    download=True)`` needs no network.

    Each file from ``source`` (default :func:`default_root`) is decompressed
    and verified in memory, written to a temporary name in the same folder and
    renamed: a crash or a bad file never leaves a half-written IDX file where
    torchvision would trust it. Returns the raw folder.
    """
    with _blame_env(source):
        folder = Path(source) if source is not None else default_root()
        return _copy_verified(folder, Path(root) / "MNIST" / "raw")


def _copy_verified(source: Path, raw: Path) -> Path:
    """:func:`prepare_torchvision_root` once both folders are known."""
    raw.mkdir(parents=True, exist_ok=True)
    for name in (n for names in FILES.values() for n in names):
        dst = raw / name
        if (
            dst.is_file()
            and hashlib.sha256(dst.read_bytes()).hexdigest()
            == IDX_SHA256[name]
        ):
            continue
        src = _find(source, name)
        if src is None:
            raise MNISTNotFoundError(
                f"{name}(.gz) not found in {source}; copy the four MNIST "
                "files there first."
            )
        data = _read_bytes(src)
        actual = hashlib.sha256(data).hexdigest()
        if actual != IDX_SHA256[name]:
            raise DataFileError(
                f"{src}: SHA-256 of the uncompressed bytes is {actual}, "
                f"expected {IDX_SHA256[name]}; "
                f"nothing was written to {raw}. Replace the file with the "
                "official one."
            )
        write_atomically(dst, lambda f, data=data: f.write(data))
    return raw


def article_loader(
    root: str | os.PathLike[str],
    train: bool = True,
    batch_size: int = 64,
    mean: float = 0.5,
    std: float = 0.5,
    num_workers: int = 0,
) -> torch.utils.data.DataLoader:
    """The article's pipeline (section 5.2): torchvision ``MNIST`` +
    ``ToTensor`` + ``Normalize`` + ``DataLoader``.

    Call :func:`prepare_torchvision_root` on ``root`` first to run it offline.
    """
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((mean,), (std,))]
    )
    dataset = datasets.MNIST(
        root=str(root), train=train, download=True, transform=transform
    )
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=train, num_workers=num_workers
    )


# Fashion-MNIST (H. Xiao, K. Rasul, R. Vollgraf, Zalando Research, 2017; MIT
# licence): the same
# IDX files and shapes as MNIST, ten kinds of clothing. SHA-256 of the
# uncompressed files.
FASHION_IDX_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
# Debian's dataset-fashion-mnist package
_FASHION_DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def load_fashion_mnist(
    root: str | os.PathLike[str] | None = None,
    verify: bool = True,
    download: bool = True,
) -> MNIST:
    """Fashion-MNIST as tensors, for the chapter "Fine-tuning".

    Looks in ``root``, else ``$FASHION_MNIST_DATA``, else Debian's
    ``/usr/share/datasets/fashion-mnist`` (``apt install
    dataset-fashion-mnist``), else ``fashion-mnist`` in
    :func:`mnist_cnn.paths.downloads` (the clone's ``data/``, or the user's
    cache folder for a wheel), where torchvision downloads it if
    ``download`` is true; offline that fails with one message saying what
    to install.
    """
    if root is not None:
        candidates = [Path(root)]
    else:
        env = os.environ.get("FASHION_MNIST_DATA")
        target = paths.downloads() / "fashion-mnist"
        candidates = ([Path(env)] if env else []) + [_FASHION_DEBIAN, target]
    hint = (
        "Install Debian's dataset-fashion-mnist (apt install "
        "dataset-fashion-mnist) "
        "or set $FASHION_MNIST_DATA to a folder with its four IDX files."
    )
    folder = _find_or_download("FashionMNIST", candidates, download, hint)
    return _load(folder, verify, FASHION_IDX_SHA256)
