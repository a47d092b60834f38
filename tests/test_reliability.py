"""Reliability and security (README, section "Reliability"): a bad-input matrix over the entry
points, model files that cannot run code, resuming a killed run bit for bit, atomic writes under a
kill, and determinism across processes. (No network: conftest.py blocks it for every test. The
good checkpoint, ``checkpoint``: tests/conftest.py, one training run for the whole session.)
"""

from __future__ import annotations

import gzip
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mnist_cnn import (
    checkpoints,
    cli,
    data,
    deploy,
    explain,
    preprocess,
    training,
)
from mnist_cnn.models import BookCNN

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--train-subset", "3000", "--threads", "1", "--quiet"]


def png_bomb(path: Path, width: int = 40_000, height: int = 40_000) -> Path:
    """A valid PNG header that declares 1.6 gigapixels, in under 100 bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )
    return path


class Evil:
    """Unpickling this would create the file ``marker`` (a stand-in for any code)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (str(self.marker), "w"))


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- the bad-input matrix, through the command line ----------------------------------------------
# (name, files to create -> argv, text the one error line must contain). Every case: exit code 2,
# exactly one "error:" line naming the file or option, no traceback, no new file left behind.


def cli_cases(tmp: Path, good: Path) -> list[tuple[str, list[str], str]]:
    (tmp / "empty.png").write_bytes(b"")
    (tmp / "text.png").write_text("not a picture\n")
    Image.new("L", (50, 50), 255).save(tmp / "blank.png")
    Image.new("L", (1, 1), 0).save(tmp / "one-pixel.png")
    digit = Image.new("L", (60, 60), 255)
    digit.paste(0, (25, 10, 35, 50))
    digit.save(tmp / "digit.png")
    (tmp / "truncated.png").write_bytes((tmp / "digit.png").read_bytes()[:60])
    png_bomb(tmp / "bomb.png")
    (tmp / "folder.png").mkdir()
    (tmp / "empty.pt").write_bytes(b"")
    (tmp / "truncated.pt").write_bytes(
        good.read_bytes()[: good.stat().st_size // 2]
    )
    (tmp / "random.pt").write_bytes(os.urandom(4096))
    torch.save(
        {"format": 1, "state_dict": {}, "config": Evil(tmp / "pwned")},
        tmp / "evil.pt",
    )
    payload = torch.load(good, weights_only=True)
    payload["config"]["model"] = "lenet5"
    torch.save(payload, tmp / "lenet-label.pt")
    checkpoints.save_training_state(
        tmp / "a.state", {"config": {}, "epoch": 1}
    )
    predict = ["predict", "--checkpoint", str(good)]
    return [
        (
            "predict: missing image",
            [*predict, str(tmp / "missing.png")],
            "missing.png: no such file",
        ),
        (
            "predict: empty file",
            [*predict, str(tmp / "empty.png")],
            "empty.png: not an image that can be read",
        ),
        (
            "predict: text file",
            [*predict, str(tmp / "text.png")],
            "text.png: not an image that can be read",
        ),
        (
            "predict: truncated PNG",
            [*predict, str(tmp / "truncated.png")],
            "truncated.png: not an image that can be read",
        ),
        (
            "predict: decompression bomb",
            [*predict, str(tmp / "bomb.png")],
            "bomb.png: image too large to open safely",
        ),
        (
            "predict: a folder",
            [*predict, str(tmp / "folder.png")],
            "folder.png: no such file",
        ),
        (
            "predict: blank image",
            [*predict, str(tmp / "blank.png")],
            "no digit found",
        ),
        (
            "predict: 1x1 image",
            [*predict, str(tmp / "one-pixel.png")],
            "no digit found",
        ),
        (
            "checkpoint: missing",
            ["evaluate", "--checkpoint", str(tmp / "none.pt")],
            "none.pt: no such checkpoint file",
        ),
        (
            "checkpoint: empty",
            ["evaluate", "--checkpoint", str(tmp / "empty.pt")],
            "empty.pt: not a readable checkpoint",
        ),
        (
            "checkpoint: truncated",
            ["evaluate", "--checkpoint", str(tmp / "truncated.pt")],
            "truncated.pt: not a readable checkpoint",
        ),
        (
            "checkpoint: random bytes",
            ["evaluate", "--checkpoint", str(tmp / "random.pt")],
            "random.pt: not a readable checkpoint",
        ),
        (
            "checkpoint: pickle with code",
            ["evaluate", "--checkpoint", str(tmp / "evil.pt")],
            "evil.pt: not a readable checkpoint",
        ),
        (
            "checkpoint: another architecture",
            ["evaluate", "--checkpoint", str(good), "--model", "lenet5"],
            "holds a 'book' model, not 'lenet5'",
        ),
        (
            "checkpoint: weights of another model",
            [
                *predict[:1],
                "--checkpoint",
                str(tmp / "lenet-label.pt"),
                str(tmp / "digit.png"),
            ],
            "do not fit the model 'lenet5'",
        ),
        (
            "checkpoint: a training state",
            ["evaluate", "--checkpoint", str(tmp / "a.state")],
            "a.state: not an mnist_cnn checkpoint",
        ),
        (
            "train: epochs 0",
            ["train", "--epochs", "0", "--out", str(tmp / "x.pt")],
            "epochs=0: must be a positive integer",
        ),
        (
            "train: negative lr",
            ["train", "--lr", "-1", "--out", str(tmp / "x.pt")],
            "lr=-1.0: must be a positive number",
        ),
        (
            "train: unknown device",
            ["train", "--device", "tpu", "--out", str(tmp / "x.pt")],
            "device='tpu': not a device name",
        ),
        (
            "train: absent GPU",
            ["train", "--device", "cuda:99", "--out", str(tmp / "x.pt")],
            "device='cuda:99': this machine has",
        ),
        (
            "train: fp16 on the CPU",
            [
                "train",
                "--amp",
                "fp16",
                "--device",
                "cpu",
                "--out",
                str(tmp / "x.pt"),
            ],
            "amp='fp16' needs a CUDA device",
        ),
        (
            "train: subset 0",
            ["train", "--train-subset", "0", "--out", str(tmp / "x.pt")],
            "train_subset=0: must be a positive integer",
        ),
        (
            "train: negative save-every",
            [
                "train",
                "--save-every",
                "-5",
                *SMALL,
                "--out",
                str(tmp / "x.pt"),
            ],
            "save_every=-5",
        ),
        (
            "train: resume from another run's state",
            [
                "train",
                "--resume",
                "--save-every",
                "5",
                "--state",
                str(tmp / "a.state"),
                *SMALL,
                "--out",
                str(tmp / "x.pt"),
            ],
            "a.state: written by a run with other settings",
        ),
    ]


def test_cli_bad_input_matrix(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, checkpoint: Path
) -> None:
    cases = cli_cases(tmp_path, checkpoint)
    for name, argv, message in cases:
        before = files(tmp_path)
        code = cli.main(argv)
        out, err = capsys.readouterr()
        assert code == 2, (name, out, err)
        lines = [line for line in err.splitlines() if line.strip()]
        assert (
            len(lines) == 1
            and lines[0].startswith("error: ")
            and message in lines[0]
        ), (name, err)
        assert "Traceback" not in err
        assert files(tmp_path) == before, (
            f"{name}: left {set(files(tmp_path)) - set(before)}"
        )
    assert not (tmp_path / "pwned").exists(), "loading the checkpoint ran code"
    print(f"{len(cases)} command-line cases")


# --- the same for the functions the notebooks call ------------------------------------------------


def helper_cases(
    tmp: Path,
) -> list[tuple[str, Callable[[], object], type[Exception], str]]:
    images = torch.zeros(10, 28, 28, dtype=torch.uint8)
    labels = torch.zeros(10, dtype=torch.int64)
    (tmp / "half.gz").write_bytes(
        gzip.compress(
            bytes([0, 0, 8, 3])
            + (10).to_bytes(4, "big")
            + (28).to_bytes(4, "big") * 2
        )[:-12]
    )
    (tmp / "empty.gz").write_bytes(b"")
    (tmp / "magic.idx").write_bytes(
        bytes([1, 2, 8, 1]) + (3).to_bytes(4, "big") + b"abc"
    )
    (tmp / "short.idx").write_bytes(
        bytes([0, 0, 8, 1]) + (30).to_bytes(4, "big") + b"abc"
    )
    (tmp / "notgzip.gz").write_bytes(os.urandom(200))
    bomb = png_bomb(tmp / "bomb.png").read_bytes()
    return [
        (
            "read_idx: truncated gzip",
            lambda: data.read_idx(tmp / "half.gz"),
            data.DataFileError,
            "half.gz",
        ),
        (
            "read_idx: empty file",
            lambda: data.read_idx(tmp / "empty.gz"),
            data.DataFileError,
            "empty.gz",
        ),
        (
            "read_idx: wrong magic",
            lambda: data.read_idx(tmp / "magic.idx"),
            data.DataFileError,
            "magic.idx",
        ),
        (
            "read_idx: fewer bytes than the header says",
            lambda: data.read_idx(tmp / "short.idx"),
            data.DataFileError,
            "short.idx",
        ),
        (
            "read_idx: not gzip",
            lambda: data.read_idx(tmp / "notgzip.gz"),
            data.DataFileError,
            "notgzip.gz",
        ),
        (
            "iterate_batches: float images",
            lambda: next(
                data.iterate_batches(images.float(), labels, 4, 0.1, 0.3)
            ),
            ValueError,
            "images: expected uint8 (N, H, W)",
        ),
        (
            "iterate_batches: 4-D images",
            lambda: next(
                data.iterate_batches(images[:, None], labels, 4, 0.1, 0.3)
            ),
            ValueError,
            "images: expected uint8 (N, H, W)",
        ),
        (
            "iterate_batches: label count",
            lambda: next(
                data.iterate_batches(images, labels[:5], 4, 0.1, 0.3)
            ),
            ValueError,
            "labels: shape (5,) does not match 10 images",
        ),
        (
            "to_mnist: 8-bit values",
            lambda: preprocess.to_mnist(
                np.full((28, 28), 200.0, dtype=np.float32)
            ),
            preprocess.ImageInputError,
            "expected grey levels as floats in [0, 1]",
        ),
        (
            "to_mnist: NaN",
            lambda: preprocess.to_mnist(
                np.full((28, 28), np.nan, dtype=np.float32)
            ),
            preprocess.ImageInputError,
            "expected grey levels as floats in [0, 1]",
        ),
        (
            "to_mnist: uint8 array",
            lambda: preprocess.to_mnist(np.zeros((28, 28), dtype=np.uint8)),
            preprocess.ImageInputError,
            "expected grey levels as floats in [0, 1]",
        ),
        (
            "to_mnist: 3-D array",
            lambda: preprocess.to_mnist(
                np.zeros((28, 28, 3), dtype=np.float32)
            ),
            preprocess.ImageInputError,
            "expected a 2-D grey image",
        ),
        (
            "to_mnist: a tensor",
            lambda: preprocess.to_mnist(torch.zeros(28, 28)),
            preprocess.ImageInputError,
            "as a NumPy array",
        ),
        (
            "grey_from_bytes: bomb",
            lambda: preprocess.grey_from_bytes(bomb, "upload"),
            preprocess.ImageInputError,
            "upload: image too large",
        ),
        (
            "saliency: one image without batch",
            lambda: explain.saliency(BookCNN(), torch.zeros(1, 28, 28)),
            ValueError,
            "x: expected a batch",
        ),
        (
            "grad_cam: foreign layer",
            lambda: explain.grad_cam(
                BookCNN(), torch.zeros(1, 1, 28, 28), torch.nn.ReLU()
            ),
            ValueError,
            "layer: not a module of this model",
        ),
        (
            "export: example without batch",
            lambda: deploy.export_onnx(
                BookCNN(), tmp / "m.onnx", torch.zeros(28, 28)
            ),
            ValueError,
            "example: expected a batch",
        ),
        (
            "TrainConfig: unknown model",
            lambda: training.TrainConfig(model="resnet"),
            ValueError,
            "model='resnet': expected one of",
        ),
        (
            "TrainConfig: batch 0",
            lambda: training.TrainConfig(batch_size=0),
            ValueError,
            "batch_size=0: must be a positive integer",
        ),
        (
            "load_training_state: pickle with code",
            lambda: checkpoints.load_training_state(
                tmp / "evil.state", training.TrainConfig()
            ),
            checkpoints.CheckpointError,
            "evil.state: not a readable training state",
        ),
    ]


def test_helper_bad_input_matrix(tmp_path: Path) -> None:
    torch.save(
        {
            "format": "mnist_cnn training state 1",
            "x": Evil(tmp_path / "pwned"),
        },
        tmp_path / "evil.state",
    )
    cases = helper_cases(tmp_path)
    for name, call, error, message in cases:
        before = files(tmp_path)
        with pytest.raises(error) as caught:
            call()
        assert message in str(caught.value), (name, str(caught.value))
        assert files(tmp_path) == before, name
    assert not (tmp_path / "pwned").exists()
    print(f"{len(cases)} helper cases")


# --- resume: a killed run continues to the same weights, bit for bit ----------------------------


class Killed(Exception):
    pass


@pytest.mark.parametrize(
    "kill_at, resumes_at",
    [  # make test runs the last case; make test-slow all three (5 s each)
        pytest.param(9, (1, 8), marks=pytest.mark.slow),
        pytest.param(24, (2, 0), marks=pytest.mark.slow),
        (31, (2, 8)),
    ],
)  # 23 steps per epoch, saved every 4
def test_resume_after_a_kill_is_bitwise_identical(
    tmp_path: Path, kill_at: int, resumes_at: tuple[int, int]
) -> None:
    # dropout draws from torch's global generator, augmentation from the
    # run's own: the state must restore both
    config = training.TrainConfig(
        epochs=2,
        train_subset=3000,
        augment=True,
        threads=1,
        model_kwargs={"dropout": 0.3},
    )
    mnist = data.load_mnist()
    uninterrupted = training.fit(config, mnist, progress=False)

    def kill(step: int) -> None:
        if step == kill_at:
            raise Killed

    state = tmp_path / "run.state"
    with pytest.raises(Killed):
        training.fit(
            config,
            mnist,
            progress=False,
            state_path=state,
            save_every=4,
            on_step=kill,
        )
    resumed = training.fit(
        config,
        mnist,
        progress=False,
        state_path=state,
        save_every=4,
        resume=True,
    )
    assert (
        resumed.resumed_from == resumes_at
    )  # it did continue, from the last state written before the kill
    for (name, a), b in zip(
        uninterrupted.model.state_dict().items(),
        resumed.model.state_dict().values(),
    ):
        assert torch.equal(a, b), f"{name} differs after resuming"
    assert [r.val_loss for r in resumed.history] == [
        r.val_loss for r in uninterrupted.history
    ]


def cli_train(out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mnist_cnn",
            "train",
            "--epochs",
            "2",
            "--augment",
            *SMALL,
            "--out",
            str(out),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


@pytest.mark.slow  # four training processes (about 20 s); make test-slow and CI run it
def test_sigkill_then_resume_matches_an_uninterrupted_run_and_two_processes_agree(
    tmp_path: Path,
) -> None:
    """Determinism across processes, and a real SIGKILL in the middle of training."""
    first, second = cli_train(tmp_path / "a.pt"), cli_train(tmp_path / "b.pt")
    assert first.wait(timeout=300) == 0 and second.wait(timeout=300) == 0, (
        first.stderr.read() if first.stderr else ""
    )
    reference = weights(tmp_path / "a.pt")
    assert all(
        torch.equal(reference[k], v)
        for k, v in weights(tmp_path / "b.pt").items()
    ), "same seed, different weights"

    state = tmp_path / "k.pt.state"
    victim = cli_train(tmp_path / "k.pt", "--save-every", "3")
    deadline = time.time() + 120
    while not state.exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)  # a few more steps past the first save
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert (
        victim.returncode == -signal.SIGKILL
        and not (tmp_path / "k.pt").exists()
    ), "the run finished before the kill"
    resumed = cli_train(tmp_path / "k.pt", "--save-every", "3", "--resume")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert (
        "resumed from" in out
        and "resumed from " + str(state) + ": epoch 1, after step 0" not in out
    ), out
    killed_at = torch.load(
        state, weights_only=True
    )  # (the state now holds the finished run)
    assert killed_at["epoch"] == 3
    assert all(
        torch.equal(reference[k], v)
        for k, v in weights(tmp_path / "k.pt").items()
    ), "resumed run differs"


# --- atomic writes: a kill while saving never damages the last good file -------------------------

KILL_WHILE_SAVING = """
import os, sys, torch
from pathlib import Path
from mnist_cnn import atomic, data
target = Path(sys.argv[1])
def half_then_die(f):
    f.write(b"PK" + os.urandom(5000))  # half a zip file ...
    f.flush()
    os._exit(137)  # ... and the process dies as under kill -9
atomic.write_atomically(target, half_then_die)
"""


def test_a_kill_while_saving_keeps_the_last_good_checkpoint(
    tmp_path: Path, checkpoint: Path
) -> None:
    target = tmp_path / "model.pt"
    target.write_bytes(checkpoint.read_bytes())
    died = subprocess.run(
        [sys.executable, "-c", KILL_WHILE_SAVING, str(target)],
        capture_output=True,
        text=True,
    )
    assert died.returncode == 137
    model, meta = checkpoints.load_checkpoint(
        target
    )  # the previous checkpoint, whole
    assert target.read_bytes() == checkpoint.read_bytes()
    leftovers = [
        p.name for p in tmp_path.iterdir() if p.name.endswith(".part")
    ]
    assert len(leftovers) == 1  # the dead process's temporary file ...
    result = training.FitResult(
        model, meta["config"], [], meta["mean"], meta["std"], 1
    )
    checkpoints.save_checkpoint(target, result)
    assert files(tmp_path) == [
        "model.pt"
    ]  # ... is removed by the next save of the same file
