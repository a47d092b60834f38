"""A course pack: the chapters as student notebooks, without the solutions.

Explained in the README, "Teaching with this book". Every exercise of the
book ends with a hidden solution cell that calls a check of
:mod:`mnist_cnn.exercises`. The student version of a chapter is the chapter
with each solution cell replaced by a short cell that holds a placeholder
(``...``, or a function or class whose methods raise
``NotImplementedError``) for every answer the check reads, and the same
check; the hidden cells that glue and assert the text's numbers are left
out, and so are the explanations that follow some solutions (Markdown
cells tagged ``explanation``). The grader (:mod:`mnist_cnn.grading`) runs a
student's notebook and these checks.

    python -m mnist_cnn course   (make course)   writes _build/course/
"""

from __future__ import annotations

import ast
import builtins
import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from mnist_cnn import paths

__all__ = [
    "Exercise",
    "split_solution",
    "computed_arguments",
    "student_cell",
    "exercises",
    "student_notebook",
    "undefined_names",
    "teachers_guide",
    "write_course",
]

QUESTION = re.compile(r"^\*\*(\d+)\.\*\*", re.MULTILINE)
CHECK_CALL = re.compile(r"\bexercises\.(check_\w+)\(")
HIDDEN = {"remove-cell", "remove-input"}  # the text's glue and claims
IMPORT_EXERCISES = "from mnist_cnn import exercises"
EXPLANATION = "explanation"  # tag of the Markdown cell explaining a solution


@dataclass(frozen=True)
class Exercise:
    """One exercise of a chapter: ``id`` is ``chapter.N``, as the checks
    name it in their messages."""

    chapter: str  # the notebook's stem: "pooling"
    number: int
    question: str  # the Markdown of the question
    solution: str  # the hidden solution cell's code
    cell_id: str  # the solution cell's id (the student cell keeps it)

    @property
    def id(self) -> str:
        return f"{self.chapter}.{self.number}"

    @property
    def checks(self) -> list[str]:
        """The names of the :mod:`mnist_cnn.exercises` checks it calls."""
        return CHECK_CALL.findall(self.solution)

    @property
    def check_source(self) -> str:
        """The statements that call the checks, which the student cell keeps
        and the grader runs."""
        return split_solution(self.solution)[2]


def _calls_check(node: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id == "exercises"
        and n.func.attr.startswith("check_")
        for n in ast.walk(node)
    )


def split_solution(source: str) -> tuple[str, list[ast.stmt], str]:
    """A solution cell in three parts: its imports (source), the statements
    that answer (before the first check), and the statements that call
    ``exercises.check_*`` (source). What follows the last check (a plot, a
    printed comment) belongs to the solution only."""
    tree = ast.parse(source)
    body = tree.body
    at = [i for i, stmt in enumerate(body) if _calls_check(stmt)]
    if not at:
        raise ValueError(
            "a solution cell calls no exercises.check_* function; every "
            "exercise must end with its check:\n" + source
        )
    imports = [
        ast.get_source_segment(source, s) or ""
        for s in body[: at[0]]
        if isinstance(s, (ast.Import, ast.ImportFrom))
    ]
    answer = [
        s
        for s in body[: at[0]]
        if not isinstance(s, (ast.Import, ast.ImportFrom))
    ]
    checks = [ast.get_source_segment(source, body[i]) or "" for i in at]
    return "\n".join(imports), answer, "\n".join(checks)


def computed_arguments(check_source: str) -> list[str]:
    """The arguments of the ``check_*`` calls that are computations, not
    named answers: the student version keeps the check, so such an argument
    would give the answer away. A name, a tuple of names, a class
    instantiated without arguments, a lambda or an attribute (a reference
    the question gives, such as ``torch.tanh``) are fine."""
    found = []
    for call in ast.walk(ast.parse(check_source)):
        if not (_calls_check(call) and isinstance(call, ast.Call)):
            continue
        if not getattr(call.func, "attr", "").startswith("check_"):
            continue
        for arg in call.args:
            named = isinstance(arg, (ast.Name, ast.Lambda, ast.Attribute))
            made = (
                isinstance(arg, ast.Call)
                and isinstance(arg.func, ast.Name)
                and not arg.args
            )
            names = isinstance(arg, ast.Tuple) and all(
                isinstance(x, ast.Name) for x in arg.elts
            )
            if not (named or made or names):
                found.append(ast.unparse(arg))
    return found


def _bound(stmt: ast.stmt) -> set[str]:
    """The top-level names a statement binds."""
    if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
        return {stmt.name}
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    elif isinstance(stmt, (ast.For, ast.With)):
        return {
            n.id
            for n in ast.walk(stmt)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
    return {
        n.id
        for t in targets
        for n in ast.walk(t)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }


def _loaded(source: str) -> set[str]:
    return {
        n.id
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def _stub_function(node: ast.FunctionDef) -> ast.FunctionDef:
    stub = copy.deepcopy(node)
    stub.body = [
        ast.Raise(
            exc=ast.Call(
                func=ast.Name("NotImplementedError", ast.Load()),
                args=[ast.Constant("your code here")],
                keywords=[],
            )
        )
    ]
    return stub


def _stub(stmt: ast.stmt) -> str:
    """A function with the solution's signature whose body raises
    ``NotImplementedError``; a class with its attributes and such methods."""
    if isinstance(stmt, ast.FunctionDef):
        return ast.unparse(_stub_function(stmt))
    assert isinstance(stmt, ast.ClassDef)
    stub = copy.deepcopy(stmt)
    stub.body = [
        _stub_function(s) if isinstance(s, ast.FunctionDef) else s
        for s in stmt.body
        if isinstance(s, (ast.FunctionDef, ast.AnnAssign, ast.Assign))
    ]
    return ast.unparse(stub)


def student_cell(solution: str) -> str:
    """The student's version of a solution cell: its imports, a placeholder
    for every answer the check reads, and the check itself."""
    imports, answer, checks = split_solution(solution)
    wanted = _loaded(checks)
    lines = [imports] if imports else []
    if "exercises" in wanted and IMPORT_EXERCISES not in imports:
        lines.append(IMPORT_EXERCISES)
    if lines:
        lines.append("")
    stubs: list[str] = []
    defined: set[str] = set()
    for stmt in answer:
        names = _bound(stmt) & wanted
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)) and names:
            stubs += ["", "", _stub(stmt), "", ""]
        else:
            stubs += [
                f"{n} = ...  # your answer" for n in sorted(names - defined)
            ]
        defined |= names
    if any(s.startswith(("def ", "class ")) for s in stubs):
        lines.append(
            "# Your answer: write the body of what raises NotImplementedError"
        )
    lines += stubs + [checks]
    text = "\n".join(lines).replace("'your code here'", '"your code here"')
    return re.sub(r"\n{4,}", "\n\n\n", text).strip() + "\n"


def exercises(path: Path) -> list[Exercise]:
    """The exercises of a chapter: each question ``**N.**`` after the
    heading "## Exercises" (or the first question) and its hidden
    solution cell."""
    cells = nbformat.read(path, as_version=4).cells
    start = next(
        (
            i
            for i, c in enumerate(cells)
            if c.cell_type == "markdown" and "## Exercises" in c.source
        ),
        None,
    )
    if start is None:
        start = next(
            (
                i
                for i, c in enumerate(cells)
                if c.cell_type == "markdown" and QUESTION.search(c.source)
            ),
            len(cells),
        )
    found, question, number = [], "", 0
    for cell in cells[start:]:
        if cell.cell_type == "markdown":
            numbers = QUESTION.findall(cell.source)
            if numbers:
                number = int(numbers[-1])
                question = cell.source[cell.source.rfind(f"**{number}.**") :]
        elif number and "hide-cell" in cell.metadata.get("tags", []):
            found.append(
                Exercise(
                    path.stem,
                    number,
                    question,
                    cell.source,
                    cell.get("id", ""),
                )
            )
            number = 0
    return found


def student_notebook(path: Path) -> nbformat.NotebookNode:
    """The student version of the chapter at ``path`` (either edition)."""
    nb = nbformat.read(path, as_version=4)
    solutions = {e.cell_id: e for e in exercises(path)}
    kept = []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code" and HIDDEN & set(tags):
            continue
        if EXPLANATION in tags:  # the "Why" after a solution gives it away
            continue
        if cell.get("id") in solutions:
            exercise = solutions[cell.id]
            cell.source = student_cell(exercise.solution)
            cell.outputs, cell.execution_count = [], None
            cell.metadata = {"mnist_cnn": {"exercise": exercise.id}}
        kept.append(cell)
    nb.cells = kept
    nb.metadata.setdefault("mnist_cnn", {})["course"] = {"chapter": path.stem}
    return nb


def undefined_names(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """``(cell index, name)`` for every name a code cell reads that no
    earlier cell (nor the cell itself) defines: a student notebook must run
    top to bottom without the cells left out. A static approximation:
    names bound anywhere in a cell count as defined from that cell on."""
    defined = set(dir(builtins)) | {"display", "get_ipython"}
    missing = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cell.source.lstrip().startswith(
            ("%", "!")
        ):
            continue
        tree = ast.parse(cell.source)
        bound = {
            n.id
            for n in ast.walk(tree)
            if isinstance(n, ast.Name)
            and isinstance(n.ctx, (ast.Store, ast.Del))
        }
        for n in ast.walk(tree):
            if isinstance(n, (ast.FunctionDef, ast.ClassDef)):
                bound.add(n.name)
            if isinstance(n, ast.arg):
                bound.add(n.arg)
            if isinstance(n, (ast.Import, ast.ImportFrom)):
                bound |= {(a.asname or a.name).split(".")[0] for a in n.names}
            if isinstance(n, ast.ExceptHandler) and n.name:
                bound.add(n.name)
        for name in sorted(_loaded(cell.source) - defined - bound):
            missing.append((i, name))
        defined |= bound
    return missing


GLUE = "application/papermill.record/text/plain"
ROLE = re.compile(
    r"\{glue:text\}`([^`:]+)(?::([^`]*))?`|\{[a-z:]+\}`([^`<]*)(?:<[^`]*>)?`"
)


def _glued(nb: nbformat.NotebookNode) -> dict[str, str]:
    """The notebook's glued values (``myst_nb.glue``), as text."""
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name and GLUE in out.get("data", {}):
                values[name] = out["data"][GLUE]
    return values


def _plain(markdown: str, glued: dict[str, str]) -> str:
    """Markdown of the book as plain Markdown: glued numbers filled in
    (with their format), other MyST roles reduced to their text."""

    def fill(m: re.Match[str]) -> str:
        if m.group(3) is not None:  # {doc}`x`, {ref}`text <target>`
            return m.group(3).strip()
        value = glued.get(m.group(1), m.group(1))
        try:
            return format(
                float(value) if "." in value else int(value), m.group(2) or ""
            )
        except ValueError:
            return value.strip("'")

    return ROLE.sub(fill, markdown)


def _first_sentence(markdown: str, glued: dict[str, str]) -> str:
    text = _plain(markdown, glued)
    text = re.sub(r"^\*\*\d+\.\*\*\s*", "", text).replace("\n", " ")
    text = re.sub(r"\s+", " ", text).strip()
    cut = re.search(r"(?<=[.?!])\s|(?<=[。？！])", text)
    text = text[: cut.start()] if cut else text
    if len(text) > 160:
        text = text[:159].rstrip() + "…"
    return text.replace("|", "\\|")


def _rst_to_markdown(doc: str) -> str:
    """A check's docstring in Markdown: ``x`` -> `x`, :func:`x` -> `x`."""
    doc = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", doc)
    return doc.replace("``", "`")


GUIDE = {
    "en": (
        "# Teacher's guide",
        "Student notebooks: every chapter of the book, each exercise's "
        "solution replaced by a cell that holds `...` (or a function that "
        "raises `NotImplementedError`) and the same check the book runs. "
        "Grade a folder of submissions with "
        "`python -m mnist_cnn grade SUBMISSIONS/ --out grades.csv`.",
        ("exercise", "question", "what the check compares"),
        "Run time: {seconds:.0f} s on {cpu} ({cores} cores) for the whole "
        "chapter; the grader runs it once per submission.",
    ),
    "zh": (
        "# 教师指南",
        "学生版笔记本：书中每一章，每道练习的解答换成一个代码单元，其中答案处为 `...`"
        "（或一个抛出 `NotImplementedError` 的函数），并保留书中运行的同一个检查。"
        "批改一个文件夹中的作业：`python -m mnist_cnn grade SUBMISSIONS/ --out grades.csv`。",
        ("练习", "题目", "检查比较的内容"),
        "运行时间：整章在 {cpu}（{cores} 核）上 {seconds:.0f} 秒；"
        "批改程序对每份作业运行一次。",
    ),
}


def teachers_guide(chapters: list[Path], language: str = "en") -> str:
    """A Markdown page: per chapter, its run time and what each exercise's
    check compares (the check's docstring)."""
    from mnist_cnn import exercises as checks

    title, intro, header, timing = GUIDE[language]
    lines = [title, "", intro, ""]
    for path in chapters:
        found = exercises(path)
        if not found:
            continue
        nb = nbformat.read(path, as_version=4)
        heading = next(
            (
                c.source.splitlines()[0].lstrip("# ")
                for c in nb.cells
                if c.cell_type == "markdown" and c.source.startswith("# ")
            ),
            path.stem,
        )
        lines += [f"## {heading}", ""]
        run = nb.metadata.get("mnist_cnn", {}).get("run")
        if run:
            lines += [timing.format(**run), ""]
        lines += [
            f"| {header[0]} | {header[1]} | {header[2]} |",
            "|---|---|---|",
        ]
        glued = _glued(nb)
        for e in found:
            docs = [
                _rst_to_markdown(
                    " ".join((getattr(checks, name).__doc__ or "").split())
                )
                for name in e.checks
            ]
            what = " ".join(d.split(":", 1)[-1].strip() for d in docs)
            what = what.replace("|", "\\|")
            lines.append(
                f"| {e.id} | {_first_sentence(e.question, glued)} | "
                f"`{'`, `'.join(e.checks)}`: {what} |"
            )
        lines.append("")
    return "\n".join(lines)


def chapters(root: Path | None = None) -> list[Path]:
    """The chapters with exercises, in the order of ``_toc.yml``."""
    import yaml

    root = root if root is not None else paths.repository()
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [
        root / f"{c['file']}.ipynb"
        for part in toc["parts"]
        for c in part["chapters"]
    ]
    return [f for f in files if f.is_file() and exercises(f)]


def write_course(out: Path | None = None) -> list[Path]:
    """Write the student notebooks of both editions and the teacher's
    guides into ``out`` (default ``_build/course/`` of the clone); returns
    the files written."""
    root = paths.repository()
    out = out if out is not None else root / "_build" / "course"
    written = []
    for language, folder in (("en", out), ("zh", out / "zh")):
        folder.mkdir(parents=True, exist_ok=True)
        sources = chapters(root)
        if language == "zh":
            sources = [
                p.parent / "zh" / p.name
                for p in sources
                if (p.parent / "zh" / p.name).is_file()
            ]
        for path in sources:
            target = folder / path.name
            nbformat.write(student_notebook(path), target)
            written.append(target)
        guide = folder / "README.md"
        guide.write_text(teachers_guide(sources, language), encoding="utf-8")
        written.append(guide)
    return written
