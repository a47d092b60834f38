"""How much a reader meets: words, sentences and visible code per chapter, and
before the first trained network.

    python tools/reading_stats.py            # the English main path, in _toc.yml order
    python tools/reading_stats.py --json     # the same figures as JSON
    python tools/reading_stats.py --long training   # its sentences over 40 words
    python tools/reading_stats.py --skip quickstart # as if a chapter were not there
    python tools/reading_stats.py --concepts model  # the terms Model teaches

What counts, per chapter of the main path (every part of ``_toc.yml`` but
"Appendix" and "Reference"):

* **words**: the prose of the Markdown cells (or the page), without code
  blocks, math, directives' options, MyST roles' targets or HTML comments;
* **sentences**: that prose split at ". ", "? ", "! " and at paragraph and list-item ends;
  the mean words per sentence and the number over 40 words;
* **code lines**: the non-blank lines of the code cells a reader sees (not
  tagged ``remove-cell``; ``hide-cell`` ones, exercise solutions, and
  ``hide-input`` ones, checks whose output is shown and whose code is not,
  are behind a toggle and counted apart) plus the source shown by
  ``literalinclude`` with ``:pyobject:``;
* **reading minutes**: words at 200 per minute plus visible code lines at 10
  per minute (rates stated here, not measured);
* **concepts**: the rows of the terms table (``book/terms.md``) whose column
  "Where the book explains it" names the chapter first: the terms the
  chapter is the one to teach (``--concepts`` lists them).

"Before the first trained network" adds up every chapter in order until the
first visible code cell that trains (``train_epoch(``, ``fit(``,
``fit_or_load(`` or ``train_steps(``), that cell's chapter included up to it.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORDS_PER_MINUTE = 200
CODE_LINES_PER_MINUTE = 10
# the parts a reader may skip: engineering, and pages to look things up in
OFF_THE_PATH = ("Appendix", "Reference")
# exercise solutions (hide-cell); checks that show their output (hide-input)
BEHIND_A_TOGGLE = {"hide-cell", "hide-input"}
TRAINS = re.compile(r"\b(train_epoch|fit|fit_or_load|train_steps)\(")


@dataclass
class Counts:
    chapter: str
    words: int = 0
    sentences: int = 0
    long_sentences: int = 0  # over 40 words
    code_lines: int = 0  # visible
    hidden_code_lines: int = 0  # behind a toggle (solutions, checks)
    concepts: int = 0  # terms the terms table says this chapter explains

    @property
    def mean_sentence(self) -> float:
        return self.words / self.sentences if self.sentences else 0.0

    @property
    def minutes(self) -> float:
        return (
            self.words / WORDS_PER_MINUTE
            + self.code_lines / CODE_LINES_PER_MINUTE
        )

    def add(self, other: Counts) -> None:
        for name in (
            "words",
            "sentences",
            "long_sentences",
            "code_lines",
            "concepts",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.hidden_code_lines += other.hidden_code_lines


def main_path(skip: tuple[str, ...] = ()) -> list[Path]:
    """The root page and every chapter outside "Appendix" and "Reference",
    in order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [ROOT / (toc["root"] + ".md")]
    for part in toc["parts"]:
        if part.get("caption") in OFF_THE_PATH:
            continue
        for chapter in part["chapters"]:
            for suffix in (".ipynb", ".md"):
                path = ROOT / (chapter["file"] + suffix)
                if path.is_file() and path.stem not in skip:
                    files.append(path)
    return files


def prose_of(markdown: str) -> str:
    """The words a reader reads: code, math, directives and markup removed."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r":::.*?\n", "\n", text)  # directive fences
    text = re.sub(r"^:\w+:.*$", "", text, flags=re.M)  # directive options
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$[^$\n]+\$", " formula ", text)
    text = re.sub(r"\{[\w:-]+\}`([^`<]*?)(?:<[^>]*>)?`", r"\1", text)
    text = re.sub(r"`[^`]*`", " code ", text)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"^\(\w[\w-]*\)=$", "", text, flags=re.M)  # labels
    text = re.sub(r"^\|?[-| :]+\|?$", "", text, flags=re.M)  # table rules
    # a table row reads as a sentence of its own
    text = re.sub(r"^\|(.*)$", r"\n\1\n", text, flags=re.M)
    return re.sub(r"[#*_|>]", " ", text)


def sentences(prose: str) -> list[str]:
    """The sentences of ``prose``: split at sentence ends, paragraphs and
    list items; empty pieces dropped."""
    found = []
    for block in re.split(r"\n\s*\n|\n\s*[-*] |\n\s*\d+\. ", prose):
        for sentence in re.split(r"(?<=[.?!])\s+(?=[A-Z(\"'])", block):
            if words_in(sentence):
                found.append(" ".join(sentence.split()))
    return found


def words_in(text: str) -> int:
    return len(re.findall(r"\w[\w'’-]*", text))


def sentences_of(prose: str) -> list[int]:
    """Words per sentence (:func:`sentences`)."""
    return [words_in(sentence) for sentence in sentences(prose)]


def included_lines(markdown: str, base: Path) -> int:
    """Lines of the functions or classes a ``literalinclude`` shows."""
    total = 0
    pattern = r"```\{literalinclude\} (\S+)\n:pyobject: (\S+)"
    for target, name in re.findall(pattern, markdown):
        source = (base / target).resolve().read_text()
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if getattr(node, "name", None) == name.split(".")[-1]:
                lines = source.splitlines()[node.lineno - 1 : node.end_lineno]
                total += sum(1 for line in lines if line.strip())
                break
    return total


def add_prose(counts: Counts, markdown: str, base: Path) -> None:
    sizes = sentences_of(prose_of(markdown))
    counts.words += sum(sizes)
    counts.sentences += len(sizes)
    counts.long_sentences += sum(1 for n in sizes if n > 40)
    counts.code_lines += included_lines(markdown, base)


def chapter_counts(
    path: Path, stop_at_training: bool = False
) -> tuple[Counts, bool]:
    """The chapter's counts (up to and including its first training cell
    when ``stop_at_training``), and whether it trains."""
    counts = Counts(path.stem)
    if path.suffix == ".md":
        add_prose(counts, path.read_text(), path.parent)
        return counts, False
    for cell in json.loads(path.read_text())["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            add_prose(counts, source, path.parent)
            continue
        tags = set(cell["metadata"].get("tags", []))
        lines = sum(1 for line in source.splitlines() if line.strip())
        if "remove-cell" in tags:
            continue
        if tags & BEHIND_A_TOGGLE:
            counts.hidden_code_lines += lines
            continue
        counts.code_lines += lines
        if stop_at_training and TRAINS.search(source):
            return counts, True
    return counts, False


TERMS_TABLE = ROOT / "book" / "terms.md"
LINK = re.compile(r"\{(doc|ref)\}`(?:[^`<]*<)?([^`<>]+)>?`")


def labels() -> dict[str, str]:
    """Every MyST target of the book (``(name)=``) -> the page that holds it."""
    found = {}
    for path in sorted((ROOT / "book").glob("*.*")):
        if path.suffix == ".md":
            text = path.read_text()
        elif path.suffix == ".ipynb":
            cells = json.loads(path.read_text())["cells"]
            text = "\n".join("".join(c["source"]) for c in cells)
        else:
            continue
        for name in re.findall(r"^\(([\w.-]+)\)=", text, flags=re.M):
            found[name] = path.stem
    return found


def concepts(table: str | None = None) -> dict[str, list[str]]:
    """Page -> the terms whose row in the terms table names that page first
    under "Where the book explains it" (a ``{doc}`` of the page or a
    ``{ref}`` to a target on it)."""
    text = TERMS_TABLE.read_text() if table is None else table
    targets = labels()
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3:
            continue
        link = LINK.search(cells[2])
        if link is None:  # the header, its rule
            continue
        kind, name = link.groups()
        if kind == "doc":
            page = name
        elif name in targets:
            page = targets[name]
        else:
            raise ValueError(
                f"{TERMS_TABLE.name}: the term {cells[0]!r} links to "
                f"{name!r}, which no page of the book defines; link to "
                "an existing target or page"
            )
        found.setdefault(page, []).append(cells[0])
    return found


def report(skip: tuple[str, ...] = ()) -> dict:
    chapters = [chapter_counts(p)[0] for p in main_path(skip)]
    taught = concepts()
    for c in chapters:
        c.concepts = len(taught.get(c.chapter, []))
    before = Counts("before the first trained network")
    for path in main_path(skip):
        counts, trained = chapter_counts(path, stop_at_training=True)
        before.add(counts)
        if trained:
            before.chapter += f" (in {path.stem})"
            break
    total = Counts("main path")
    for c in chapters:
        total.add(c)
    rows = [*chapters, total, before]
    return {
        "rates": {
            "words_per_minute": WORDS_PER_MINUTE,
            "code_lines_per_minute": CODE_LINES_PER_MINUTE,
        },
        "rows": [
            {
                **asdict(c),
                "mean_sentence": round(c.mean_sentence, 1),
                "minutes": round(c.minutes, 1),
            }
            for c in rows
        ],
    }


def long_sentences(chapter: str) -> list[str]:
    """The sentences of ``chapter`` over 40 words, to shorten."""
    path = next(p for p in main_path() if p.stem == chapter)
    cells = (
        [{"cell_type": "markdown", "source": path.read_text()}]
        if path.suffix == ".md"
        else json.loads(path.read_text())["cells"]
    )
    return [
        sentence
        for cell in cells
        if cell["cell_type"] == "markdown"
        for sentence in sentences(prose_of("".join(cell["source"])))
        if words_in(sentence) > 40
    ]


def main(argv: list[str]) -> int:
    if "--concepts" in argv:
        for term in concepts().get(argv[argv.index("--concepts") + 1], []):
            print("-", term)
        return 0
    if "--long" in argv:
        for sentence in long_sentences(argv[argv.index("--long") + 1]):
            print("-", sentence)
        return 0
    skip = (
        tuple(argv[argv.index("--skip") + 1].split(","))
        if "--skip" in argv
        else ()
    )
    data = report(skip)
    if "--json" in argv:
        print(json.dumps(data, indent=1))
        return 0
    print(
        f"{'':42s} {'words':>6s} {'sent.':>5s} {'mean':>5s} {'>40':>4s} "
        f"{'code':>5s} {'hidden':>6s} {'min':>5s} {'concepts':>8s}"
    )
    for r in data["rows"]:
        print(
            f"{r['chapter']:42s} {r['words']:6d} {r['sentences']:5d} "
            f"{r['mean_sentence']:5.1f} {r['long_sentences']:4d} "
            f"{r['code_lines']:5d} {r['hidden_code_lines']:6d} "
            f"{r['minutes']:5.1f} {r['concepts']:8d}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
