"""mnist_cnn.data against references: torchvision's own MNIST reader and pipeline, the known
MNIST label counts, numpy statistics. Exact equality unless a tolerance is stated."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision import datasets, transforms
from torchvision.datasets.mnist import read_image_file, read_label_file

from mnist_cnn import data
from tests.conftest import write_idx

# The published MNIST label histograms (also in data/mnist/README.md).
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
# The shipped files' home in the repository.
SHIPPED = Path(__file__).resolve().parents[1] / "data" / "mnist"


def files_in(folder: Path) -> list[str]:
    return sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()
    )


def files_and_folders(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --- the real files ---------------------------------------------------------------------------


def test_shapes_dtypes_and_known_label_counts(mnist: data.MNIST) -> None:
    assert (
        mnist.train_images.shape == (60000, 28, 28)
        and mnist.train_images.dtype == torch.uint8
    )
    assert (
        mnist.test_images.shape == (10000, 28, 28)
        and mnist.test_images.dtype == torch.uint8
    )
    assert (
        mnist.train_labels.dtype == torch.int64
        and mnist.test_labels.dtype == torch.int64
    )
    assert torch.bincount(mnist.train_labels).tolist() == TRAIN_COUNTS
    assert torch.bincount(mnist.test_labels).tolist() == TEST_COUNTS


def test_reader_equals_torchvision_reader(
    tmp_path: Path, mnist: data.MNIST
) -> None:
    """Reference: torchvision.datasets.mnist.read_image_file / read_label_file on the same bytes."""
    raw = data.prepare_torchvision_root(tmp_path)
    for images_name, labels_name in data.FILES.values():
        ours_images = data.read_idx(raw / images_name)
        ours_labels = data.read_idx(raw / labels_name).long()
        ref_images, ref_labels = (
            read_image_file(str(raw / images_name)),
            read_label_file(str(raw / labels_name)),
        )
        assert ours_images.dtype == ref_images.dtype and torch.equal(
            ours_images, ref_images
        )
        assert ours_labels.dtype == ref_labels.dtype and torch.equal(
            ours_labels, ref_labels
        )
    assert torch.equal(
        mnist.test_images, read_image_file(str(raw / "t10k-images-idx3-ubyte"))
    )


def test_gzip_and_raw_files_read_the_same(tmp_path: Path) -> None:
    raw = data.prepare_torchvision_root(tmp_path)
    shipped = data.default_root() / "t10k-labels-idx1-ubyte.gz"
    assert torch.equal(
        data.read_idx(shipped), data.read_idx(raw / "t10k-labels-idx1-ubyte")
    )


def test_article_torchvision_route_runs_offline(
    tmp_path: Path, no_network: None, mnist: data.MNIST
) -> None:
    """The article's own call, download=True, with every socket refused; values equal ours."""
    data.prepare_torchvision_root(tmp_path)
    mean, std = 0.1307, 0.3081
    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((mean,), (std,))]
    )
    train_set = datasets.MNIST(
        root=str(tmp_path), train=True, download=True, transform=transform
    )
    test_set = datasets.MNIST(
        root=str(tmp_path), train=False, download=True, transform=transform
    )
    assert len(train_set) == 60000 and len(test_set) == 10000
    assert torch.equal(train_set.data, mnist.train_images) and torch.equal(
        test_set.targets, mnist.test_labels
    )
    # Our per-batch normalisation equals ToTensor + Normalize (tolerance 1e-6 absolute, float32).
    x, y = next(
        data.iterate_batches(
            mnist.train_images, mnist.train_labels, 8, mean, std, shuffle=False
        )
    )
    ref = torch.stack([train_set[i][0] for i in range(8)])  # (8, 1, 28, 28)
    torch.testing.assert_close(x, ref, atol=1e-6, rtol=0)
    assert y.tolist() == [train_set[i][1] for i in range(8)]


def test_prepare_torchvision_root_is_idempotent(tmp_path: Path) -> None:
    raw = data.prepare_torchvision_root(tmp_path)
    first = {p: p.stat().st_mtime_ns for p in raw.iterdir()}
    data.prepare_torchvision_root(tmp_path)
    assert {p: p.stat().st_mtime_ns for p in raw.iterdir()} == first
    assert sorted(p.name for p in raw.iterdir()) == sorted(
        n for ns in data.FILES.values() for n in ns
    )


# --- where the files are: $MNIST_CNN_DATA, the shipped files ----------------------------------


def test_env_var_sets_the_default_root(
    monkeypatch: pytest.MonkeyPatch, tiny_root: Path
) -> None:
    monkeypatch.setenv("MNIST_CNN_DATA", str(tiny_root))
    assert data.default_root() == tiny_root
    monkeypatch.setenv("HOME", str(tiny_root.parent))
    monkeypatch.setenv("MNIST_CNN_DATA", "~/tiny")  # as a quoted ~ reads
    assert data.default_root() == tiny_root
    images, labels = data.load_split("test", verify=False)
    assert images.shape == (10, 28, 28) and labels.shape == (10,)
    # a torchvision-style MNIST/raw/ inside the folder counts too
    raw = tiny_root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in tiny_root.glob("*.gz"):
        gz.rename(raw / gz.name)
    assert data.load_split("test", verify=False)[0].shape == (10, 28, 28)


def test_unset_env_var_means_the_shipped_files(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reference: the repository's data/mnist/ (their home; a wheel carries
    a copy, tests/test_wheel.py)."""
    monkeypatch.delenv("MNIST_CNN_DATA", raising=False)
    assert data.default_root() == SHIPPED
    monkeypatch.setenv("MNIST_CNN_DATA", "")  # empty is unset
    assert data.default_root() == SHIPPED


def bad_data_folder(kind: str, tmp_path: Path) -> Path:
    """A wrong value for $MNIST_CNN_DATA, of one ``kind``."""
    folder = tmp_path / "my-mnist"
    if kind == "a file":
        folder.write_bytes(
            (SHIPPED / "t10k-labels-idx1-ubyte.gz").read_bytes()
        )
    elif kind != "missing":
        folder.mkdir()
    if kind == "other files":  # e.g. images, or the files one level up
        (folder / "digit-3.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        (folder / "mnist").mkdir()
        (folder / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"")
    if kind == "three of four":
        for name in [*data.FILES["train"], data.FILES["test"][0]]:
            gz = f"{name}.gz"
            (folder / gz).write_bytes((SHIPPED / gz).read_bytes())
    return folder


BAD_KINDS = ["missing", "empty", "other files", "three of four", "a file"]
EXPECTED_PROBLEM = {
    "missing": "no such folder",
    "empty": "the folder is empty",
    "other files": "none of the four MNIST files (it holds digit-3.png, "
    "mnist/)",
    "three of four": "the folder has no t10k-labels-idx1-ubyte.",
    "a file": "a file, not a folder",
}
# every way the package reads the default folder
DEFAULT_READERS = {
    "load_mnist": lambda target: data.load_mnist(),
    "load_split": lambda target: data.load_split("test"),
    "prepare_torchvision_root": data.prepare_torchvision_root,
}


@pytest.mark.parametrize("reader", sorted(DEFAULT_READERS))
@pytest.mark.parametrize("kind", BAD_KINDS)
def test_a_wrong_env_folder_is_blamed_on_the_variable_and_creates_nothing(
    kind: str,
    reader: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_network: None,
) -> None:
    """One MNISTNotFoundError naming the variable, its value, the four file
    names and how to get the shipped files back; no folder is made (not the
    variable's, not torchvision's MNIST/raw/, not the target's), nothing is
    downloaded (download=True is load_mnist's default)."""
    folder = bad_data_folder(kind, tmp_path)
    monkeypatch.setenv("MNIST_CNN_DATA", str(folder))
    before = files_and_folders(tmp_path)
    with pytest.raises(data.MNISTNotFoundError) as info:
        DEFAULT_READERS[reader](tmp_path / "torchvision-root")
    message = str(info.value)
    assert message.startswith(f"$MNIST_CNN_DATA={str(folder)!r}: ")
    assert EXPECTED_PROBLEM[kind] in message
    for name in (n for ns in data.FILES.values() for n in ns):
        assert name in message
    assert "Unset MNIST_CNN_DATA to use the files shipped" in message
    assert str(SHIPPED) in message
    assert "Offline?" not in message  # no download was tried
    assert files_and_folders(tmp_path) == before


def test_wrong_content_in_the_env_folder_is_blamed_on_the_variable(
    tiny_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The four names, other bytes (as a Fashion-MNIST folder would be): the
    checksum error says that the variable chose the folder."""
    monkeypatch.setenv("MNIST_CNN_DATA", str(tiny_root))
    for read in (
        lambda: data.load_split("test"),
        lambda: data.load_mnist(),
        lambda: data.prepare_torchvision_root(tiny_root / "tv"),
    ):
        with pytest.raises(data.DataFileError) as info:
            read()
        message = str(info.value)
        assert "SHA-256" in message and str(tiny_root) in message
        assert f"chosen by $MNIST_CNN_DATA={str(tiny_root)!r}" in message
        assert "Unset MNIST_CNN_DATA" in message
    # an explicit root is the caller's choice: the variable is not blamed
    with pytest.raises(data.DataFileError) as info:
        data.load_split("test", tiny_root)
    assert "MNIST_CNN_DATA" not in str(info.value)


def test_the_command_line_reports_a_wrong_env_folder_with_exit_code_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_network: None,
) -> None:
    from mnist_cnn import cli

    monkeypatch.setenv("MNIST_CNN_DATA", str(tmp_path / "nope"))
    out = tmp_path / "net.pt"
    argv = ["train", "--epochs", "1", "--quiet", "--out", str(out)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: $MNIST_CNN_DATA=") and err.count("\n") == 1
    assert "Traceback" not in err and files_and_folders(tmp_path) == []


def test_fashion_mnist_downloads_beside_the_clone_not_in_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where torchvision would put Fashion-MNIST: the clone's data/, not a
    folder chosen by $MNIST_CNN_DATA (a wheel: the user's cache,
    tests/test_paths.py)."""
    monkeypatch.setattr(data, "_FASHION_DEBIAN", tmp_path / "no-debian")
    monkeypatch.delenv("FASHION_MNIST_DATA", raising=False)
    monkeypatch.setenv("MNIST_CNN_DATA", str(tmp_path))
    with pytest.raises(data.MNISTNotFoundError) as info:
        data.load_fashion_mnist(download=False)
    assert str(SHIPPED.parent / "fashion-mnist") in str(info.value)
    assert f"{tmp_path}/fashion-mnist" not in str(info.value)


# --- split, statistics, batches ---------------------------------------------------------------


def test_train_val_split_is_a_seeded_partition() -> None:
    train, val = data.train_val_split(60000, 5000, seed=0)
    assert train.numel() == 55000 and val.numel() == 5000
    assert torch.equal(
        torch.sort(torch.cat([train, val])).values, torch.arange(60000)
    )
    again_train, again_val = data.train_val_split(60000, 5000, seed=0)
    assert torch.equal(train, again_train) and torch.equal(val, again_val)
    assert not torch.equal(val, data.train_val_split(60000, 5000, seed=1)[1])


@pytest.mark.parametrize("n_val", [-1, 60000, 70000])
def test_train_val_split_rejects_bad_sizes(n_val: int) -> None:
    with pytest.raises(ValueError, match="n_val"):
        data.train_val_split(60000, n_val)


def test_mean_std_equal_numpy_and_the_usual_constants(
    mnist: data.MNIST,
) -> None:
    """Reference: numpy float64 mean/std of the pixels / 255; the widely quoted 0.1307 / 0.3081."""
    mean, std = data.compute_mean_std(mnist.train_images)
    ref = mnist.train_images.numpy().astype(np.float64) / 255
    assert mean == pytest.approx(
        ref.mean(), abs=1e-10
    ) and std == pytest.approx(ref.std(), abs=1e-10)
    assert (round(mean, 4), round(std, 4)) == (0.1307, 0.3081)


def test_iterate_batches_visits_every_sample_once_per_epoch() -> None:
    images = torch.randint(0, 256, (1000, 28, 28), dtype=torch.uint8)
    labels = torch.arange(
        1000
    )  # labels as ids, so we can see which samples came
    g = torch.Generator().manual_seed(0)
    batches = list(
        data.iterate_batches(images, labels, 128, 0.0, 1.0, generator=g)
    )
    assert [b[0].shape for b in batches] == [(128, 1, 28, 28)] * 7 + [
        (104, 1, 28, 28)
    ]
    ids = torch.cat([y for _, y in batches])
    assert torch.equal(torch.sort(ids).values, labels) and not torch.equal(
        ids, labels
    )  # all once, shuffled
    for x, y in batches:  # each image travels with its own label
        torch.testing.assert_close(
            x[:, 0], images[y].float() / 255, atol=0, rtol=0
        )
    assert (
        len(
            list(
                data.iterate_batches(
                    images, labels, 128, 0.0, 1.0, drop_last=True
                )
            )
        )
        == 7
    )


def test_iterate_batches_channels_last_and_dtype(mnist: data.MNIST) -> None:
    x, y = next(
        data.iterate_batches(
            mnist.test_images,
            mnist.test_labels,
            32,
            0.1307,
            0.3081,
            channels_last=True,
            device="cpu",
        )
    )
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"std": 0.0}, "std"),
        ({"images": torch.zeros(4, 28, 28)}, "uint8"),
        ({"labels": torch.zeros(3, dtype=torch.int64)}, "labels"),
    ],
)
def test_iterate_batches_rejects_bad_arguments(
    kwargs: dict, match: str
) -> None:
    args = {
        "images": torch.zeros(4, 28, 28, dtype=torch.uint8),
        "labels": torch.zeros(4, dtype=torch.int64),
        "batch_size": 2,
        "mean": 0.0,
        "std": 1.0,
    } | kwargs
    with pytest.raises(ValueError, match=match):
        next(data.iterate_batches(**args))


# --- the IDX format -----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(0, 7), min_size=1, max_size=4),
    compress=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_idx_round_trip(
    tmp_path_factory: pytest.TempPathFactory,
    shape: list[int],
    compress: bool,
    seed: int,
) -> None:
    tensor = torch.randint(
        0,
        256,
        shape,
        dtype=torch.uint8,
        generator=torch.Generator().manual_seed(seed),
    )
    path = write_idx(
        tmp_path_factory.mktemp("idx") / "x.idx", tensor, compress=compress
    )
    out = data.read_idx(path)
    assert (
        out.dtype == torch.uint8
        and out.shape == tensor.shape
        and torch.equal(out, tensor)
    )


# --- bad input: one clear error, nothing half-written -------------------------------------------


def test_missing_files_offline_fail_with_one_clear_message(
    tmp_path: Path, no_network: None
) -> None:
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    with pytest.raises(data.MNISTNotFoundError) as info:
        data.load_mnist(empty)
    message = str(info.value)
    assert (
        str(empty) in message
        and "Offline?" in message
        and "data/mnist" in message
    )
    assert "train-images-idx3-ubyte" in message
    assert files_in(empty) == []  # nothing partial left behind


def test_missing_file_without_download(tiny_root: Path) -> None:
    (tiny_root / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(
        data.MNISTNotFoundError,
        match=r"t10k-labels-idx1-ubyte\(\.gz\) not found in .*MNIST_CNN_DATA",
    ):
        data.load_mnist(tiny_root, verify=False, download=False)


def test_truncated_gzip(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in (n for ns in data.FILES.values() for n in ns):
        (source / f"{name}.gz").write_bytes(
            (data.default_root() / f"{name}.gz").read_bytes()
        )
    bad = source / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    with pytest.raises(
        data.DataFileError,
        match="not a complete gzip file.*truncated or corrupt",
    ):
        data.read_idx(bad)
    target = tmp_path / "target"
    with pytest.raises(data.DataFileError, match="train-labels-idx1-ubyte.gz"):
        data.prepare_torchvision_root(target, source=source)
    # the files before the bad one were completed; the bad one left nothing, not even a .part
    assert files_in(target) == ["MNIST/raw/train-images-idx3-ubyte"]


def test_wrong_magic_number(tmp_path: Path) -> None:
    path = write_idx(
        tmp_path / "labels", torch.zeros(5), magic=bytes([0, 0, 0x0D, 1])
    )  # float32 type code
    with pytest.raises(
        data.DataFileError,
        match=r"wrong magic number 0x00000d01.*not an MNIST IDX file",
    ):
        data.read_idx(path)
    (tmp_path / "png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    with pytest.raises(data.DataFileError, match="wrong magic number"):
        data.read_idx(tmp_path / "png")


def test_data_shorter_than_header_declares(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "x", torch.zeros(10))
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(
        data.DataFileError,
        match=r"declares shape \(10,\) = 10 bytes of data, but the file holds 9",
    ):
        data.read_idx(path)
    (tmp_path / "short").write_bytes(b"\x00\x00")
    with pytest.raises(
        data.DataFileError, match="too short for an IDX header"
    ):
        data.read_idx(tmp_path / "short")


def test_image_label_count_mismatch(tiny_root: Path) -> None:
    write_idx(tiny_root / "t10k-labels-idx1-ubyte.gz", torch.zeros(9))
    with pytest.raises(
        data.DataFileError, match="10 test images but 9 labels"
    ):
        data.load_split("test", tiny_root, verify=False)


def test_checksum_mismatch(tmp_path: Path) -> None:
    labels = data.read_idx(
        data.default_root() / "t10k-labels-idx1-ubyte.gz"
    ).clone()
    labels[0] = (labels[0] + 1) % 10  # still a valid IDX file, but not MNIST's
    for name in data.FILES["test"]:
        (tmp_path / f"{name}.gz").write_bytes(
            (data.default_root() / f"{name}.gz").read_bytes()
        )
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    with pytest.raises(
        data.DataFileError,
        match=r"t10k-labels-idx1-ubyte.gz: SHA-256 .* expected ff7bcfd4",
    ):
        data.load_split("test", tmp_path)
    assert data.load_split("test", tmp_path, verify=False)[1][0] == labels[0]


def test_bad_split_name() -> None:
    with pytest.raises(ValueError, match="split='validation'"):
        data.load_split("validation")


def test_corrupt_gzip_payload_is_reported(tmp_path: Path) -> None:
    payload = bytearray(gzip.compress(bytes(1000)))
    payload[20:30] = bytes(
        10
    )  # damage the deflate stream (the CRC no longer matches)
    path = tmp_path / "x.gz"
    path.write_bytes(bytes(payload))
    with pytest.raises(data.DataFileError, match="not a complete gzip file"):
        data.read_idx(path)


# --- Fashion-MNIST (chapter "Fine-tuning") -------------------------------------------------------


def test_fashion_mnist_missing_gives_one_clear_message(
    tmp_path: Path, no_network: None
) -> None:
    with pytest.raises(
        data.MNISTNotFoundError, match=r"apt install dataset-fashion-mnist"
    ):
        data.load_fashion_mnist(tmp_path, download=False)
    with pytest.raises(
        data.MNISTNotFoundError,
        match=r"Offline\? Install Debian's dataset-fashion-mnist",
    ):
        data.load_fashion_mnist(tmp_path)


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist").is_dir(),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_fashion_mnist_from_debian_is_verified_and_balanced() -> None:
    fashion = data.load_fashion_mnist()  # verifies FASHION_IDX_SHA256
    assert fashion.train_images.shape == (60000, 28, 28)
    assert torch.bincount(fashion.train_labels).tolist() == [6000] * 10
    assert torch.bincount(fashion.test_labels).tolist() == [1000] * 10
