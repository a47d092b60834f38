"""Sphinx extension for this book: run times read from the notebooks, never typed.

``tools/run_notebooks.py`` (``make notebooks``) stores each chapter's last full execution in the
notebook's metadata (``mnist_cnn.run``: seconds, date, CPU, cores, threads, device, versions).
Two directives show it:

- ``{run-time}`` on a chapter: one line saying how long the page took to run, on what, and when;
- ``{run-times}`` on the page "Run times": a table of every chapter, in the order of the book,
  with the total.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

# The whole book's notebook time, cold (empty checkpoint cache), on a 2-core
# laptop CPU: the goal the page "Run times" shows beside the recorded total
BUDGET_SECONDS = 360


def run_record(path: Path) -> dict[str, Any] | None:
    """The ``mnist_cnn.run`` metadata of a notebook, or None if it has none."""
    return (
        json.loads(path.read_text())
        .get("metadata", {})
        .get("mnist_cnn", {})
        .get("run")
    )


def machine_text(run: dict[str, Any]) -> str:
    device = "" if run["device"] == "cpu" else f" with {run['device']}"
    return (
        f"{run['cpu']} ({run['cores']} cores, {run['threads']} threads, {run['isa']}){device}, "
        f"torch {run['torch']}, Python {run['python']}"
    )


class RunTime(SphinxDirective):
    """The run of the notebook this directive sits in."""

    def run(self) -> list[nodes.Node]:
        path = Path(self.env.doc2path(self.env.docname))
        record = run_record(path) if path.suffix == ".ipynb" else None
        if record is None:
            raise self.error(
                f"{path.name}: no run recorded in its metadata; execute it with `make notebooks`"
            )
        self.env.note_dependency(str(path))
        zh = self.config.book_edition == "zh"
        if zh:
            text = (
                f"本页于 {record['date']} 在 {machine_text(record)} 上从头到尾执行，"
                f"用时 {record['seconds']:.0f} 秒。本页的输出来自那次运行；"
                "在其他机器上，训练得到的数字会略有不同，但都在页面"
            )
        else:
            text = (
                f"Executed top to bottom in {record['seconds']:.0f} s on {record['date']}, on "
                f"{machine_text(record)}. The outputs on this page are from that run; trained figures on "
                "another machine differ slightly, within the bands listed on the page "
            )
        para = nodes.paragraph("", "")
        para += nodes.emphasis("", "运行时间：" if zh else "Run time: ")
        para += nodes.Text(text)
        para += _doc_link(
            self.env.docname, _doc(self.config, "book/run-times")
        )
        para += nodes.Text(" 所列的范围之内。" if zh else ".")
        return [nodes.container("", para, classes=["run-time"])]


def _doc(config: Any, doc: str) -> str:
    """An English page name as this edition's build names it (the Chinese
    build's source folder is book/zh)."""
    return doc.removeprefix("book/") if config.book_edition == "zh" else doc


def _doc_link(
    fromdoc: str, target: str, title: str | None = None
) -> addnodes.pending_xref:
    ref = addnodes.pending_xref(
        "",
        refdomain="std",
        reftype="doc",
        reftarget="/" + target,
        refdoc=fromdoc,
        refexplicit=title is not None,
        refwarn=True,
    )
    ref += nodes.inline("", title or target)
    return ref


class RunTimes(SphinxDirective):
    """A table of every chapter notebook's last run, in the order of the book."""

    def run(self) -> list[nodes.Node]:
        src = Path(self.env.srcdir)
        toc = yaml.safe_load(
            (Path(__file__).resolve().parents[1] / "_toc.yml").read_text()
        )
        chapters = [
            _doc(self.config, c["file"])
            for part in toc["parts"]
            for c in part["chapters"]
        ]
        zh = self.config.book_edition == "zh"
        records = []
        for doc in chapters:
            path = src / f"{doc}.ipynb"
            if not path.is_file():
                continue
            record = run_record(path)
            if record is None:
                raise self.error(
                    f"{path.name}: no run recorded in its metadata; execute it with `make notebooks`"
                )
            self.env.note_dependency(str(path))
            records.append((doc, record))
        machines = {machine_text(r) for _, r in records}
        one_machine = (
            len(machines) == 1
        )  # the usual case: name it once, above the table
        header = (
            ["章节", "秒", "日期"] if zh else ["chapter", "seconds", "date"]
        ) + ([] if one_machine else ["机器" if zh else "machine"])
        rows = []
        for doc, r in records:
            rows.append(
                [
                    _doc_link(self.env.docname, doc),
                    nodes.Text(f"{r['seconds']:.0f}"),
                    nodes.Text(r["date"]),
                ]
                + ([] if one_machine else [nodes.Text(machine_text(r))])
            )
        total = sum(r["seconds"] for _, r in records)
        rows.append(
            [
                nodes.strong("", "全部章节" if zh else "all chapters"),
                nodes.strong("", f"{total:.0f}"),
                nodes.Text(""),
            ]
            + ([] if one_machine else [nodes.Text("")])
        )
        rows.append(
            [
                nodes.Text("预算" if zh else "budget"),
                nodes.Text(f"{BUDGET_SECONDS}"),
                nodes.Text(""),
            ]
            + ([] if one_machine else [nodes.Text("")])
        )
        out: list[nodes.Node] = []
        if one_machine:
            machine = machines.pop()
            out.append(
                nodes.paragraph(
                    "",
                    f"每一章都在 {machine} 上运行："
                    if zh
                    else f"Every chapter ran on {machine}:",
                )
            )
        return out + [_table(header, rows)]


def _table(header: list[str], rows: list[list[nodes.Node]]) -> nodes.table:
    table = nodes.table(classes=["run-times"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in (3, 1, 2, 6)[: len(header)]:
        group += nodes.colspec(colwidth=width)
    head, body = nodes.thead(), nodes.tbody()
    group += head
    group += body
    head += _row([nodes.Text(h) for h in header])
    for r in rows:
        body += _row(r)
    return table


def _row(cells: list[nodes.Node]) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        entry += nodes.paragraph("", "", cell)
        row += entry
    return row


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("run-time", RunTime)
    app.add_directive("run-times", RunTimes)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
