"""Execute chapter notebooks in place, top to bottom, and record how long each took and on what.

    python tools/run_notebooks.py book/training.ipynb ...   (make notebooks runs every chapter)

Each notebook runs in a fresh kernel whose working directory is the repository root, not
``book/`` (nbval runs them from ``book/``: between the two, a path that only works from one
folder fails). The run is stored in the notebook's metadata under ``mnist_cnn.run`` —
seconds, date, CPU model, cores, threads, device, torch and Python versions — and the book shows
it on the chapter (``{run-time}``) and on the page "Run times" (``{run-times}``), so no run time
is ever typed by hand. The chapters are executed in the order of ``_toc.yml``: the chapter
"Training" writes the network that "Evaluation" reads from the checkpoint cache.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
import torch
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, object]:
    cuda = torch.cuda.is_available()
    return {
        "cpu": cpu_model(),
        "cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "threads": torch.get_num_threads(),
        "isa": torch.backends.cpu.get_cpu_capability(),
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def toc_order() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [
        Path(c["file"]).name for part in toc["parts"] for c in part["chapters"]
    ]


class NotebookFailed(Exception):
    """A cell raised; the message names the notebook, the cell and the error."""


def failure(nb_path: Path, nb: nbformat.NotebookNode, error: Exception) -> str:
    """Which cell failed, its first line and the error, in three lines."""
    for i, cell in enumerate(nb.cells):
        errors = [
            o for o in cell.get("outputs", []) if o.output_type == "error"
        ]
        if errors:
            first = (cell.source.strip().splitlines() or [""])[0][:70]
            err = errors[0]
            return (
                f"{nb_path}: cell {i} failed ({first!r})\n"
                f"  {err.ename}: {err.evalue}\n"
                f"  the notebook on disk is unchanged; fix it and run "
                f"`make notebooks NB={nb_path}`"
            )
    return f"{nb_path}: {error}"


def run(nb_path: Path) -> float:
    nb = nbformat.read(nb_path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        raise NotebookFailed(failure(nb_path, nb, error)) from None
    seconds = time.perf_counter() - start
    nb.metadata.setdefault("mnist_cnn", {})["run"] = {
        "seconds": round(seconds, 1),
        "date": datetime.date.today().isoformat(),
        **machine(),
    }
    nbformat.write(nb, nb_path)
    return seconds


def main(argv: list[str]) -> int:
    order = toc_order()
    notebooks = sorted(
        (Path(a) for a in argv),
        key=lambda p: order.index(p.stem) if p.stem in order else len(order),
    )
    for nb_path in notebooks:
        if nb_path.resolve().parent != ROOT / "book":
            print(
                f"{nb_path}: not a chapter in book/ (the Chinese edition in "
                "book/zh/ is never executed: `python tools/zh.py sync` copies "
                "the English outputs)",
                file=sys.stderr,
            )
            return 2
        try:
            seconds = run(nb_path)
        except NotebookFailed as failed:
            print(failed, file=sys.stderr)
            return 1
        print(f"{nb_path}: {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
