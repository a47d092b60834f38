"""Move a visible code cell's top-level ``glue(...)`` calls into a hidden cell right after it.

The page shows the lesson; the glue (and its outputs) still run under nbval. The new cell is
tagged ``remove-cell`` (myst-nb reads glued values from every code cell, removed or not) and
inherits ``nbval-tolerance`` and ``nbval-ignore-output`` from the cell it came from. Idempotent; ``--check`` lists cells
that still hold top-level glue and fails.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import nbformat

HIDDEN = {"remove-cell", "remove-input", "hide-cell", "hide-input"}


def _glue_ranges(source: str) -> list[tuple[int, int]]:
    """0-based [start, end) line ranges of the top-level ``glue(...)`` statements."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    ranges = []
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == "glue"
        ):
            ranges.append((node.lineno - 1, node.end_lineno))
    return ranges


def _is_glue_output(output: nbformat.NotebookNode) -> bool:
    return output.get("output_type") == "display_data" and any(
        k.startswith("application/papermill.record")
        for k in output.get("data", {})
    )


def split(path: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    cells, moved = [], 0
    for cell in nb.cells:
        cells.append(cell)
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type != "code" or tags & HIDDEN:
            continue
        ranges = _glue_ranges(cell.source)
        if not ranges:
            continue
        lines = cell.source.splitlines()
        taken = {i for a, b in ranges for i in range(a, b)}
        glue_src = "\n".join(lines[i] for i in sorted(taken))
        rest = [ln for i, ln in enumerate(lines) if i not in taken]
        while rest and not rest[-1].strip():
            rest.pop()
        cell.source = "\n".join(rest)
        kept = tags & {"nbval-tolerance", "nbval-ignore-output"}
        new_tags = ["remove-cell"] + sorted(kept)
        hidden = nbformat.v4.new_code_cell(
            glue_src, metadata={"tags": new_tags}
        )
        hidden.outputs = [o for o in cell.outputs if _is_glue_output(o)]
        cell.outputs = [o for o in cell.outputs if not _is_glue_output(o)]
        hidden.execution_count = cell.execution_count
        cells.append(hidden)
        moved += len(ranges)
    nb.cells = cells
    if moved:
        nbformat.write(nb, path)
    return moved


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [Path(a) for a in argv if a != "--check"]
    left = 0
    for path in paths:
        if check:
            nb = nbformat.read(path, as_version=4)
            for i, c in enumerate(nb.cells):
                hidden = set(c.metadata.get("tags", [])) & HIDDEN
                if (
                    c.cell_type == "code"
                    and not hidden
                    and _glue_ranges(c.source)
                ):
                    print(f"{path}: cell {i} shows glue(...) calls")
                    left += 1
        else:
            print(f"{path}: moved {split(path)} glue calls")
    return 1 if left else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
