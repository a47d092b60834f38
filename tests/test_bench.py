"""mnist_cnn.bench: the images/s arithmetic, checked against a fake clock (no timing in tests)."""

from __future__ import annotations

import pytest
import torch

from mnist_cnn import bench


def test_images_per_second_counts_images_over_elapsed_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ticks = iter([10.0, 12.5])  # start, stop: 2.5 s
    monkeypatch.setattr(bench.time, "perf_counter", lambda: next(ticks))
    calls = []

    def make_batches():
        calls.append(1)
        return [
            (torch.zeros(16, 1, 28, 28), torch.zeros(16))
        ] * 3  # 48 images per "epoch"

    ips = bench.images_per_second(make_batches, 100)
    # 100 images need 7 batches of 16 = 112 images, over 3 epochs of the iterable
    assert ips == pytest.approx(112 / 2.5) and len(calls) == 3


def test_images_per_second_rejects_nonpositive_counts() -> None:
    with pytest.raises(ValueError, match="n_images=0"):
        bench.images_per_second(lambda: [], 0)


def test_ratio_is_tensor_over_torchvision() -> None:
    assert (
        bench.DataThroughput(
            torchvision_ips=2_000.0, tensor_ips=90_000.0, batch_size=64
        ).ratio
        == 45.0
    )


def test_cpu_has_bf16_reads_the_cpu_flags() -> None:
    from mnist_cnn.bench import cpu_has_bf16

    assert (
        cpu_has_bf16(
            "processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 amx_tile\n"
        )
        is True
    )
    assert (
        cpu_has_bf16("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n")
        is False
    )
    assert (
        cpu_has_bf16("processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n")
        is True
    )  # Arm
    assert cpu_has_bf16("") is False


def test_bench_gpu_without_cuda_says_so_and_exits_cleanly(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from mnist_cnn import bench

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert bench.gpu_benchmark() is None
    assert bench.report_gpu() == 0
    out = capsys.readouterr().out
    assert "no CUDA device here" in out and "bench train" in out


@pytest.mark.slow  # two epochs at batch 512: 15 s
def test_gpu_recipe_reaches_99_percent_when_run_on_the_cpu() -> None:
    """The GPU recipe's quality does not depend on the GPU: with bf16 autocast on the CPU it reaches
    99 % test accuracy within its epochs (the GPU benchmark measures only how fast)."""
    import dataclasses

    from mnist_cnn import bench, data, training

    mnist = data.load_mnist()
    config = dataclasses.replace(bench.RECIPES["gpu"], device="cpu")
    result = training.fit(config, mnist, progress=False)
    _, acc = training.evaluate(
        result.model,
        mnist.test_images,
        mnist.test_labels,
        result.mean,
        result.std,
    )
    assert acc >= 0.99


@pytest.mark.slow
def test_gpu_benchmark_logic_runs_on_a_stand_in_device(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The timed part of `bench gpu`, with the CPU standing in for CUDA and a small recipe."""
    import dataclasses

    import torch

    from mnist_cnn import bench

    answers = iter(
        [True]
    )  # "yes" to gpu_benchmark's own check only; torch's internal checks see the truth
    monkeypatch.setattr(
        torch.cuda, "is_available", lambda: next(answers, False)
    )
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "stand-in")
    small = dataclasses.replace(
        bench.RECIPES["gpu"],
        device="cpu",
        amp="off",
        train_subset=4096,
        epochs=1,
    )
    monkeypatch.setitem(bench.RECIPES, "gpu", small)
    result = bench.gpu_benchmark(target=0.5, repeats=2)
    assert result is not None and result.device == "stand-in"
    assert len(result.seconds_to_target) == 2 and all(
        t is not None and t > 0 for t in result.seconds_to_target
    )
    assert all(0.5 <= acc <= 1 for acc in result.test_acc) and all(
        ips > 0 for ips in result.images_per_second
    )


def test_recipes_named_after_other_code_use_their_loss_and_optimizer() -> None:
    """The article's 5.2 code and pytorch/examples' main.py train with plain
    cross-entropy (nn.CrossEntropyLoss(); F.nll_loss of log_softmax): no
    label smoothing, no weight decay, their optimizers, batch 64."""
    article = bench.RECIPES["article-5.2"]
    examples = bench.RECIPES["pytorch/examples"]
    for recipe in (article, examples):
        assert recipe.label_smoothing == 0.0 and recipe.weight_decay == 0.0
        assert recipe.batch_size == 64 and not recipe.augment
    assert (article.optimizer, article.lr, article.schedule) == (
        "sgd",
        0.01,
        "constant",
    )
    assert (examples.optimizer, examples.lr, examples.schedule) == (
        "adadelta",
        1.0,
        "step",
    )
    assert (examples.step_gamma, examples.epochs) == (0.7, 14)
