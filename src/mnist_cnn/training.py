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

import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from mnist_cnn import augment, data, distributed, models, paths
from mnist_cnn.checkpoints import (
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from mnist_cnn.config import ARTICLE_MEAN_STD, DEVICES, TrainConfig
from mnist_cnn.mixed_precision import MixedPrecision
from mnist_cnn.run_state import (
    EpochRecord,
    Progress,
    ResumedFrom,
    SavedState,
    Sums,
    load_progress,
    load_training_state,
    save_progress,
)

__all__ = [
    "EpochRecord",
    "FitResult",
    "resolve_device",
    "build_model",
    "normalization_constants",
    "training_images",
    "split_indices",
    "train_one_epoch",
    "evaluate",
    "predict_logits",
    "fit",
    "make_scheduler",
    "OPTIMIZER_RULES",
    "SCHEDULE_RULES",
    "fit_or_load",
    "Cached",
]


@dataclass
class FitResult:
    model: nn.Module
    config: TrainConfig
    history: list[EpochRecord]
    mean: float
    std: float
    # the epoch whose weights the model holds (early stopping restores it)
    best_epoch: int
    # where fit resumed a saved state, and the epochs that state's run was
    # set to (None: not resumed)
    resumed_from: ResumedFrom | None = None
    saved_epochs: int | None = None

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


Optim = torch.optim

# TrainConfig.optimizer -> the optimizer it builds from (config, parameters);
# its keys are config.OPTIMIZERS exactly (a test checks it: no name falls
# through to another rule)
OPTIMIZER_RULES: dict[str, Callable[[TrainConfig, Any], Optim.Optimizer]] = {
    "sgd": lambda c, p: Optim.SGD(p, lr=c.lr, weight_decay=c.weight_decay),
    "momentum": lambda c, p: Optim.SGD(
        p, lr=c.lr, momentum=0.9, nesterov=True, weight_decay=c.weight_decay
    ),
    "adam": lambda c, p: Optim.Adam(p, lr=c.lr, weight_decay=c.weight_decay),
    "adamw": lambda c, p: Optim.AdamW(p, lr=c.lr, weight_decay=c.weight_decay),
    "adadelta": lambda c, p: Optim.Adadelta(
        p, lr=c.lr, weight_decay=c.weight_decay
    ),
}


def _optimizer(config: TrainConfig, params: Any) -> Optim.Optimizer:
    return OPTIMIZER_RULES[config.optimizer](config, params)


Sched = torch.optim.lr_scheduler
# TrainConfig.schedule -> (config, optimizer, total steps of the run) ->
# (the schedule or None, whether it steps after every batch); keys are
# config.SCHEDULES exactly
SCHEDULE_RULES: dict[
    str, Callable[[TrainConfig, Optim.Optimizer, int], tuple[Any, bool]]
] = {
    "constant": lambda c, o, total: (None, False),
    # cycle_momentum=False: PyTorch's default would also cycle Adam's beta1
    # (0.95 -> 0.85 -> 0.95); the book's one-cycle changes the learning rate
    # only, as the chapter "Training" says
    "onecycle": lambda c, o, total: (
        Sched.OneCycleLR(
            o,
            max_lr=c.lr,
            total_steps=total,
            # a quarter warms up; OneCycleLR divides by zero where that is
            # exactly one step (a 4-step run): 0.3 there
            pct_start=0.25 if total != 4 else 0.3,
            cycle_momentum=False,
        ),
        True,
    ),
    "cosine": lambda c, o, total: (Sched.CosineAnnealingLR(o, total), True),
    "step": lambda c, o, total: (
        Sched.StepLR(o, step_size=1, gamma=c.step_gamma),
        False,
    ),
}


def make_scheduler(
    config: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int
) -> tuple[Any, bool]:
    """The schedule and whether it steps per batch (True) or per epoch
    (False); one-cycle and cosine span the whole run, ``epochs x
    steps_per_epoch`` steps."""
    total = config.epochs * steps_per_epoch
    return SCHEDULE_RULES[config.schedule](config, optimizer, total)


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
    """Logits ``(N, 10)`` (float32, on the CPU) of ``model`` in eval mode, in
    batches."""
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
    return _mean_std(config, training_images(config, mnist)[0])


def _mean_std(
    config: TrainConfig, images: torch.Tensor
) -> tuple[float, float]:
    """The article's 0.5/0.5, or measured on the uint8 training images."""
    if config.normalization == "article":
        return ARTICLE_MEAN_STD
    return data.compute_mean_std(images)


def training_images(
    config: TrainConfig, mnist: data.MNIST
) -> tuple[torch.Tensor, torch.Tensor]:
    """The uint8 images ``(n, 28, 28)`` and labels ``(n,)`` a run of
    ``config`` trains on, un-augmented: MNIST's training split minus the
    ``config.n_val`` validation images (a split seeded by ``config.seed``),
    cut to the first ``config.train_subset``."""
    train_idx, _ = split_indices(config, mnist.train_images.shape[0])
    return mnist.train_images[train_idx], mnist.train_labels[train_idx]


def split_indices(
    config: TrainConfig, n: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The indices a run trains on (cut to ``config.train_subset``) and the
    validation indices, of a seeded split of ``range(n)``: the one place that
    decides which of MNIST's training images a run sees."""
    train_idx, val_idx = data.train_val_split(n, config.n_val, config.seed)
    if config.train_subset is not None:
        if config.train_subset > len(train_idx):
            raise ValueError(
                f"train_subset={config.train_subset}: more than the "
                f"{len(train_idx):,} training images ({n:,} minus the "
                f"{config.n_val:,} held out for validation); give at most "
                f"{len(train_idx):,} (or no subset, to train on all of them)"
            )
        train_idx = train_idx[: config.train_subset]
    return train_idx, val_idx


def train_one_epoch(
    net: nn.Module,  # in training mode: net.train()
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],  # (x, y) batches
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    after_step: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], None]
    | None = None,
) -> None:
    """One pass over ``batches``: the five steps of every training loop.
    ``after_step(loss, logits, y)``, if given, runs after each step (fit
    sums the loss and the right answers, steps the schedule, saves)."""
    for x, y in batches:
        optimizer.zero_grad()  # 1. forget the last step's gradients
        logits = net(x)  # 2. forward: (B, 10) scores
        loss = loss_fn(logits, y)  # 3. loss: one number for the batch
        loss.backward()  # 4. backward: d loss / d every weight
        optimizer.step()  # 5. step: move every weight against its gradient
        if after_step is not None:
            after_step(loss, logits, y)


@dataclass
class _Run:
    """What one call of :func:`fit` sets up once."""

    config: TrainConfig
    ctx: distributed.Context
    device: torch.device
    model: nn.Module
    net: nn.Module  # the model, wrapped for data parallelism under torchrun
    optimizer: torch.optim.Optimizer
    scheduler: Any
    per_batch: bool  # the schedule steps after every batch (else every epoch)
    amp: MixedPrecision
    generator: torch.Generator  # the order of the images, augmentation
    train: tuple[torch.Tensor, torch.Tensor]  # uint8 images, labels on device
    val: tuple[torch.Tensor, torch.Tensor]
    mean: float
    std: float
    drop_last: bool
    steps_per_epoch: int

    def parts(self) -> dict[str, Any]:
        """What a saved training state holds besides the run's progress."""
        return {
            "model": self.model,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "scaler": self.amp.scaler,
            "generator": self.generator,
        }


def _steps_per_epoch(
    n: int, batch_size: int, ctx: distributed.Context
) -> tuple[bool, int]:
    """Whether the last partial batch is dropped, and the steps an epoch
    takes (under torchrun every process must take the same number)."""
    if n >= 2 * batch_size:  # drop a tiny last batch: bad for batch norm
        return True, n // batch_size
    if ctx.active:
        return False, n // batch_size + int(n % batch_size >= ctx.world_size)
    return False, math.ceil(n / batch_size)


def _setup(config: TrainConfig, mnist: data.MNIST | None) -> _Run:
    """Device, data, model, optimizer, schedule and generator of a run."""
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    amp = MixedPrecision(config.amp, device)  # refuses fp16 without CUDA
    ctx, device = distributed.context(device)
    if device.type == "cuda":  # fixed input sizes: let cuDNN pick kernels
        torch.backends.cudnn.benchmark = True
    mnist = mnist if mnist is not None else data.load_mnist()
    train_idx, val_idx = split_indices(config, mnist.train_images.shape[0])
    images, labels = mnist.train_images, mnist.train_labels
    mean, std = _mean_std(config, images[train_idx])
    train = (images[train_idx].to(device), labels[train_idx].to(device))
    model = build_model(config).to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = _optimizer(config, model.parameters())
    drop_last, steps = _steps_per_epoch(
        train[0].shape[0], config.batch_size, ctx
    )
    scheduler, per_batch = make_scheduler(config, optimizer, steps)
    return _Run(
        config=config,
        ctx=ctx,
        device=device,
        model=model,
        net=distributed.wrap(model, ctx, device),
        optimizer=optimizer,
        scheduler=scheduler,
        per_batch=per_batch,
        amp=amp,
        generator=torch.Generator(device=device).manual_seed(config.seed),
        train=train,
        val=(images[val_idx], labels[val_idx]),
        mean=mean,
        std=std,
        drop_last=drop_last,
        steps_per_epoch=steps,
    )


def _batches(
    run: _Run, order: torch.Tensor, first: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The epoch's batches from step ``first`` on: this process's share of
    each, normalised (and augmented) on the device."""
    cfg, ctx = run.config, run.ctx
    for idx in data.batch_indices(
        order, cfg.batch_size, run.drop_last, ctx.rank, ctx.world_size, first
    ):
        x, y = data.make_batch(
            *run.train, idx, run.mean, run.std, channels_last=cfg.channels_last
        )  # (B, 1, 28, 28), (B,)
        if cfg.augment:
            x = augment.random_affine(x, run.generator)
        if cfg.flip:
            x = augment.random_flip(x, run.generator)
        yield x, y


def _epoch_record(
    run: _Run, epoch: int, sums: Sums, seconds: float, validate: bool
) -> EpochRecord:
    """Sum the processes' training figures and, if ``validate``, evaluate on
    the validation images."""
    distributed.average_buffers(run.model, run.ctx)  # all shards' BN stats
    # float64, so that one process computes exactly float(loss) / seen (on the
    # CPU, except for NCCL, which reduces CUDA tensors; MPS has no float64)
    on = run.device if run.device.type == "cuda" else torch.device("cpu")
    local = [float(sums.loss), float(sums.correct), float(sums.seen)]
    totals = torch.tensor(local, dtype=torch.float64, device=on)
    loss, correct, seen = distributed.all_reduce_sum(totals, run.ctx).tolist()
    val_loss = val_acc = math.nan  # not validated (validate_every_epoch)
    if validate:
        val_loss, val_acc = evaluate(
            run.model,
            *run.val,
            run.mean,
            run.std,
            device=run.device,
            channels_last=run.config.channels_last,
        )
    lr = run.optimizer.param_groups[0]["lr"]
    return EpochRecord(
        epoch, loss / seen, correct / seen, val_loss, val_acc, seconds, lr
    )


def _train_epoch(
    run: _Run,
    state: Progress,
    bar: str | None,  # the progress bar's text; None: no bar
    validate: bool,
    save: Callable[[], None] | None,  # writes the state (mid-epoch too)
    save_every: int,
    on_step: Callable[[int], None] | None,
) -> EpochRecord:
    """Train epoch ``state.epoch`` (from where ``state`` stopped) and record
    it; the schedule steps and the state is saved as ``run`` asks."""
    from tqdm.auto import tqdm

    cfg, epoch, steps = run.config, state.epoch, run.steps_per_epoch
    if state.order is None:  # a new epoch: the same order in every process
        state.order = data.shuffled_order(
            run.train[0].shape[0], run.generator, run.device
        )
        state.sums = Sums.zeros(run.device)
    before, start = state.seconds, time.perf_counter()
    sums = state.sums
    assert sums is not None  # set above, or by the state a run resumed

    def after_step(
        loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor
    ) -> None:
        sums.add(loss, logits, y)  # on the device: no wait a step
        state.step += 1
        if run.scheduler is not None and run.per_batch:
            run.scheduler.step()
        state.seconds = before + time.perf_counter() - start
        if save and state.step % save_every == 0 and state.step < steps:
            save()
        if on_step is not None:
            on_step((epoch - 1) * steps + state.step)

    batches = tqdm(
        _batches(run, state.order, state.step),
        total=steps,
        initial=state.step,
        desc=bar,
        disable=bar is None or not run.ctx.is_main,
        leave=False,
    )
    # the network, loss and optimizer in the run's precision (as they are
    # in float32)
    net, loss_fn, optimizer = run.amp.wrap(
        run.net, _loss_function(cfg), run.optimizer
    )
    net.train()  # dropout on; batch norm uses and updates batch statistics
    train_one_epoch(net, batches, optimizer, loss_fn, after_step)
    if run.scheduler is not None and not run.per_batch:
        run.scheduler.step()
    if run.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = before + time.perf_counter() - start
    return _epoch_record(run, epoch, sums, seconds, validate)


def _loss_function(
    config: TrainConfig,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Cross-entropy, with ``config.label_smoothing`` of the target moved
    evenly onto the other classes."""
    smoothing = config.label_smoothing
    return lambda logits, y: F.cross_entropy(
        logits, y, label_smoothing=smoothing
    )


def fit(
    config: TrainConfig,
    mnist: data.MNIST | None = None,
    progress: bool = True,
    on_epoch_end: Callable[[EpochRecord, nn.Module], bool | None]
    | None = None,
    state_path: str | os.PathLike[str] | None = None,
    save_every: int = 0,
    resume: bool | SavedState = False,
    on_step: Callable[[int], None] | None = None,
) -> FitResult:
    """Train ``config.model`` on MNIST's training split minus the validation
    images: set up, then :func:`train_one_epoch` and a validation pass per
    epoch, with early stopping when ``config.patience`` is set.

    ``on_epoch_end(record, model)`` may return True to stop (the benchmark
    stops at a target accuracy). With ``state_path`` and ``save_every`` > 0
    the training state is written every ``save_every`` steps and every epoch;
    ``resume=True`` continues from it, bitwise as if never stopped (a
    :class:`~mnist_cnn.run_state.SavedState` the caller has already read
    with ``load_training_state`` is used as it is: the file is read once).
    ``on_step(step)`` runs after every step (tests stop runs with it). Under
    ``torchrun`` each process trains on its shard of every batch
    (:mod:`mnist_cnn.distributed`).
    """
    from tqdm.auto import tqdm

    if save_every < 0 or (save_every and state_path is None):
        raise ValueError(
            f"save_every={save_every}: must be >= 0, and needs state_path."
        )
    run = _setup(config, mnist)
    state = _starting_point(run, state_path, resume)

    def save() -> None:  # the main process writes; every process waits
        if run.ctx.is_main:
            save_progress(state_path, config, state, run.parts())  # type: ignore[arg-type]
        distributed.barrier(run.ctx)

    saving = save if save_every else None
    for epoch in range(state.epoch, config.epochs + 1):
        bar = f"epoch {epoch}/{config.epochs}" if progress else None
        validate = config.validate_every_epoch or epoch == config.epochs
        r = _train_epoch(
            run, state, bar, validate, saving, save_every, on_step
        )
        state.record(r, run.model, keep=config.patience is not None)
        if progress and run.ctx.is_main:
            tqdm.write(
                f"epoch {r.epoch}: train loss {r.train_loss:.4f} acc "
                f"{r.train_acc:.4f} | val loss {r.val_loss:.4f} acc "
                f"{r.val_acc:.4f} | {r.seconds:.1f} s"
            )
        stop = on_epoch_end is not None and on_epoch_end(r, run.model)
        if saving:  # the next epoch starts here (or the run is finished)
            save()
        if stop or state.out_of_patience(config.patience):
            break
    return _result(run, state)


def _starting_point(
    run: _Run,
    state_path: str | os.PathLike[str] | None,
    resume: bool | SavedState,
) -> Progress:
    """A new run's position, or the saved one ``resume`` asks for: a
    state already read, or the file at ``state_path`` if there is one."""
    if resume is True and state_path and Path(state_path).is_file():
        resume = load_training_state(state_path, run.config)
    if isinstance(resume, SavedState):  # read and checked once
        return load_progress(resume, run.device, run.parts())
    return Progress()


def _result(run: _Run, state: Progress) -> FitResult:
    """The finished run: with early stopping, the best epoch's weights."""
    best = state.history[-1].epoch
    if run.config.patience is not None and state.best_state is not None:
        run.model.load_state_dict(state.best_state)
        best = state.best_epoch
    return FitResult(
        run.model,
        run.config,
        state.history,
        run.mean,
        run.std,
        best,
        state.resumed_from,
        state.saved_epochs,
    )


class Cached(NamedTuple):
    """A network from the checkpoint cache (:func:`fit_or_load`)."""

    model: torch.nn.Module  # eval mode
    mean: float  # the normalisation it was trained with
    std: float
    loaded: bool  # True: read from the cache; False: trained just now


def fit_or_load(
    config: TrainConfig, name: str, mnist: data.MNIST | None = None
) -> Cached:
    """The network ``config`` trains, shared between chapters through a
    checkpoint cache.

    Loads ``<cache>/<name>.pt`` (:func:`mnist_cnn.paths.cache_dir`) if it holds
    a readable checkpoint of exactly ``config``; otherwise trains
    (deterministically) and writes it. Returns the model (eval mode, contiguous
    memory as a loaded checkpoint is), the normalisation mean and std, and
    whether it was loaded.
    """
    path = paths.cache_dir() / f"{name}.pt"
    try:
        ckpt = load_checkpoint(path)
        if ckpt.config == config:
            return Cached(ckpt.model, ckpt.mean, ckpt.std, loaded=True)
    except CheckpointError:
        pass
    result = fit(config, mnist, progress=False)
    save_checkpoint(path, result)
    model = result.model.to(memory_format=torch.contiguous_format).eval()
    return Cached(model, result.mean, result.std, loaded=False)
