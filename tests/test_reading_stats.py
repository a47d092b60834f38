"""tools/reading_stats.py counts what a reader meets: hand-counted cases."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import reading_stats  # noqa: E402


def test_sentences_split_at_ends_paragraphs_items_and_table_rows() -> None:
    text = (
        "One two three. Four five?\n\n- six seven\n- eight\n\n"
        "| a b | c |\n|---|---|\n| d | e f |\n"
    )
    sizes = reading_stats.sentences_of(reading_stats.prose_of(text))
    assert sizes == [3, 2, 2, 1, 3, 3]


def test_code_math_and_markup_are_not_words() -> None:
    text = (
        "Look at {doc}`the data <data>` and `x.shape`.\n\n"
        "```python\nimport torch\n```\n\n$$\ny = Wx\n$$\n"
        "A sum $\\sum_i x_i$ here.\n"
    )
    prose = reading_stats.prose_of(text)
    assert "import" not in prose and "Wx" not in prose
    # "Look at the data and code" + "A sum formula here"
    assert reading_stats.sentences_of(prose) == [6, 4]


def test_code_behind_a_toggle_is_counted_apart(tmp_path: Path) -> None:
    """Shown code counts towards the reading time; removed code does not;
    code behind a toggle (solutions, checks that show only their output) is
    counted apart."""

    def cell(lines: int, *tags: str) -> dict:
        source = "".join(f"x{i} = {i}\n" for i in range(lines))
        return {
            "cell_type": "code",
            "metadata": {"tags": list(tags)},
            "source": source,
        }

    cells = [
        cell(3),
        cell(5, "remove-cell"),
        cell(7, "hide-cell"),
        cell(11, "hide-input"),
        cell(2, "nbval-tolerance"),
    ]
    page = tmp_path / "page.ipynb"
    page.write_text(json.dumps({"cells": cells}))
    counts, _ = reading_stats.chapter_counts(page)
    assert (counts.code_lines, counts.hidden_code_lines) == (3 + 2, 7 + 11)
    assert counts.minutes == (3 + 2) / reading_stats.CODE_LINES_PER_MINUTE


def test_the_first_trained_network_is_in_the_quick_start() -> None:
    rows = {r["chapter"]: r for r in reading_stats.report()["rows"]}
    before = next(r for name, r in rows.items() if name.startswith("before"))
    assert "(in quickstart)" in before["chapter"]
    assert before["words"] < rows["main path"]["words"] / 5
    # issue 29's bar: at most 2,000 words and 15 minutes of reading
    assert before["words"] <= 2000 and before["minutes"] <= 15, before


def test_the_main_path_reads_in_five_hours() -> None:
    """Issue 29's bar: the main path at most 300 minutes by the stated rates
    (``python tools/reading_stats.py`` shows where the minutes go; evidence
    belongs in the appendix or behind a toggle, not on the path)."""
    rows = {r["chapter"]: r for r in reading_stats.report()["rows"]}
    assert rows["main path"]["minutes"] <= 300, rows["main path"]


def test_the_appendix_and_the_reference_are_off_the_main_path() -> None:
    """A reader may skip them: the engineering appendix is in the book
    (_toc.yml) but not in the main path's counts."""
    stems = [path.stem for path in reading_stats.main_path()]
    assert stems[:2] == ["intro", "quickstart"]
    assert "applications" in stems
    assert not {"engineering", "faq", "api"} & set(stems)
    assert "book/engineering" in (ROOT / "_toc.yml").read_text()


def test_the_main_path_has_short_sentences() -> None:
    """Issue 29's bar for prose a beginner reads: about 20 words a sentence
    on average in every main-path chapter, none over 40 (``python
    tools/reading_stats.py --long CHAPTER`` lists them)."""
    rows = reading_stats.report()["rows"]
    chapters = [
        r for r in rows if r["sentences"] and "path" not in r["chapter"]
    ]
    long = {r["chapter"]: r["long_sentences"] for r in chapters}
    assert not any(long.values()), long
    assert all(r["mean_sentence"] <= 20 for r in chapters), [
        (r["chapter"], r["mean_sentence"]) for r in chapters
    ]


def test_concepts_are_the_terms_table_rows_a_chapter_explains_first() -> None:
    """A row counts for the page its column "Where the book explains it"
    names first: by ``{doc}`` or by a ``{ref}`` to a target on the page."""
    table = (
        "| English | 中文 | Where the book explains it | The article |\n"
        "|---|---|---|---|\n"
        "| kernel | 卷积核 | {doc}`convolution` | — |\n"
        "| stride | 步幅 | {doc}`Convolution <convolution>`, {doc}`model` | — |\n"
        "| dropout | 暂退法 | {ref}`Model <term-dropout>` | — |\n"
        "| thread | 线程 | {ref}`Appendix <where-the-seconds-go>` | — |\n"
    )
    found = reading_stats.concepts(table)
    assert found == {
        "convolution": ["kernel", "stride"],
        "model": ["dropout"],
        "engineering": ["thread"],
    }


def test_a_term_linked_to_no_page_is_named() -> None:
    table = "| shard | 分片 | {ref}`Appendix <no-such-target>` | — |\n"
    with pytest.raises(ValueError, match="'shard' links to 'no-such-target'"):
        reading_stats.concepts(table)


def test_every_term_of_the_table_is_taught_somewhere() -> None:
    """Each row of book/terms.md names a page of the book, and the main path's
    count is the sum of its chapters'."""
    taught = reading_stats.concepts()
    rows = sum(len(terms) for terms in taught.values())
    lines = reading_stats.TERMS_TABLE.read_text().splitlines()
    table_rows = [
        line
        for line in lines
        if line.startswith("| ")
        and not line.startswith("| English")
        and "{" in line.split("|")[3]
    ]
    assert rows == len(table_rows)
    report = {r["chapter"]: r for r in reading_stats.report()["rows"]}
    chapters = [p.stem for p in reading_stats.main_path()]
    assert report["main path"]["concepts"] == sum(
        len(taught.get(c, [])) for c in chapters
    )
