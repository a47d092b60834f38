"""Where one option travels: the functions of the package that read it during
a real `train` run that is resumed and extended.

    python tools/option_walk.py                 # follows --epochs (the default)
    python tools/option_walk.py --word seed

It trains a tiny run for one epoch with a training state, then resumes it with
``--epochs 2`` under :func:`sys.settrace`, and lists every function (a "stay")
of ``src/mnist_cnn`` in which a line that names the word ran, in the order
first visited, with its module. The figure is the number of stays: how many
places a reader must visit to follow the option from the command line to the
loop (issue 31 counted 15 in 5 modules before the training code was reshaped).
"""

from __future__ import annotations

import argparse
import ast
import functools
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "mnist_cnn"


def _spans(stmt: ast.stmt) -> list[ast.AST]:
    """The parts of a statement that run as its own lines: all of a simple
    statement, the header of a compound one (its body is statements too)."""
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        return [stmt.target, stmt.iter]
    if isinstance(stmt, (ast.If, ast.While)):
        return [stmt.test]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return list(stmt.items)
    if isinstance(stmt, ast.Try):
        return []
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return []  # a definition names its parameters, not their use
    return [stmt]


@functools.cache
def _lines_naming(filename: str, word: str) -> frozenset[int]:
    """The lines of a statement that uses ``word`` as a name, an attribute,
    a keyword argument or a dictionary key (``cfg.epochs``,
    ``epochs=2``, ``state["config"]["epochs"]``): not prose in a string."""
    tree = ast.parse(Path(filename).read_text())
    lines: set[int] = set()
    for stmt in ast.walk(tree):
        if not isinstance(stmt, ast.stmt):
            continue
        for part in _spans(stmt):
            uses = any(
                (isinstance(n, ast.Name) and n.id == word)
                or (isinstance(n, ast.Attribute) and n.attr == word)
                or (isinstance(n, ast.keyword) and n.arg == word)
                or (isinstance(n, ast.Constant) and n.value == word)
                for n in ast.walk(part)
            )
            if uses:
                end = part.end_lineno or part.lineno  # type: ignore[attr-defined]
                lines.update(range(part.lineno, end + 1))  # type: ignore[attr-defined]
    return frozenset(lines)


def walk(word: str, folder: Path) -> list[tuple[str, str]]:
    from mnist_cnn import cli

    out = folder / "tiny.pt"
    common = ["train", "--train-subset", "256", "--batch-size", "64"]
    common += ["--schedule", "constant"]  # a run that can be extended
    common += ["--out", str(out), "--save-every", "2", "--quiet"]
    if cli.main([*common, "--epochs", "1"]) != 0:
        raise SystemExit("the first, untraced run failed")
    stays: list[tuple[str, str]] = []
    package = str(PACKAGE)

    def trace(frame, event, arg):  # type: ignore[no-untyped-def]
        filename = frame.f_code.co_filename
        if not filename.startswith(package):
            return None  # do not trace inside torch and the standard library
        if event == "line":
            if frame.f_lineno in _lines_naming(filename, word):
                # a comprehension or lambda is part of its function
                function = frame.f_code.co_qualname.split(".<locals>.<")[0]
                stay = (Path(filename).stem, function)
                if stay not in stays:
                    stays.append(stay)
        return trace

    sys.settrace(trace)
    try:
        code = cli.main([*common, "--epochs", "2", "--resume"])
    finally:
        sys.settrace(None)
    if code != 0:
        raise SystemExit("the resumed run failed")
    return stays


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--word", default="epochs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        stays = walk(args.word, Path(folder))
    for module, function in stays:
        print(f"{module:>12}  {function}")
    modules = {m for m, _ in stays}
    print(
        f"{len(stays)} stays in {len(modules)} modules follow "
        f"{args.word!r} through a resumed `train` run"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
