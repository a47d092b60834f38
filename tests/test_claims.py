"""Claims are assertions: every chapter whose prose compares or quantifies
has hidden cells that assert those claims, so a retrain that stops them from
holding fails nbval instead of leaving a false sentence on the page.

A *claim cell* is a code cell the page does not show (tagged ``remove-cell``
or ``remove-input``) with at least one ``assert`` statement. A chapter makes
comparative claims when its prose (Markdown cells, headings and code
excluded) uses one of ``COMPARATIVE``'s words. This test counts the claim
cells per chapter, prints the counts, and fails for a chapter that has
comparative prose but no claim cell.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
HIDDEN = {"remove-cell", "remove-input"}
COMPARATIVE = re.compile(
    r"\b(faster|slower|better|worse|beats?|more than|less than|fewer|"
    r"larger|smaller|higher|lower|least|most|times|clearly|"
    r"within the spread|about|never|always)\b",
    re.IGNORECASE,
)


def _asserts(source: str) -> int:
    lines = [
        line for line in source.splitlines() if not line.startswith(("%", "!"))
    ]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return 0
    return sum(isinstance(node, ast.Assert) for node in ast.walk(tree))


def claim_cells(cells: list[dict]) -> int:
    return sum(
        1
        for c in cells
        if c["cell_type"] == "code"
        and HIDDEN & set(c["metadata"].get("tags", []))
        and _asserts("".join(c["source"]))
    )


def comparative_sentences(cells: list[dict]) -> list[str]:
    found = []
    for c in cells:
        if c["cell_type"] != "markdown":
            continue
        text = re.sub(r"```.*?```", "", "".join(c["source"]), flags=re.S)
        for line in text.splitlines():
            if not line.startswith("#") and COMPARATIVE.search(line):
                found.append(line.strip())
    return found


def chapters() -> list[Path]:
    return sorted(BOOK.glob("*.ipynb"))


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.name)
def test_a_chapter_that_compares_asserts_its_claims(path: Path) -> None:
    cells = json.loads(path.read_text())["cells"]
    claims = comparative_sentences(cells)
    n = claim_cells(cells)
    print(f"{path.name}: {n} claim cells, {len(claims)} comparative lines")
    assert n >= 1 or not claims, (
        f"{path.name}: the prose compares or quantifies ({len(claims)} "
        f"lines, e.g. {claims[0][:80]!r}) but no hidden cell (tagged "
        "remove-cell) asserts any claim; add one after the computation."
    )


def test_the_counter_does_not_count_visible_or_assert_free_cells() -> None:
    def code(source: str, *tags: str) -> dict:
        return {
            "cell_type": "code",
            "metadata": {"tags": list(tags)},
            "source": source,
        }

    assert claim_cells([code("assert x > y", "remove-cell")]) == 1
    assert claim_cells([code("assert x > y")]) == 0  # shown: not hidden
    assert claim_cells([code("glue('x', 1)", "remove-cell")]) == 0
    assert claim_cells([code("# assert x > y", "remove-cell")]) == 0
    prose = {"cell_type": "markdown", "metadata": {}, "source": "A beats B."}
    assert comparative_sentences([prose]) == ["A beats B."]


# The words of the verdict rule (mnist_cnn.compare.verdict; the box "How we
# compare runs" in the chapter "Training"): a sentence that uses them reports
# a comparison of runs over seeds, and must be decided by that rule
VERDICT_WORDS = re.compile(
    r"\b(clearly (better|worse|lower|higher|behind|ahead|below|above)|"
    r"could not be (distinguished|told)|beats?)\b",
    re.IGNORECASE,
)
# chapters whose comparisons are not yet decided by compare.verdict
NOT_YET: dict[str, str] = {}


def verdict_problems(cells: list[dict]) -> list[str]:
    """Markdown cells that word a verdict although the nearest hidden claim
    cell before them does not call ``verdict`` (or there is none)."""
    problems, last_claim = [], None
    for i, c in enumerate(cells):
        source = "".join(c["source"])
        if c["cell_type"] == "code" and claim_cells([c]):
            last_claim = source
        elif c["cell_type"] == "markdown":
            prose = re.sub(r"```.*?```", "", source, flags=re.S)
            words = VERDICT_WORDS.search(prose)
            # the rule itself: the box in "Training", the appendix's table
            defines = re.search(
                r"^\((how-we-compare|verdict-rule)\)=", prose, re.M
            )
            if words and not defines and "verdict" not in (last_claim or ""):
                problems.append(f"cell {i}: {words.group(0)!r}")
    return problems


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.name)
def test_a_verdict_in_the_prose_is_asserted_by_the_verdict_rule(
    path: Path,
) -> None:
    if path.name in NOT_YET:
        pytest.skip(NOT_YET[path.name])
    problems = verdict_problems(json.loads(path.read_text())["cells"])
    assert not problems, (
        f"{path.name}: prose words a comparison of runs ({problems}) but "
        "the hidden cell before it does not decide it with "
        "mnist_cnn.compare.verdict; assert `compare.verdict(a, b).words`."
    )


def test_the_verdict_check_needs_verdict_in_the_claim_before() -> None:
    def code(source: str) -> dict:
        return {
            "cell_type": "code",
            "metadata": {"tags": ["remove-cell"]},
            "source": source,
        }

    prose = {"cell_type": "markdown", "metadata": {}, "source": "A beats B."}
    old = code("assert compare.clearly_above(a, b)")
    new = code('assert compare.verdict(a, b).words == "clearly better"')
    assert verdict_problems([old, prose]) == ["cell 1: 'beats'"]
    assert verdict_problems([prose, new]) == ["cell 0: 'beats'"]
    assert verdict_problems([new, prose]) == []


CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.name)
def test_a_chapter_cites_the_article_sections_by_their_chinese_titles(
    path: Path,
) -> None:
    """A Chinese reader finds the article's section the chapter follows by
    its heading, not only by its number."""
    first = "".join(json.loads(path.read_text())["cells"][0]["source"])
    cited = re.search(r"\*Article sections? [^*]*\*", first)
    assert cited, f"{path.name}: no '*Article section ...*' line at the top"
    assert CJK.search(cited.group(0)), (
        f"{path.name}: {cited.group(0)!r} gives no Chinese section title"
    )


# A setting tuned on a grid whose best value is at the grid's edge never got
# its best shot; the book chooses with mnist_cnn.compare.best_inside (an
# error at the edge), on grids extended by compare.search_grid
PICKS_FROM_A_GRID = re.compile(
    r"\bargmax\(\s*val|\bsearch_grid\(|choose_lrs\("
)


def grid_problems(cells: list[dict]) -> list[str]:
    """Code cells that pick a best value from validation scores without
    :func:`mnist_cnn.compare.best_inside` deciding it in the chapter."""
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    inside = any("best_inside(" in source for source in code)
    return [
        f"cell {i}: {m.group(0)!r}"
        for i, source in enumerate(code)
        if (m := PICKS_FROM_A_GRID.search(source))
        and (not inside or "argmax" in m.group(0))
    ]


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.name)
def test_a_tuning_grid_has_its_best_inside(path: Path) -> None:
    problems = grid_problems(json.loads(path.read_text())["cells"])
    assert not problems, (
        f"{path.name}: a best value is picked from a grid ({problems}) "
        "without compare.best_inside; choose with "
        "`compare.best_inside(scores)`, which fails at the grid's edge."
    )


def test_the_grid_checker_sees_a_pick_at_the_edge() -> None:
    def code(source: str) -> dict:
        return {"cell_type": "code", "metadata": {}, "source": source}

    old = code("chosen = candidates[int(np.argmax(val))]")
    assert grid_problems([old]) == ["cell 0: 'argmax(val'"]
    search = code("s = transfer.choose_lrs(setup, start)")
    assert grid_problems([search]) == ["cell 0: 'choose_lrs('"]
    assert grid_problems([search, code("compare.best_inside(s)")]) == []
