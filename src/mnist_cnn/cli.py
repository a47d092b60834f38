"""The command line: ``python -m mnist_cnn train | evaluate | predict | bench``.

Used in the chapters "Training" and "Evaluation". Every bad input (a missing or
unreadable image, a corrupt checkpoint or one of another model, a bad option)
ends with one message on stderr and exit code 2, never a traceback. Option
names, choices and defaults come from :mod:`mnist_cnn.config`, so the command
line and ``TrainConfig`` cannot disagree.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from mnist_cnn import (
    bench,
    checkpoints,
    config,
    data,
    distributed,
    metrics,
    models,
    preprocess,
    training,
)

__all__ = ["main"]

USER_ERRORS = (
    checkpoints.CheckpointError,
    preprocess.ImageInputError,
    data.DataFileError,
    data.MNISTNotFoundError,
    ValueError,
)

# TrainConfig fields the command line sets, as --option-name
# TrainConfig fields `train` sets, as --field-name: (help, choices or None)
_TRAIN_OPTIONS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "model": ("network", tuple(models.MODELS)),
    "epochs": ("passes", None),
    "batch_size": ("images a step", None),
    "lr": ("peak learning rate for onecycle", None),
    "optimizer": ("update rule", config.OPTIMIZERS),
    "schedule": ("learning-rate schedule", config.SCHEDULES),
    "weight_decay": ("λ", None),
    "label_smoothing": ("target 1 - s + s/10 on the right class", None),
    "augment": ("random rotation, scale and shift", None),
    "patience": ("early stopping on the validation loss", None),
    "seed": ("all randomness", None),
    "device": (f"one of {', '.join(config.DEVICES)}", None),
    "amp": ("mixed precision", config.PRECISIONS),
    "threads": ("None: torch's choice", None),
    "train_subset": ("train on only the first N training images", None),
}
_TRAIN_FIELDS = tuple(_TRAIN_OPTIONS)


def _train(args: argparse.Namespace) -> int:
    cfg = _train_config(args)
    mnist = data.load_mnist()
    ctx, device = distributed.context(training.resolve_device(cfg.device))
    # under torchrun only rank 0 talks
    say = print if ctx.is_main else (lambda *a, **k: None)
    say(_start_line(cfg, ctx, device))
    state = _state_path(args)
    try:
        result = training.fit(
            cfg,
            mnist,
            progress=not args.quiet and ctx.is_main,
            state_path=state,
            save_every=args.save_every,
            resume=args.resume,
        )
        test_loss, test_acc = training.evaluate(
            result.model,
            mnist.test_images,
            mnist.test_labels,
            result.mean,
            result.std,
            device=device,
        )
        if result.resumed_from is not None:
            epoch, step = result.resumed_from
            say(f"resumed from {state}: epoch {epoch}, after step {step}")
        _save_and_report(args.out, result, test_loss, test_acc, ctx, say)
        distributed.barrier(ctx)
    finally:
        distributed.shutdown()
    return 0


def _train_config(args: argparse.Namespace) -> config.TrainConfig:
    """The TrainConfig that `train`'s options describe."""
    settings = {name: getattr(args, name) for name in _TRAIN_FIELDS}
    return config.TrainConfig(
        **settings, channels_last=not args.no_channels_last
    )


def _start_line(
    cfg: config.TrainConfig, ctx: distributed.Context, device: torch.device
) -> str:
    """What `train` says before it starts: model, epochs, where, threads."""
    processes = f", {ctx.world_size} processes" if ctx.active else ""
    threads = cfg.threads or torch.get_num_threads()
    return (
        f"training {cfg.model} for {cfg.epochs} epochs on {device} "
        f"({threads} threads{processes})"
    )


def _state_path(args: argparse.Namespace) -> Path:
    """The training state file: --state, or OUT.state next to the checkpoint."""
    return (
        args.state
        if args.state is not None
        else args.out.with_name(args.out.name + ".state")
    )


def _save_and_report(
    out: Path,
    result: training.FitResult,
    test_loss: float,
    test_acc: float,
    ctx: distributed.Context,
    say: Callable[[str], object],
) -> None:
    """The main process writes the checkpoint with its metrics; ``say``
    reports the run and where the checkpoint went."""
    last = result.history[-1]
    summary = {
        "val_acc": last.val_acc,
        "val_loss": last.val_loss,
        "test_acc": test_acc,
        "test_loss": test_loss,
        "train_seconds": result.train_seconds,
    }
    if ctx.is_main:
        path = checkpoints.save_checkpoint(out, result, summary)
    say(
        f"trained {len(result.history)} epochs in "
        f"{result.train_seconds:.1f} s; validation "
        f"accuracy {last.val_acc:.4f}; test accuracy {test_acc:.4f} "
        f"(loss {test_loss:.4f})"
    )
    if ctx.is_main:
        say(f"checkpoint: {path}")


def _split(
    mnist: data.MNIST, split: str, cfg: config.TrainConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    if split == "test":
        return mnist.test_images, mnist.test_labels
    train_idx, val_idx = data.train_val_split(
        mnist.train_images.shape[0], cfg.n_val, cfg.seed
    )
    idx = val_idx if split == "val" else train_idx
    return mnist.train_images[idx], mnist.train_labels[idx]


def _evaluate(args: argparse.Namespace) -> int:
    model, meta = checkpoints.load_checkpoint(
        args.checkpoint, expect_model=args.model
    )
    images, labels = _split(data.load_mnist(), args.split, meta["config"])
    logits = training.predict_logits(model, images, meta["mean"], meta["std"])
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
    model, meta = checkpoints.load_checkpoint(
        args.checkpoint, expect_model=args.model
    )
    failed = 0
    for path in args.images:
        try:
            digit = preprocess.load_digit(path)  # (28, 28) uint8
        except preprocess.ImageInputError as err:
            print(f"error: {err}", file=sys.stderr)
            failed += 1
            continue
        logits = training.predict_logits(
            model, digit.unsqueeze(0), meta["mean"], meta["std"]
        )
        probs = torch.softmax(logits, dim=1)[0]  # (10,)
        print(
            f"{path}: {int(probs.argmax())} (probability "
            f"{float(probs.max()):.3f})"
        )
    return 2 if failed else 0


def _train_parser(p: argparse.ArgumentParser) -> None:
    d = config.TrainConfig()  # every default comes from the dataclass
    for name, (help, choices) in _TRAIN_OPTIONS.items():
        flag, default = "--" + name.replace("_", "-"), getattr(d, name)
        if isinstance(default, bool):
            p.add_argument(
                flag, action="store_true", default=default, help=help
            )
        else:
            kind = str if choices or name == "device" else _number(name)
            p.add_argument(
                flag, type=kind, default=default, choices=choices, help=help
            )
    p.add_argument(
        "--no-channels-last",
        action="store_true",
        default=not d.channels_last,
        help="NCHW memory layout",
    )
    _run_options(p)
    p.set_defaults(run=_train)


def _number(name: str) -> type:
    """int or float, as TrainConfig declares the field."""
    field = {f.name: f for f in dataclasses.fields(config.TrainConfig)}[name]
    return float if "float" in str(field.type) else int


def _run_options(p: argparse.ArgumentParser) -> None:
    """Where `train` writes, and how it saves and resumes."""
    p.add_argument(
        "--out",
        type=Path,
        default=Path("checkpoints/model.pt"),
        help="checkpoint to write",
    )
    p.add_argument(
        "--save-every",
        type=int,
        default=0,
        metavar="STEPS",
        help="write the training state every STEPS steps and every epoch "
        "(0: never)",
    )
    p.add_argument(
        "--state",
        type=Path,
        default=None,
        help="the training state file (None: OUT.state)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from the training state file if it exists",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _bench_parser(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="what", required=True)
    fmt = argparse.ArgumentDefaultsHelpFormatter
    q = sub.add_parser(
        "data",
        formatter_class=fmt,
        help="images/s of the torchvision DataLoader path vs the tensor path",
    )
    q.add_argument("--batch-size", type=int, default=64)
    q.add_argument("--torchvision-images", type=int, default=6400)
    q.add_argument("--tensor-images", type=int, default=120_000)
    q.set_defaults(
        run=lambda a: bench.report_data(
            a.batch_size, a.torchvision_images, a.tensor_images
        )
    )
    q = sub.add_parser(
        "conv",
        formatter_class=fmt,
        help="seconds per call: loop vs im2col vs F.conv2d",
    )
    q.add_argument("--batch", type=int, default=8)
    q.set_defaults(run=lambda a: bench.report_conv(a.batch))
    q = sub.add_parser(
        "train",
        formatter_class=fmt,
        help="seconds to 99%% test accuracy: book vs article vs pytorch/examples",
    )
    q.add_argument(
        "--recipes",
        nargs="+",
        default=["book", "article 5.2", "pytorch/examples"],
        choices=list(bench.RECIPES),
    )
    q.add_argument("--target", type=float, default=0.99)
    q.add_argument(
        "--max-epochs",
        type=int,
        default=None,
        help="cap every recipe at this many epochs",
    )
    q.set_defaults(
        run=lambda a: bench.report_train(a.recipes, a.target, a.max_epochs)
    )
    q = sub.add_parser(
        "gpu",
        formatter_class=fmt,
        help="on a CUDA GPU: seconds to 99%% test accuracy and training images/s",
    )
    q.add_argument("--target", type=float, default=0.99)
    q.add_argument("--repeats", type=int, default=3)
    q.set_defaults(run=lambda a: bench.report_gpu(a.target, a.repeats))
    for q in sub.choices.values():
        q.add_argument(
            "--threads",
            type=int,
            default=None,
            help="torch.set_num_threads (None: torch's choice)",
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mnist_cnn",
        description="Train, evaluate and use the book's CNNs on MNIST.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    fmt = argparse.ArgumentDefaultsHelpFormatter
    _train_parser(
        sub.add_parser(
            "train",
            formatter_class=fmt,
            help="train a model and write a checkpoint",
        )
    )

    p = sub.add_parser(
        "evaluate",
        formatter_class=fmt,
        help="accuracy and per-class metrics of a checkpoint",
    )
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--split", default="test", choices=["test", "val", "train"])
    p.add_argument(
        "--model", default=None, help="refuse a checkpoint of any other model"
    )
    p.set_defaults(run=_evaluate)

    p = sub.add_parser(
        "predict", formatter_class=fmt, help="the digit in each PNG/JPEG image"
    )
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument(
        "--model", default=None, help="refuse a checkpoint of any other model"
    )
    p.add_argument("images", nargs="+", type=Path)
    p.set_defaults(run=_predict)

    _bench_parser(
        sub.add_parser(
            "bench", help="benchmarks whose figures the chapters quote"
        )
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "command", None) == "bench" and args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        return int(args.run(args) or 0)
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
