"""Run the book's notebooks again and store their outputs and widget state.

    python -m widgets.notebooks book            # every notebook under book/
    python -m widgets.notebooks book/uriri.ipynb

The book is built from these stored outputs (execution is off in _config.yml) and nbval
checks in the test suite that a fresh run still gives them.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def run_notebook(path: Path, timeout: int = 300) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,  # what lets widgets render in the static book
    )
    client.execute()
    nbformat.write(notebook, path)


def notebooks_under(target: Path) -> list[Path]:
    if target.is_file():
        return [target]
    return sorted(p for p in target.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and "_build" not in p.parts)


if __name__ == "__main__":
    targets = [Path(arg) for arg in sys.argv[1:]] or [Path("book")]
    for target in targets:
        for path in notebooks_under(target):
            print(f"running {path}", flush=True)
            run_notebook(path)
