"""mnist_cnn.parallel: runs trained side by side are the runs trained alone.

Reference: training.fit of the same configs, one after the other in this
process with one thread (what each worker does); dropout and augmentation
on, so the workers' random generators are checked too."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from mnist_cnn import parallel, training
from mnist_cnn.config import TrainConfig

SMALL = TrainConfig(
    model="article",
    model_kwargs={"dropout": 0.5},
    augment=True,
    optimizer="adam",
    lr=1e-3,
    schedule="constant",
    batch_size=100,
    epochs=2,
    train_subset=500,
    n_val=500,
)


def test_side_by_side_equals_one_at_a_time(mnist) -> None:
    configs = [dataclasses.replace(SMALL, seed=s) for s in (0, 1, 2)]
    together = parallel.fit_many(configs, mnist, workers=2)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        alone = [training.fit(c, mnist, progress=False) for c in configs]
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(alone, together):
        assert b.config == a.config  # in the order given
        assert [r.val_loss for r in b.history] == [
            r.val_loss for r in a.history
        ]
        for (name, p), q in zip(
            a.model.state_dict().items(), b.model.state_dict().values()
        ):
            assert torch.equal(p, q), name  # bitwise


def test_one_worker_runs_here(mnist) -> None:
    (r,) = parallel.fit_many([SMALL], mnist, workers=1)
    assert r.config == SMALL and len(r.history) == 2


def test_workers_default_to_cores_and_runs() -> None:
    configs = [SMALL] * 5
    assert 1 <= parallel.default_workers(configs) <= 5
    assert parallel.default_workers(configs[:1]) == 1
    with pytest.raises(ValueError, match="workers=0"):
        parallel.fit_many(configs, None, workers=0)  # type: ignore[arg-type]


def test_fit_seeds_groups_the_runs_by_setting_in_seed_order(mnist) -> None:
    settings = {"a": SMALL, "b": dataclasses.replace(SMALL, lr=3e-3)}
    grouped = parallel.fit_seeds(settings, (2, 0), mnist, workers=1)
    assert list(grouped) == ["a", "b"]
    for label, runs in grouped.items():
        want = [dataclasses.replace(settings[label], seed=s) for s in (2, 0)]
        assert [r.config for r in runs] == want


def _row_sums(images: torch.Tensor, task: tuple[int, int]) -> torch.Tensor:
    start, stop = task  # a worker reads the shared images, gets 2 ints
    torch.manual_seed(start)  # a worker's generator, as a run's
    return images[start:stop].float().sum(1) + torch.rand(1)


def test_map_shared_gives_every_call_in_order(mnist) -> None:
    images = mnist.train_images[:100].flatten(1)  # (100, 784)
    tasks = [(i, i + 10) for i in range(0, 100, 10)]
    here = [_row_sums(images, t) for t in tasks]
    together = parallel.map_shared(_row_sums, tasks, images, workers=2)
    assert len(together) == len(tasks)
    for a, b in zip(here, together):
        assert torch.equal(a, b)
    assert parallel.map_shared(_row_sums, [], images) == []
    with pytest.raises(ValueError, match="workers=0"):
        parallel.map_shared(_row_sums, tasks, images, workers=0)
