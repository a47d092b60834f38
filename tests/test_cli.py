"""The CLI end to end: train -> evaluate -> predict on real digits drawn as PNG/JPEG, the
module entry point, and the help of every command: each option's text and default, one program
name, bench's benchmarks. (Bad inputs, each ending with one message and exit code 2: the matrix in
test_reliability.py. The checkpoint: conftest.py, one `train` run for the whole session.)"""

from __future__ import annotations

import argparse
import csv
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from mnist_cnn import bench, checkpoints, cli, config, data, paths


def run(
    capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_train_writes_a_checkpoint_with_its_metrics(checkpoint: Path) -> None:
    meta = checkpoints.load_checkpoint(checkpoint)
    assert meta.config.epochs == 1 and meta.metrics["test_acc"] > 0.97


def test_evaluate_prints_accuracy_and_per_class_table(
    capsys, checkpoint: Path, mnist: data.MNIST
) -> None:
    code, out, _ = run(capsys, "evaluate", "--checkpoint", str(checkpoint))
    assert code == 0
    meta = checkpoints.load_checkpoint(checkpoint)
    assert (
        f"accuracy {meta.metrics['test_acc']:.4f}" in out
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


@pytest.mark.slow  # starts Python several times (6 s): make test-slow, CI
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


# --- help: every option says what it does and what it defaults to --------


def parsers(
    parser: argparse.ArgumentParser,
) -> list[argparse.ArgumentParser]:
    """``parser`` and every subcommand's parser under it, depth first."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += parsers(sub)
    return found


SKIPPED = (argparse._HelpAction, argparse._VersionAction)


def help_of(
    capsys: pytest.CaptureFixture[str], parser: argparse.ArgumentParser
) -> str:
    """What ``<prog> --help`` prints, through main (exit code 0)."""
    words = parser.prog.split()[3:]  # after "python -m mnist_cnn"
    assert cli.main([*words, "--help"]) == 0, parser.prog
    out, err = capsys.readouterr()
    assert err == ""
    return out


def entry(text: str, action: argparse.Action) -> str:
    """The lines of ``text`` that describe ``action``: the one indented by 2
    that starts with its first option string (or its metavar), and the more
    indented ones after it, joined with single spaces."""
    name = action.option_strings[0] if action.option_strings else None
    lines = text.splitlines()
    for i, line in enumerate(lines):
        indent, words = len(line) - len(line.lstrip()), line.split()
        if indent == 2 and words[0] in (name, action.metavar):
            block = [line]
            for more in lines[i + 1 :]:
                if len(more) - len(more.lstrip()) <= 2 or not more.strip():
                    break
                block.append(more)
            return " ".join(" ".join(block).split())
    raise AssertionError(f"{name or action.metavar} not in the help")


def shown(default: object) -> str:
    """A default as the help writes it."""
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, list):
        return " ".join(map(str, default))
    return str(default)


def test_every_subcommand_help_exits_0_with_one_program_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tree = parsers(cli._parser())
    progs = [p.prog for p in tree]
    assert progs[0] == cli.PROG and all(
        p.startswith(cli.PROG + " ") for p in progs[1:]
    )
    assert {f"{cli.PROG} {name}" for name in ("train", "bench train")} <= set(
        progs
    )
    for parser in tree:
        out = help_of(capsys, parser)
        assert out.startswith(f"usage: {parser.prog} "), parser.prog


def test_every_option_has_help_and_shows_its_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reference: the parser's own actions. Each appears in its command's
    --help with its help text and, if it has a default, that default
    (an option defaulting to None says what happens then)."""
    monkeypatch.setenv("COLUMNS", "100")
    checked = 0
    for parser in parsers(cli._parser()):
        out = help_of(capsys, parser)
        for action in parser._actions:
            if isinstance(action, SKIPPED):
                continue
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    assert choice.help, (parser.prog, choice.dest)
                    assert f"{choice.dest} " in out
                continue
            text = entry(out, action)
            where = (parser.prog, action.dest)
            assert action.help and " ".join(
                action.help.split()
            ) in text.replace("%%", "%"), (where, text)
            if action.required or not action.option_strings:
                continue
            if action.default is None:
                assert "(default: " in text, where
            else:
                assert f"(default: {shown(action.default)})" in text, where
            checked += 1
    assert checked >= 35  # train alone has 21 options with defaults


def test_choices_are_one_word_each_and_listed_in_the_help(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A choice with a space or a comma cannot be typed or read in a
    usage line; each is shown as NAME and listed in the help."""
    monkeypatch.setenv("COLUMNS", "100")
    for parser in parsers(cli._parser()):
        out = help_of(capsys, parser)
        for action in parser._actions:
            if not action.choices or isinstance(
                action, argparse._SubParsersAction
            ):
                continue
            assert all(" " not in c and "," not in c for c in action.choices)
            assert action.metavar == "NAME", action.dest
            # argparse never checks a default against the choices
            default = action.default
            defaults = default if isinstance(default, list) else [default]
            assert all(d is None or d in action.choices for d in defaults)
            assert f"one of {', '.join(action.choices)}" in entry(out, action)


def test_bench_help_lists_every_benchmark_with_its_options(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    bench_parser = next(
        p for p in parsers(cli._parser()) if p.prog == f"{cli.PROG} bench"
    )
    out = help_of(capsys, bench_parser)
    listing = out.split("benchmarks and their options:")[1]
    subs = bench_parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert list(subs) == ["data", "conv", "train", "gpu"]
    for name, sub in subs.items():
        section = listing.split(f"\n{name} (")[1].split("\n\n")[0]
        for action in sub._actions:
            if not isinstance(action, SKIPPED):
                assert entry(section, action) == entry(
                    help_of(capsys, sub), action
                ), (name, action.dest)


def test_bench_defaults_are_the_report_functions_defaults() -> None:
    """Reference: the signatures of mnist_cnn.bench's report functions, so
    that `bench X` and bench.report_X() measure the same thing."""
    tree = {p.prog: p for p in parsers(cli._parser())}
    functions = {
        "data": bench.report_data,
        "conv": bench.report_conv,
        "train": bench.report_train,
        "gpu": bench.report_gpu,
    }
    for name, function in functions.items():
        defaults = tree[f"{cli.PROG} bench {name}"].parse_args([])
        for param in inspect.signature(function).parameters.values():
            if param.default is not inspect.Parameter.empty:
                assert getattr(defaults, param.name) == param.default, (
                    name,
                    param.name,
                )


def test_predict_reads_several_digits_and_says_what_it_guessed(
    capsys, checkpoint: Path
) -> None:
    """A photo with several digits is read left to right; a photo stored
    rotated (EXIF) is turned upright, and the line says so."""
    photos = paths.book("images", "photos")
    rows = list(csv.DictReader((photos / "labels.csv").open()))
    several = next(r for r in rows if r["trouble"] == "several")
    rotated = next(r for r in rows if r["trouble"] == "exif")
    code, out, _ = run(
        capsys,
        "predict",
        "--checkpoint",
        str(checkpoint),
        str(photos / several["file"]),
        str(photos / rotated["file"]),
    )
    assert code == 0
    first, second = out.splitlines()
    assert "probabilities" in first and "read left to right" in first
    assert len(first.split(": ")[1].split()[0]) == len(several["digits"])
    assert "EXIF" in second and "probability " in second


def test_the_readmes_quick_start_predict_reads_the_shipped_photo(
    capsys, checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's "Only the command line?" commands, as written: `train
    --out model.pt` (the session's checkpoint stands for it) and `predict`
    on a photo the repository ships, run from the clone's root."""
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    prefix = ".venv/bin/python -m mnist_cnn "
    lines = [
        line.strip()[len(prefix) :].split()
        for line in readme.splitlines()
        if line.strip().startswith(prefix + "predict --checkpoint model.pt")
    ]
    assert lines, "the README's quick start has no predict command"
    argv = lines[0]
    assert prefix + "train --out model.pt" in readme
    monkeypatch.chdir(root)
    photo = Path(argv[-1])
    assert photo.is_file(), f"{photo}: the README names a file that is missing"
    argv[argv.index("model.pt")] = str(checkpoint)
    code, out, _ = run(capsys, *argv)
    assert code == 0
    digit = photo.stem.split("-")[-1]  # digit-7.jpg shows a 7
    assert out.startswith(f"{photo}: {digit} "), out


# a value other than TrainConfig's default for every option `train` offers
NON_DEFAULT = {
    "model": "lenet5",
    "epochs": 3,
    "batch_size": 64,
    "lr": 0.02,
    "optimizer": "adam",
    "schedule": "cosine",
    "weight_decay": 0.001,
    "label_smoothing": 0.05,
    "augment": True,
    "patience": 2,
    "seed": 7,
    "device": "cpu",
    "amp": "bf16",
    "threads": 1,
    "train_subset": 1000,
}


def test_every_train_option_arrives_in_the_trainconfig() -> None:
    """Reference: TrainConfig's fields. Each option set to a non-default
    value on the command line is that value in the config `train` runs."""
    from mnist_cnn import config

    assert set(NON_DEFAULT) == set(cli._TRAIN_FIELDS)
    words = ["train"]
    for name, value in NON_DEFAULT.items():
        flag = "--" + name.replace("_", "-")
        words += [flag] if value is True else [flag, str(value)]
    cfg = cli._train_config(cli._parser().parse_args(words))
    defaults = config.TrainConfig()
    for name, value in NON_DEFAULT.items():
        assert getattr(defaults, name) != value, name
        assert getattr(cfg, name) == value, name
    assert cfg.channels_last == defaults.channels_last is True
    off = cli._parser().parse_args(["train", "--no-channels-last"])
    assert cli._train_config(off).channels_last is False


def test_messages_use_the_command_lines_words(tmp_path: Path) -> None:
    assert cli._as_options(
        "TrainConfig: batch_size=0: must be a positive integer; "
        "amp='fp16' needs CUDA; use amp='bf16' or amp='off'."
    ) == (
        "--batch-size 0: must be a positive integer; --amp fp16 needs CUDA; "
        "use --amp bf16 or --amp off."
    )
    assert config.count(1, "epoch") == "1 epoch"
    assert config.count(12, "epoch") == "12 epochs"
    assert cli._folder_message(tmp_path).endswith("holds no image files")
    for name in ("a.jpeg", "b.jpeg", "c.gif"):
        (tmp_path / name).write_bytes(b"")
    assert cli._folder_message(tmp_path).endswith(
        f"(3 images), e.g. {tmp_path / '*.jpeg'}"
    )


def test_resuming_a_finished_run_says_it_is_complete() -> None:
    import types

    from mnist_cnn import config

    done = types.SimpleNamespace(
        resumed_from=(3, 0),
        saved_epochs=2,
        config=config.TrainConfig(epochs=2),
    )
    line = cli._resumed_line(Path("x.pt.state"), done)  # type: ignore[arg-type]
    assert line.startswith("already complete: x.pt.state holds a finished")
    going = types.SimpleNamespace(
        resumed_from=(2, 5),
        saved_epochs=2,
        config=config.TrainConfig(epochs=2),
    )
    line = cli._resumed_line(Path("x.pt.state"), going)  # type: ignore[arg-type]
    assert line == "resumed from x.pt.state: epoch 2, after step 5"


def test_a_train_subset_larger_than_the_split_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "train", "--train-subset", "55001")
    assert code == 2 and "--train-subset 55001: more than the 55,000" in err


def test_evaluate_scores_the_validation_images_fit_scored(
    capsys, checkpoint: Path
) -> None:
    """`evaluate --split val` and `fit` pick the same images (one owner:
    training.split_indices): the accuracy is the one train recorded."""
    meta = checkpoints.load_checkpoint(checkpoint)
    code, out, _ = run(
        capsys, "evaluate", "--checkpoint", str(checkpoint), "--split", "val"
    )
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith(f"val: {meta.config.n_val} images, accuracy ")
    accuracy = float(first.split("accuracy ")[1].split(",")[0])
    # the same images and weights: at most one borderline digit apart
    # (channels_last in training, contiguous here)
    assert abs(accuracy - meta.metrics["val_acc"]) <= 1 / meta.config.n_val


def test_evaluate_scores_the_images_a_subset_run_trained_on(
    capsys, tmp_path: Path
) -> None:
    out = tmp_path / "subset.pt"
    argv = ["train", "--epochs", "1", "--train-subset", "256", "--quiet"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    capsys.readouterr()
    code, text, _ = run(
        capsys, "evaluate", "--checkpoint", str(out), "--split", "train"
    )
    assert code == 0 and text.startswith("train: 256 images, accuracy ")
