"""mnist_cnn.training: determinism, early stopping, the loss it trains with and evaluation against
direct F.cross_entropy computations, the device choice, the chapters' checkpoint cache. (The
configuration: test_config.py; checkpoint files: test_checkpoints.py.)"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mnist_cnn import data, training
from mnist_cnn.config import TrainConfig

SMALL = dict(
    train_subset=1024, n_val=1000, batch_size=128, epochs=2, progress=False
)


def small_config(**overrides) -> TrainConfig:
    kwargs = {k: v for k, v in SMALL.items() if k != "progress"} | overrides
    return TrainConfig(**kwargs)


def test_fit_is_deterministic_and_learns(mnist: data.MNIST) -> None:
    a = training.fit(small_config(), mnist, progress=False)
    b = training.fit(small_config(), mnist, progress=False)
    c = training.fit(small_config(seed=1), mnist, progress=False)
    strip = lambda r: [dataclasses.replace(h, seconds=0.0) for h in r.history]  # noqa: E731
    assert strip(a) == strip(b) and strip(a) != strip(c)
    assert (
        len(a.history) == 2
        and a.history[1].train_loss < a.history[0].train_loss
    )
    assert (
        a.history[-1].val_acc > 0.8
    )  # 1,024 images, 2 epochs: far above chance (0.1)


def test_evaluate_equals_a_direct_computation(mnist: data.MNIST) -> None:
    result = training.fit(small_config(epochs=1), mnist, progress=False)
    images, labels = mnist.test_images[:500], mnist.test_labels[:500]
    loss, acc = training.evaluate(
        result.model, images, labels, result.mean, result.std
    )
    x = (images.float().div(255).unsqueeze(1) - result.mean) / result.std
    with torch.no_grad():
        logits = result.model.eval()(x)
    assert loss == pytest.approx(
        float(F.cross_entropy(logits, labels)), rel=1e-5
    )
    assert acc == pytest.approx(
        float((logits.argmax(1) == labels).float().mean())
    )


def test_early_stopping_restores_the_best_epoch(mnist: data.MNIST) -> None:
    # 64 images, lr without decay: the validation loss soon stops improving
    config = small_config(
        train_subset=64,
        batch_size=32,
        epochs=30,
        patience=2,
        schedule="constant",
        lr=0.01,
        optimizer="adam",
    )
    result = training.fit(config, mnist, progress=False)
    assert len(result.history) < 30
    best = min(result.history, key=lambda h: h.val_loss)
    assert (
        result.best_epoch == best.epoch
        and len(result.history) == best.epoch + 2
    )
    _, val_idx = data.train_val_split(60000, config.n_val, config.seed)
    val_loss, _ = training.evaluate(
        result.model,
        mnist.train_images[val_idx],
        mnist.train_labels[val_idx],
        result.mean,
        result.std,
    )
    assert val_loss == pytest.approx(best.val_loss, rel=1e-5)


def test_article_normalisation_and_fp16_on_cpu(mnist: data.MNIST) -> None:
    result = training.fit(
        small_config(
            epochs=1, normalization="article", model="article-simple"
        ),
        mnist,
        progress=False,
    )
    assert (result.mean, result.std) == (0.5, 0.5)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="amp='fp16' needs a CUDA device"):
            training.fit(
                small_config(epochs=1, amp="fp16", device="cpu"),
                mnist,
                progress=False,
            )


@pytest.mark.parametrize("smoothing", [0.1, 0.0])
def test_training_loss_uses_the_configured_label_smoothing(
    mnist: data.MNIST, smoothing: float
) -> None:
    """One step on one batch of 128 images: the epoch's training loss is the loss of the freshly
    initialised network (train mode, batch statistics) on those images, which the order of the
    batch does not change; computed here with F.cross_entropy(..., label_smoothing=...)."""
    config = TrainConfig(
        train_subset=128,
        n_val=100,
        channels_last=False,
        label_smoothing=smoothing,
    )
    result = training.fit(config, mnist, progress=False)
    train_idx, _ = data.train_val_split(60000, config.n_val, config.seed)
    images = mnist.train_images[train_idx[:128]]
    labels = mnist.train_labels[train_idx[:128]]
    x = (images.float().div(255).unsqueeze(1) - result.mean) / result.std
    model = training.build_model(config).train()  # the same seeded weights
    with torch.no_grad():
        expected = F.cross_entropy(model(x), labels, label_smoothing=smoothing)
    assert result.history[0].train_loss == pytest.approx(
        float(expected), rel=1e-5
    )


@pytest.fixture()
def devices(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Pretend this machine has ``cuda`` CUDA devices and MPS or not."""

    def set_devices(cuda: int, mps: bool) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)

    return set_devices


@pytest.mark.parametrize(
    "cuda, mps, expected",
    [
        (2, True, "cuda"),  # CUDA first, even with MPS
        (1, False, "cuda"),
        (0, True, "mps"),
        (0, False, "cpu"),
    ],
)
def test_resolve_device_auto_prefers_cuda_then_mps(
    devices, cuda: int, mps: bool, expected: str
) -> None:
    devices(cuda, mps)
    assert training.resolve_device("auto") == torch.device(expected)
    assert training.resolve_device() == torch.device(expected)


def test_resolve_device(devices) -> None:
    devices(1, False)
    assert training.resolve_device("cpu") == torch.device("cpu")
    assert training.resolve_device("cuda") == torch.device("cuda")
    assert training.resolve_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(
        ValueError, match=r"device='cuda:3': this machine has 1 CUDA device"
    ):
        training.resolve_device("cuda:3")
    with pytest.raises(ValueError, match=r"device='mps': MPS is not"):
        training.resolve_device("mps")
    with pytest.raises(ValueError, match="device='gpu': not a device name"):
        training.resolve_device("gpu")
    devices(0, True)
    assert training.resolve_device("mps") == torch.device("mps")
    with pytest.raises(
        ValueError, match=r"device='cuda': this machine has 0 CUDA device"
    ):
        training.resolve_device("cuda")


def test_cached_model_is_the_same_trained_or_loaded(
    tmp_path, monkeypatch
) -> None:
    """A chapter must print the same numbers whether the shared checkpoint existed or not."""
    monkeypatch.setenv("MNIST_CNN_CACHE", str(tmp_path))
    config = TrainConfig(train_subset=500)
    trained, mean, std, was_loaded = training.fit_or_load(config, "pre")
    loaded, mean2, std2, loaded_now = training.fit_or_load(config, "pre")
    assert (was_loaded, loaded_now) == (False, True)
    assert (mean, std) == (mean2, std2)
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(trained(x), loaded(x))
    # another recipe: trained again
    assert not training.fit_or_load(
        dataclasses.replace(config, seed=1), "pre"
    ).loaded
    (tmp_path / "other.pt").write_bytes(b"junk")
    # an unreadable file is replaced
    assert not training.fit_or_load(config, "other").loaded


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_schedules_change_the_learning_rate_only_and_span_the_run(
    schedule: str,
) -> None:
    """What the chapter "Training" states of the schedules: over a 3-epoch
    run the learning rate follows the formula of mnist_cnn.optim across
    epochs x steps (not one epoch's steps), and AdamW's betas stay at
    (0.9, 0.999) the whole run (OneCycleLR's default would cycle beta1)."""
    import math

    from mnist_cnn import optim

    config = TrainConfig(schedule=schedule, epochs=3)
    steps = 40  # per epoch
    probe = torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=0.01)
    sched, per_batch = training.make_scheduler(config, probe, steps)
    assert per_batch
    total = config.epochs * steps
    for step in range(total):
        lr = probe.param_groups[0]["lr"]
        if schedule == "onecycle":
            want = optim.one_cycle(step, total, max_lr=0.01, pct_start=0.25)
        else:  # half a cosine from the peak to 0 over the whole run
            want = 0.01 * (1 + math.cos(math.pi * step / total)) / 2
        assert lr == pytest.approx(want, rel=1e-9, abs=1e-12), step
        assert probe.param_groups[0]["betas"] == (0.9, 0.999), step
        probe.step()
        sched.step()


def test_validating_at_the_end_only_changes_nothing_but_the_curve(
    mnist: data.MNIST,
) -> None:
    # reference: the same run validated after every epoch; dropout and
    # augmentation on, so a validation pass that drew random numbers or
    # left the model in eval mode would change the weights
    every = small_config(
        epochs=3, augment=True, model="article", model_kwargs={"dropout": 0.5}
    )
    end = dataclasses.replace(every, validate_every_epoch=False)
    a = training.fit(every, mnist, progress=False)
    b = training.fit(end, mnist, progress=False)
    for p, q in zip(
        a.model.state_dict().values(), b.model.state_dict().values()
    ):
        assert torch.equal(p, q)  # bitwise
    assert [r.train_loss for r in a.history] == [
        r.train_loss for r in b.history
    ]
    assert (b.kept.val_loss, b.kept.val_acc) == (
        a.kept.val_loss,
        a.kept.val_acc,
    )
    assert all(math.isnan(r.val_loss) for r in b.history[:-1])
    assert not any(math.isnan(r.val_loss) for r in a.history)
    with pytest.raises(ValueError, match="patience needs validate_every"):
        dataclasses.replace(end, patience=2)


# --- option names to PyTorch objects: by table, pinned here ---------------


def test_the_rule_tables_cover_exactly_the_option_names() -> None:
    from mnist_cnn import config

    assert tuple(training.OPTIMIZER_RULES) == config.OPTIMIZERS
    assert tuple(training.SCHEDULE_RULES) == config.SCHEDULES


# reference: PyTorch's classes and the settings each name stands for
OPTIMIZER_REFERENCE = {
    "sgd": (torch.optim.SGD, {"momentum": 0, "nesterov": False}),
    "momentum": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    "adam": (torch.optim.Adam, {"decoupled_weight_decay": False}),
    "adamw": (torch.optim.AdamW, {}),
    "adadelta": (torch.optim.Adadelta, {}),
}


@pytest.mark.parametrize("name", list(OPTIMIZER_REFERENCE))
def test_each_optimizer_name_builds_its_class_with_its_settings(
    name: str,
) -> None:
    cls, settings = OPTIMIZER_REFERENCE[name]
    cfg = TrainConfig(optimizer=name, lr=0.037, weight_decay=0.003)
    opt = training._optimizer(cfg, [nn.Parameter(torch.zeros(2))])
    assert type(opt) is cls, (name, type(opt))
    group = opt.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (0.037, 0.003)
    for key, value in settings.items():
        assert group[key] == value, (name, key)


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_whole_run_schedules_span_every_step_of_a_multi_epoch_run(
    schedule: str,
) -> None:
    """Reference: the rates the run's steps use. Over a 3-epoch run they
    rise (one-cycle) to the peak, then only fall, and the last step uses a
    rate near 0: a schedule fitted to one epoch would have ended (one-cycle
    raises) or turned back up (cosine) long before."""
    epochs, steps = 3, 7
    cfg = TrainConfig(schedule=schedule, epochs=epochs, lr=0.1)
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    sched, per_batch = training.make_scheduler(cfg, opt, steps)
    assert per_batch
    rates = []
    for _ in range(epochs * steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    peak = rates.index(max(rates))
    assert max(rates) == pytest.approx(0.1, rel=0.01)
    assert all(a >= b for a, b in zip(rates[peak:], rates[peak + 1 :]))
    assert rates[-1] < 0.01 * 0.1, rates


def test_the_step_schedule_steps_per_epoch() -> None:
    cfg = TrainConfig(schedule="step", step_gamma=0.5)
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    sched, per_batch = training.make_scheduler(cfg, opt, 100)
    assert not per_batch and sched.gamma == 0.5
    constant = TrainConfig(schedule="constant")
    assert training.make_scheduler(constant, opt, 100) == (None, False)


@pytest.mark.parametrize("total", [1, 3, 4, 5, 8])
def test_one_cycle_runs_however_short_the_run(total: int) -> None:
    """A 4-step run (512 images in batches of 128) once crashed inside
    OneCycleLR with a ZeroDivisionError."""
    cfg = TrainConfig(schedule="onecycle", lr=0.1)
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    sched, _ = training.make_scheduler(cfg, opt, total)
    for _ in range(total):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] < 0.1
