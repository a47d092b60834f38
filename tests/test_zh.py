"""The Chinese edition (book/zh/): every page has a twin, code cells and
outputs are the English ones, and no translation is stale (tools/zh.py)."""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "_ext"))

import editions  # noqa: E402
import zh  # noqa: E402


def english_pages() -> list[Path]:
    return zh.english_pages()


def test_every_english_page_has_a_chinese_twin() -> None:
    missing = [p.name for p in english_pages() if not zh.twin(p).is_file()]
    assert not missing, f"no Chinese twin in book/zh/: {missing}"
    extra = {p.name for p in zh.ZH.glob("*.*")} - {
        p.name for p in english_pages()
    }
    assert not extra, f"book/zh/ pages without an English page: {extra}"


@pytest.mark.parametrize(
    "page",
    [p for p in zh.english_pages() if p.suffix == ".ipynb"],
    ids=lambda p: p.name,
)
def test_code_cells_and_outputs_are_the_english_ones(page: Path) -> None:
    en = json.loads(page.read_text())
    ours = json.loads(zh.twin(page).read_text())
    assert [c["id"] for c in ours["cells"]] == [c["id"] for c in en["cells"]]
    for i, (e, z) in enumerate(zip(en["cells"], ours["cells"])):
        assert z["cell_type"] == e["cell_type"], f"cell {i}"
        if e["cell_type"] != "markdown":  # all but the figures' text
            assert zh.without_alt(z) == zh.without_alt(e), (
                f"{page.name} cell {i}: run tools/zh.py sync"
            )
    # the notebook's metadata too (kernel, the run the page reports)
    assert ours["metadata"] == en["metadata"]


def test_no_translation_is_missing_or_stale() -> None:
    problems = zh.check_all()
    assert not problems, "\n".join(map(str, problems[:40])) + (
        f"\n… {len(problems)} in all: translate, then "
        "`python tools/zh.py stamp book/zh/PAGE`"
    )


def test_sync_changes_nothing_on_a_synced_tree(tmp_path: Path) -> None:
    for page in english_pages():
        if page.suffix == ".ipynb":
            synced = zh.sync_notebook(page, zh.twin(page))
            assert synced == json.loads(zh.twin(page).read_text())
        else:
            assert zh.sync_page(page, zh.twin(page)) == (
                zh.twin(page).read_text()
            )


def _markdown_cell(nb: dict, needle: str) -> dict:
    return next(
        c
        for c in nb["cells"]
        if c["cell_type"] == "markdown" and needle in zh.source(c)
    )


def test_one_changed_english_sentence_names_its_cell(tmp_path: Path) -> None:
    """The drift check in a scratch copy: one English sentence of the
    chapter Pooling changed, its Chinese twin untouched."""
    en = json.loads((zh.BOOK / "pooling.ipynb").read_text())
    assert not zh.check_notebook(
        zh.BOOK / "pooling.ipynb", zh.twin(zh.BOOK / "pooling.ipynb")
    )
    cell = next(
        c
        for c in en["cells"]
        if c["cell_type"] == "markdown" and zh.needs_words(zh.source(c))
    )
    cell["source"] = [zh.source(cell).replace(" the ", " a ", 1)]
    changed = tmp_path / "pooling.ipynb"
    changed.write_text(json.dumps(en))
    problems = zh.check_notebook(changed, zh.twin(zh.BOOK / "pooling.ipynb"))
    assert len(problems) == 1
    assert cell["id"] in problems[0].where and "stale" in problems[0].what


@pytest.mark.parametrize("kind", ["alt", "caption"])
def test_a_figures_words_are_translated_kept_and_named_when_stale(
    tmp_path: Path, kind: str
) -> None:
    """mystnb.image.alt and mystnb.figure.caption, the one part of a code
    cell the editions do not share: untranslated is named; a translation
    survives sync while its English stands; a changed English makes it
    stale, and sync puts the English back until someone translates it."""
    en_nb = json.loads((zh.BOOK / "pooling.ipynb").read_text())
    zh_nb = json.loads(zh.twin(zh.BOOK / "pooling.ipynb").read_text())
    i, cell = next(
        (i, c)
        for i, c in enumerate(en_nb["cells"])
        if c["cell_type"] == "code"
        and not zh.figure_alt(c)
        and not zh.figure_text(c, "caption")
    )
    en_path, zh_path = tmp_path / "en.ipynb", tmp_path / "zh.ipynb"

    def write(text_en: str, zh_cell: dict) -> None:
        en_nb["cells"][i] = zh.with_text(cell, kind, text_en, None)
        zh_nb["cells"][i] = zh_cell
        en_path.write_text(json.dumps(en_nb))
        zh_path.write_text(json.dumps(zh_nb))

    english = "A digit and its pooled maps."
    write(english, zh.with_text(cell, kind, english, None))
    (problem,) = zh.check_notebook(en_path, zh_path)
    assert cell["id"] in problem.where and "untranslated" in problem.what
    assert f"mystnb.{zh.FIGURE_TEXTS[kind][0]}.{kind}" in problem.what
    record = {"en": zh.text_hash(english)}
    write(english, zh.with_text(cell, kind, "一个数字及其池化结果。", record))
    assert zh.check_notebook(en_path, zh_path) == []
    synced = zh.sync_notebook(en_path, zh_path)["cells"][i]
    assert zh.figure_text(synced, kind) == "一个数字及其池化结果。"
    write("A digit and four pooled maps.", zh_nb["cells"][i])
    (problem,) = zh.check_notebook(en_path, zh_path)
    assert "stale" in problem.what
    synced = zh.sync_notebook(en_path, zh_path)["cells"][i]
    assert zh.figure_text(synced, kind) == "A digit and four pooled maps."


def test_one_changed_english_sentence_names_its_section(
    tmp_path: Path,
) -> None:
    text = (zh.BOOK / "faq.md").read_text()
    parts = zh.sections(text)
    parts[2] = parts[2].replace(" the ", " a ", 1)
    changed = tmp_path / "faq.md"
    changed.write_text("".join(parts))
    problems = zh.check_page(changed, zh.twin(zh.BOOK / "faq.md"))
    assert [p.where.split()[:2] for p in problems] == [["section", "2"]]
    assert "stale" in problems[0].what


def test_a_translation_that_drops_a_glued_number_is_named(
    tmp_path: Path,
) -> None:
    page = zh.BOOK / "data.ipynb"
    ours = json.loads(zh.twin(page).read_text())
    cell = _markdown_cell(ours, "{glue:text}")
    text = zh.source(cell)
    role = text[text.index("{glue:text}") :].split("`")[1]
    cell["source"] = [text.replace(f"{{glue:text}}`{role}`", "42")]
    broken = tmp_path / "data.ipynb"
    broken.write_text(json.dumps(ours))
    problems = zh.check_notebook(page, broken)
    assert len(problems) == 1 and "markup differs" in problems[0].what
    assert f"missing {{glue:text}}`{role}`" in problems[0].what


def test_a_stamped_cell_left_in_english_is_named(tmp_path: Path) -> None:
    page = zh.BOOK / "evaluation.ipynb"
    en = json.loads(page.read_text())
    ours = copy.deepcopy(en)
    for c in ours["cells"]:
        if c["cell_type"] == "markdown":
            c["metadata"]["zh"] = {"en": zh.text_hash(zh.source(c))}
    fake = tmp_path / "evaluation.ipynb"
    fake.write_text(json.dumps(ours))
    problems = zh.check_notebook(page, fake)
    text = [p for p in problems if "mystnb." not in p.what]
    assert text and all("no Chinese" in p.what for p in text)
    figures = [p for p in problems if "mystnb." in p.what]
    assert len(figures) == sum(
        bool(zh.figure_text(c, kind))
        for c in en["cells"]
        for kind in zh.FIGURE_TEXTS
    )


def test_the_sync_rewrites_include_paths_once() -> None:
    line = "```{literalinclude} ../src/mnist_cnn/ops.py\n"
    once = zh.fix_paths(line)
    assert once == "```{literalinclude} ../../src/mnist_cnn/ops.py\n"
    assert zh.fix_paths(once) == once


def test_sections_cut_at_headings_outside_code() -> None:
    text = "(top)=\n# A\ntext\n```python\n# not a heading\n```\n## B\nx\n"
    assert zh.sections(text) == [
        "(top)=\n# A\ntext\n```python\n# not a heading\n```\n",
        "## B\nx\n",
    ]


def test_the_chinese_build_config() -> None:
    cfg = zh.zh_config()
    conf = cfg["sphinx"]["config"]
    assert conf["language"] == "zh_CN" and conf["book_edition"] == "zh"
    # the English paths, made absolute (_vendor/ exists only after make book)
    for path in conf["html_static_path"] + conf["templates_path"]:
        assert Path(path).is_absolute() and Path(path).parent == ROOT, path
    for path in cfg["bibtex_bibfiles"]:
        assert Path(path).is_file(), path
    toc = zh.zh_toc()
    docs = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert all(
        (zh.ZH / f"{d}.ipynb").exists() or (zh.ZH / f"{d}.md").exists()
        for d in docs + [toc["root"]]
    )


@pytest.mark.parametrize(
    ("page", "url"),
    [
        ("book/data", "../zh/data.html"),
        ("genindex", "zh/genindex.html"),
    ],
)
def test_each_page_links_the_same_page_in_the_other_edition(
    page: str, url: str
) -> None:
    assert editions.twin_url(page, "en") == url
    back = editions.twin_url(page.removeprefix("book/"), "zh")
    # from _build/html/zh/<page>.html back to _build/html/<page>.html
    assert back == f"../{page}.html"


GLUED = re.compile(r"\{glue:text\}`([\w]+)")
WORD = re.compile(r"\b(?!(?:inf|nan)\b)[a-z]{3,}\b")  # an English word


def english_in_glued_prose(page: Path) -> list[str]:
    """The glued values a Chinese page's prose shows that are English words
    (a method's name, "present"): each edition must read in its language."""
    nb = json.loads(page.read_text())
    values = {}
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            data = out.get("data", {})
            if name and "application/papermill.record/text/plain" in data:
                values[name] = data["application/papermill.record/text/plain"]
    found = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for name in GLUED.findall("".join(cell["source"])):
            if WORD.search(values.get(name, "")):
                found.append(f"{page.name}: {name} = {values[name]}")
    return found


@pytest.mark.parametrize(
    "page", sorted(zh.ZH.glob("*.ipynb")), ids=lambda p: p.name
)
def test_no_chinese_sentence_shows_a_glued_english_word(page: Path) -> None:
    found = english_in_glued_prose(page)
    assert not found, (
        f"{found}: glue NAME_zh with the Chinese words (transfer.METHODS_ZH) "
        "and use it in the Chinese prose"
    )


def test_the_english_word_check_sees_one() -> None:
    english = [
        found
        for page in english_pages()
        if page.suffix == ".ipynb"
        for found in english_in_glued_prose(page)
    ]
    assert any("best_digits = " in f for f in english), english
    assert not any("cpu_capability" in f for f in english)  # 'AVX2'


def test_the_words_of_a_formula_may_be_translated_the_rest_may_not() -> None:
    en = r"each layer gets $\partial L/\partial(\text{its output})$"
    ours = r"每一层接收 $\partial L/\partial(\text{该层的输出})$"
    assert zh.markup_problem(en, ours) is None
    changed = r"每一层接收 $\partial L/\partial(\text{该层的输出})^2$"
    assert "markup differs" in (zh.markup_problem(en, changed) or "")


# one rendering per idea: the term the Chinese edition uses, and the other
# renderings a page must not use in its prose (glosses in brackets, code,
# formulas and quotations of the article are left out of the search)
ONE_TERM = {
    "轮": [r"\bepochs?\b"],
    "全量微调": ["完整微调"],
    "代码单元": ["单元格"],
    "合理性检查": ["合理性测试"],
    "抽取": ["抽样"],
}


def markdown_text(page: Path) -> str:
    """A Markdown page, or a notebook's Markdown cells, joined."""
    if page.suffix == ".md":
        return page.read_text(encoding="utf-8")
    nb = json.loads(page.read_text())
    return "\n".join(
        "".join(c["source"])
        for c in nb["cells"]
        if c["cell_type"] == "markdown"
    )


def chinese_prose(page: Path) -> str:
    # the English column of a table (the terms page: | epoch | 轮 | …)
    text = re.sub(r"(?m)^\|[^|\n]*\|", "|", markdown_text(page))
    # code, math, roles, quotations (of the article) “…”, glosses (…)/（…）
    return re.sub(
        r"```.*?```|`[^`]*`|\$[^$]*\$|“[^”]*”|（[^）]*）|\([^)]*\)",
        " ",
        text,
        flags=re.S,
    )


def chinese_pages() -> list[Path]:
    return sorted(zh.ZH.glob("*.ipynb")) + sorted(zh.ZH.glob("*.md"))


def other_wordings(
    page: Path, text: str, table: dict[str, list[str]], flags: int = 0
) -> list[str]:
    """Where ``text`` (of ``page``) uses a variant ``table`` lists instead
    of the one wording it maps it to."""
    return [
        f"{page.name}: {m.group(0)!r} (use {wording})"
        for wording, variants in table.items()
        for variant in variants
        for m in re.finditer(variant, text, flags=flags)
    ]


def other_renderings(page: Path) -> list[str]:
    return other_wordings(page, chinese_prose(page), ONE_TERM, re.I)


def test_each_term_has_one_rendering_on_every_chinese_page() -> None:
    found = [f for page in chinese_pages() for f in other_renderings(page)]
    assert not found, found


def test_a_second_rendering_is_seen(tmp_path: Path) -> None:
    page = tmp_path / "x.md"
    page.write_text("每个 epoch 之后做完整微调（full fine-tuning）。", "utf-8")
    assert len(other_renderings(page)) == 2


def test_chinese_pages_quote_with_mainland_marks() -> None:
    """Mainland Chinese quotes with “…” (‘…’ inside); 「…」 is the
    Taiwan/Hong Kong style, and one edition uses one."""
    found = [
        f"{page.name}: {m.group(0)!r}"
        for page in chinese_pages()
        for m in re.finditer(r"[「」『』].{0,20}", markdown_text(page))
    ]
    assert not found, found


# one wording for what recurs: a chapter is referred to as {doc}`x`一章
# (not “{doc}`x`”一章), an answer is 藏在折叠按钮后面
ONE_STYLE = {
    "{doc}`…`一章": [r"“\{doc\}`[^`]*`”"],
    "藏在折叠按钮后面": [r"开关后面", r"答案在折叠按钮后面"],
}


def other_styles(page: Path) -> list[str]:
    return other_wordings(page, markdown_text(page), ONE_STYLE)


def test_recurring_phrases_have_one_wording() -> None:
    found = [f for page in chinese_pages() for f in other_styles(page)]
    assert not found, found


def test_a_second_wording_is_seen(tmp_path: Path) -> None:
    page = tmp_path / "x.md"
    page.write_text("见“{doc}`model`”一章。答案折叠在开关后面。", "utf-8")
    assert len(other_styles(page)) == 2


def figure_cells(nb: dict) -> list[tuple[dict, int]]:
    """Code cells that show figures, with how many."""
    found = []
    for c in nb["cells"]:
        images = sum(
            "image/png" in o.get("data", {}) for o in c.get("outputs", [])
        )
        if c["cell_type"] == "code" and images:
            found.append((c, images))
    return found


@pytest.mark.parametrize(
    "page",
    [p for p in zh.english_pages() if p.suffix == ".ipynb"],
    ids=lambda p: p.name,
)
def test_each_figure_has_a_caption_in_the_pages_language(page: Path) -> None:
    """myst-nb puts mystnb.figure.caption under every figure a cell shows,
    so a cell of one figure has one, in English and in Chinese; a cell of
    several has none (the same caption would stand under each)."""
    en = json.loads(page.read_text())
    ours = {c["id"]: c for c in json.loads(zh.twin(page).read_text())["cells"]}
    for cell, images in figure_cells(en):
        english = zh.figure_text(cell, "caption")
        chinese = zh.figure_text(ours[cell["id"]], "caption")
        where = f"{page.name} cell {cell['id']}"
        if images > 1:
            assert english is None, f"{where}: {images} figures, 1 caption"
            continue
        assert english and not zh.CJK.search(english), where
        assert chinese and zh.CJK.search(chinese), where
