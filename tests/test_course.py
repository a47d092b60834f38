"""The course pack (``mnist_cnn.course``): every exercise ends with a check
on named answers; the student versions of both editions hold no solution,
keep the checks and run top to bottom; the teacher's guide lists every
exercise."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from mnist_cnn import course
from mnist_cnn import exercises as checks

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = course.chapters(ROOT)


def test_every_chapter_with_exercises_is_in_the_course() -> None:
    stems = [p.stem for p in CHAPTERS]
    assert stems[:2] == ["quickstart", "data"] and "applications" in stems
    assert sum(len(course.exercises(p)) for p in CHAPTERS) >= 33


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_exercise_ends_with_a_check_of_named_answers(path: Path) -> None:
    """The student version keeps the check, so the check is given names,
    never the computation that answers."""
    for e in course.exercises(path):
        assert e.checks, f"{e.id}: the solution calls no exercises.check_*"
        for name in e.checks:
            assert callable(getattr(checks, name)), f"{e.id}: {name}"
        assert course.computed_arguments(e.check_source) == [], (
            f"{e.id}: put the answer in a variable and pass the variable"
        )


def test_a_check_given_the_computation_is_seen() -> None:
    given = "print(exercises.check_smoothed_target(1 - eps + eps / 10))"
    named = "print(exercises.check_layer_backward(Tanh(), torch.tanh))"
    pair = "print(exercises.check_steps_per_epoch((steps, unused)))"
    assert course.computed_arguments(given) == ["1 - eps + eps / 10"]
    assert course.computed_arguments(named + "\n" + pair) == []
    assert course.computed_arguments(
        "exercises.check_pool_13(size, [12])"
    ) == ["[12]"]


SOLUTION = """import math
from mnist_cnn import exercises

steps, unused = divmod(55_000, 128)
helper = 3


def cosine_lr(step: int, total: int, peak: float) -> float:
    return peak * (1 + math.cos(math.pi * step / total)) / 2


class Tanh:
    params: list = []

    def forward(self, z):
        self.y = z.tanh()
        return self.y


print(exercises.check_steps_per_epoch((steps, unused)))
print(exercises.check_cosine_lr(cosine_lr))
print(exercises.check_layer_backward(Tanh(), torch.tanh))
print("the solution's aftermath, left out")
"""

STUDENT = """import math
from mnist_cnn import exercises

# Your answer: write the body of what raises NotImplementedError
steps = ...  # your answer
unused = ...  # your answer


def cosine_lr(step: int, total: int, peak: float) -> float:
    raise NotImplementedError("your code here")


class Tanh:
    params: list = []

    def forward(self, z):
        raise NotImplementedError("your code here")


print(exercises.check_steps_per_epoch((steps, unused)))
print(exercises.check_cosine_lr(cosine_lr))
print(exercises.check_layer_backward(Tanh(), torch.tanh))
"""


def test_a_student_cell_keeps_imports_placeholders_and_checks() -> None:
    assert course.student_cell(SOLUTION) == STUDENT


def test_a_solution_without_a_check_is_refused() -> None:
    with pytest.raises(ValueError, match="calls no exercises.check_"):
        course.split_solution("answer = 3\nassert answer == 3\n")


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("course")
    course.write_course(out)
    return out


@pytest.mark.parametrize("edition", ["", "zh"])
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_the_student_version_holds_no_solution_and_runs_through(
    pack: Path, path: Path, edition: str
) -> None:
    book = path.parent / edition / path.name
    student = nbformat.read(pack / edition / path.name, as_version=4)
    original = nbformat.read(book, as_version=4)
    found = course.exercises(book)
    cells = {c.get("id"): c for c in student.cells}
    for e in found:
        cell = cells[e.cell_id]
        assert cell.metadata["mnist_cnn"]["exercise"] == e.id
        assert cell.outputs == [] and "hide-cell" not in cell.metadata
        assert e.check_source in cell.source
        for stmt in course.split_solution(e.solution)[1]:
            body = stmt.body if hasattr(stmt, "body") else [stmt]
            for part in body:
                if isinstance(part, (ast.AnnAssign, ast.Expr)) and isinstance(
                    getattr(part, "value", None), ast.Constant
                ):
                    continue  # a class attribute or docstring may stay
                if isinstance(part, ast.AnnAssign) and not isinstance(
                    stmt, ast.AnnAssign
                ):
                    continue
                text = ast.unparse(part)
                assert text not in ast.unparse(ast.parse(cell.source)), (
                    f"{e.id}: the student version gives away {text!r}"
                )
    hidden = [
        c
        for c in student.cells
        if set(c.metadata.get("tags", [])) & course.HIDDEN
    ]
    assert not hidden
    explained = [
        c
        for c in original.cells
        if "explanation" in c.metadata.get("tags", [])
    ]
    assert not [
        c for c in student.cells if c.get("id") in {e.id for e in explained}
    ]
    assert course.undefined_names(student) == [], (
        "a cell the student keeps reads a name only a left-out cell defines"
    )
    kept = [c for c in original.cells if c.get("id") in cells]
    assert len(kept) == len(student.cells)
    solutions = {e.cell_id for e in found}
    for c in kept:
        if c.get("id") not in solutions:
            assert cells[c.id].source == c.source
            assert cells[c.id].get("outputs") == c.get("outputs")
    assert student.metadata["mnist_cnn"]["course"]["chapter"] == path.stem


def test_undefined_names_sees_a_name_from_a_left_out_cell() -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("import torch\nx = torch.zeros(3)"),
            nbformat.v4.new_code_cell("def f(a):\n    return a + x + hidden"),
        ]
    )
    assert course.undefined_names(nb) == [(1, "hidden")]


@pytest.mark.parametrize("edition", ["", "zh"])
def test_the_teachers_guide_lists_every_exercise_and_run_time(
    pack: Path, edition: str
) -> None:
    guide = (pack / edition / "README.md").read_text(encoding="utf-8")
    for path in CHAPTERS:
        for e in course.exercises(path):
            assert f"| {e.id} |" in guide
            for name in e.checks:
                assert f"`{name}`" in guide
    assert guide.count("s on ") + guide.count(" 秒") >= len(CHAPTERS)
    assert "{glue" not in guide and "{doc}" not in guide  # plain Markdown
    assert "55,000" in guide  # data.2's glued number, filled in


# the exercises whose answer needs words, not only the checked value
EXPLAINED = {
    "data.2", "data.4", "convolution.4", "convolution.5", "pooling.2",
    "pooling.4", "scratch.4",
    "model.2", "model.4", "training.3", "training.4", "evaluation.1", "evaluation.4",
    "finetune.2",
    "applications.2",
    "applications.3", "engineering.2", "engineering.3",
}  # fmt: skip


@pytest.mark.parametrize("edition", ["", "zh"])
def test_answers_that_need_words_are_explained_in_the_pages_language(
    edition: str,
) -> None:
    found = set()
    for path in CHAPTERS:
        page = path.parent / edition / path.name
        cells = nbformat.read(page, as_version=4).cells
        ids = {e.cell_id: e.id for e in course.exercises(page)}
        for i, cell in enumerate(cells[:-1]):
            after = cells[i + 1]
            if cell.get("id") in ids and "explanation" in after.metadata.get(
                "tags", []
            ):
                title = after.source.splitlines()[0]
                want = "解析：练习" if edition else "Why: exercise"
                assert want in title, (page.name, title)
                found.add(ids[cell.id])
    assert found == EXPLAINED
