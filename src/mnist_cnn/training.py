"""Training and evaluation: ``fit()``, ``evaluate()``, ``predict_logits()``,
the model cache.

Explained in the chapters "Training" (``book/training.ipynb``), "Evaluation"
and "Overfitting". The loop is the article's (zero_grad, forward, loss,
backward, step) with what makes it fast and honest: the whole dataset as one
uint8 tensor, a seeded validation split, channels_last, a learning-rate
schedule, early stopping on the validation loss, mixed precision on request,
and a resumable training state. The run's settings are
:class:`mnist_cnn.config.TrainConfig`; its files are written by
:mod:`mnist_cnn.checkpoints`.

Sources: pytorch/examples ``mnist/main.py`` (train/test structure); L. N.
Smith, T. Topin, "Super-convergence", 2019 (OneCycle); I. Loshchilov, F.
Hutter, "Decoupled weight decay regularization", ICLR 2019 (AdamW).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mnist_cnn import augment, data, distributed, models, paths
from mnist_cnn.checkpoints import (
    CheckpointError,
    load_checkpoint,
    load_training_state,
    save_checkpoint,
    save_training_state,
)
from mnist_cnn.config import ARTICLE_MEAN_STD, DEVICES, TrainConfig

__all__ = [
    "TrainConfig",
    "EpochRecord",
    "FitResult",
    "resolve_device",
    "build_model",
    "normalization_constants",
    "fit",
    "evaluate",
    "predict_logits",
    "make_scheduler",
    "fit_or_load",
]


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    # mean over the epoch's batches (with dropout/augmentation active)
    train_loss: float
    train_acc: float  # accuracy on the batches as they were trained on
    val_loss: float
    val_acc: float
    seconds: float  # training time of this epoch, evaluation excluded
    lr: float  # learning rate at the end of the epoch


@dataclass
class FitResult:
    model: nn.Module
    config: TrainConfig
    history: list[EpochRecord]
    mean: float
    std: float
    # the epoch whose weights the model holds (early stopping restores it)
    best_epoch: int
    resumed_from: tuple[int, int] | None = (
        # (epoch, steps already done in it) when fit resumed a saved state
        None
    )

    @property
    def train_seconds(self) -> float:
        return sum(r.seconds for r in self.history)

    @property
    def kept(self) -> EpochRecord:
        """The record of the epoch whose weights the model holds."""
        return self.history[self.best_epoch - 1]


def resolve_device(device: str = "auto") -> torch.device:
    """ "auto" picks CUDA, then Apple's MPS, then the CPU; anything else is
    passed to torch.device."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if (
            getattr(torch.backends, "mps", None) is not None
            and torch.backends.mps.is_available()
        ):
            return torch.device("mps")
        return torch.device("cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError:
        raise ValueError(
            f"device={device!r}: not a device name; use one of "
            f"{', '.join(DEVICES)}."
        ) from None
    if chosen.type == "cuda" and (
        not torch.cuda.is_available()
        or (chosen.index or 0) >= torch.cuda.device_count()
    ):
        found = torch.cuda.device_count() if torch.cuda.is_available() else 0
        raise ValueError(
            f"device={device!r}: this machine has {found} CUDA device(s); "
            "use auto or cpu."
        )
    if chosen.type == "mps" and not (
        getattr(torch.backends, "mps", None) is not None
        and torch.backends.mps.is_available()
    ):
        raise ValueError(
            f"device={device!r}: MPS is not available here; use auto or cpu."
        )
    return chosen


def build_model(config: TrainConfig) -> nn.Module:
    """A freshly initialised model of ``config.model`` (seeded by ``config.seed``)."""
    torch.manual_seed(config.seed)
    return models.MODELS[config.model](**config.model_kwargs)


def _optimizer(config: TrainConfig, params: Any) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, weight_decay=config.weight_decay
        )
    if config.optimizer == "momentum":
        return torch.optim.SGD(
            params,
            lr=config.lr,
            momentum=0.9,
            nesterov=True,
            weight_decay=config.weight_decay,
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(
            params, lr=config.lr, weight_decay=config.weight_decay
        )
    if config.optimizer == "adadelta":
        return torch.optim.Adadelta(
            params, lr=config.lr, weight_decay=config.weight_decay
        )
    return torch.optim.AdamW(
        params, lr=config.lr, weight_decay=config.weight_decay
    )


def make_scheduler(
    config: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int
) -> tuple[Any, bool]:
    """The schedule and whether it steps per batch (True) or per epoch (False)."""
    total = config.epochs * steps_per_epoch
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.lr, total_steps=total, pct_start=0.25
        ), True
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=total
        ), True
    if config.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(
            optimizer, step_size=1, gamma=config.step_gamma
        ), False
    return None, False


def _autocast(config: TrainConfig, device: torch.device) -> Any:
    if config.amp == "off":
        return torch.autocast(device.type, enabled=False)
    return torch.autocast(
        device.type,
        dtype=torch.float16 if config.amp == "fp16" else torch.bfloat16,
    )


def predict_logits(
    model: nn.Module,
    images: torch.Tensor,  # (N, 28, 28) uint8
    mean: float,
    std: float,
    # 2-3x faster on CPUs than 1000: activations stay in the cache
    batch_size: int = 256,
    device: torch.device | str | None = None,
    channels_last: bool = False,
) -> torch.Tensor:
    """Logits ``(N, 10)`` (float32, on the CPU) of ``model`` in eval mode, in batches."""
    device = (
        torch.device(device)
        if device is not None
        else next(model.parameters()).device
    )
    outs = []
    with models.eval_mode(model), torch.inference_mode():
        for start in range(0, images.shape[0], batch_size):
            # (B, 28, 28) uint8
            chunk = images[start : start + batch_size].to(device)
            # (B, 1, 28, 28)
            x = data.normalize(chunk, mean, std, channels_last)
            outs.append(model(x).float().cpu())
    return torch.cat(outs)


def evaluate(
    model: nn.Module,
    images: torch.Tensor,  # (N, 28, 28) uint8
    labels: torch.Tensor,  # (N,)
    mean: float,
    std: float,
    batch_size: int = 256,
    device: torch.device | str | None = None,
    channels_last: bool = False,
) -> tuple[float, float]:
    """(mean cross-entropy loss, accuracy) of ``model`` on any split."""
    logits = predict_logits(
        model, images, mean, std, batch_size, device, channels_last
    )
    loss = F.cross_entropy(logits, labels.cpu())
    acc = (logits.argmax(1) == labels.cpu()).float().mean()
    return float(loss), float(acc)


def normalization_constants(
    config: TrainConfig, mnist: data.MNIST
) -> tuple[float, float]:
    """The (mean, std) a run of ``config`` normalises with: the article's
    0.5/0.5, or measured on exactly the images it trains on (the validation
    images and anything outside the subset excluded)."""
    if config.normalization == "article":
        return ARTICLE_MEAN_STD
    train_idx, _ = data.train_val_split(
        mnist.train_images.shape[0], config.n_val, config.seed
    )
    if config.train_subset is not None:
        train_idx = train_idx[: config.train_subset]
    return data.compute_mean_std(mnist.train_images[train_idx])


def fit(
    config: TrainConfig,
    mnist: data.MNIST | None = None,
    progress: bool = True,
    on_epoch_end: Callable[[EpochRecord, nn.Module], bool | None]
    | None = None,
    state_path: str | os.PathLike[str] | None = None,
    save_every: int = 0,
    resume: bool = False,
    on_step: Callable[[int], None] | None = None,
) -> FitResult:
    """Train ``config.model`` on MNIST's training split minus the validation
    images.

    Returns the model (holding the best validation-loss weights when early
    stopping is on), the per-epoch history and the normalisation constants.
    ``on_epoch_end(record, model)`` may return True to stop early (the
    benchmark uses it to stop at a target accuracy).

    Resuming: with ``state_path`` and ``save_every`` > 0 the complete training
    state (weights, optimizer, schedule, random generator, position in the
    epoch) is written atomically every ``save_every`` steps and at the end of
    every epoch; ``resume=True`` continues from that file if it exists, and
    ends with the same weights, bit for bit, as a run that was never stopped.
    ``on_step(step)`` is called after every step (the tests use it to stop a
    run).

    Under ``torchrun`` (see :mod:`mnist_cnn.distributed`) the model is wrapped
    in DistributedDataParallel, each process trains on its shard of every batch
    of ``config.batch_size`` images, the training metrics are summed over the
    processes, and only the main process shows progress and writes the state
    file.
    """
    from tqdm.auto import tqdm

    if config.threads is not None:
        torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    if config.amp == "fp16" and device.type != "cuda":
        raise ValueError(
            f"amp='fp16' needs a CUDA device, not {device.type}; use "
            "amp='bf16' or 'off'."
        )
    if save_every < 0 or (save_every and state_path is None):
        raise ValueError(
            f"save_every={save_every}: must be >= 0, and needs state_path."
        )
    ctx, device = distributed.context(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = (
            True  # fixed input sizes: let cuDNN pick the fastest kernels
        )
    mnist = mnist if mnist is not None else data.load_mnist()
    train_idx, val_idx = data.train_val_split(
        mnist.train_images.shape[0], config.n_val, config.seed
    )
    if config.train_subset is not None:
        train_idx = train_idx[: config.train_subset]
    # (N, 28, 28) uint8
    train_x, train_y = (
        mnist.train_images[train_idx].to(device),
        mnist.train_labels[train_idx].to(device),
    )
    val_x, val_y = mnist.train_images[val_idx], mnist.train_labels[val_idx]
    mean, std = normalization_constants(config, mnist)

    model = build_model(config).to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    # DDP averages the gradients of the processes after every backward pass; it
    # starts by copying
    # rank 0's weights to all, so every process begins (and stays) identical.
    net = (
        nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
        if ctx.active
        else model
    )
    optimizer = _optimizer(config, model.parameters())
    n = train_x.shape[0]
    # avoid a tiny last batch for batch norm
    drop_last = n >= 2 * config.batch_size
    steps_per_epoch = (
        n // config.batch_size
        if drop_last
        else math.ceil(n / config.batch_size)
    )
    if ctx.active and not drop_last:
        steps_per_epoch = n // config.batch_size + int(
            n % config.batch_size >= ctx.world_size
        )
    scheduler, per_batch = make_scheduler(config, optimizer, steps_per_epoch)
    scaler = torch.amp.GradScaler(enabled=config.amp == "fp16")
    generator = torch.Generator(device=device).manual_seed(config.seed)

    history: list[EpochRecord] = []
    best_loss, best_epoch, best_state, stale = math.inf, 0, None, 0
    start_epoch, start_step, saved = 1, 0, None
    if resume and state_path is not None and Path(state_path).is_file():
        saved = load_training_state(state_path, config, device)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(saved["scheduler"])
        scaler.load_state_dict(saved["scaler"])
        generator.set_state(saved["generator"])
        history = [EpochRecord(**r) for r in saved["history"]]
        best_loss, best_epoch, best_state, stale = (
            saved["best_loss"],
            saved["best_epoch"],
            saved["best_state"],
            saved["stale"],
        )
        start_epoch, start_step = saved["epoch"], saved["step"]

    def save_state(
        epoch: int,
        step: int,
        order: torch.Tensor,
        sums: list[torch.Tensor],
        seen: int,
        seconds: float,
    ) -> None:
        if ctx.is_main:
            save_training_state(
                state_path,
                {  # type: ignore[arg-type]
                    "config": dataclasses.asdict(config),
                    "epoch": epoch,
                    "step": step,
                    "order": order.cpu(),
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict()
                    if scheduler is not None
                    else {},
                    "scaler": scaler.state_dict(),
                    "generator": generator.get_state(),
                    "sums": [t.cpu() for t in sums],
                    "seen": seen,
                    "seconds": seconds,
                    "history": [dataclasses.asdict(r) for r in history],
                    "best_loss": best_loss,
                    "best_epoch": best_epoch,
                    "best_state": best_state,
                    "stale": stale,
                },
            )
        distributed.barrier(ctx)

    for epoch in range(start_epoch, config.epochs + 1):
        net.train()
        # resume inside this epoch
        if saved is not None and start_step > 0 and epoch == start_epoch:
            order = saved["order"].to(device)
            loss_sum, correct = (t.to(device) for t in saved["sums"])
            seen, seconds_before, first_step = (
                saved["seen"],
                saved["seconds"],
                start_step,
            )
        else:
            # the same order in every process
            order = data.shuffled_order(n, generator, device)
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device, dtype=torch.int64)
            seen, seconds_before, first_step = 0, 0.0, 0
        start = time.perf_counter()
        steps = data.batch_indices(
            order,
            config.batch_size,
            drop_last,
            ctx.rank,
            ctx.world_size,
            start=first_step,
        )
        bar = tqdm(
            steps,
            total=steps_per_epoch,
            initial=first_step,
            desc=f"epoch {epoch}/{config.epochs}",
            disable=not (progress and ctx.is_main),
            leave=False,
        )
        for step, idx in enumerate(bar, start=first_step + 1):
            # (B, 1, 28, 28), (B,)
            x, y = data.make_batch(
                train_x,
                train_y,
                idx,
                mean,
                std,
                channels_last=config.channels_last,
            )
            if config.augment:
                x = augment.random_affine(x, generator)
            # 1. forget the previous batch's gradients
            optimizer.zero_grad(set_to_none=True)
            with _autocast(config, device):
                logits = net(x)  # 2. forward: (B, 10)
                # 3. loss
                loss = F.cross_entropy(
                    logits, y, label_smoothing=config.label_smoothing
                )
            # 4. backward: d loss / d every weight (all-reduced under DDP)
            scaler.scale(loss).backward()
            scaler.step(optimizer)  # 5. step: update the weights
            scaler.update()
            if scheduler is not None and per_batch:
                scheduler.step()
            # stays on the device: no .item() per step
            loss_sum += loss.detach() * y.shape[0]
            correct += (logits.argmax(1) == y).sum()
            seen += y.shape[0]
            if (
                save_every
                and step % save_every == 0
                and step < steps_per_epoch
            ):
                save_state(
                    epoch,
                    step,
                    order,
                    [loss_sum, correct],
                    seen,
                    seconds_before + time.perf_counter() - start,
                )
            if on_step is not None:
                on_step((epoch - 1) * steps_per_epoch + step)
        if scheduler is not None and not per_batch:
            scheduler.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = seconds_before + time.perf_counter() - start
        # batch norm statistics of all shards, in every process
        distributed.average_buffers(model, ctx)
        # float64, so that one process computes exactly float(loss_sum) / seen
        # and int(correct) / seen
        # (on the CPU, except for NCCL, which reduces CUDA tensors; MPS has no
        # float64)
        on = device if device.type == "cuda" else torch.device("cpu")
        totals = distributed.all_reduce_sum(
            torch.tensor(
                [float(loss_sum), float(correct), float(seen)],
                dtype=torch.float64,
                device=on,
            ),
            ctx,
        )
        val_loss, val_acc = evaluate(
            model,
            val_x,
            val_y,
            mean,
            std,
            device=device,
            channels_last=config.channels_last,
        )
        record = EpochRecord(
            epoch,
            float(totals[0]) / float(totals[2]),
            float(totals[1]) / float(totals[2]),
            val_loss,
            val_acc,
            seconds,
            optimizer.param_groups[0]["lr"],
        )
        history.append(record)
        if progress and ctx.is_main:
            tqdm.write(
                f"epoch {epoch}: train loss {record.train_loss:.4f} acc "
                f"{record.train_acc:.4f} | "
                f"val loss {val_loss:.4f} acc {val_acc:.4f} | {seconds:.1f} s"
            )
        if val_loss < best_loss:
            best_loss, best_epoch, stale = val_loss, epoch, 0
            if config.patience is not None:
                best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
        stop = (
            on_epoch_end(record, model) if on_epoch_end is not None else False
        )
        # the next epoch starts from here (after the last one: the finished
        # run)
        if save_every:
            save_state(
                epoch + 1,
                0,
                torch.empty(0, dtype=torch.int64),
                [torch.zeros(()), torch.zeros((), dtype=torch.int64)],
                0,
                0.0,
            )
        if stop or (config.patience is not None and stale >= config.patience):
            break
    if config.patience is not None and best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_epoch = history[-1].epoch
    resumed_from = (
        (saved["epoch"], saved["step"]) if saved is not None else None
    )
    return FitResult(
        model, config, history, mean, std, best_epoch, resumed_from
    )


def fit_or_load(
    config: TrainConfig, name: str, mnist: data.MNIST | None = None
) -> tuple[nn.Module, float, float, str]:
    """The network ``config`` trains, shared between chapters through a
    checkpoint cache.

    Loads ``<cache>/<name>.pt`` (:func:`mnist_cnn.paths.cache_dir`) if it holds
    a readable checkpoint of exactly ``config``; otherwise trains
    (deterministically) and writes it. Returns the model (eval mode, contiguous
    memory as a loaded checkpoint is), the normalisation mean and std, and
    "loaded" or "trained".
    """
    path = paths.cache_dir() / f"{name}.pt"
    try:
        model, meta = load_checkpoint(path)
        if meta["config"] == config:
            return model, meta["mean"], meta["std"], "loaded"
    except CheckpointError:
        pass
    result = fit(config, mnist, progress=False)
    save_checkpoint(path, result)
    model = result.model.to(memory_format=torch.contiguous_format).eval()
    return model, result.mean, result.std, "trained"
