"""The CLI end to end: train -> evaluate -> predict on real digits drawn as PNG/JPEG, and the
module entry point. (Bad inputs, each ending with one message and exit code 2: the matrix in
test_reliability.py. The checkpoint: conftest.py, one `train` run for the whole session.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from mnist_cnn import checkpoints, cli, data


def run(
    capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_train_writes_a_checkpoint_with_its_metrics(checkpoint: Path) -> None:
    _, meta = checkpoints.load_checkpoint(checkpoint)
    assert meta["config"].epochs == 1 and meta["metrics"]["test_acc"] > 0.97


def test_evaluate_prints_accuracy_and_per_class_table(
    capsys, checkpoint: Path, mnist: data.MNIST
) -> None:
    code, out, _ = run(capsys, "evaluate", "--checkpoint", str(checkpoint))
    assert code == 0
    _, meta = checkpoints.load_checkpoint(checkpoint)
    assert (
        f"accuracy {meta['metrics']['test_acc']:.4f}" in out
    )  # the same figure train printed
    assert (
        len([line for line in out.splitlines() if line.strip()[:1].isdigit()])
        == 10
    )


def test_predict_reads_images_of_any_size_and_background(
    capsys, tmp_path: Path, checkpoint: Path, mnist: data.MNIST
) -> None:
    paths, truth = [], []
    for i in range(10):
        digit = mnist.test_images[i].numpy()
        if i % 2:  # dark ink on white, large, colour JPEG
            img, name = (
                Image.fromarray(255 - digit).resize((300, 300)).convert("RGB"),
                f"{i}.jpg",
            )
        else:  # MNIST-like, small PNG
            img, name = Image.fromarray(digit), f"{i}.png"
        img.save(tmp_path / name)
        paths.append(str(tmp_path / name))
        truth.append(int(mnist.test_labels[i]))
    code, out, _ = run(
        capsys, "predict", "--checkpoint", str(checkpoint), *paths
    )
    assert code == 0
    predicted = [
        int(line.split(": ")[1].split()[0]) for line in out.splitlines()
    ]
    assert sum(p == t for p, t in zip(predicted, truth)) >= 9, (
        predicted,
        truth,
    )
    assert all(
        "probability 0." in line or "probability 1.000" in line
        for line in out.splitlines()
    )


def test_module_entry_point_and_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mnist_cnn", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and all(
        c in done.stdout for c in ("train", "evaluate", "predict", "bench")
    )
    done = subprocess.run(
        [sys.executable, "-m", "mnist_cnn", "train", "--optimizer", "lion"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        done.returncode == 2
        and "invalid choice: 'lion'" in done.stderr
        and "Traceback" not in done.stderr
    )


def test_train_options_are_trainconfig_with_its_names_and_defaults() -> None:
    """Reference: TrainConfig itself. Every option `train` offers defaults to
    the dataclass's value, and its choices are the names config declares."""
    import dataclasses

    from mnist_cnn import config

    parser = cli._parser()
    args = parser.parse_args(["train"])
    defaults = config.TrainConfig()
    for name in cli._TRAIN_FIELDS:
        assert getattr(args, name) == getattr(defaults, name), name
    assert args.no_channels_last == (not defaults.channels_last)
    train = parser._subparsers._group_actions[0].choices["train"]  # type: ignore[union-attr]
    choices = {a.dest: a.choices for a in train._actions if a.choices}
    assert tuple(choices["optimizer"]) == config.OPTIMIZERS
    assert tuple(choices["schedule"]) == config.SCHEDULES
    assert tuple(choices["amp"]) == config.PRECISIONS
    settable = {f.name for f in dataclasses.fields(config.TrainConfig)}
    assert set(cli._TRAIN_FIELDS) <= settable
