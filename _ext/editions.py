"""Sphinx extension: the English and the Chinese edition link to each other.

The English book is built from the repository root (pages ``book/NAME``) into
``_build/html``; the Chinese one from ``book/zh`` (pages ``NAME``) into
``_build/html/zh`` (``make book``; ``tools/zh.py`` writes its config, which
sets ``book_edition = "zh"``). Every page gets a link, in its header, to the
same page in the other edition.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

SWITCH = {
    "en": ("zh", "中文", "本页的中文版"),
    "zh": ("en", "English", "This page in English"),
}
# the theme's strings that have no zh_CN translation in its catalogues
ZH_UI = {
    "Search this book...": "搜索本书……",
    'title="Toggle primary sidebar"': 'title="显示或隐藏章节目录"',
    'title="Toggle secondary sidebar"': 'title="显示或隐藏本页目录"',
    'aria-label="Toggle hidden content"': 'aria-label="显示或隐藏内容"',
    'title="Toggle hidden content"': 'title="显示或隐藏内容"',
    "© Copyright": "© 版权所有",
}
ROOT = Path(__file__).resolve().parents[1]
# `make pdf` writes them; the English build copies them to its pdf/ folder
PDFS = {
    "en": ("cnn-from-scratch-en.pdf", "PDF: the whole book", "fas fa-book"),
    "zh": ("cnn-from-scratch-zh.pdf", "PDF：全书中文版", "fas fa-book"),
}
# pages Sphinx makes itself: the same name in both builds
GENERATED = {"genindex", "search", "py-modindex"}


def twin_url(pagename: str, edition: str) -> str:
    """The other edition's page, relative to this page's folder."""
    depth = pagename.count("/")
    if edition == "en":
        name = (
            pagename
            if pagename in GENERATED
            else pagename.removeprefix("book/")
        )
        return "../" * depth + f"zh/{name}.html"
    name = pagename if pagename in GENERATED else f"book/{pagename}"
    return "../" * (depth + 1) + f"{name}.html"


def add_switch(
    app: Sphinx,
    pagename: str,
    templatename: str,
    context: dict[str, Any],
    doctree: Any,
) -> None:
    edition = app.config.book_edition
    lang, text, title = SWITCH[edition]
    context["edition_switch_url"] = twin_url(pagename, edition)
    context["edition_switch_lang"] = lang
    context["edition_switch_text"] = text
    context["edition_switch_title"] = title
    items = context.get("theme_article_header_end") or []
    if isinstance(items, str):
        items = [t.strip() for t in items.split(",") if t.strip()]
    if "edition-switch.html" not in items:
        context["theme_article_header_end"] = ["edition-switch.html", *items]


def built_pdfs() -> list[str]:
    """The editions whose PDF `make pdf` has written, English first."""
    return [
        e
        for e, (name, _, _) in PDFS.items()
        if (ROOT / "_build" / "pdf" / name).is_file()
    ]


def add_pdf_links(
    app: Sphinx,
    pagename: str,
    templatename: str,
    context: dict[str, Any],
    doctree: Any,
) -> None:
    """Each built PDF in the page's download menu (after the theme made
    the menu, priority 501)."""
    depth = pagename.count("/") + (app.config.book_edition == "zh")
    for group in context.get("header_buttons", []):
        if group.get("label") != "download-buttons":
            continue
        for edition in built_pdfs():
            name, text, icon = PDFS[edition]
            group["buttons"].append(
                {
                    "type": "link",
                    "url": "../" * depth + f"pdf/{name}",
                    "text": text,
                    "tooltip": text,
                    "icon": icon,
                    "label": f"download-book-pdf-{edition}",
                }
            )


def copy_pdfs(app: Sphinx, exception: Exception | None) -> None:
    """The English build serves the PDFs from its pdf/ folder."""
    if exception or app.config.book_edition != "en":
        return
    if app.builder.name != "html":
        return
    for edition in built_pdfs():
        name = PDFS[edition][0]
        target = Path(app.outdir) / "pdf" / name
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(ROOT / "_build" / "pdf" / name, target)


def translate_ui(app: Sphinx, exception: Exception | None) -> None:
    """Chinese pages: the theme strings its zh_CN catalogue lacks."""
    if exception or app.config.book_edition != "zh":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = text
        for en, zh in ZH_UI.items():
            new = new.replace(en, zh)
        if new != text:
            page.write_text(new, encoding="utf-8")


def add_static(app: Sphinx, config: Any) -> None:
    """This extension's stylesheet (static/editions.css)."""
    config.html_static_path.append(str(Path(__file__).parent / "static"))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("book_edition", "en", "html", [str])
    app.connect("html-page-context", add_switch, priority=400)
    app.connect("build-finished", translate_ui)
    app.connect("html-page-context", add_pdf_links, priority=502)
    app.connect("build-finished", copy_pdfs)
    app.connect("config-inited", add_static)
    app.add_css_file("editions.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
