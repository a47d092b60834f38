"""Run by tests/test_distributed.py under ``torchrun --nproc_per_node=2``: train with
DistributedDataParallel and report, from rank 0, what each process trained on and with.

Records the image indices each process gathers (by wrapping ``mnist_cnn.data.make_batch``,
which ``fit`` calls for every training batch), then compares the final weights of all processes.
"""

from __future__ import annotations

import json
import sys

import torch
import torch.distributed as dist

from mnist_cnn import data, training
from mnist_cnn.config import TrainConfig

config = TrainConfig(**json.loads(sys.argv[1]))
seen: list[list[int]] = []
make_batch = data.make_batch


def recording_make_batch(images, labels, idx, *args, **kwargs):  # type: ignore[no-untyped-def]
    if (
        images.shape[0] == config.train_subset
    ):  # training batches, not the 5,000 validation images
        seen.append(idx.tolist())
    return make_batch(images, labels, idx, *args, **kwargs)


data.make_batch = recording_make_batch
result = training.fit(config, progress=False)
weights = torch.cat(
    [v.flatten().float() for v in result.model.state_dict().values()]
)
everything: list[object] = [None] * dist.get_world_size()
dist.all_gather_object(
    everything,
    {"seen": seen, "weights": weights, "record": result.history[-1].__dict__},
)
if dist.get_rank() == 0:
    ranks = [dict(r) for r in everything]  # type: ignore[arg-type]
    first = ranks[0]["weights"]
    report = {
        "world_size": dist.get_world_size(),
        "steps": [len(r["seen"]) for r in ranks],
        "batches": [
            [r["seen"][s] for r in ranks] for s in range(len(ranks[0]["seen"]))
        ],  # step -> rank -> indices
        "max_weight_difference": max(
            float((r["weights"] - first).abs().max()) for r in ranks
        ),
        "record": ranks[0]["record"],
    }
    with open(sys.argv[2], "w") as f:
        json.dump(report, f)
dist.destroy_process_group()
