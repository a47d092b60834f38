"""The Chinese edition (book/zh/): same code and outputs, translated prose.

The English pages in ``book/`` are the source. Their Chinese twins in
``book/zh/`` share every code cell and its outputs with them, cell for cell
(``sync`` copies them); only Markdown differs. Each translated Markdown cell
records which English text it translates (a hash, in the cell's metadata
``zh.en``); each translated section of a Markdown page records it in a MyST
comment line ``% zh-en: HASH`` above the section. ``check`` names every
Chinese cell or section whose English changed since it was translated.

    python tools/zh.py sync             # new/changed code and outputs -> zh
    python tools/zh.py check            # stale or missing translations
    python tools/zh.py stamp book/zh/data.ipynb [--cell ID]
    python tools/zh.py config OUTDIR    # the zh build's _config.yml/_toc.yml

The translator's loop: ``sync`` (an English cell that is new shows up in
English, marked ``zh.en: null``), translate it in Jupyter or an editor, then
``stamp`` the page (stamps every unstamped cell or section; a stale one is
re-stamped by ``--cell ID`` / ``--section N`` once it is re-translated).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
ZH = BOOK / "zh"
MARKER = re.compile(r"^% zh-en: (\S+)\s*$")
UNSTAMPED = "untranslated"
FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})")
HEADING = re.compile(r"^#{1,6} ")
LABEL = re.compile(r"^\([\w.-]+\)=\s*$")
CJK = re.compile(r"[\u3400-\u9fff]")
ROLE = re.compile(r"\{([\w:-]+)\}`([^`]*)`")
LABELS = re.compile(r"^\(([\w.-]+)\)=", re.M)
DIRECTIVE = re.compile(r"^\s*(?:`{3,}|:{3,})\{([\w:-]+)\}", re.M)
MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$([^$\n]+?)\$", re.S)
# words inside a formula (\text{its output}) may be translated: the check
# compares formulas with them blanked
TEXT_IN_MATH = re.compile(r"\\text\{[^{}]*\}")
BLANK_TEXT = r"\\text{…}"
# a directive's path is relative to the page, which is one folder deeper
INCLUDE = re.compile(r"^(\s*(?:`{3,}|:{3,})\{literalinclude\} )\.\./(?!\.\./)")

CAPTIONS = {
    "Start here": "从这里开始",
    "Background": "背景",
    "Data": "数据",
    "The mathematics of CNN layers": "CNN 各层的数学",
    "The model": "模型",
    "Training and evaluation": "训练与评估",
    "Fine-tuning": "微调",
    "Applications and outlook": "应用与展望",
    "Appendix": "附录",
    "Reference": "参考",
}
TITLE = "从零开始：用 PyTorch 实现卷积神经网络"


def text_hash(text: str) -> str:
    """The hash a translation records: of the English text, whitespace at
    the ends ignored."""
    return hashlib.sha256(text.strip().encode()).hexdigest()[:12]


def source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def lines(text: str) -> list[str]:
    """Text as nbformat stores it: a list of lines, each with its newline."""
    return text.splitlines(keepends=True)


def english_pages() -> list[Path]:
    return sorted(p for p in BOOK.iterdir() if p.suffix in (".ipynb", ".md"))


def twin(en: Path) -> Path:
    return ZH / en.name


def fix_paths(text: str) -> str:
    """``{literalinclude} ../src/x.py`` on a page one folder deeper."""
    return "".join(INCLUDE.sub(r"\1../../", ln) for ln in lines(text))


def needs_words(text: str) -> bool:
    """Whether English text has prose to translate (outside code, math,
    directives' options and roles)."""
    prose, fenced = [], False
    for ln in text.splitlines():
        if FENCE.match(ln):
            fenced = not fenced
            continue
        if not fenced and not ln.lstrip().startswith((":", "%", "(")):
            prose.append(ln)
    body = " ".join(prose)
    body = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`|\{[\w:-]+\}", " ", body)
    return len(re.findall(r"[A-Za-z]{3,}", body)) >= 3


def markup(text: str) -> Counter[str]:
    """What a translation must keep: glued keys, cross-reference and
    citation targets, labels, directives and formulas (the words of a
    formula's ``\\text{…}`` may be translated). A glued key
    ``NAME_zh`` counts as ``NAME``: the same value in the Chinese
    edition's words (a method's name, "有" for "present")."""
    found: Counter[str] = Counter()
    for role, target in ROLE.findall(text):
        target = (
            target.rsplit("<", 1)[-1].rstrip(">") if "<" in target else target
        )
        if role.startswith("glue"):  # NAME_zh: NAME in the edition's words
            name, _, spec = target.partition(":")
            target = name.removesuffix("_zh") + (f":{spec}" if spec else "")
        found[f"{{{role}}}`{target.strip()}`"] += 1
    found.update(f"label {m}" for m in LABELS.findall(text))
    found.update(f"directive {m}" for m in DIRECTIVE.findall(text))
    found.update(
        "math " + TEXT_IN_MATH.sub(BLANK_TEXT, "".join(m)).strip()
        for m in MATH.findall(text)
    )
    return +found


def markup_problem(en: str, zh: str) -> str | None:
    """How the translation's markup differs from the English, if it does
    (each item present, in any number: a sentence may name $p$ twice)."""
    e, z = set(markup(en)), set(markup(zh))
    if e == z:
        return None
    return (
        "markup differs: "
        + "; ".join(
            [f"missing {k}" for k in sorted(e - z)]
            + [f"extra {k}" for k in sorted(z - e)]
        )[:300]
    )


# ---------------------------------------------------------------- notebooks


# The figures' words, the one part of a code cell the editions do not share:
# myst-nb's cell metadata mystnb.image.alt (the text a screen reader reads)
# and mystnb.figure.caption (the caption under the figure). Each
# translation records the hash of the English it translates, under
# zh_alt / zh_caption.
FIGURE_TEXTS = {
    "alt": ("image", "zh_alt"),
    "caption": ("figure", "zh_caption"),
}


def figure_text(cell: dict, kind: str) -> str | None:
    """A code cell's ``kind`` ("alt" or "caption") for its figures, or
    None."""
    group, _ = FIGURE_TEXTS[kind]
    mystnb = cell.get("metadata", {}).get("mystnb", {})
    return mystnb.get(group, {}).get(kind)


def with_text(
    cell: dict, kind: str, text: str | None, record: dict | None
) -> dict:
    """The cell with ``text`` as its figures' ``kind`` and ``record`` (the
    hash of the English text it translates) beside it; None removes."""
    group, key = FIGURE_TEXTS[kind]
    new = copy.deepcopy(cell)
    meta = new.setdefault("metadata", {})
    if text is None:
        options = meta.get("mystnb", {}).get(group, {})
        options.pop(kind, None)
        if group in meta.get("mystnb", {}) and not options:
            del meta["mystnb"][group]
        if "mystnb" in meta and not meta["mystnb"]:
            del meta["mystnb"]
    else:
        meta.setdefault("mystnb", {}).setdefault(group, {})[kind] = text
    meta.pop(key, None)
    if record is not None:
        meta[key] = record
    return new


def figure_alt(cell: dict) -> str | None:
    """A code cell's alternative text for its figures, or None."""
    return figure_text(cell, "alt")


def with_alt(cell: dict, alt: str | None, record: dict | None) -> dict:
    return with_text(cell, "alt", alt, record)


def without_alt(cell: dict) -> dict:
    """The cell as both editions share it: no figure words, no records."""
    for kind in FIGURE_TEXTS:
        cell = with_text(cell, kind, None, None)
    return cell


def sync_notebook(en_path: Path, zh_path: Path) -> dict:
    """The zh notebook: the English cells, with the Markdown cells replaced
    by their translations (matched by cell id); a new English Markdown cell
    comes in untranslated (``zh.en: null``)."""
    en = json.loads(en_path.read_text())
    old = json.loads(zh_path.read_text()) if zh_path.is_file() else None
    translated = {c["id"]: c for c in (old["cells"] if old else [])}
    cells = []
    for cell in en["cells"]:
        new = copy.deepcopy(cell)
        zh_cell = translated.get(cell["id"], {})
        for kind, (_, key) in FIGURE_TEXTS.items():
            english = figure_text(cell, kind)
            record = zh_cell.get("metadata", {}).get(key)
            # a figure's words: the translation while its English is the
            # one it translates, else the English (check names it stale)
            if cell["cell_type"] == "code" and english and record:
                if record.get("en") == text_hash(english):
                    text = figure_text(zh_cell, kind)
                    new = with_text(new, kind, text, record)
        if cell["cell_type"] == "markdown":
            zh = translated.get(cell["id"])
            if zh is not None and zh["cell_type"] != "markdown":
                zh = None
            record = (zh or {}).get("metadata", {}).get("zh", {"en": None})
            text = source(zh) if zh else source(cell)
            new["source"] = lines(fix_paths(text))
            new["metadata"] = {**cell.get("metadata", {}), "zh": record}
        cells.append(new)
    return {**en, "cells": cells}


def write_notebook(path: Path, nb: dict) -> None:
    path.parent.mkdir(exist_ok=True)
    text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)


@dataclass
class Problem:
    page: str
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.page}, {self.where}: {self.what}"


def check_notebook(en_path: Path, zh_path: Path) -> list[Problem]:
    page = f"book/zh/{zh_path.name}"
    if not zh_path.is_file():
        return [Problem(page, "whole page", "missing; run tools/zh.py sync")]
    en = json.loads(en_path.read_text())["cells"]
    zh = json.loads(zh_path.read_text())["cells"]
    if [c["id"] for c in en] != [c["id"] for c in zh]:
        return [Problem(page, "cells", "not the English cells; run sync")]
    problems = []
    for i, (e, z) in enumerate(zip(en, zh)):
        where = f"cell {i} (id {e['id']})"
        if e["cell_type"] != "markdown":
            if without_alt(z) != without_alt(e):
                problems.append(
                    Problem(page, where, "code or outputs differ; run sync")
                )
            else:
                problems += figure_text_problems(e, z, page, where)
            continue
        first = source(e).strip().splitlines()[:1] or [""]
        recorded = z.get("metadata", {}).get("zh", {}).get("en")
        if recorded is None:
            problems.append(
                Problem(page, where, f"untranslated: {first[0][:60]!r}")
            )
        elif recorded != text_hash(source(e)):
            problems.append(
                Problem(
                    page,
                    where,
                    "stale: its English changed since it was "
                    f"translated: {first[0][:60]!r}",
                )
            )
        elif needs_words(source(e)) and not CJK.search(source(z)):
            problems.append(
                Problem(page, where, "stamped but has no Chinese text")
            )
        elif differs := markup_problem(source(e), source(z)):
            problems.append(Problem(page, where, differs))
    return problems


def figure_text_problems(
    e: dict, z: dict, page: str, where: str
) -> list[Problem]:
    """What is stale or untranslated in a code cell's figure words."""
    problems = []
    for kind, (group, key) in FIGURE_TEXTS.items():
        english = figure_text(e, kind)
        if not english:
            continue
        record = z.get("metadata", {}).get(key, {})
        if record.get("en") != text_hash(english):
            problems.append(
                Problem(
                    page,
                    where,
                    f"its figures' {kind} (mystnb.{group}.{kind}) is "
                    f"untranslated or stale: {english[:50]!r}",
                )
            )
        elif not CJK.search(figure_text(z, kind) or ""):
            problems.append(
                Problem(page, where, f"figures' {kind} has no Chinese")
            )
    return problems


def stamp_notebook(zh_path: Path, en_path: Path, cell: str | None) -> int:
    nb = json.loads(zh_path.read_text())
    english = {c["id"]: c for c in json.loads(en_path.read_text())["cells"]}
    n = 0
    for c in nb["cells"]:
        if c["cell_type"] != "markdown":
            continue
        record = c["metadata"].setdefault("zh", {"en": None})
        if (cell is None and record["en"] is None) or c["id"] == cell:
            record["en"] = text_hash(source(english[c["id"]]))
            n += 1
    if cell is not None and n == 0:
        raise SystemExit(f"{zh_path}: no Markdown cell with id {cell}")
    write_notebook(zh_path, nb)
    return n


# ---------------------------------------------------------- Markdown pages


def sections(text: str) -> list[str]:
    """A page cut before every heading (and the label line just above it)
    outside fenced blocks; the first section is what precedes the first
    heading (may be empty)."""
    out, current, fenced = [], [], False
    for ln in lines(text):
        if FENCE.match(ln):
            fenced = not fenced
        if not fenced and HEADING.match(ln):
            label = (
                current[-1:] if current and LABEL.match(current[-1]) else []
            )
            out.append("".join(current[: len(current) - len(label)]))
            current = label
        current.append(ln)
    out.append("".join(current))
    return out if out[0].strip() else out[1:]


def zh_sections(text: str) -> list[tuple[str, str]]:
    """(recorded hash, translated text) for each ``% zh-en:`` section."""
    out: list[tuple[str, list[str]]] = []
    for ln in lines(text):
        m = MARKER.match(ln)
        if m:
            out.append((m.group(1), []))
        elif out:
            out[-1][1].append(ln)
    return [(h, "".join(body)) for h, body in out]


def sync_page(en_path: Path, zh_path: Path) -> str:
    """The zh page: one marked section per English section; translated
    ones are kept in place, new ones come in English, unstamped."""
    en = sections(en_path.read_text())
    old = zh_sections(zh_path.read_text()) if zh_path.is_file() else []
    parts = []
    for i, section in enumerate(en):
        if i < len(old):
            recorded, text = old[i]
        else:
            recorded, text = UNSTAMPED, section
        parts.append(f"% zh-en: {recorded}\n{fix_paths(text)}")
    return "".join(parts)


def check_page(en_path: Path, zh_path: Path) -> list[Problem]:
    page = f"book/zh/{zh_path.name}"
    if not zh_path.is_file():
        return [Problem(page, "whole page", "missing; run tools/zh.py sync")]
    en = sections(en_path.read_text())
    zh = zh_sections(zh_path.read_text())
    if len(en) != len(zh):
        return [
            Problem(
                page,
                "sections",
                f"{len(zh)} marked sections for English's {len(en)}",
            )
        ]
    problems = []
    for i, (e, (recorded, z)) in enumerate(zip(en, zh)):
        title = next(
            (ln for ln in e.splitlines() if HEADING.match(ln)), "(top)"
        )
        where = f"section {i} {title[:60]!r}"
        if recorded == UNSTAMPED:
            problems.append(Problem(page, where, "untranslated"))
        elif recorded != text_hash(e):
            problems.append(Problem(page, where, "stale: its English changed"))
        elif needs_words(e) and not CJK.search(z):
            problems.append(
                Problem(page, where, "stamped but has no Chinese text")
            )
        elif differs := markup_problem(e, z):
            problems.append(Problem(page, where, differs))
    return problems


def stamp_page(zh_path: Path, en_path: Path, section: int | None) -> int:
    en = sections(en_path.read_text())
    zh = zh_sections(zh_path.read_text())
    parts, n = [], 0
    for i, (recorded, text) in enumerate(zh):
        if (section is None and recorded == UNSTAMPED) or i == section:
            recorded, n = text_hash(en[i]), n + 1
        parts.append(f"% zh-en: {recorded}\n{text}")
    zh_path.write_text("".join(parts))
    return n


# ------------------------------------------------------------------ build


def zh_toc() -> dict:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())

    def local(doc: str) -> str:
        return doc.removeprefix("book/")

    return {
        "format": toc["format"],
        "root": local(toc["root"]),
        "parts": [
            {
                "caption": CAPTIONS[part["caption"]],
                "chapters": [
                    {"file": local(c["file"])} for c in part["chapters"]
                ],
            }
            for part in toc["parts"]
        ],
    }


def search_terms() -> list[str]:
    """The Chinese terms of the terms table (book/zh/terms.md, its second
    column, before any gloss in brackets): the words the search must find
    whole, as jieba would otherwise cut 学习率 into 学习 and 率."""
    terms = []
    for line in (ZH / "terms.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 4 or not CJK.search(cells[2]) or cells[1] == "英文":
            continue
        main = re.split(r"[（(；;]", cells[2])[0]
        for term in re.split(r"[、/，,]", main):
            term = term.strip()
            whole = " " not in term and term not in terms
            if len(term) >= 2 and CJK.search(term) and whole:
                terms.append(term)
    return terms


def zh_config(search_dict: Path | None = None) -> dict:
    """The English _config.yml with the Chinese title and language, for a
    build whose source folder is book/zh (so paths become absolute);
    ``search_dict``: jieba's user dictionary for the search index."""
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    cfg["title"] = TITLE
    cfg["exclude_patterns"] = ["**.ipynb_checkpoints"]
    cfg["bibtex_bibfiles"] = [str(ROOT / f) for f in cfg["bibtex_bibfiles"]]
    cfg["repository"]["path_to_book"] = "book/zh"
    sphinx = cfg["sphinx"]
    sphinx["local_extensions"] = {
        name: str(ROOT / path)
        for name, path in sphinx["local_extensions"].items()
    }
    conf = sphinx["config"]
    conf["language"] = "zh_CN"
    conf["book_edition"] = "zh"
    # the strings of myst-nb and sphinx-togglebutton, which have no zh_CN
    conf["nb_code_prompt_show"] = "显示代码单元"
    conf["nb_code_prompt_hide"] = "隐藏代码单元"
    conf["togglebutton_hint"] = "点击显示"
    conf["togglebutton_hint_hide"] = "点击隐藏"
    conf["html_static_path"] = [
        str(ROOT / p) for p in conf["html_static_path"]
    ]
    conf["templates_path"] = [str(ROOT / p) for p in conf["templates_path"]]
    if search_dict is not None:  # the terms whole in the search index
        conf["html_search_options"] = {"dict": str(search_dict.resolve())}
    conf["mermaid_cmd"] = str(ROOT / conf["mermaid_cmd"])
    conf["mermaid_params"] = [
        str(ROOT / p) if (ROOT / p).is_file() else p
        for p in conf["mermaid_params"]
    ]
    return cfg


# -------------------------------------------------------------------- CLI


def sync_all() -> list[str]:
    written = []
    for en in english_pages():
        zh = twin(en)
        before = zh.read_text() if zh.is_file() else None
        if en.suffix == ".ipynb":
            write_notebook(zh, sync_notebook(en, zh))
        else:
            ZH.mkdir(exist_ok=True)
            text = sync_page(en, zh)
            if text != before:
                zh.write_text(text)
        if zh.read_text() != before:
            written.append(str(zh.relative_to(ROOT)))
    return written


def check_all() -> list[Problem]:
    problems = []
    for en in english_pages():
        check = check_notebook if en.suffix == ".ipynb" else check_page
        problems += check(en, twin(en))
    extra = {p.name for p in ZH.glob("*")} - {p.name for p in english_pages()}
    problems += [
        Problem(f"book/zh/{n}", "whole page", "has no English page")
        for n in sorted(extra)
        if n.endswith((".md", ".ipynb"))
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/zh.py", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("sync", help="copy code cells and outputs into book/zh")
    sub.add_parser("check", help="list stale or missing translations")
    p = sub.add_parser("stamp", help="record what a translation translates")
    p.add_argument("page", type=Path, help="book/zh/NAME.ipynb or .md")
    p.add_argument("--cell", help="re-stamp this cell id (notebooks)")
    p.add_argument("--section", type=int, help="re-stamp section N (pages)")
    p = sub.add_parser("config", help="write the zh build's config and toc")
    p.add_argument("outdir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "sync":
        for name in sync_all():
            print(f"wrote {name}")
    elif args.command == "check":
        problems = check_all()
        for problem in problems:
            print(problem)
        print(f"{len(problems)} translation problem(s)", file=sys.stderr)
        return 1 if problems else 0
    elif args.command == "stamp":
        zh = args.page.resolve()
        en = BOOK / zh.name
        if zh.suffix == ".ipynb":
            n = stamp_notebook(zh, en, args.cell)
        else:
            n = stamp_page(zh, en, args.section)
        print(f"{zh.name}: stamped {n}")
    else:
        args.outdir.mkdir(parents=True, exist_ok=True)
        words = args.outdir / "search_terms.txt"  # jieba: word frequency
        words.write_text(
            "".join(f"{t} 100000\n" for t in search_terms()), encoding="utf-8"
        )
        for name, data in (
            ("_config.yml", zh_config(words)),
            ("_toc.yml", zh_toc()),
        ):
            (args.outdir / name).write_text(
                yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
