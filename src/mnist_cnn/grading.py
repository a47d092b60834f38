"""The grader: run students' notebooks and the book's exercise checks.

Explained in the README, "Teaching with this book". For each notebook
(a student version of a chapter written by :mod:`mnist_cnn.course`, with
the student's answers) the grader starts a fresh kernel in the book's
folder, runs the cells in order under a time limit for the whole notebook,
and after each exercise cell runs that exercise's check as the book has it
(not as the student's copy may have it). Each exercise gets one row:

* ``passed``: the check confirmed the answer;
* ``wrong``: the check's message (:class:`mnist_cnn.exercises.WrongAnswer`);
* ``not attempted``: the answer is still the placeholder;
* ``error``: the student's cell or the check raised something else;
* ``timed out``: the notebook ran past its limit before the check;
* ``missing``: the notebook has no cell for that exercise;
* ``blocked``: the notebook tried to open the book's solutions.

A notebook that cannot be read, crashes its kernel or raises outside the
exercises gets a row of its own (exercise ``-``). It runs offline.

    python -m mnist_cnn grade SUBMISSIONS/ --out grades.csv
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from pathlib import Path

import nbformat

from mnist_cnn import course, paths

__all__ = ["Row", "grade_notebook", "grade", "write_csv", "table"]

MARK = "@@mnist_cnn-grade@@"
BLOCKED = "mnist_cnn grade: reading the book's solutions is not allowed"


@dataclass(frozen=True)
class Row:
    student: str  # the notebook's path, as given
    chapter: str
    exercise: str  # "pooling.2", or "-" for the notebook itself
    status: str
    message: str


def _guard(root: Path) -> str:
    """The first cell the grader runs: an audit hook that refuses to open
    the book's notebooks and built pages (they hold the solutions)."""
    book, build = str(root / "book"), str(root / "_build")
    allowed = str(root / "_build" / "course")
    return f"""
import os as _os, sys as _sys
def _mnist_cnn_guard(event, args):
    if event != "open" or not args or isinstance(args[0], int):
        return
    try:
        path = _os.path.abspath(_os.fsdecode(args[0]))
    except TypeError:
        return
    solutions = (
        path.startswith({book!r} + _os.sep) and path.endswith(".ipynb")
    ) or (
        path.startswith({build!r} + _os.sep)
        and not path.startswith({allowed!r} + _os.sep)
    )
    if solutions:
        _sys.stderr.write({BLOCKED!r} + ": " + path + "\\n")
        raise PermissionError({BLOCKED!r} + ": " + path)
_sys.addaudithook(_mnist_cnn_guard)
del _mnist_cnn_guard
"""


def _check_cell(exercise: course.Exercise) -> str:
    """Runs the book's check for ``exercise`` and prints one marked line."""
    body = "\n".join(
        " " * 8 + line for line in exercise.check_source.splitlines()
    )
    return f"""
import contextlib as _contextlib, io as _io, json as _json
from mnist_cnn import exercises
_out = _io.StringIO()
try:
    with _contextlib.redirect_stdout(_out):
{body}
    _result = ("passed", _out.getvalue().strip().splitlines()[-1])
except exercises.NotAttempted as _e:
    _result = ("not attempted", str(_e))
except exercises.WrongAnswer as _e:
    _result = ("wrong", str(_e))
except NotImplementedError as _e:
    _result = ("not attempted", "your code still raises NotImplementedError")
except Exception as _e:
    _result = ("error", f"{{type(_e).__name__}}: {{_e}}")
print({MARK!r}, _json.dumps([{exercise.id!r}, *_result]))
"""


def _error_of(cell: nbformat.NotebookNode) -> str | None:
    for out in cell.get("outputs", []):
        if out.output_type == "error":
            return f"{out.ename}: {out.evalue}"
    return None


def _text_of(cell: nbformat.NotebookNode) -> str:
    return "".join(
        out.get("text", "")
        for out in cell.get("outputs", [])
        if out.output_type == "stream"
    )


def _book_exercises(chapter: str, root: Path) -> list[course.Exercise]:
    path = root / "book" / f"{chapter}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(path)
    return course.exercises(path)


def _chapter_of(nb: nbformat.NotebookNode, path: Path) -> str:
    meta = nb.metadata.get("mnist_cnn", {}).get("course", {})
    return str(meta.get("chapter", path.stem))


def _with_checks(
    nb: nbformat.NotebookNode, wanted: list[course.Exercise], root: Path
) -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook the grader runs: the guard, then the student's code
    cells, each exercise's followed by the book's check; and the exercises
    no cell answers."""
    by_id = {e.id: e for e in wanted}
    by_cell = {e.cell_id: e.id for e in wanted}  # the book's own notebook
    run = [nbformat.v4.new_code_cell(_guard(root))]
    seen: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        run.append(nbformat.v4.new_code_cell(cell.source))
        tag = cell.metadata.get("mnist_cnn", {}).get(
            "exercise", by_cell.get(cell.get("id", ""))
        )
        if tag in by_id and tag not in seen:
            seen.add(tag)
            run[-1].metadata["answer"] = tag
            run.append(nbformat.v4.new_code_cell(_check_cell(by_id[tag])))
            run[-1].metadata["grader"] = tag
    missing = [e.id for e in wanted if e.id not in seen]
    return nbformat.v4.new_notebook(cells=run), missing


def _execute(
    graded: nbformat.NotebookNode, root: Path, time_limit: float
) -> tuple[str | None, int]:
    """Run the cells in a fresh kernel until they end or the limit is
    spent: (None, "timed out" or why the kernel stopped; the index of the
    cell it stopped in)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    client = NotebookClient(
        graded,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(root)}},
    )
    deadline, index = time.monotonic() + time_limit, 0
    try:
        with client.setup_kernel():
            for index, cell in enumerate(graded.cells):
                left = deadline - time.monotonic()
                if left <= 0:
                    return "timed out", index
                client.timeout = max(1, int(left))
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    return "timed out", index
    except DeadKernelError:
        why = "the kernel died (out of memory, or the process exited)"
        return why, index
    return None, index


def _results(
    graded: nbformat.NotebookNode, until: int
) -> tuple[dict[str, tuple[str, str]], str | None]:
    """Each check's (status, message), and the first error of a cell
    outside the exercises before cell ``until`` (the one the time limit
    stopped gets the grader's interrupt)."""
    results: dict[str, tuple[str, str]] = {}
    first_error = None
    for index, cell in enumerate(graded.cells[1:], start=1):
        if cell.metadata.get("grader"):
            for line in _text_of(cell).splitlines():
                if line.startswith(MARK):
                    exercise, status, message = json.loads(line[len(MARK) :])
                    answer_error = _error_of(graded.cells[index - 1])
                    if status == "error" and answer_error:
                        message = f"your cell raised {answer_error}"
                    results[exercise] = (status, message)
        elif (
            index < until and not first_error and "answer" not in cell.metadata
        ):
            error = _error_of(cell)
            if error:
                first_error = f"cell {index} raised {error}"
    return results, first_error


def grade_notebook(
    path: Path, time_limit: float = 600.0, root: Path | None = None
) -> list[Row]:
    """Run the notebook at ``path`` and grade each exercise of its chapter
    (see the module's docstring for the rows)."""
    root = root if root is not None else paths.repository()
    who = str(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # not JSON, not a notebook, unreadable
        return [Row(who, "?", "-", "error", f"not a notebook: {exc}")]
    chapter = _chapter_of(nb, path)
    try:
        wanted = _book_exercises(chapter, root)
    except FileNotFoundError:
        why = (
            f"the book has no chapter {chapter!r}: name the file after its "
            "chapter (pooling.ipynb) or keep the course version's metadata"
        )
        return [Row(who, chapter, "-", "error", why)]
    graded, missing = _with_checks(nb, wanted, root)
    stopped, at = _execute(graded, root, time_limit)
    results, first_error = _results(
        graded, at if stopped == "timed out" else len(graded.cells)
    )
    for exercise in missing:
        results[exercise] = (
            "missing",
            "no cell of the notebook is this exercise's (the course "
            "version's cell carries its name in its metadata)",
        )
    limit = f"the notebook ran past its limit of {time_limit:g} s"
    for e in wanted:
        if e.id not in results:
            results[e.id] = (
                ("timed out", limit)
                if stopped == "timed out"
                else ("error", stopped or "the check did not run")
            )
    rows = []
    if any(BLOCKED in _text_of(c) for c in graded.cells):
        tried = "the notebook tried to open the book's solutions"
        results = {key: ("blocked", tried) for key in results}
    elif first_error:
        rows.append(Row(who, chapter, "-", "error", first_error))
    if stopped == "timed out":
        still = (
            f"cell {at} was still running when the {time_limit:g} s ran out"
        )
        rows.append(Row(who, chapter, "-", "timed out", still))
    elif stopped:
        rows.append(Row(who, chapter, "-", "error", f"cell {at}: {stopped}"))
    return rows + [Row(who, chapter, e.id, *results[e.id]) for e in wanted]


def _notebooks(targets: Iterable[Path]) -> list[Path]:
    found = []
    for target in targets:
        if target.is_dir():
            found += sorted(
                p
                for p in target.rglob("*.ipynb")
                if ".ipynb_checkpoints" not in p.parts
            )
        elif target.exists():
            found.append(target)
        else:
            raise FileNotFoundError(
                f"{target}: no such file or folder; give notebooks or "
                "folders of them"
            )
    return found


def grade(targets: Iterable[Path], time_limit: float = 600.0) -> list[Row]:
    """Every notebook in ``targets`` (files, or folders searched for
    ``*.ipynb``), one after the other."""
    rows: list[Row] = []
    for path in _notebooks(targets):
        rows += grade_notebook(path, time_limit)
    return rows


def write_csv(rows: list[Row], out: Path) -> None:
    """One line per row, with a header; written to a temporary file first,
    so an interrupted run leaves no half-written table."""
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([f.name for f in fields(Row)])
        writer.writerows(astuple(r) for r in rows)
    os.replace(tmp, out)


def table(rows: list[Row], width: int = 60) -> str:
    """The rows as a readable text table (messages cut to ``width``)."""
    head = ("student", "exercise", "status", "message")
    body = [
        (
            r.student,
            r.exercise,
            r.status,
            r.message
            if len(r.message) <= width
            else r.message[: width - 1] + "…",
        )
        for r in rows
    ]
    sizes = [max(len(x[i]) for x in [head, *body]) for i in range(3)]
    lines = []
    for line in [head, *body]:
        lines.append(
            "  ".join(x.ljust(n) for x, n in zip(line[:3], sizes))
            + "  "
            + line[3]
        )
    passed = sum(r.status == "passed" for r in rows)
    graded = sum(r.exercise != "-" for r in rows)
    lines.append(f"{passed} of {graded} exercises passed")
    return "\n".join(lines)
