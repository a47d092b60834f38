"""The Chinese edition's search finds its terms whole (``make browser-test``,
after ``make book``): jieba, which Sphinx uses to cut Chinese text for the
index, is given the terms table as its user dictionary (``tools/zh.py
config``), so 学习率 is one entry in ``searchindex.js``, not 学习 and 率.
Reference: the pages whose prose contains the term."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import zh  # noqa: E402

pytestmark = pytest.mark.browser

INDEX = ROOT / "_build" / "html" / "zh" / "searchindex.js"
# the terms a reader searched for and did not find (issue 32)
ASKED = ("学习率", "优化器", "过拟合", "反向传播")


@pytest.fixture(scope="module")
def index() -> dict:
    if not INDEX.is_file():
        pytest.fail(f"no {INDEX}: run `make book` first")
    text = INDEX.read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1 : text.rindex(")")])


def prose_pages(term: str) -> set[str]:
    """The zh pages (doc names) whose Markdown prose contains ``term``."""
    found = set()
    for page in sorted(zh.ZH.glob("*.ipynb")) + sorted(zh.ZH.glob("*.md")):
        if page.suffix == ".md":
            text = page.read_text(encoding="utf-8")
        else:
            cells = json.loads(page.read_text())["cells"]
            text = "\n".join(
                "".join(c["source"])
                for c in cells
                if c["cell_type"] == "markdown"
            )
        text = re.sub(r"```.*?```|`[^`]*`|\$[^$]*\$", " ", text, flags=re.S)
        if term in text:
            found.add(page.stem)
    return found


def pages_of(index: dict, term: str) -> set[str]:
    hits: set[int] = set()
    for table in ("terms", "titleterms"):
        found = index[table].get(term, [])
        hits |= {found} if isinstance(found, int) else set(found)
    return {index["docnames"][i] for i in hits}


@pytest.mark.parametrize("term", ASKED)
def test_a_term_finds_every_page_that_uses_it(index: dict, term: str) -> None:
    want = prose_pages(term)
    assert len(want) >= 2, term  # the reference itself is not empty
    assert want <= pages_of(index, term), (
        f"{term}: the search finds {sorted(pages_of(index, term))}, the "
        f"pages using it are {sorted(want)}"
    )


def test_every_term_of_the_table_is_in_the_index(index: dict) -> None:
    used = [t for t in zh.search_terms() if prose_pages(t)]
    missing = [t for t in used if not pages_of(index, t)]
    assert len(used) > 100 and not missing, missing
