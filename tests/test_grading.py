"""The grader, run for real (``make test-slow``): the README's two commands
("Teaching with this book") on a folder of submissions to the chapter
"Pooling" — the book's own solutions (both editions) and Convolution's score
full marks, the blank student version scores "not attempted", three typical
wrong answers get the check's message, a failing import and an attempt to
read the solutions are reported, a file that is no notebook gets its row —
and an endless loop is stopped by the time limit."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mnist_cnn import course, grading

from .processes import run

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "_build" / "course"


def exercise_ids(chapter: str) -> list[str]:
    """The chapter's exercises as the book has them (``pooling.1`` …), so a
    new exercise is graded without editing these tests."""
    return [e.id for e in course.exercises(ROOT / "book" / f"{chapter}.ipynb")]


POOLING = exercise_ids("pooling")


def readme_commands() -> list[str]:
    """The commands of the README's section "Teaching with this book"."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Teaching with this book", 1)[1].split("\n## ", 1)[
        0
    ]
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", section, re.DOTALL)
    assert block, "the README's teaching section shows no commands"
    return [
        line.split("  #")[0].strip()
        for line in block.group(1).splitlines()
        if line.strip() and not line.startswith("#")
    ]


def answered(student: Path, answers: dict[str, str], out: Path) -> Path:
    """The student notebook with some exercise cells answered."""
    nb = nbformat.read(student, as_version=4)
    for cell in nb.cells:
        exercise = cell.metadata.get("mnist_cnn", {}).get("exercise")
        if exercise in answers:
            cell.source = answers[exercise]
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return out


def with_first_cell(student: Path, source: str, out: Path) -> Path:
    nb = nbformat.read(student, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(source))
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return out


WRONG = {  # three typical mistakes, and one exercise left blank
    "pooling.1": "from mnist_cnn import exercises\n\n"
    "size, unread = 7, 12  # rounded up\n"
    "print(exercises.check_pool_13(size, unread))",
    "pooling.2": "from mnist_cnn import exercises\n\n"
    "max_same, avg_same = True, False\n"
    "print(exercises.check_pool_composition(max_same, avg_same))",
    "pooling.3": "from mnist_cnn import exercises\n\n"
    "flat, gap = 16 * 7 * 7 * 10, 16 * 10  # the biases forgotten\n"
    "print(exercises.check_classifier_parameters(flat, gap))",
}


@pytest.fixture(scope="module")
def student() -> Path:
    """Pooling's student notebook, built afresh by the README's first
    command (a course pack left from an older book would have other
    exercises)."""
    commands = readme_commands()
    assert commands[0] == "make course", commands
    done = run(["make", "course"], cwd=ROOT, timeout=300)
    assert "student notebooks" in done.stdout
    return COURSE / "pooling.ipynb"


@pytest.fixture(scope="module")
def graded(
    tmp_path_factory: pytest.TempPathFactory, student: Path
) -> dict[str, list[dict]]:
    commands = readme_commands()
    assert commands[1].startswith(".venv/bin/python -m mnist_cnn grade ")
    subs = tmp_path_factory.mktemp("submissions")
    (subs / "ana").mkdir()
    shutil.copy(ROOT / "book" / "pooling.ipynb", subs / "ana")
    (subs / "ana-zh").mkdir()
    shutil.copy(ROOT / "book" / "zh" / "pooling.ipynb", subs / "ana-zh")
    (subs / "ana-conv").mkdir()
    shutil.copy(ROOT / "book" / "convolution.ipynb", subs / "ana-conv")
    shutil.copy(student, subs / "blank.ipynb")  # the course metadata names it
    answered(student, WRONG, subs / "wrong" / "pooling.ipynb")
    with_first_cell(
        student,
        "import student_helpers_nobody_installed",
        subs / "import" / "pooling.ipynb",
    )
    with_first_cell(
        student,
        "from mnist_cnn import paths\n\n"
        "solutions = paths.book('pooling.ipynb').read_text()",
        subs / "peek" / "pooling.ipynb",
    )
    (subs / "broken.ipynb").write_text("not a notebook {")
    out = tmp_path_factory.mktemp("grades") / "grades.csv"
    command = commands[1].split()[1:]
    command = [sys.executable] + [
        str(subs) if word == "submissions/" else word for word in command
    ]
    command = [str(out) if w == "grades.csv" else w for w in command]
    done = run(command, cwd=ROOT, timeout=600)
    assert "exercises passed" in done.stdout
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    by_student: dict[str, list[dict]] = {}
    for row in rows:
        key = Path(row["student"]).relative_to(subs).as_posix()
        by_student.setdefault(key, []).append(row)
    return by_student


def statuses(rows: list[dict]) -> dict[str, str]:
    return {r["exercise"]: r["status"] for r in rows}


@pytest.mark.parametrize(
    "who",
    [
        "ana/pooling.ipynb",
        "ana-zh/pooling.ipynb",
        "ana-conv/convolution.ipynb",
    ],
)
def test_the_books_own_solutions_score_full_marks(
    graded: dict[str, list[dict]], who: str
) -> None:
    rows = graded[who]
    chapter = Path(who).stem
    assert [r["exercise"] for r in rows] == exercise_ids(chapter)
    assert {r["status"] for r in rows} == {"passed"}
    assert all(r["message"].startswith("correct") for r in rows)


def test_the_blank_student_version_scores_not_attempted(
    graded: dict[str, list[dict]],
) -> None:
    rows = graded["blank.ipynb"]
    assert len(POOLING) >= 3
    assert statuses(rows) == {e: "not attempted" for e in POOLING}
    assert all("not attempted yet" in r["message"] for r in rows)


def test_wrong_answers_get_the_checks_message(
    graded: dict[str, list[dict]],
) -> None:
    rows = {r["exercise"]: r for r in graded["wrong/pooling.ipynb"]}
    assert [rows[e]["status"] for e in POOLING] == ["wrong"] * 3 + [
        "not attempted"
    ] * (len(POOLING) - 3)
    assert "7 is not the output width" in rows["pooling.1"]["message"]
    assert "(True, False) is not right" in rows["pooling.2"]["message"]
    assert (
        "7,840 is not the count after flattening"
        in rows["pooling.3"]["message"]
    )


def test_a_failing_import_is_reported_and_the_rest_graded(
    graded: dict[str, list[dict]],
) -> None:
    rows = graded["import/pooling.ipynb"]
    assert rows[0]["exercise"] == "-" and rows[0]["status"] == "error"
    assert "ModuleNotFoundError" in rows[0]["message"]
    assert "student_helpers_nobody_installed" in rows[0]["message"]
    assert {r["status"] for r in rows[1:]} == {"not attempted"}


def test_reading_the_solutions_is_blocked(
    graded: dict[str, list[dict]],
) -> None:
    rows = graded["peek/pooling.ipynb"]
    assert [r["exercise"] for r in rows] == POOLING
    assert {r["status"] for r in rows} == {"blocked"}


def test_a_file_that_is_no_notebook_gets_a_row(
    graded: dict[str, list[dict]],
) -> None:
    (row,) = graded["broken.ipynb"]
    assert row["status"] == "error" and "not a notebook" in row["message"]


def test_an_endless_loop_is_stopped_by_the_time_limit(
    tmp_path: Path, student: Path
) -> None:
    looping = with_first_cell(
        student, "while True:\n    pass", tmp_path / "pooling.ipynb"
    )
    rows = grading.grade_notebook(looping, time_limit=20)
    assert rows[0].exercise == "-" and rows[0].status == "timed out"
    assert rows[0].message.startswith("cell 1 was still running")
    assert [r.status for r in rows[1:]] == ["timed out"] * len(POOLING)
    assert all("limit of 20 s" in r.message for r in rows[1:])


def test_the_cli_refuses_to_overwrite_grades_before_running(
    tmp_path: Path,
) -> None:
    out = tmp_path / "grades.csv"
    out.write_text("earlier grades\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mnist_cnn",
            "grade",
            str(tmp_path),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 2
    assert "the file exists" in done.stderr
    assert out.read_text() == "earlier grades\n"
