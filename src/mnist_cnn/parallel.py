"""Several training runs at once: one process per CPU core.

Used by the chapters that compare settings over many seeds ("Training",
"Overfitting", "Fine-tuning"). A small network at batch 100 keeps two cores
only partly busy, so two runs side by side, one thread each, can finish
sooner than the same two runs one after the other with two threads each
(how much depends on the network and the CPU; time both on yours). Each run is exactly
:func:`mnist_cnn.training.fit` with one thread, so its weights are bitwise
those of the same run started alone with ``torch.set_num_threads(1)``
(``tests/test_parallel.py`` checks it). On a GPU, or with one core, the runs
go one after the other in this process.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import torch
import torch.multiprocessing as mp

from mnist_cnn import data, training
from mnist_cnn.config import TrainConfig

__all__ = ["map_shared", "fit_many", "fit_seeds", "default_workers"]

_SHARED: Any = None  # a worker's copy of what the calls share


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_workers(configs: Sequence[TrainConfig]) -> int:
    """One process per core the runs can use: 1 where they would run on a
    GPU (it is faster alone), else the smaller of the cores and the runs."""
    if any(training.resolve_device(c.device).type != "cpu" for c in configs):
        return 1
    return max(1, min(_cores(), len(configs)))


def _start(shared: Any) -> None:
    global _SHARED
    torch.set_num_threads(1)
    _SHARED = shared


def _call(fn: Callable[[Any, Any], Any], task: Any) -> Any:
    return fn(_SHARED, task)


def map_shared(
    fn: Callable[[Any, Any], Any],
    tasks: Sequence[Any],
    shared: Any,  # what every call shares (images, a pretrained network)
    workers: int | None = None,
) -> list[Any]:
    """``[fn(shared, task) for task in tasks]``, ``workers`` processes at a
    time (default: one per core, at most one per task), each with one
    thread. ``shared`` reaches each worker once, when it starts (on Linux
    without a copy: the workers are forked), so large tensors can go there
    and each task stays small. ``fn`` must be a module-level function (it is
    sent to the workers by name). With one worker the calls run here, one
    after the other, with the threads this process has."""
    tasks = list(tasks)
    if workers is None:
        workers = max(1, min(_cores(), len(tasks)))
    if workers < 1:
        raise ValueError(f"map_shared: workers={workers}; give 1 or more.")
    if workers == 1:
        return [fn(shared, task) for task in tasks]
    # fork where there is one (Linux): the workers start at once, sharing
    # `shared`, and a script needs no `if __name__ == "__main__"` guard;
    # elsewhere spawn (macOS, Windows), `shared` sent once per worker
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    context = mp.get_context(method)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start, initargs=(shared,)
    ) as pool:
        return list(pool.map(_call, [fn] * len(tasks), tasks))


def _fit(mnist: data.MNIST, config: TrainConfig) -> training.FitResult:
    return training.fit(config, mnist, progress=False)


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
    return map_shared(_fit, configs, mnist, workers)  # refuses workers < 1


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
