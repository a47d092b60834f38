"""Benchmarks whose figures the book quotes; run ``python -m mnist_cnn bench
data|conv|train|gpu``.

The chapter "Data" measures the same two pipelines in its own run and glues the
figures. Absolute images/s depend on the machine; compare the two paths in one
run, as a ratio.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mnist_cnn import data, ops
from mnist_cnn.config import TrainConfig

__all__ = [
    "images_per_second",
    "DataThroughput",
    "data_throughput",
    "conv_timings",
    "cpu_has_bf16",
    "step_seconds",
    "RECIPES",
    "RecipeResult",
    "train_recipe",
    "GpuResult",
    "gpu_benchmark",
    "report_data",
    "report_conv",
    "report_train",
    "report_gpu",
]


def images_per_second(
    make_batches: Callable[[], Iterable[tuple[torch.Tensor, torch.Tensor]]],
    n_images: int,
) -> float:
    """Images/s of iterating ``make_batches()`` until ``n_images`` images have
    been produced.

    The clock starts before the iterator is created (a DataLoader pays for its
    set-up there) and each batch's tensor is touched, so lazy work is counted.
    """
    if n_images < 1:
        raise ValueError(f"n_images={n_images}: must be positive.")
    seen = 0
    start = time.perf_counter()
    while seen < n_images:
        for x, _ in make_batches():
            seen += x.shape[0]
            if seen >= n_images:
                break
    return seen / (time.perf_counter() - start)


@dataclass(frozen=True)
class DataThroughput:
    torchvision_ips: (
        float  # images/s of the article's torchvision MNIST + DataLoader path
    )
    tensor_ips: (
        float  # images/s of data.iterate_batches over a preloaded uint8 tensor
    )
    batch_size: int

    @property
    def ratio(self) -> float:
        return self.tensor_ips / self.torchvision_ips


def data_throughput(
    batch_size: int = 64,
    torchvision_images: int = 6400,
    tensor_images: int = 120_000,
    seed: int = 0,
) -> DataThroughput:
    """Measure both data paths on the training split with the same batch size
    and normalisation."""
    mnist = data.load_mnist()
    mean, std = data.compute_mean_std(mnist.train_images)
    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as root:
        data.prepare_torchvision_root(root)
        loader = data.article_loader(
            root, train=True, batch_size=batch_size, mean=mean, std=std
        )
        torchvision_ips = images_per_second(lambda: loader, torchvision_images)
    generator = torch.Generator().manual_seed(seed)
    tensor_ips = images_per_second(
        lambda: data.iterate_batches(
            mnist.train_images,
            mnist.train_labels,
            batch_size,
            mean,
            std,
            generator=generator,
        ),
        tensor_images,
    )
    return DataThroughput(torchvision_ips, tensor_ips, batch_size)


def conv_timings(
    batch: int = 8,
    c_in: int = 1,
    c_out: int = 8,
    size: int = 28,
    k: int = 3,
    repeats: int = 5,
    seed: int = 0,
) -> dict[str, float]:
    """Median seconds per call of the loop, im2col and ``F.conv2d``
    convolutions on one input."""
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, c_in, size, size, generator=g)  # (N, C_in, H, W)
    weight = torch.randn(c_out, c_in, k, k, generator=g)  # (C_out, C_in, k, k)
    variants = {
        "loop (conv2d_loop)": ops.conv2d_loop,
        "im2col (conv2d)": ops.conv2d,
        "torch F.conv2d": F.conv2d,
    }
    result = {}
    with torch.no_grad():
        for name, fn in variants.items():
            fn(x, weight)  # warm-up
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                fn(x, weight)
                times.append(time.perf_counter() - start)
            result[name] = sorted(times)[len(times) // 2]
    return result


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU has bfloat16 arithmetic (x86 AVX-512 BF16 or AMX-BF16,
    Arm BF16), read from ``/proc/cpuinfo`` (False where that file does not
    exist)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            flags.update(value.split())
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


def step_seconds(
    model: torch.nn.Module,
    make_batches: Callable[[], Iterable[tuple[torch.Tensor, torch.Tensor]]],
    steps: int = 30,
    warmup: int = 3,
) -> float:
    """Median seconds of one training step (zero_grad, forward, loss, backward,
    AdamW step), data loading included, over ``steps`` steps after ``warmup``.
    """
    import torch.nn.functional as F

    from mnist_cnn.training import train_one_epoch

    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    times: list[float] = []
    start = time.perf_counter()

    def timed(*_: torch.Tensor) -> None:  # after each step
        nonlocal start, warmup
        now = time.perf_counter()
        if warmup > 0:
            warmup -= 1
        else:
            times.append(now - start)
        start = time.perf_counter()

    def batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        while len(times) < steps:  # as many passes as it takes
            for batch in make_batches():
                yield batch
                if len(times) >= steps:
                    return

    train_one_epoch(model, batches(), optimizer, F.cross_entropy, timed)
    return sorted(times)[len(times) // 2]


def _recipes() -> dict[str, TrainConfig]:
    return {
        # the book's fast recipe: TrainConfig's defaults
        "book": TrainConfig(),
        # the article's section 5.2: its model (fixed), SGD lr 0.01, batch 64,
        # Normalize(0.5, 0.5), 10 epochs
        "article-5.2": TrainConfig(
            model="article-simple",
            optimizer="sgd",
            lr=0.01,
            schedule="constant",
            batch_size=64,
            epochs=10,
            weight_decay=0.0,
            label_smoothing=0.0,  # nn.CrossEntropyLoss()
            normalization="article",
            channels_last=False,
        ),
        # pytorch/examples mnist/main.py: its Net, Adadelta lr 1.0, StepLR
        # gamma 0.7, batch 64, 14 epochs, F.nll_loss of log_softmax (plain
        # cross-entropy). Not theirs: 55,000 of the 60,000 images (5,000 held
        # out), the mean/std measured on them (theirs: 0.1307/0.3081, on all
        # 60,000) and the book's tensor pipeline instead of a DataLoader
        "pytorch/examples": TrainConfig(
            model="examples",
            optimizer="adadelta",
            lr=1.0,
            schedule="step",
            step_gamma=0.7,
            batch_size=64,
            epochs=14,
            weight_decay=0.0,
            label_smoothing=0.0,
            channels_last=False,
        ),
        # on a CUDA GPU (python -m mnist_cnn bench gpu): the book's network,
        # bigger batches, bf16
        "gpu": TrainConfig(
            batch_size=512, lr=0.02, epochs=2, amp="bf16", device="cuda"
        ),
    }


#: The training recipes the benchmark compares, by name (see ``_recipes``).
RECIPES: dict[str, TrainConfig] = _recipes()


@dataclass(frozen=True)
class RecipeResult:
    name: str
    epochs: int  # epochs trained
    train_seconds: float  # training only, evaluation excluded
    test_acc: float  # after the last epoch trained
    # training seconds until the test accuracy first reached the target
    seconds_to_target: float | None


def train_recipe(
    name: str,
    target: float = 0.99,
    max_epochs: int | None = None,
    progress: bool = False,
) -> RecipeResult:
    """Train recipe ``name`` of :data:`RECIPES`, testing after every epoch;
    stop once the test accuracy reaches ``target`` or after ``max_epochs``
    (default: the recipe's own epochs)."""
    import dataclasses

    from mnist_cnn import training

    config = RECIPES[name]
    if max_epochs is not None:
        config = dataclasses.replace(
            config, epochs=min(config.epochs, max_epochs)
        )
    mnist = data.load_mnist()
    elapsed, reached, last_acc = 0.0, None, 0.0
    state: dict[str, float] = {}

    def after_epoch(record: Any, model: torch.nn.Module) -> bool:
        nonlocal elapsed, reached, last_acc
        elapsed += record.seconds
        _, last_acc = training.evaluate(
            model,
            mnist.test_images,
            mnist.test_labels,
            state["mean"],
            state["std"],
        )
        print(
            f"  {name}: epoch {record.epoch}, {elapsed:7.1f} s of training, "
            f"test accuracy {last_acc:.4f}",
            flush=True,
        )
        if reached is None and last_acc >= target:
            reached = elapsed
        return reached is not None

    # what fit will use
    state["mean"], state["std"] = training.normalization_constants(
        config, mnist
    )
    result = training.fit(
        config, mnist, progress=progress, on_epoch_end=after_epoch
    )
    return RecipeResult(
        name, len(result.history), result.train_seconds, last_acc, reached
    )


@dataclass(frozen=True)
class GpuResult:
    device: str
    # per repeat: training seconds until the test accuracy reached the target
    seconds_to_target: list[float | None]
    images_per_second: list[float]  # per repeat: training images per second
    test_acc: list[float]  # per repeat, after the last epoch trained


def gpu_benchmark(target: float = 0.99, repeats: int = 3) -> GpuResult | None:
    """Seconds to ``target`` test accuracy with the "gpu" recipe on CUDA,
    ``repeats`` times after one warm-up run (CUDA start-up and cuDNN's kernel
    search are not counted); None without CUDA.

    The data lives on the GPU as uint8, batches are gathered and normalised
    there, the loss is never copied to the host inside an epoch, and the test
    set is evaluated after each epoch (its time is not counted, as in ``bench
    train``).
    """
    import dataclasses

    from mnist_cnn import training

    if not torch.cuda.is_available():
        return None
    config = RECIPES["gpu"]
    mnist = data.load_mnist()
    # warm-up
    training.fit(
        dataclasses.replace(config, epochs=1, train_subset=8192),
        mnist,
        progress=False,
    )
    images_per_epoch = (
        (mnist.train_images.shape[0] - config.n_val)
        // config.batch_size
        * config.batch_size
    )
    runs = [train_recipe("gpu", target) for _ in range(repeats)]
    return GpuResult(
        torch.cuda.get_device_name(),
        [r.seconds_to_target for r in runs],
        [r.epochs * images_per_epoch / r.train_seconds for r in runs],
        [r.test_acc for r in runs],
    )


def report_train(
    recipes: list[str], target: float = 0.99, max_epochs: int | None = None
) -> int:
    """``bench train``: seconds to ``target`` test accuracy of each recipe,
    printed as a table."""
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"target {target:.1%} test accuracy"
    )
    results = [train_recipe(name, target, max_epochs) for name in recipes]
    base = results[0].seconds_to_target
    print(
        f"{'recipe':18s} {'epochs':>6s} {'train s':>8s} {'test acc':>9s} "
        f"{'s to target':>12s} {'vs first':>9s}"
    )
    for r in results:
        t = r.seconds_to_target
        to_target = f"{t:12.1f}" if t is not None else f"{'not reached':>12s}"
        ratio = f"{t / base:8.1f}x" if t is not None and base else f"{'-':>9s}"
        print(
            f"{r.name:18s} {r.epochs:6d} {r.train_seconds:8.1f} "
            f"{r.test_acc:9.4f} {to_target} {ratio}"
        )
    return 0


def report_gpu(target: float = 0.99, repeats: int = 3) -> int:
    """``bench gpu``: seconds to ``target`` and training images/s on a CUDA GPU."""
    if not torch.cuda.is_available():
        print(
            "bench gpu: no CUDA device here (torch.cuda.is_available() is "
            "False), so nothing to "
            "measure. Run it on a machine with an NVIDIA GPU and a CUDA "
            "build of PyTorch; "
            "`bench train` measures the CPU."
        )
        return 0
    config = RECIPES["gpu"]
    print(
        f"torch {torch.__version__}, CUDA {torch.version.cuda}, "
        f"{torch.cuda.get_device_name()}; "
        f"recipe: batch {config.batch_size}, lr {config.lr}, amp "
        f"{config.amp}, "
        f"up to {config.epochs} epochs; target {target:.1%}"
    )
    gpu = gpu_benchmark(target, repeats)
    assert gpu is not None
    runs = zip(gpu.seconds_to_target, gpu.images_per_second, gpu.test_acc)
    for i, (t, ips, acc) in enumerate(runs, start=1):
        reached = (
            f"{t:.3f} s to target" if t is not None else "target not reached"
        )
        print(
            f"run {i}: {reached}, {ips:,.0f} training images/s, test "
            f"accuracy {acc:.4f}"
        )
    times = sorted(t for t in gpu.seconds_to_target if t is not None)
    if times:
        print(
            f"median seconds to {target:.1%}: {times[len(times) // 2]:.3f} s "
            "(goal <= 0.5 s on an H200-class GPU)"
        )
    return 0


def report_conv(batch: int = 8) -> int:
    """``bench conv``: seconds per call of the three convolutions."""
    timings = conv_timings(batch=batch)
    fastest = min(timings.values())
    print(
        f"batch {batch} x 1 x 28 x 28, 8 filters 3x3, torch "
        f"{torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    for name, seconds in timings.items():
        print(
            f"{name:20s} {seconds * 1e3:10.3f} ms  "
            f"({seconds / fastest:8.1f}x the fastest)"
        )
    return 0


def report_data(
    batch_size: int = 64,
    torchvision_images: int = 6400,
    tensor_images: int = 120_000,
) -> int:
    """``bench data``: images/s of the article's pipeline and of the book's."""
    result = data_throughput(batch_size, torchvision_images, tensor_images)
    print(
        f"batch size {result.batch_size}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(
        f"torchvision MNIST + DataLoader : {result.torchvision_ips:12,.0f} "
        "images/s"
    )
    print(
        f"uint8 tensor + iterate_batches : {result.tensor_ips:12,.0f} images/s"
    )
    print(
        f"ratio                          : {result.ratio:12.1f}x (goal >= 30x)"
    )
    return 0
