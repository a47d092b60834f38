"""Reliability and security (README, section "Reliability"): a bad-input matrix over the entry
points, model files that cannot run code, resuming a killed run bit for bit, atomic writes under a
kill, and determinism across processes. (No network: conftest.py blocks it for every test. The
good checkpoint, ``checkpoint``: tests/conftest.py, one training run for the whole session.)
"""

from __future__ import annotations

import dataclasses
import errno
import gzip
import os
import re
import shlex
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import replace
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
    run_state,
    training,
)
from mnist_cnn.config import TrainConfig
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


Case = tuple[str, list[str], str]


def read_only_folder(tmp: Path) -> Path | None:
    """A folder where no file can be created: ``tmp/locked`` (mode 0555), or
    for root, whom modes do not stop, /sys where it refuses new files; None
    where neither works."""
    locked = tmp / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    for folder in (locked, Path("/sys")):
        try:
            (folder / ".probe").touch()
        except OSError:
            return folder
        (folder / ".probe").unlink()
    return None


def train_file_cases(tmp: Path, good: Path) -> list[Case]:
    """`train` with an output path it cannot write, or a training state it
    cannot resume from: refused before it trains."""
    out = ["train", *SMALL, "--out"]
    state = ["train", *SMALL, "--out", str(tmp / "x.pt"), "--save-every"]
    cases = [
        (
            "train: --out an existing folder",
            [*out, str(tmp / "outdir")],
            "--out " + str(tmp / "outdir") + ": is a folder; name a file",
        ),
        (
            "train: --out in a folder that does not exist",
            [*out, str(tmp / "nowhere" / "m.pt")],
            f"the folder {tmp / 'nowhere'} does not exist; create it",
        ),
        (
            "train: --out under a file",
            [*out, str(tmp / "digit.png" / "m.pt")],
            "digit.png is a file, not a folder",
        ),
        (
            "train: --out would overwrite an image",
            [*out, str(tmp / "digit.png")],
            "digit.png: exists and is a PNG image; `train` would overwrite",
        ),
        (
            "train: --state an existing folder",
            [*state, "5", "--state", str(tmp / "outdir")],
            "--state " + str(tmp / "outdir") + ": is a folder",
        ),
        (
            "train: --state the same file as --out",
            [*state, "5", "--state", str(tmp / "x.pt")],
            "--out and --state both name",
        ),
        (
            "train: --state would overwrite an image",
            [*state, "5", "--state", str(tmp / "digit.png")],
            "--state " + str(tmp / "digit.png") + ": exists and is a PNG",
        ),
        (
            "train: resume from an image",
            [*state, "5", "--resume", "--state", str(tmp / "digit.png")],
            "digit.png: this is an image (PNG), not a training state",
        ),
        (
            "train: resume from a checkpoint",
            [*state, "5", "--resume", "--state", str(good)],
            "a checkpoint (a trained model), not an mnist_cnn training state",
        ),
    ]
    small = cli._train_config(cli._parser().parse_args(["train", *SMALL]))
    for name, epochs, epoch in (
        ("done-1.state", 1, 2),
        ("done-3.state", 3, 4),
    ):
        run_state.save_training_state(
            tmp / name,
            {
                "config": dataclasses.asdict(replace(small, epochs=epochs)),
                "epoch": epoch,  # the next epoch: the run is finished
                "step": 0,
                "generator": torch.Generator().get_state(),
            },
        )
    cases += [
        (
            "train: extend a onecycle run",
            [*state, "5", "--resume", "--state", str(tmp / "done-1.state")]
            + ["--epochs", "3"],
            "onecycle schedule is fitted to 1 epoch; a run of 3 would",
        ),
        (
            "train: resume to fewer epochs than trained",
            [*state, "5", "--resume", "--state", str(tmp / "done-3.state")]
            + ["--epochs", "2"],
            "already trained 3 epochs (of 3); pass --epochs 3 or more",
        ),
    ]
    locked = read_only_folder(tmp)
    if locked is not None:
        cases.append(
            (
                "train: --out in a read-only folder",
                [*out, str(locked / "m.pt")],
                f"cannot write in {locked}",
            )
        )
    return cases


def option_cases(tmp: Path, good: Path) -> list[Case]:
    """Options out of range, unknown names: refused before anything runs."""
    x = ["--out", str(tmp / "x.pt")]
    bad_train = {
        "--threads 0": "argument --threads: 0: must be a positive integer",
        "--batch-size 0": "argument --batch-size: 0: must be a positive",
        "--epochs -3": "argument --epochs: -3: must be a positive integer",
        "--lr 0": "--lr 0.0: must be a positive number",
        "--patience 0": "argument --patience: 0: must be a positive integer",
        "--weight-decay -1": "--weight-decay -1.0: must be >= 0",
        "--label-smoothing 1": "--label-smoothing 1.0: must be in [0, 1)",
        "--epochs two": "argument --epochs: 'two': expected a whole number",
        "--model resnet": "argument --model: invalid choice: 'resnet'",
        "--colour red": "unrecognized arguments: --colour red",
    }
    cases = [
        (f"train: {option}", ["train", *option.split(), *x], message)
        for option, message in bad_train.items()
    ]
    evaluate = ["evaluate", "--checkpoint", str(good)]
    predict = ["predict", "--checkpoint", str(good), str(tmp / "digit.png")]
    return [
        *cases,
        ("no command", [], "arguments are required: COMMAND"),
        (
            "evaluate: unknown --model",
            [*evaluate, "--model", "resnet"],
            "argument --model: invalid choice: 'resnet'",
        ),
        (
            "evaluate: unknown --split",
            [*evaluate, "--split", "dev"],
            "argument --split: invalid choice: 'dev'",
        ),
        (
            "evaluate: no --checkpoint, none trained",
            ["evaluate"],
            "checkpoints/model.pt: no such checkpoint file. Train one with",
        ),
        (
            "predict: unknown --model",
            [*predict, "--model", "resnet"],
            "argument --model: invalid choice: 'resnet'",
        ),
        (
            "bench conv: --batch 0",
            ["bench", "conv", "--batch", "0"],
            "argument --batch: 0: must be a positive integer",
        ),
        (
            "bench data: --threads 0",
            ["bench", "data", "--threads", "0"],
            "argument --threads: 0: must be a positive integer",
        ),
        (
            "bench gpu: --repeats 0",
            ["bench", "gpu", "--repeats", "0"],
            "argument --repeats: 0: must be a positive integer",
        ),
        (
            "bench train: --target 1.5",
            ["bench", "train", "--target", "1.5"],
            "argument --target: 1.5: must be a fraction in (0, 1]",
        ),
        (
            "bench train: unknown recipe",
            ["bench", "train", "--recipes", "article 5.2"],
            "argument --recipes: invalid choice: 'article 5.2'",
        ),
        (
            "bench: unknown benchmark",
            ["bench", "disk"],
            "argument BENCHMARK: invalid choice: 'disk'",
        ),
    ]


def cli_cases(tmp: Path, good: Path) -> list[Case]:
    (tmp / "empty.png").write_bytes(b"")
    (tmp / "text.png").write_text("not a picture\n")
    Image.new("L", (50, 50), 255).save(tmp / "blank.png")
    Image.new("L", (1, 1), 0).save(tmp / "one-pixel.png")
    digit = Image.new("L", (60, 60), 255)
    digit.paste(0, (25, 10, 35, 50))
    digit.save(tmp / "digit.png")
    (tmp / "truncated.png").write_bytes((tmp / "digit.png").read_bytes()[:60])
    png_bomb(tmp / "bomb.png")
    # 100 megapixels: over PIL's warning limit (89 M), under its error (179 M)
    png_bomb(tmp / "bomb-warning.png", 10_000, 10_000)
    (tmp / "folder.png").mkdir()
    (tmp / "shots").mkdir()
    for name in ("a.JPG", "b.JPG", "c.png", "notes.txt"):
        (tmp / "shots" / name).write_bytes((tmp / "digit.png").read_bytes())
    (tmp / "outdir").mkdir()
    Image.new("RGB", (20, 20)).save(tmp / "photo.jpg")
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
    run_state.save_training_state(tmp / "a.state", {"config": {}, "epoch": 1})
    predict = ["predict", "--checkpoint", str(good)]
    x = ["--out", str(tmp / "x.pt")]
    return [
        *train_file_cases(tmp, good),
        *option_cases(tmp, good),
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
        (  # needs preprocess.py to treat PIL's warning as the error it is
            "predict: decompression bomb under PIL's error limit",
            [*predict, str(tmp / "bomb-warning.png")],
            "bomb-warning.png: image too large to open safely",
        ),
        (
            "predict: an empty folder",
            [*predict, str(tmp / "folder.png")],
            "folder.png: is a folder, not an image, and holds no image files",
        ),
        (
            "predict: a folder of photos",
            [*predict, str(tmp / "shots")],
            "shots: is a folder, not an image; give the image files in it "
            f"(3 images), e.g. {tmp / 'shots' / '*.JPG'}",
        ),
        (
            "predict: blank image",
            [*predict, str(tmp / "blank.png")],
            "blank.png: no digit found",
        ),
        (
            "predict: 1x1 image",
            [*predict, str(tmp / "one-pixel.png")],
            "one-pixel.png: no digit found",
        ),
        (
            "checkpoint: missing",
            ["evaluate", "--checkpoint", str(tmp / "none.pt")],
            "none.pt: no such checkpoint file",
        ),
        (
            "checkpoint: empty",
            ["evaluate", "--checkpoint", str(tmp / "empty.pt")],
            "empty.pt: not a checkpoint: the file is empty",
        ),
        (
            "checkpoint: truncated",
            ["evaluate", "--checkpoint", str(tmp / "truncated.pt")],
            "truncated.pt: not a checkpoint: the file is truncated",
        ),
        (
            "checkpoint: random bytes",
            ["evaluate", "--checkpoint", str(tmp / "random.pt")],
            "random.pt: not a checkpoint: its contents are not",
        ),
        (
            "checkpoint: pickle with code",
            ["evaluate", "--checkpoint", str(tmp / "evil.pt")],
            "evil.pt: not a checkpoint: it holds Python objects",
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
            "checkpoint: a PNG image",
            ["evaluate", "--checkpoint", str(tmp / "digit.png")],
            "digit.png: this is an image (PNG), not a checkpoint",
        ),
        (
            "checkpoint: a JPEG image, to predict",
            [
                "predict",
                "--checkpoint",
                str(tmp / "photo.jpg"),
                str(tmp / "digit.png"),
            ],
            "photo.jpg: this is an image (JPEG), not a checkpoint",
        ),
        (
            "checkpoint: a folder",
            ["evaluate", "--checkpoint", str(tmp / "outdir")],
            "outdir: is a folder, not a checkpoint file",
        ),
        (
            "checkpoint: a training state",
            ["evaluate", "--checkpoint", str(tmp / "a.state")],
            "a.state: this is a training state (written by --save-every",
        ),
        (
            "train: epochs 0",
            ["train", "--epochs", "0", "--out", str(tmp / "x.pt")],
            "argument --epochs: 0: must be a positive integer",
        ),
        (
            "train: negative lr",
            ["train", "--lr", "-1", "--out", str(tmp / "x.pt")],
            "--lr -1.0: must be a positive number",
        ),
        (
            "train: unknown device",
            ["train", "--device", "tpu", "--out", str(tmp / "x.pt")],
            "--device tpu: not a device name",
        ),
        (
            "train: absent GPU",
            ["train", "--device", "cuda:99", "--out", str(tmp / "x.pt")],
            "--device cuda:99: this machine has",
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
            "--amp fp16 needs a CUDA device, not cpu; use --amp bf16 or",
        ),
        (
            "train: subset 0",
            ["train", "--train-subset", "0", "--out", str(tmp / "x.pt")],
            "argument --train-subset: 0: must be a positive integer",
        ),
        (
            "train: negative save-every",
            ["train", "--save-every", "-5", *SMALL, *x],
            "argument --save-every: -5: must be at least 0",
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


def contents(folder: Path) -> dict[str, bytes | None]:
    """Every file and folder under ``folder`` with its bytes (None: a
    folder)."""
    return {
        str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
        for p in sorted(folder.rglob("*"))
    }


def test_cli_bad_input_matrix(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, checkpoint: Path
) -> None:
    cases = cli_cases(tmp_path, checkpoint)
    failed = []
    for name, argv, message in cases:
        before = contents(tmp_path)
        code = cli.main(argv)
        out, err = capsys.readouterr()
        lines = [line for line in err.splitlines() if line.strip()]
        ok = (
            code == 2
            and len(lines) == 1
            and lines[0].startswith("error: ")
            and message in lines[0]
            and out == ""  # refused before anything started
            and "Traceback" not in err
            and "weights_only" not in err  # PyTorch's advice never shown
        )
        if not ok:
            failed.append((name, code, err))
        left = set(contents(tmp_path).items()) ^ set(before.items())
        assert not left, f"{name}: changed {sorted(k for k, _ in left)}"
    assert not (tmp_path / "pwned").exists(), "loading the checkpoint ran code"
    assert not failed, "\n".join(f"{n}: exit {c}: {e!r}" for n, c, e in failed)
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
            lambda: TrainConfig(model="resnet"),
            ValueError,
            "model='resnet': expected one of",
        ),
        (
            "TrainConfig: batch 0",
            lambda: TrainConfig(batch_size=0),
            ValueError,
            "batch_size=0: must be a positive integer",
        ),
        (
            "load_training_state: pickle with code",
            lambda: run_state.load_training_state(
                tmp / "evil.state", TrainConfig()
            ),
            checkpoints.CheckpointError,
            "evil.state: not a training state: it holds Python objects",
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
    config = TrainConfig(
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


@pytest.mark.slow  # a training process stopped (4-7 s): make test-slow, CI
def test_resume_to_more_epochs_after_a_kill_is_bitwise_identical(
    tmp_path: Path,
) -> None:
    """Reference: an uninterrupted run of 3 epochs. A run of 2 epochs, killed
    in its second and resumed with epochs=3, ends with the same weights; its
    schedule (step) does not depend on the run's length."""
    short = TrainConfig(
        epochs=2,
        train_subset=3000,
        augment=True,
        schedule="step",
        threads=1,
        model_kwargs={"dropout": 0.3},
    )
    longer = replace(short, epochs=3)
    mnist = data.load_mnist()
    uninterrupted = training.fit(longer, mnist, progress=False)

    def kill(step: int) -> None:
        if step == 31:  # 23 steps an epoch: in the second
            raise Killed

    state = tmp_path / "run.state"
    with pytest.raises(Killed):
        training.fit(
            short, mnist, False, state_path=state, save_every=4, on_step=kill
        )
    resumed = training.fit(
        longer, mnist, False, state_path=state, save_every=4, resume=True
    )
    assert resumed.resumed_from == (2, 8) and len(resumed.history) == 3
    for (name, a), b in zip(
        uninterrupted.model.state_dict().items(),
        resumed.model.state_dict().values(),
    ):
        assert torch.equal(a, b), f"{name} differs after extending"
    assert [r.val_loss for r in resumed.history] == [
        r.val_loss for r in uninterrupted.history
    ]


# --- train: Ctrl-C, a finished run extended, files that fail to be written --
# (in this process, without --threads, which would change torch's setting
# for the tests that follow)

FAST = ["--train-subset", "3000", "--quiet"]


def one_line(err: str) -> str:
    """The one line a failed command writes to stderr."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def same_weights(a: Path, b: Path) -> bool:
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(
        torch.equal(wa[k], wb[k]) for k in wa
    )


@pytest.mark.slow  # a training process stopped (4-7 s): make test-slow, CI
def test_cli_resume_with_more_epochs_extends_a_finished_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Reference: `train --epochs 2` never stopped. `train --epochs 1`, then
    `--epochs 2 --resume` from its state, ends with the same weights."""
    run = ["train", *FAST, "--augment", "--schedule", "constant"]
    out, ref = str(tmp_path / "x.pt"), str(tmp_path / "ref.pt")
    assert (
        cli.main([*run, "--epochs", "1", "--save-every", "9", "--out", out])
        == 0
    )
    extend = ["--epochs", "2", "--save-every", "9", "--resume", "--out", out]
    assert cli.main([*run, *extend]) == 0
    said = capsys.readouterr().out
    assert (
        f"resumed from {out}.state: epoch 2, after step 0 (the saved run had "
        "1 epoch, now 2)" in said
    ), said
    assert cli.main([*run, "--epochs", "2", "--out", ref]) == 0
    assert same_weights(Path(out), Path(ref)), "extended run differs"
    assert checkpoints.load_checkpoint(out).config.epochs == 2


def interrupt_at(
    monkeypatch: pytest.MonkeyPatch, at: int
) -> Callable[..., training.FitResult]:
    """Make `train`'s training.fit raise KeyboardInterrupt (as Ctrl-C does)
    after step ``at``; returns the real fit."""
    fit = training.fit

    def interrupted(*args: object, **kwargs: object) -> training.FitResult:
        def ctrl_c(step: int) -> None:
            if step == at:
                raise KeyboardInterrupt

        return fit(*args, **kwargs, on_step=ctrl_c)  # type: ignore[arg-type]

    monkeypatch.setattr(training, "fit", interrupted)
    return fit


@pytest.mark.parametrize(
    "save_every, message",
    [
        ([], "interrupted: nothing was saved; with --save-every STEPS"),
        (
            ["--save-every", "1000"],
            "interrupted: stopped before the first training state was "
            "written (every 1000 steps); nothing was saved",
        ),
    ],
)
def test_ctrl_c_during_train_says_that_nothing_was_saved(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    save_every: list[str],
    message: str,
) -> None:
    interrupt_at(monkeypatch, 5)
    argv = ["train", *FAST, *save_every, "--out", str(tmp_path / "m.pt")]
    assert cli.main(argv) == 130
    assert one_line(capsys.readouterr().err).startswith(message)
    assert files(tmp_path) == []


@pytest.mark.slow  # a training process stopped (4-7 s): make test-slow, CI
def test_ctrl_c_during_train_prints_the_command_that_resumes_it(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Reference: the same run never interrupted. The command the message
    gives continues the run to the same weights, bit for bit."""
    out = tmp_path / "k.pt"
    run = ["train", "--epochs", "2", *FAST, "--augment"]
    argv = [*run, "--save-every", "10", "--out", str(out)]
    fit = interrupt_at(monkeypatch, 30)  # 23 steps an epoch: in the second
    assert cli.main(argv) == 130
    line = one_line(capsys.readouterr().err)
    assert line.startswith(
        f"interrupted: the run's training state is in {out}.state; resume "
        "with: "
    ), line
    command = shlex.split(line.split("resume with: ")[1])
    assert command[0] in ("python", sys.executable)
    assert command[1:3] == ["-m", "mnist_cnn"]
    assert command[3:] == [*argv, "--resume"] and not out.exists()
    monkeypatch.setattr(training, "fit", fit)
    assert cli.main(command[3:]) == 0
    assert f"resumed from {out}.state: epoch 2" in capsys.readouterr().out
    reference = tmp_path / "reference.pt"
    assert cli.main([*run, "--out", str(reference)]) == 0
    assert same_weights(out, reference), "resumed run differs"


def fail_writes(
    monkeypatch: pytest.MonkeyPatch, fails: Callable[[Path, int], bool]
) -> list[Path]:
    """Make every write of a checkpoint or training state for which
    ``fails(path, how many writes so far)`` holds raise "No space left on
    device", as a full disk does; returns the paths written to."""
    real, written = checkpoints.write_atomically, []

    def write(path: Path, writer: Callable[..., object]) -> Path:
        written.append(path)
        if fails(path, len(written)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, writer)

    # checkpoints write through checkpoints, training states through run_state
    monkeypatch.setattr(checkpoints, "write_atomically", write)
    monkeypatch.setattr(run_state, "write_atomically", write)
    return written


@pytest.mark.parametrize("broken", ["the file", "its folder"])
def test_a_checkpoint_that_cannot_be_written_after_training_goes_elsewhere(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    broken: str,
) -> None:
    """The disk fills (or the folder's permission changes) while training:
    the trained model is saved next to --out, or in the temporary folder,
    and the one message says where; exit code 2."""
    out, temp = tmp_path / "runs" / "model.pt", tmp_path / "temp"
    out.parent.mkdir()
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    fail_writes(
        monkeypatch,
        lambda path, _: (
            path == out
            or (broken == "its folder" and path.parent == out.parent)
        ),
    )
    assert cli.main(["train", *FAST, "--out", str(out)]) == 2
    said, err = capsys.readouterr()
    line = one_line(err)
    assert line.startswith(
        f"error: could not write --out {out} (No space left on device); the "
        "trained model is saved in "
    ), line
    found = re.search(r"saved in (\S+) instead", line)
    assert found, line
    rescued = Path(found[1])
    assert f"mv {rescued} {out}" in line and not out.exists()
    assert rescued.parent == (out.parent if broken == "the file" else temp)
    assert files(out.parent) == (
        [rescued.name] if broken == "the file" else []
    )
    meta = checkpoints.load_checkpoint(rescued)
    assert f"test accuracy {meta.metrics['test_acc']:.4f}" in said


def test_a_checkpoint_that_cannot_be_written_anywhere_is_reported(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Every place refuses the file: one message, no traceback, and no
    half-written or reserved file left behind."""
    out, temp = tmp_path / "model.pt", tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    fail_writes(monkeypatch, lambda path, _: True)
    assert cli.main(["train", *FAST, "--out", str(out)]) == 2
    line = one_line(capsys.readouterr().err)
    assert line == (
        f"error: could not write --out {out} (No space left on device), nor "
        "a file next to it or in the temporary folder: the trained model is "
        "lost"
    )
    assert files(tmp_path) == ["temp"] and files(temp) == []


@pytest.mark.slow  # a training process stopped (4-7 s): make test-slow, CI
def test_a_training_state_that_cannot_be_written_stops_with_what_is_kept(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The third state write fails (disk full): one message, the second
    state kept whole, and the command it gives resumes the run."""
    out = tmp_path / "m.pt"
    argv = ["train", "--epochs", "2", *FAST, "--save-every", "10"]
    argv += ["--out", str(out)]
    fail_writes(monkeypatch, lambda _, n: n == 3)
    assert cli.main(argv) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(
        f"error: training stopped: could not write the training state "
        f"{out}.state (No space left on device); the last training state is "
        f"in {out}.state: make room, then resume with: "
    ), line
    cfg = cli._train_config(cli._parser().parse_args(argv))
    kept = run_state.load_training_state(Path(f"{out}.state"), cfg)
    assert (kept.contents["epoch"], kept.contents["step"]) == (1, 20)
    monkeypatch.undo()
    command = shlex.split(line.split("resume with: ")[1])
    assert cli.main(command[3:]) == 0 and out.is_file()


@pytest.mark.slow  # one training process, interrupted by a real SIGINT
def test_a_real_sigint_exits_130_with_the_resume_command(
    tmp_path: Path,
) -> None:
    state = tmp_path / "k.pt.state"
    victim = subprocess.Popen(
        [sys.executable, "-m", "mnist_cnn", "train", "--epochs", "3", *FAST]
        + ["--save-every", "3", "--out", str(tmp_path / "k.pt")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell's background job ignores SIGINT, and so would its child
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 120
    while not state.exists() and time.time() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGINT)
    _, err = victim.communicate(timeout=60)
    assert victim.returncode == 130, err
    assert one_line(err).startswith(
        f"interrupted: the run's training state is in {state}; resume with: "
    )


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
    ckpt = checkpoints.load_checkpoint(target)  # the previous one, whole
    assert target.read_bytes() == checkpoint.read_bytes()
    leftovers = [
        p.name for p in tmp_path.iterdir() if p.name.endswith(".part")
    ]
    assert len(leftovers) == 1  # the dead process's temporary file ...
    result = training.FitResult(
        ckpt.model, ckpt.config, [], ckpt.mean, ckpt.std, 1
    )
    checkpoints.save_checkpoint(target, result)
    assert files(tmp_path) == [
        "model.pt"
    ]  # ... is removed by the next save of the same file
