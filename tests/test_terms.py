"""Explain before use: no page uses one of the book's key terms before the
page that defines it, unless it links to the definition.

``TERMS`` is the small table of term -> where it is defined: the defining page
and the MyST target (``(term-...)=``) placed right before the definition (a
formula and a sentence of intuition). The pages are read in the order of
``_toc.yml``. A use is a match of the term's pattern in a paragraph of prose
(and, for terms marked ``code``, in a code cell too). A use is allowed

* after the target, on the defining page or any later page;
* before it, only in a paragraph that links forward to the definition:
  ``{ref}`...<term-...>``` or ``{doc}`` of the defining page.

Headings are not uses: they announce what a section explains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Term:
    pattern: str  # a regular expression, case-insensitive
    page: str  # the defining page, as _toc.yml names it
    label: str  # the MyST target before its definition
    code: bool = False  # uses in code cells count too


TERMS = {
    "batch normalisation": Term(
        r"batch[- ]?norm", "book/model", "term-batch-norm"
    ),
    "dropout": Term(r"dropout", "book/model", "term-dropout"),
    "training and evaluation mode": Term(
        r"\.eval\(\)|\.train\(\)|no_grad|inference_mode|eval_mode",
        "book/model",
        "term-train-eval",
        code=True,
    ),
    "learning-rate schedule": Term(
        r"learning[- ]rate schedule|one-?cycle|cosine (decay|schedule)",
        "book/training",
        "term-schedule",
    ),
    "weight decay": Term(
        r"weight[- ]decay", "book/training", "term-weight-decay"
    ),
    "label smoothing": Term(
        r"label[- ]smoothing", "book/training", "term-label-smoothing"
    ),
    "data augmentation": Term(
        r"augment", "book/training", "term-augmentation"
    ),
    "early stopping": Term(
        r"early[- ]stopping", "book/training", "term-early-stopping"
    ),
}


@dataclass(frozen=True)
class Chunk:
    page: str
    where: str  # "cell 12" or "paragraph 3", for the message
    text: str
    code: bool


def pages() -> list[str]:
    """The pages in reading order, as _toc.yml lists them."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    order = [toc["root"]]
    for part in toc["parts"]:
        order += [chapter["file"] for chapter in part["chapters"]]
    return order


def chunks(page: str) -> list[Chunk]:
    """A page's paragraphs of prose, and its code cells, in order."""
    md, nb = ROOT / f"{page}.md", ROOT / f"{page}.ipynb"
    if md.exists():
        cells = [("markdown", md.read_text())]
    else:
        notebook = nbformat.read(nb, as_version=4)
        cells = [(c.cell_type, c.source) for c in notebook.cells]
    out = []
    for i, (kind, source) in enumerate(cells):
        if kind == "code":
            out.append(Chunk(page, f"cell {i}", source, True))
            continue
        prose = re.sub(r"^#+ .*$", "", source, flags=re.M)  # headings
        for j, paragraph in enumerate(re.split(r"\n\s*\n", prose)):
            out.append(
                Chunk(page, f"cell {i}, paragraph {j}", paragraph, False)
            )
    return out


def links_to(chunk: Chunk, term: Term) -> bool:
    """The paragraph links to the definition or to its page."""
    name = term.page.split("/")[-1]
    doc = rf"\{{doc\}}`(?:[^`<]*<)?(?:\.\./|/)?(?:book/)?{re.escape(name)}>?`"
    ref = rf"\{{ref\}}`(?:[^`<]*<)?{re.escape(term.label)}>?`"
    return bool(re.search(doc, chunk.text) or re.search(ref, chunk.text))


def early_uses(term: Term, order: list[str]) -> list[str]:
    """Where ``term`` is used before its definition without a link to it."""
    target = re.compile(rf"^\({re.escape(term.label)}\)=\s*$", re.M)
    use = re.compile(term.pattern, re.I)
    found, problems = False, []
    for page in order[: order.index(term.page) + 1]:
        for chunk in chunks(page):
            if not chunk.code and target.search(chunk.text):
                found = True
            if found:
                break
            if chunk.code and (not term.code or page == term.page):
                continue
            match = use.search(chunk.text)
            if match and not links_to(chunk, term):
                problems.append(f"{chunk.page} ({chunk.where}): {match[0]!r}")
        if found:
            break
    if not found:
        problems.append(f"no target ({term.label})= on {term.page}")
    return problems


def test_the_table_names_pages_of_the_book() -> None:
    order = pages()
    for name, term in TERMS.items():
        assert term.page in order, f"{name}: {term.page} is not in _toc.yml"


@pytest.mark.parametrize("name", sorted(TERMS))
def test_no_page_uses_a_term_before_its_definition(name: str) -> None:
    problems = early_uses(TERMS[name], pages())
    assert not problems, (
        f"{name!r} is used before its definition ({TERMS[name].page}, "
        f"({TERMS[name].label})=) without a link to it: "
        + "; ".join(problems)
        + ". Define it earlier, or link forward with {ref}`... <"
        + TERMS[name].label
        + ">` in that paragraph."
    )


def test_the_check_sees_a_use_before_the_definition(tmp_path: Path) -> None:
    # the check itself: a term used on an earlier page without a link fails,
    # with a forward link it passes
    term = Term(r"label[- ]smoothing", "book/training", "term-label-smoothing")
    plain = Chunk("book/intro", "p", "We use label smoothing.", False)
    linked = Chunk(
        "book/intro",
        "p",
        "We use label smoothing ({ref}`defined later <term-label-smoothing>`).",
        False,
    )
    assert not links_to(plain, term) and links_to(linked, term)
    assert links_to(Chunk("x", "p", "see {doc}`training`", False), term)
    assert not links_to(Chunk("x", "p", "see {doc}`model`", False), term)
