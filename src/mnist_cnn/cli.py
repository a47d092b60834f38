"""The command line: ``python -m mnist_cnn train | evaluate | predict | bench``.

Used in the chapters "Training" and "Evaluation". Every bad input (a missing or unreadable
image, a corrupt checkpoint or one of another model, a bad option) ends with one message on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from mnist_cnn import bench, data, distributed, metrics, preprocess, training

__all__ = ["main"]

USER_ERRORS = (training.CheckpointError, preprocess.ImageInputError, data.DataFileError, data.MNISTNotFoundError, ValueError)


def _train(args: argparse.Namespace) -> int:
    config = training.TrainConfig(
        model=args.model, optimizer=args.optimizer, lr=args.lr, schedule=args.schedule, batch_size=args.batch_size,
        epochs=args.epochs, weight_decay=args.weight_decay, label_smoothing=args.label_smoothing, augment=args.augment,
        seed=args.seed, device=args.device, amp=args.amp, channels_last=not args.no_channels_last, patience=args.patience,
        threads=args.threads, train_subset=args.train_subset,
    )
    mnist = data.load_mnist()
    ctx, device = distributed.context(training.resolve_device(config.device))
    say = print if ctx.is_main else (lambda *a, **k: None)  # under torchrun only rank 0 talks
    processes = f", {ctx.world_size} processes" if ctx.active else ""
    threads = config.threads or torch.get_num_threads()
    say(f"training {config.model} for {config.epochs} epochs on {device} ({threads} threads{processes})")
    state = args.state if args.state is not None else args.out.with_name(args.out.name + ".state")
    try:
        result = training.fit(config, mnist, progress=not args.quiet and ctx.is_main, state_path=state,
                              save_every=args.save_every, resume=args.resume)
        test_loss, test_acc = training.evaluate(result.model, mnist.test_images, mnist.test_labels, result.mean, result.std, device=device)
        if result.resumed_from is not None:
            epoch, step = result.resumed_from
            say(f"resumed from {state}: epoch {epoch}, after step {step}")
        last = result.history[-1]
        summary = {"val_acc": last.val_acc, "val_loss": last.val_loss, "test_acc": test_acc, "test_loss": test_loss,
                   "train_seconds": result.train_seconds}
        if ctx.is_main:
            path = training.save_checkpoint(args.out, result, summary)
        say(f"trained {len(result.history)} epochs in {result.train_seconds:.1f} s; validation accuracy {last.val_acc:.4f}; "
            f"test accuracy {test_acc:.4f} (loss {test_loss:.4f})")
        if ctx.is_main:
            say(f"checkpoint: {path}")
        distributed.barrier(ctx)
    finally:
        distributed.shutdown()
    return 0


def _split(mnist: data.MNIST, split: str, config: training.TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    if split == "test":
        return mnist.test_images, mnist.test_labels
    train_idx, val_idx = data.train_val_split(mnist.train_images.shape[0], config.n_val, config.seed)
    idx = val_idx if split == "val" else train_idx
    return mnist.train_images[idx], mnist.train_labels[idx]


def _evaluate(args: argparse.Namespace) -> int:
    model, meta = training.load_checkpoint(args.checkpoint, expect_model=args.model)
    images, labels = _split(data.load_mnist(), args.split, meta["config"])
    logits = training.predict_logits(model, images, meta["mean"], meta["std"])
    predictions = logits.argmax(1)
    loss = float(torch.nn.functional.cross_entropy(logits, labels))
    report = metrics.per_class_report(labels, predictions)
    print(f"{args.split}: {labels.numel()} images, accuracy {metrics.accuracy(labels, predictions):.4f}, loss {loss:.4f}")
    print("digit  precision  recall  f1      images")
    for k in range(10):
        print(f"{k:5d}  {report.precision[k]:9.4f}  {report.recall[k]:6.4f}  {report.f1[k]:6.4f}  {int(report.support[k]):6d}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    model, meta = training.load_checkpoint(args.checkpoint, expect_model=args.model)
    failed = 0
    for path in args.images:
        try:
            digit = preprocess.load_digit(path)  # (28, 28) uint8
        except preprocess.ImageInputError as err:
            print(f"error: {err}", file=sys.stderr)
            failed += 1
            continue
        probs = torch.softmax(training.predict_logits(model, digit.unsqueeze(0), meta["mean"], meta["std"]), dim=1)[0]
        print(f"{path}: {int(probs.argmax())} (probability {float(probs.max()):.3f})")
    return 2 if failed else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mnist_cnn", description="Train, evaluate and use the book's CNNs on MNIST.")
    sub = parser.add_subparsers(dest="command", required=True)
    defaults = training.TrainConfig()

    p = sub.add_parser("train", help="train a model and write a checkpoint")
    p.add_argument("--model", default=defaults.model, choices=sorted(training.models.MODELS))
    p.add_argument("--epochs", type=int, default=defaults.epochs)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--lr", type=float, default=defaults.lr, help="peak learning rate for onecycle")
    p.add_argument("--optimizer", default=defaults.optimizer, choices=["sgd", "momentum", "adam", "adamw", "adadelta"])
    p.add_argument("--schedule", default=defaults.schedule, choices=["constant", "onecycle", "cosine", "step"])
    p.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    p.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing)
    p.add_argument("--augment", action="store_true", help="random rotation, scale and shift")
    p.add_argument("--patience", type=int, default=None, help="early stopping on the validation loss")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--device", default="auto", help="auto (CUDA > MPS > CPU), cpu, cuda, cuda:1, mps")
    p.add_argument("--amp", default="off", choices=["off", "bf16", "fp16"])
    p.add_argument("--no-channels-last", action="store_true")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--train-subset", type=int, default=None, help="train on only the first N training images")
    p.add_argument("--out", type=Path, default=Path("checkpoints/model.pt"))
    p.add_argument("--save-every", type=int, default=0, metavar="STEPS",
                   help="write the resumable training state every STEPS steps and after every epoch")
    p.add_argument("--state", type=Path, default=None, help="the training state file (default: OUT.state)")
    p.add_argument("--resume", action="store_true", help="continue from the training state file if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_train)

    p = sub.add_parser("evaluate", help="accuracy and per-class metrics of a checkpoint")
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--split", default="test", choices=["test", "val", "train"])
    p.add_argument("--model", default=None, help="refuse a checkpoint of any other model")
    p.set_defaults(run=_evaluate)

    p = sub.add_parser("predict", help="the digit in each PNG/JPEG image")
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--model", default=None, help="refuse a checkpoint of any other model")
    p.add_argument("images", nargs="+", type=Path)
    p.set_defaults(run=_predict)

    p = sub.add_parser("bench", help="benchmarks: data, conv or train (see python -m mnist_cnn bench --help)")
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(run=lambda a: bench.main(a.args))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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
