"""From moving an explorer slider to the updated chart, in Chromium on a live Voila page.

One explorer of each kind (side-selling, brand, market, lead firm, the manager's audit):
its chapter opens in Voila (cold, one page at a time); once the page and its kernel are
idle, the slider's handle gets the keyboard focus and each arrow key moves it by one
step (three steps up, three down, and so on), as ``tests/test_live_pages.py`` does. Each
change is timed inside the page, from the ``keydown`` event to the ``load`` event of the
chart the slider belongs to (the first image in the smallest box around the slider that
holds one, as the live-page test finds it), that is with the new chart decoded; the next
change waits until the server and the kernel are idle again.

Baseline: the same changes made in Python to the same explorer, built by running the
chapter's own cells up to it in a fresh Python process (just before the page is opened),
without a kernel or a browser: setting the slider's value runs the explorer's update
(the model and the chart's PNG), the work the kernel does for one change. The ratio is
what the round trip through Voila and the browser costs on top.
"""
from __future__ import annotations

import ast
import contextlib
import io
import json
import subprocess
import sys
import time

from bench.browser import chromium, in_own_thread, new_page, report_remote
from bench.common import ROOT, percentile, row, target, wait_quiet
from bench.voila import PAGE_TIMEOUT, QUICK_IDLE_WAIT, VoilaServer, leave

# chapter: the slider's label in its explorer
EXPLORERS = {
    "uriri": "Monitoring probability",
    "delicias-criollas": "Chance a shirker is detected",
    "modhupur": "Association's commission",
    "apex-clusters": "Cluster's bargaining power",
    "governance": "Audit level",
}
QUICK_EXPLORERS = ["uriri"]
PATTERN = [+1, +1, +1, -1, -1, -1]  # arrow keys: right three times, then left three times
MEDIAN_TARGET_MS = 150  # issue 8
MOVE_TIMEOUT = 30  # seconds for one chart to come back
PYTHON_TIMEOUT = 300  # seconds for the baseline's process

ARM = """(slider) => {
    let box = slider.parentElement;
    while (box && !box.querySelector('img')) { box = box.parentElement; }
    const img = box.querySelector('img');
    const move = {down: null, load: null, before: img.getAttribute('src')};
    window.__benchMove = move;
    window.addEventListener('keydown', () => { if (move.down === null) { move.down = performance.now(); } },
                            {capture: true, once: true});
    const loaded = () => {
        if (img.getAttribute('src') !== move.before) {
            move.load = performance.now();
            img.removeEventListener('load', loaded);
        }
    };
    img.addEventListener('load', loaded);
}"""


def _steps(count: int) -> list[int]:
    return [PATTERN[i % len(PATTERN)] for i in range(count)]


# --- in Python, without a browser -----------------------------------------------------------


def _sliders(widget):
    from ipywidgets import Box, FloatSlider, IntSlider

    if isinstance(widget, (FloatSlider, IntSlider)):
        yield widget
    if isinstance(widget, Box):
        for child in widget.children:
            yield from _sliders(child)


def chapter_explorer(chapter: str, label: str):
    """Run the chapter's cells until one shows a widget with a slider labelled ``label``;
    returns that slider (its explorer holds it)."""
    from ipywidgets import Widget

    notebook = json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text())
    namespace: dict = {"__name__": "__main__"}
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        tree = ast.parse("".join(cell["source"]))
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        with contextlib.redirect_stdout(io.StringIO()):  # whatever a cell prints is not the table's
            exec(compile(tree, f"{chapter}.ipynb", "exec"), namespace)
            if last is None:
                continue
            shown = eval(compile(ast.Expression(last.value), f"{chapter}.ipynb", "eval"), namespace)
        if isinstance(shown, Widget):
            for slider in _sliders(shown):
                if slider.description == label:
                    return slider
    raise LookupError(f"{chapter}.ipynb shows no slider labelled {label!r}")


def python_changes(chapter: str, count: int) -> list[float]:
    """Milliseconds for each of ``count`` changes (after one unmeasured) made in Python, here."""
    slider = chapter_explorer(chapter, EXPLORERS[chapter])
    times = []
    for index, step in enumerate(_steps(count + 1)):
        value = slider.value + step * slider.step
        if not slider.min <= value <= slider.max:
            raise ValueError(f"{chapter}: the slider {slider.description!r} would leave its range")
        started = time.perf_counter()
        slider.value = value
        if index:
            times.append((time.perf_counter() - started) * 1000)
    return times


def python_changes_afresh(chapter: str, count: int) -> list[float]:
    """``python_changes`` in a new Python process, as fresh as a kernel (not this one, whose
    heap holds everything the other sections left)."""
    code = ("import json; from bench.sliders import python_changes; "
            f"print(json.dumps(python_changes({chapter!r}, {count})))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=PYTHON_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"The Python baseline for {chapter} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


# --- in Chromium ----------------------------------------------------------------------------


def changes(chapters: list[str], count: int, quick: bool) -> dict[str, tuple[list[float], list[float]]]:
    """Milliseconds for each of ``count`` changes (after one unmeasured) on each chapter's page,
    and for the same changes in Python, measured just before (so that both meet the same
    machine: other work on a shared one skews timings)."""
    results: dict[str, tuple[list[float], list[float]]] = {}
    with VoilaServer(machine_idle_wait=QUICK_IDLE_WAIT if quick else 30) as server, chromium() as browser:
        page = new_page(browser)
        for chapter in chapters:
            server.settle(0)
            in_python = python_changes_afresh(chapter, count)
            server.settle(0)
            page.goto(f"{server.url}/voila/render/{chapter}.ipynb", timeout=PAGE_TIMEOUT * 1000)
            label = page.locator(f"label:text-is({json.dumps(EXPLORERS[chapter])})")
            control = page.locator(".widget-slider", has=label).first
            control.wait_for(state="visible", timeout=PAGE_TIMEOUT * 1000)
            wait_quiet(server.pid, PAGE_TIMEOUT)
            control.locator(".noUi-handle").focus()
            slider = control.element_handle()
            times = []
            for index, step in enumerate(_steps(count + 1)):
                page.evaluate(ARM, slider)
                page.keyboard.press("ArrowRight" if step > 0 else "ArrowLeft")
                page.wait_for_function("window.__benchMove.load !== null", timeout=MOVE_TIMEOUT * 1000)
                move = page.evaluate("window.__benchMove")
                if index:
                    times.append(move["load"] - move["down"])
                wait_quiet(server.pid, MOVE_TIMEOUT, window=0.25)
            results[chapter] = times, in_python
            leave(page, server)
        report_remote(page, "Voila (sliders)")
        page.context.close()
    return results


def slider_to_chart(quick: bool) -> list[dict]:
    chapters, count = (QUICK_EXPLORERS, 3) if quick else (list(EXPLORERS), 20)
    measured_changes = in_own_thread(lambda: changes(chapters, count, quick))
    rows = []
    for chapter in chapters:
        slider = EXPLORERS[chapter]
        measured, baseline = measured_changes[chapter]
        for name, share in (("median", 0.5), ("95th percentile", 0.95)):
            value, base = percentile(measured, share), percentile(baseline, share)
            extra = {"targets": [target("median", MEDIAN_TARGET_MS, value, "ms")],
                     "runs": {"browser": measured, "python": baseline}} if share == 0.5 else {}
            rows.append(row(f"slider to updated chart in Chromium, {chapter} ({slider}), {name} of {count}",
                            value, "ms", base, "same change in Python: model + chart, no kernel or browser",
                            **extra))
    return rows


MEASUREMENTS = [slider_to_chart]
