"""Building the book: a clean build that runs every notebook, and a rebuild with nothing changed.

The builds run on a copy of the book's files in a temporary folder (``_config.yml``,
``_toc.yml`` and ``book/``) whose config sets ``execute_notebooks: force``, so the
repository's ``_build`` and config are never touched. The ``widgets`` package (and the
case files it reads from ``cases/``) comes from the environment, where it is installed
in editable mode. Every build runs as ``make book`` does (``--warningiserror
--keep-going``), each with a time limit.

- clean build with execution, against a clean build from the stored outputs
  (execution off, as ``make book``): what running the notebooks adds;
- rebuild with nothing changed, against the clean build with execution.

With ``quick``, the book is a tiny one: the value-chains chapter and the bibliography.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, row

CLEAN_TIMEOUT = 900  # seconds; the whole book runs in about a minute and a half on two cores
REBUILD_TIMEOUT = 300
QUICK_TOC = "format: jb-book\nroot: book/value-chains\nchapters:\n  - file: book/bibliography\n"
QUICK_FILES = ["value-chains.ipynb", "bibliography.md", "references.bib", "_static", "quizzes"]


def _copy_book(target: Path, execute: bool, quick: bool) -> int:
    """The book's sources in ``target``; returns how many notebooks it holds."""
    config = (ROOT / "_config.yml").read_text()
    mode = "force" if execute else "off"
    config, found = re.subn(r'(?m)^(\s*execute_notebooks:\s*).*$', rf'\g<1>"{mode}"', config)
    if found != 1:
        raise RuntimeError("_config.yml has no execute_notebooks setting to override")
    (target / "_config.yml").write_text(config)
    if quick:
        (target / "_toc.yml").write_text(QUICK_TOC)
        (target / "book").mkdir()
        for name in QUICK_FILES:
            source = ROOT / "book" / name
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, target / "book" / name)
    else:
        shutil.copy2(ROOT / "_toc.yml", target / "_toc.yml")
        shutil.copytree(ROOT / "book", target / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return len(list((target / "book").glob("*.ipynb")))


def _build(folder: Path, timeout: float) -> float:
    """Seconds for ``jupyter-book build`` of ``folder``."""
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(folder), "--warningiserror",
               "--keep-going"]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise TimeoutError(f"jupyter-book build did not finish in {timeout:.0f} s") from error
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"jupyter-book build failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return seconds


def builds(quick: bool) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="book-bench-") as folder:
        stored, executed = Path(folder, "stored"), Path(folder, "executed")
        stored.mkdir()
        executed.mkdir()
        _copy_book(stored, execute=False, quick=quick)
        notebooks = _copy_book(executed, execute=True, quick=quick)
        from_stored = _build(stored, CLEAN_TIMEOUT)
        clean = _build(executed, CLEAN_TIMEOUT)
        rebuild = _build(executed, REBUILD_TIMEOUT)
    which = f"tiny book, {notebooks} notebook" if quick else f"{notebooks} notebooks"
    return [
        row(f"book: clean build, notebooks executed ({which})", clean, "s", from_stored,
            "clean build from stored outputs (make book)"),
        row(f"book: rebuild, nothing changed ({which})", rebuild, "s", clean, "clean build, notebooks executed"),
    ]


MEASUREMENTS = [builds]
