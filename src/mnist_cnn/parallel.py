"""Several training runs at once: one process per CPU core.

Used by the chapters that compare settings over many seeds ("Training",
"Overfitting"). A small network at batch 100 keeps two cores only partly
busy, so two runs side by side, one thread each, can finish sooner than the
same two runs one after the other with two threads each (how much depends
on the network and the CPU; time both on yours). Each run is exactly
:func:`mnist_cnn.training.fit` with one thread, so its weights are bitwise
those of the same run started alone with ``torch.set_num_threads(1)``
(``tests/test_parallel.py`` checks it). On a GPU, or with one core, the runs
go one after the other in this process.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import torch
import torch.multiprocessing as mp

from mnist_cnn import data, training
from mnist_cnn.config import TrainConfig

__all__ = ["fit_many", "fit_seeds", "default_workers"]

_MNIST: data.MNIST | None = None  # a worker's copy of the images


def default_workers(configs: Sequence[TrainConfig]) -> int:
    """One process per core the runs can use: 1 where they would run on a
    GPU (it is faster alone), else the smaller of the cores and the runs."""
    if any(training.resolve_device(c.device).type != "cpu" for c in configs):
        return 1
    cores = (
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count() or 1
    )
    return max(1, min(cores, len(configs)))


def _start(mnist: data.MNIST) -> None:
    global _MNIST
    torch.set_num_threads(1)
    _MNIST = mnist


def _fit(config: TrainConfig) -> training.FitResult:
    return training.fit(config, _MNIST, progress=False)


def fit_many(
    configs: Sequence[TrainConfig],
    mnist: data.MNIST,
    workers: int | None = None,
) -> list[training.FitResult]:
    """:func:`mnist_cnn.training.fit` for every config, in that order,
    ``workers`` at a time (default :func:`default_workers`), each with one
    thread. With one worker they run here, one after the other, with the
    threads this process has."""
    configs = list(configs)
    workers = default_workers(configs) if workers is None else workers
    if workers < 1:
        raise ValueError(f"fit_many: workers={workers}; give 1 or more.")
    if workers == 1:
        return [training.fit(c, mnist, progress=False) for c in configs]
    # fork where there is one (Linux): the workers start at once, sharing
    # the images, and a script needs no `if __name__ == "__main__"` guard;
    # elsewhere spawn (macOS, Windows), the images sent once per worker
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    context = mp.get_context(method)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start, initargs=(mnist,)
    ) as pool:
        return list(pool.map(_fit, configs))


def fit_seeds(
    settings: dict[Any, TrainConfig],
    seeds: Sequence[int],
    mnist: data.MNIST,
    workers: int | None = None,
) -> dict[Any, list[training.FitResult]]:
    """Every setting trained with every seed (the config with ``seed``
    replaced), side by side as :func:`fit_many` does: label -> one run per
    seed, in the order of ``seeds``."""
    configs = [
        dataclasses.replace(config, seed=seed)
        for config in settings.values()
        for seed in seeds
    ]
    done = iter(fit_many(configs, mnist, workers))
    return {label: [next(done) for _ in seeds] for label in settings}
