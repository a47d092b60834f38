"""The command line: ``python -m mnist_cnn train | evaluate | predict | bench``
(installed as ``mnist-cnn`` too).

Used in the chapters "Training" and "Evaluation". Every bad input (a missing or
unreadable image, a corrupt checkpoint or one of another model, a bad option,
an output path that cannot be written) ends with one message on stderr and
exit code 2, never a traceback; ``train`` checks its options and output paths
before it trains, saves a checkpoint it cannot write where it can (and says
where), and on Ctrl-C says how to resume (exit code 130). Option names,
choices and defaults come from :mod:`mnist_cnn.config`, so the command line
and ``TrainConfig`` cannot disagree.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import torch

from mnist_cnn import (
    atomic,
    bench,
    checkpoints,
    config,
    data,
    distributed,
    metrics,
    models,
    preprocess,
    run_state,
    training,
)
from mnist_cnn.mixed_precision import MixedPrecision

__all__ = ["main", "PROG"]

PROG = "python -m mnist_cnn"  # the one program name every help shows
DEFAULT_OUT = Path("checkpoints/model.pt")

USER_ERRORS = (
    checkpoints.CheckpointError,
    preprocess.ImageInputError,
    data.DataFileError,
    data.MNISTNotFoundError,
    ValueError,
)


class UsageError(Exception):
    """A command line argparse refuses (unknown option, bad value)."""


class Interrupted(Exception):
    """Ctrl-C during `train`; the message says what was saved."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block),
    pointing at the subcommand's --help."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


class _Help(argparse.RawDescriptionHelpFormatter):
    """Every option's help ends with its default: ``(default: 128)``, ``off``
    for a flag; an option without one says in its help what happens."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "(default:" in text
            or not action.option_strings
            or action.required
            or default in (None, argparse.SUPPRESS)
        ):
            return text
        if isinstance(default, bool):
            shown = "on" if default else "off"
        elif isinstance(default, list):
            shown = " ".join(map(str, default))
        else:
            shown = "%(default)s"
        return f"{text} (default: {shown})"


def _ints(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected a whole number"
            ) from None
        if value < low:
            kind = "a positive integer" if low == 1 else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{value}: must be {kind}")
        return value

    return parse


def _fraction(text: str) -> float:
    """An argparse type: a number in (0, 1] (an accuracy to reach)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected a number"
        ) from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(
            f"{value}: must be a fraction in (0, 1], e.g. 0.99"
        )
    return value


_positive, _non_negative = _ints(1), _ints(0)
_HERE = f"torch's choice, {torch.get_num_threads()} here"

# TrainConfig fields `train` sets, as --field-name: (help, choices or None)
_TRAIN_OPTIONS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "model": ("the network", tuple(models.MODELS)),
    "epochs": ("passes over the training images", None),
    "batch_size": ("images a step", None),
    "lr": ("learning rate (the peak for onecycle)", None),
    "optimizer": ("update rule", config.OPTIMIZERS),
    "schedule": ("learning-rate schedule", config.SCHEDULES),
    "weight_decay": ("weight decay λ", None),
    "label_smoothing": ("s: target 1 - s + s/10 on the right class", None),
    "augment": ("random rotation, scale and shift", None),
    "patience": (
        "stop after this many epochs without a lower validation loss "
        "(default: off)",
        None,
    ),
    "seed": ("seed of all randomness", None),
    "device": (
        f"one of {', '.join(config.DEVICES)} (auto: CUDA, then MPS, then the "
        "CPU)",
        None,
    ),
    "amp": ("mixed precision (fp16 needs CUDA)", config.PRECISIONS),
    "threads": (f"CPU threads (default: {_HERE})", None),
    "train_subset": (
        "train on only the first N training images (default: all 55,000)",
        None,
    ),
}
_TRAIN_FIELDS = tuple(_TRAIN_OPTIONS)
MNIST_TRAIN = 60_000  # MNIST's training images, before the validation split
# options that count something: whole numbers of at least 1
_COUNTS = ("epochs", "batch_size", "patience", "threads", "train_subset")


def _as_options(message: str) -> str:
    """A TrainConfig or MixedPrecision message in the command line's words:
    ``epochs=0`` -> ``--epochs 0``, ``amp='bf16'`` -> ``--amp bf16``."""
    message = message.removeprefix("TrainConfig: ")
    for name in (*_TRAIN_FIELDS, "channels_last"):
        flag = "--" + name.replace("_", "-")

        def option(m: re.Match[str], flag: str = flag) -> str:
            value = m.group(1) if m.group(1) is not None else m.group(2)
            return f"{flag} {value}"

        pattern = rf"\b{name}=(?:'([^']*)'|(\S+?))(?=[:;,. ]|$)"
        message = re.sub(pattern, option, message)
    return message


# The commands: one function per subcommand (``args.run``), each followed
# by the helpers only it uses.


def _train(args: argparse.Namespace) -> int:
    cfg = _train_config(args)
    _check_subset(cfg)
    try:
        device = training.resolve_device(cfg.device)
        MixedPrecision(cfg.amp, device)  # refuses fp16 without CUDA
    except ValueError as err:
        raise ValueError(_as_options(str(err))) from None
    state = _state_path(args)
    saved = _check_train_files(args, cfg, state)
    try:
        mnist = data.load_mnist()
        ctx, device = distributed.context(device)
        # under torchrun only rank 0 talks
        say = print if ctx.is_main else (lambda *a, **k: None)
        say(_start_line(cfg, ctx, device))
        if args.resume and saved is None:
            say(f"no training state at {state} yet: starting a new run")
        result = _fit(args, cfg, mnist, state, saved)
        test_loss, test_acc = training.evaluate(
            result.model,
            mnist.test_images,
            mnist.test_labels,
            result.mean,
            result.std,
            device=device,
        )
        if result.resumed_from is not None:
            say(_resumed_line(state, result))
        problem = _save_and_report(args.out, result, test_loss, test_acc, ctx)
        distributed.barrier(ctx)
    except KeyboardInterrupt:
        raise Interrupted(_interrupted(args, state)) from None
    finally:
        distributed.shutdown()
    if problem:
        raise atomic.OutputPathError(problem)
    return 0


def _train_config(args: argparse.Namespace) -> config.TrainConfig:
    """The TrainConfig that `train`'s options describe; a refusal names the
    options, not the fields."""
    settings = {name: getattr(args, name) for name in _TRAIN_FIELDS}
    try:
        return config.TrainConfig(
            **settings, channels_last=not args.no_channels_last
        )
    except ValueError as err:
        raise ValueError(_as_options(str(err))) from None


def _check_subset(cfg: config.TrainConfig) -> None:
    """--train-subset may not ask for more images than the split leaves
    (checked before MNIST is even loaded)."""
    try:
        training.split_indices(cfg, MNIST_TRAIN)
    except ValueError as err:
        raise ValueError(_as_options(str(err))) from None


def _check_train_files(
    args: argparse.Namespace, cfg: config.TrainConfig, state: Path
) -> run_state.SavedState | None:
    """Before any work: refuse an --out or --state that cannot be written
    (or would overwrite a file that is not PyTorch's) and a state --resume
    cannot use. Returns the state --resume continues (read once), if any."""
    ours = args.out == DEFAULT_OUT  # the only folder `train` creates
    atomic.check_writable(args.out, "--out", make_folders=ours)
    _refuse_overwriting(args.out, "--out")
    if not (args.save_every or args.resume):
        return None
    if state.resolve() == args.out.resolve():
        raise atomic.OutputPathError(
            f"--out and --state both name {state}; give the training state "
            "another name (or leave out --state: OUT.state)."
        )
    if args.save_every:
        mine = ours and args.state is None
        atomic.check_writable(state, "--state", make_folders=mine)
        if not args.resume:
            _refuse_overwriting(state, "--state")
    if not (args.resume and state.exists()):
        return None
    return run_state.load_training_state(state, cfg)


def _refuse_overwriting(path: Path, option: str) -> None:
    """Refuse an output path that holds a file torch.save did not write
    (an image, text): `train` would replace it."""
    written_by_torch = atomic.torch_file(path)
    if path.is_file() and path.stat().st_size and not written_by_torch:
        kind = atomic.image_format(path)
        what = f"a {kind} image" if kind else "not a PyTorch file"
        raise atomic.OutputPathError(
            f"{option} {path}: exists and is {what}; `train` would overwrite "
            f"it. Choose another {option}."
        )


def _fit(
    args: argparse.Namespace,
    cfg: config.TrainConfig,
    mnist: data.MNIST,
    state: Path,
    saved: run_state.SavedState | None,
) -> training.FitResult:
    """``training.fit`` with `train`'s options; a training state that cannot
    be written stops the run with one message saying what is kept."""
    try:
        return training.fit(
            cfg,
            mnist,
            progress=not args.quiet,
            state_path=state,
            save_every=args.save_every,
            resume=saved or args.resume,
        )
    except ValueError as err:  # e.g. a schedule too short for the run
        raise ValueError(_as_options(str(err))) from None
    except OSError as exc:
        kept = (
            f"the last training state is in {state}: make room, then resume "
            f"with: {_resume_command(args.argv)}"
            if state.is_file()
            else "nothing was saved"
        )
        raise atomic.OutputPathError(
            f"training stopped: could not write the training state {state} "
            f"({exc.strerror or exc}); {kept}"
        ) from None


def _start_line(
    cfg: config.TrainConfig, ctx: distributed.Context, device: torch.device
) -> str:
    """What `train` says before it starts: model, epochs, where, threads."""
    processes = f", {ctx.world_size} processes" if ctx.active else ""
    threads = cfg.threads or torch.get_num_threads()
    epochs = config.count(cfg.epochs, "epoch")
    return (
        f"training {cfg.model} for {epochs} on {device} "
        f"({threads} threads{processes})"
    )


def _resumed_line(state: Path, result: training.FitResult) -> str:
    """Where a resumed run continued, and how far it was extended."""
    epoch, step = result.resumed_from  # type: ignore[misc]
    saved_epochs = result.saved_epochs
    epochs = result.config.epochs
    if epoch > epochs and saved_epochs in (None, epochs):
        return (
            f"already complete: {state} holds a finished run of "
            f"{config.count(epochs, 'epoch')}; nothing left to train (give "
            "more --epochs to extend it)"
        )
    line = f"resumed from {state}: epoch {epoch}, after step {step}"
    if saved_epochs is not None and saved_epochs != epochs:
        line += (
            f" (the saved run had {config.count(saved_epochs, 'epoch')}, "
            f"now {epochs})"
        )
    return line


def _state_path(args: argparse.Namespace) -> Path:
    """The training state file: --state, or OUT.state next to the checkpoint."""
    return (
        args.state
        if args.state is not None
        else args.out.with_name(args.out.name + ".state")
    )


def _program() -> list[str]:
    """How to start this program again: ``python -m mnist_cnn`` when
    ``python`` is this interpreter (the same path: a virtual environment's
    python links to the system's), else this interpreter's full path."""
    found = shutil.which("python")
    same = found is not None and (
        Path(found).absolute() == Path(sys.executable).absolute()
    )
    return ["python" if same else sys.executable, "-m", "mnist_cnn"]


def _resume_command(argv: list[str]) -> str:
    """The command line that continues the run ``argv`` started."""
    resume = [] if "--resume" in argv else ["--resume"]
    return shlex.join([*_program(), *argv, *resume])


def _interrupted(args: argparse.Namespace, state: Path) -> str:
    """What Ctrl-C during `train` leaves: how to resume, or that nothing was
    saved."""
    if (args.save_every or args.resume) and state.is_file():
        return (
            f"the run's training state is in {state}; resume with: "
            f"{_resume_command(args.argv)}"
        )
    if args.save_every:
        return (
            "stopped before the first training state was written (every "
            f"{args.save_every} steps); nothing was saved"
        )
    return (
        "nothing was saved; with --save-every STEPS a run can be resumed "
        "after an interruption"
    )


def _save_and_report(
    out: Path,
    result: training.FitResult,
    test_loss: float,
    test_acc: float,
    ctx: distributed.Context,
) -> str | None:
    """The main process writes the checkpoint with its metrics, elsewhere if
    ``out`` fails; reports the run and where the checkpoint went. Returns the
    error message when it could not go to ``out``."""
    last = result.history[-1]
    summary = {
        "val_acc": last.val_acc,
        "val_loss": last.val_loss,
        "test_acc": test_acc,
        "test_loss": test_loss,
        "train_seconds": result.train_seconds,
    }
    if not ctx.is_main:
        return None
    print(
        f"trained {config.count(len(result.history), 'epoch')} in "
        f"{result.train_seconds:.1f} s; validation "
        f"accuracy {last.val_acc:.4f}; test accuracy {test_acc:.4f} "
        f"(loss {test_loss:.4f})"
    )
    try:
        path, error = atomic.save_or_rescue(
            out, lambda p: checkpoints.save_checkpoint(p, result, summary)
        )
    except OSError as exc:
        return (
            f"could not write --out {out} ({exc.strerror or exc}), nor a "
            "file next to it or in the temporary folder: the trained model "
            "is lost"
        )
    if error is not None:
        return (
            f"could not write --out {out} ({error.strerror or error}); the "
            f"trained model is saved in {path} instead: "
            f"mv {shlex.quote(str(path))} {shlex.quote(str(out))}"
        )
    print(f"checkpoint: {path}")
    return None


def _split(
    mnist: data.MNIST, split: str, cfg: config.TrainConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """The images `evaluate --split` scores: the test set, or the
    validation or training images of the run that wrote the checkpoint."""
    if split == "test":
        return mnist.test_images, mnist.test_labels
    n = mnist.train_images.shape[0]
    train_idx, val_idx = training.split_indices(cfg, n)
    idx = val_idx if split == "val" else train_idx
    return mnist.train_images[idx], mnist.train_labels[idx]


def _evaluate(args: argparse.Namespace) -> int:
    ckpt = checkpoints.load_checkpoint(
        args.checkpoint, expect_model=args.model
    )
    images, labels = _split(data.load_mnist(), args.split, ckpt.config)
    logits = training.predict_logits(ckpt.model, images, ckpt.mean, ckpt.std)
    predictions = logits.argmax(1)
    loss = float(torch.nn.functional.cross_entropy(logits, labels))
    report = metrics.per_class_report(labels, predictions)
    accuracy = metrics.accuracy(labels, predictions)
    print(
        f"{args.split}: {labels.numel()} images, accuracy {accuracy:.4f}, "
        f"loss {loss:.4f}"
    )
    print("digit  precision  recall  f1      images")
    for k in range(10):
        print(
            f"{k:5d}  {report.precision[k]:9.4f}  {report.recall[k]:6.4f}  "
            f"{report.f1[k]:6.4f}  {int(report.support[k]):6d}"
        )
    return 0


def _predict(args: argparse.Namespace) -> int:
    ckpt = checkpoints.load_checkpoint(
        args.checkpoint, expect_model=args.model
    )
    failed = 0
    for path in args.images:
        if path.is_dir():
            print(f"error: {_folder_message(path)}", file=sys.stderr)
            failed += 1
            continue
        try:
            reading = preprocess.read_digits(path)  # (K, 1, 28, 28) uint8
        except preprocess.ImageInputError as err:
            print(f"error: {_naming(path, err)}", file=sys.stderr)
            failed += 1
            continue
        print(f"{path}: {_reading_line(ckpt, reading)}")
    return 2 if failed else 0


def _reading_line(
    ckpt: checkpoints.Checkpoint, reading: preprocess.Reading
) -> str:
    """ "7 (probability 0.991)", or "42 (probabilities 0.990, 0.970)" for
    several digits read left to right, then every guess the reading made."""
    logits = training.predict_logits(
        ckpt.model, reading.digits[:, 0], ckpt.mean, ckpt.std
    )
    probs = torch.softmax(logits, dim=1)  # (K, 10)
    digits = "".join(str(int(d)) for d in probs.argmax(dim=1))
    shown = ", ".join(f"{float(p):.3f}" for p in probs.max(dim=1).values)
    word = "probability" if len(digits) == 1 else "probabilities"
    notes = "".join(f"; {note}" for note in reading.notes)
    return f"{digits} ({word} {shown}{notes})"


IMAGE_SUFFIXES = (
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".bmp",
    ".webp",
    ".tif",
    ".tiff",
)


def _folder_message(path: Path) -> str:
    """`predict` was given a folder where an image belongs: name the image
    files it holds, by their most common suffix."""
    found: dict[str, int] = {}
    for f in path.iterdir():
        suffix = f.suffix.lower()
        if f.is_file() and suffix in IMAGE_SUFFIXES:
            found[f.suffix] = found.get(f.suffix, 0) + 1
    if not found:
        return f"{path}: is a folder, not an image, and holds no image files"
    suffix = max(found, key=lambda k: found[k])
    n = sum(found.values())
    return (
        f"{path}: is a folder, not an image; give the image files in it "
        f"({config.count(n, 'image')}), e.g. {path / ('*' + suffix)}"
    )


def _naming(path: Path, err: Exception) -> str:
    """The message of an image that failed, starting with its file."""
    message = str(err).removeprefix("image: ")
    return message if str(path) in message else f"{path}: {message}"


def _course(args: argparse.Namespace) -> int:
    from mnist_cnn import course

    written = course.write_course(args.out)
    notebooks = [p for p in written if p.suffix == ".ipynb"]
    guides = [str(p) for p in written if p.suffix == ".md"]
    print(
        f"wrote {len(notebooks)} student notebooks in "
        f"{written[0].parent} (and zh/) and the teacher's guides "
        + ", ".join(guides)
    )
    return 0


def _grade(args: argparse.Namespace) -> int:
    from mnist_cnn import grading

    out = args.out
    if out is not None:  # refuse before running anything
        if out.exists() and not args.overwrite:
            raise ValueError(
                f"--out {out}: the file exists; give another name, or "
                "--overwrite to replace it"
            )
        if not out.parent.is_dir():
            raise ValueError(
                f"--out {out}: the folder {out.parent} does not exist"
            )
    if args.time_limit <= 0:
        raise ValueError(
            f"--time-limit {args.time_limit:g}: must be a positive number "
            "of seconds"
        )
    rows = grading.grade(args.notebooks, args.time_limit)
    print(grading.table(rows))
    if out is not None:
        grading.write_csv(rows, out)
        print(f"wrote {out}")
    return 0


# The parsers: each subcommand's options, and the options they share.


def _parser() -> argparse.ArgumentParser:
    from mnist_cnn import __version__

    parser = _Parser(
        prog=PROG,
        formatter_class=_Help,
        description="Train, evaluate and use the book's CNNs on MNIST "
        "(installed as `mnist-cnn` too).",
        epilog="examples:\n"
        f"  {PROG} train --out model.pt\n"
        f"  {PROG} evaluate --checkpoint model.pt\n"
        f"  {PROG} predict --checkpoint model.pt digit.png\n"
        f"  {PROG} train --save-every 50 --resume --out model.pt\n"
        f"  {PROG} bench --help",
    )
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND"
    )

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            formatter_class=_Help,
            help=help,
            description=help.replace("%%", "%"),
        )

    _train_parser(command("train", "train a model and write a checkpoint"))

    _evaluate_parser(
        command("evaluate", "accuracy and per-class metrics of a checkpoint")
    )
    _predict_parser(
        command(
            "predict",
            "the digits in each image (PNG, JPEG, GIF, BMP, TIFF, WebP), read "
            "left to right",
        )
    )
    _bench_parser(
        command("bench", "benchmarks whose figures the chapters quote")
    )
    _course_parser(
        command(
            "course",
            "student notebooks without the solutions, and a teacher's guide",
        )
    )
    _grade_parser(
        command("grade", "run students' notebooks and the exercises' checks")
    )
    return parser


def _train_parser(p: argparse.ArgumentParser) -> None:
    d = config.TrainConfig()  # every default comes from the dataclass
    for name, (help, choices) in _TRAIN_OPTIONS.items():
        flag, default = "--" + name.replace("_", "-"), getattr(d, name)
        if isinstance(default, bool):
            p.add_argument(
                flag, action="store_true", default=default, help=help
            )
        elif choices:
            _choice_option(p, flag, choices, default, help)
        else:
            kind = str if name == "device" else _number(name)
            metavar = {int: "N", float: "X"}.get(kind)
            parse = _positive if name in _COUNTS else kind
            p.add_argument(
                flag, type=parse, default=default, metavar=metavar, help=help
            )
    p.add_argument(
        "--no-channels-last",
        action="store_true",
        default=not d.channels_last,
        help="NCHW memory layout instead of channels-last",
    )
    _run_options(p)
    p.set_defaults(run=_train)


def _choice_option(
    p: argparse.ArgumentParser,
    flag: str,
    choices: tuple[str, ...],
    default: Any,
    help: str,
    none_means: str = "",
    **more: Any,
) -> None:
    """An option whose value is one of ``choices``, listed in its help (the
    usage line shows NAME); ``none_means`` says what a None default does."""
    after = f" (default: {none_means})" if none_means else ""
    p.add_argument(
        flag,
        default=default,
        choices=choices,
        metavar="NAME",
        help=f"{help}: one of {', '.join(choices)}{after}",
        **more,
    )


def _number(name: str) -> type:
    """int or float, as TrainConfig declares the field."""
    field = {f.name: f for f in dataclasses.fields(config.TrainConfig)}[name]
    return float if "float" in str(field.type) else int


def _run_options(p: argparse.ArgumentParser) -> None:
    """Where `train` writes, and how it saves and resumes."""
    p.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="FILE",
        help="the checkpoint to write; its folder must exist (except the "
        "default's)",
    )
    p.add_argument(
        "--save-every",
        type=_non_negative,
        default=0,
        metavar="STEPS",
        help="write the training state every STEPS steps and every epoch, "
        "so that --resume can continue (0: never)",
    )
    p.add_argument(
        "--state",
        type=Path,
        default=None,
        metavar="FILE",
        help="the training state file (default: OUT.state, next to --out)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from the training state if it exists; with more "
        "--epochs than the saved run (schedule constant or step) extend it",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _model_option(p: argparse.ArgumentParser) -> None:
    """evaluate's and predict's --model: refuse other architectures."""
    _choice_option(
        p,
        "--model",
        tuple(models.MODELS),
        None,
        "refuse a checkpoint of any other model",
        none_means="any",
    )


def _checkpoint_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--checkpoint",
        type=Path,
        default=DEFAULT_OUT,
        metavar="FILE",
        help="the checkpoint `train` wrote",
    )


def _evaluate_parser(p: argparse.ArgumentParser) -> None:
    """``evaluate``: its options."""
    _checkpoint_option(p)
    _choice_option(
        p,
        "--split",
        ("test", "val", "train"),
        "test",
        "the images to score: the test set, or the validation or training "
        "images of the run that wrote the checkpoint",
    )
    _model_option(p)
    p.set_defaults(run=_evaluate)


def _predict_parser(p: argparse.ArgumentParser) -> None:
    """``predict``: its options."""
    _checkpoint_option(p)
    _model_option(p)
    p.add_argument(
        "images",
        nargs="+",
        type=Path,
        metavar="IMAGE",
        help="image files (PNG, JPEG, GIF, BMP, TIFF, WebP) of any size or "
        "background; several digits in one image are read left to right",
    )
    p.set_defaults(run=_predict)


def _bench_parser(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="what", required=True, metavar="BENCHMARK")

    def benchmark(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            formatter_class=_Help,
            help=help,
            description=help.replace("%%", "%"),
        )

    _bench_data_parser(
        benchmark(
            "data",
            "images/s of the torchvision DataLoader path vs the tensor path",
        )
    )
    q = benchmark("conv", "seconds per call: loop vs im2col vs F.conv2d")
    q.add_argument(
        "--batch",
        type=_positive,
        default=8,
        metavar="N",
        help="images in the input batch",
    )
    q.set_defaults(run=lambda a: bench.report_conv(a.batch))
    _bench_train_parser(
        benchmark(
            "train",
            "seconds to 99%% test accuracy: book vs article vs "
            "pytorch/examples",
        )
    )
    _bench_gpu_parser(
        benchmark(
            "gpu",
            "on a CUDA GPU: seconds to 99%% test accuracy and training "
            "images/s",
        )
    )
    for q in sub.choices.values():
        q.add_argument(
            "--threads",
            type=_positive,
            default=None,
            metavar="N",
            help=f"CPU threads, torch.set_num_threads (default: {_HERE})",
        )
    p.epilog = _benchmarks_epilog(sub)


def _bench_data_parser(q: argparse.ArgumentParser) -> None:
    """``bench data``: its options."""
    q.add_argument(
        "--batch-size",
        type=_positive,
        default=64,
        metavar="N",
        help="images a batch",
    )
    q.add_argument(
        "--torchvision-images",
        type=_positive,
        default=6400,
        metavar="N",
        help="images to time through torchvision's DataLoader",
    )
    q.add_argument(
        "--tensor-images",
        type=_positive,
        default=120_000,
        metavar="N",
        help="images to time through the uint8 tensor path",
    )
    q.set_defaults(
        run=lambda a: bench.report_data(
            a.batch_size, a.torchvision_images, a.tensor_images
        )
    )


def _bench_gpu_parser(q: argparse.ArgumentParser) -> None:
    """``bench gpu``: its options."""
    _target_option(q)
    q.add_argument(
        "--repeats",
        type=_positive,
        default=3,
        metavar="N",
        help="timed runs, after one warm-up run",
    )
    q.set_defaults(run=lambda a: bench.report_gpu(a.target, a.repeats))


def _bench_train_parser(q: argparse.ArgumentParser) -> None:
    """`bench train`: which recipes, to which accuracy, for how long."""
    _choice_option(
        q,
        "--recipes",
        tuple(bench.RECIPES),
        ["book", "article-5.2", "pytorch/examples"],
        "the training recipes to time",
        nargs="+",
    )
    _target_option(q)
    q.add_argument(
        "--max-epochs",
        type=_positive,
        default=None,
        metavar="N",
        help="cap every recipe at this many epochs (default: each recipe's "
        "own)",
    )
    q.set_defaults(
        run=lambda a: bench.report_train(a.recipes, a.target, a.max_epochs)
    )


def _target_option(q: argparse.ArgumentParser) -> None:
    q.add_argument(
        "--target",
        type=_fraction,
        default=0.99,
        metavar="ACC",
        help="the test accuracy to reach, as a fraction",
    )


def _benchmarks_epilog(sub: argparse._SubParsersAction) -> str:
    """`bench --help`'s list of every benchmark with its options."""
    parts = []
    for name, q in sub.choices.items():
        formatter = q.formatter_class(prog=q.prog)
        formatter.start_section(f"{name} ({q.description})")
        formatter.add_arguments(
            [a for a in q._actions if a.option_strings != ["-h", "--help"]]
        )
        formatter.end_section()
        parts.append(formatter.format_help())
    return "benchmarks and their options:\n\n" + "\n".join(parts)


def _course_parser(p: argparse.ArgumentParser) -> None:
    """``course``: its options."""
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FOLDER",
        help="the folder to write (default: _build/course/ of the clone)",
    )
    p.set_defaults(run=_course)


def _grade_parser(p: argparse.ArgumentParser) -> None:
    """``grade``: its options."""
    p.add_argument(
        "notebooks",
        nargs="+",
        type=Path,
        metavar="NOTEBOOK",
        help="students' notebooks, or folders searched for *.ipynb",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="CSV",
        help="also write the rows to this CSV file, never over an existing "
        "one unless --overwrite (default: only the table is printed)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace an existing --out"
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=600.0,
        metavar="S",
        help="seconds each notebook may run",
    )
    p.set_defaults(run=_grade)


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    try:
        args = _parser().parse_args(words)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except SystemExit as done:  # --help, --version
        return int(done.code or 0)
    args.argv = words
    if getattr(args, "command", None) == "bench" and args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        return int(args.run(args) or 0)
    except Interrupted as stop:
        print(f"interrupted: {stop}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a file that cannot be read or written
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
