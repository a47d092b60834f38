"""Run the notebook suite (pytest --nbval) as it would run on other machines (make test-portable).

    python tools/portability.py cpu=default cpu=avx2 threads=1 threads=4 [--fast]

Each variant re-executes the chapter notebooks under nbval in a fresh environment:

- ``cpu=NAME``: ``ATEN_CPU_CAPABILITY=NAME`` — PyTorch's kernels for a CPU without AVX-512
  (``avx2``) or without any vector extension (``default``);
- ``threads=N``: ``OMP_NUM_THREADS=N`` — another number of cores;
- ``cache``: the shared checkpoints of ``checkpoints/`` are used as they are (every other variant
  starts from an empty checkpoint cache, so every network is trained on the variant's arithmetic).

``--fast`` runs only the notebooks that train nothing (what ``make test`` runs). Each variant
prints its result and time, and how close the trained figures came to the edge of their bands
(tests/tolerances.yml): the figures the issue notes quote. Every comparison is kept in
``_build/portability/<variant>.jsonl``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def variant_env(spec: str, cache: Path, report: Path) -> dict[str, str]:
    env = os.environ | {"NBVAL_TOLERANCE_REPORT": str(report)}
    key, _, value = spec.partition("=")
    if key == "cpu":
        env["ATEN_CPU_CAPABILITY"] = value
    elif key == "threads":
        env["OMP_NUM_THREADS"] = value
    elif key != "cache":
        raise SystemExit(
            f"error: unknown variant {spec!r}; use cpu=default|avx2|avx512, threads=N or cache"
        )
    if key != "cache":
        env["MNIST_CNN_CACHE"] = str(cache)
    return env


def closest_to_the_edge(report: Path, n: int = 4) -> list[str]:
    """The toleranced values that moved furthest, as a fraction of their band."""
    rows = []
    for line in report.read_text().splitlines() if report.is_file() else []:
        r = json.loads(line)
        band, stored, computed = r["band"], r["stored"], r["computed"]
        if (
            band.get("any")
            or not isinstance(stored, float)
            or not isinstance(computed, float)
        ):
            continue
        allowed = max(band.get("abs", 0.0), band.get("rel", 0.0) * abs(stored))
        if stored == stored:  # not NaN
            rows.append(
                (
                    abs(computed - stored) / allowed,
                    f"{r['notebook']}:{r['name']} {stored:g} -> {computed:g} (band {band})",
                )
            )
    rows.sort(reverse=True)
    return [
        f"{100 * used:.0f}% of its band: {text}" for used, text in rows[:n]
    ]


def main(argv: list[str]) -> int:
    fast = "--fast" in argv
    variants = [a for a in argv if not a.startswith("--")] or [
        "cpu=default",
        "cpu=avx2",
        "threads=1",
        "threads=4",
    ]
    results = []
    for spec in variants:
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "bands.jsonl"
            env = variant_env(spec, Path(tmp) / "checkpoints", report)
            command = [
                sys.executable,
                "-m",
                "pytest",
                "book",
                "-q",
                "-p",
                "no:cacheprovider",
            ] + (["-m", "not slow"] if fast else [])
            print(
                f"== {spec}{' (fast notebooks)' if fast else ''}: {' '.join(command[1:])}",
                flush=True,
            )
            start = time.perf_counter()
            done = subprocess.run(command, cwd=ROOT, env=env)
            seconds = time.perf_counter() - start
            results.append((spec, done.returncode, seconds))
            print(
                f"== {spec}: {'passed' if done.returncode == 0 else 'FAILED'} in {seconds:.0f} s",
                flush=True,
            )
            for line in closest_to_the_edge(report):
                print("   ", line)
            if report.is_file():  # every comparison, for a closer look: _build/portability/<variant>.jsonl
                keep = (
                    ROOT
                    / "_build"
                    / "portability"
                    / f"{spec.replace('=', '-')}.jsonl"
                )
                keep.parent.mkdir(parents=True, exist_ok=True)
                keep.write_text(report.read_text())
    print("\nvariant            result   seconds")
    for spec, rc, seconds in results:
        print(
            f"{spec:18s} {'passed' if rc == 0 else 'FAILED':8s} {seconds:7.0f}"
        )
    return 1 if any(rc for _, rc, _ in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
