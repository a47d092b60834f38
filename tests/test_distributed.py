"""Data-parallel training with torchrun (gloo on loopback, 2 CPU processes) against one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mnist_cnn import checkpoints, data, training
from mnist_cnn.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = [
    sys.executable,
    "-m",
    "torch.distributed.run",
    "--standalone",
    "--nnodes=1",
    "--nproc_per_node=2",
]
SMALL = {"train_subset": 4096, "epochs": 2, "threads": 1}


def torchrun_env() -> dict[str, str]:
    return os.environ | {
        "GLOO_SOCKET_IFNAME": "lo",
        "OMP_NUM_THREADS": "1",
        # src first; keep tests/offline (the network block) that conftest.py put there
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p
        ),
    }


@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
@pytest.mark.parametrize(
    "n, batch", [(1000, 128), (1024, 128), (130, 64), (7, 4)]
)
def test_shards_are_disjoint_and_cover_every_batch(
    world_size: int, n: int, batch: int
) -> None:
    batch = batch - batch % world_size or world_size
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    for drop_last in (False, True):
        single = list(data.batch_indices(order, batch, drop_last))
        shards = [
            list(data.batch_indices(order, batch, drop_last, rank, world_size))
            for rank in range(world_size)
        ]
        assert len({len(s) for s in shards}) == 1, (
            "every process must take the same number of steps"
        )
        for step, parts in enumerate(zip(*shards)):
            together = torch.cat(parts)
            assert together.unique().numel() == together.numel()  # disjoint
            expected = single[step]
            kept = expected.numel() - expected.numel() % world_size
            assert sorted(together.tolist()) == sorted(
                expected[:kept].tolist()
            )  # cover the global batch
            assert {p.numel() for p in parts} == {kept // world_size}


def test_batch_indices_rejects_a_batch_that_does_not_split() -> None:
    with pytest.raises(
        ValueError,
        match="batch_size=10: must be a multiple of the number of processes \\(4\\)",
    ):
        list(data.batch_indices(torch.arange(100), 10, rank=0, world_size=4))
    with pytest.raises(ValueError, match="need 0 <= rank < world_size"):
        list(data.batch_indices(torch.arange(100), 10, rank=2, world_size=2))


@pytest.mark.slow  # starts torchrun (about 10 s); make test-slow and CI run it
def test_torchrun_two_processes_match_one(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    run = subprocess.run(
        [
            *TORCHRUN,
            str(ROOT / "tests" / "ddp_worker.py"),
            json.dumps(SMALL),
            str(report_path),
        ],
        env=torchrun_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert report["world_size"] == 2
    assert (
        report["steps"][0]
        == report["steps"][1]
        == 2 * (SMALL["train_subset"] // 128)
    )
    for step, (a, b) in enumerate(report["batches"]):
        assert not set(a) & set(b), (
            f"step {step}: the two processes shared images"
        )
        assert len(a) == len(b) == 64
    # each epoch, the shards together are the whole training subset, every image once
    per_epoch = len(report["batches"]) // 2
    for epoch in range(2):
        images = [
            i
            for pair in report["batches"][
                epoch * per_epoch : (epoch + 1) * per_epoch
            ]
            for part in pair
            for i in part
        ]
        assert sorted(images) == list(range(SMALL["train_subset"]))
    assert report["max_weight_difference"] == 0.0, (
        "DDP processes ended with different weights"
    )
    # one process with the same global batch (128): batch norm sees 64 images per process under
    # DDP and 128 alone, so the runs differ slightly; they must agree within 1 point
    single = training.fit(TrainConfig(**SMALL), progress=False)
    assert (
        abs(report["record"]["val_acc"] - single.history[-1].val_acc) <= 0.01
    )


@pytest.mark.slow
def test_cli_train_under_torchrun_talks_and_writes_once(
    tmp_path: Path,
) -> None:
    out = tmp_path / "ddp.pt"
    run = subprocess.run(
        [
            *TORCHRUN,
            "-m",
            "mnist_cnn",
            "train",
            "--epochs",
            "1",
            "--train-subset",
            "4096",
            "--threads",
            "1",
            "--quiet",
            "--out",
            str(out),
        ],
        env=torchrun_env(),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert (
        run.stdout.count("checkpoint: ") == 1
        and run.stdout.count("training book") == 1
    )
    assert "2 processes" in run.stdout
    ckpt = checkpoints.load_checkpoint(out)
    assert ckpt.config.train_subset == 4096 and ckpt.metrics["test_acc"] > 0.9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp.pt"]
