"""Time to the first widget of each exercise page in Voila, cold and from a preheated pool.

A real Voila server over ``book/`` (the offline template, on 127.0.0.1), and Debian's
Chromium: the time runs from ``page.goto`` to the first control a reader can use (a
slider, button, dropdown, text field or checkbox) being visible.

- cold: a plain Voila, so the request starts a kernel and runs the notebook;
- preheated: Voila with ``--preheat_kernel=True --pool_size=1``. For a folder of
  notebooks Voila 0.5 keeps a pool for every notebook it finds, each kernel having run its
  notebook already; here ``VoilaKernelManager.kernel_pools_config`` limits the pools to
  the measured pages (``default`` pool size 0). A request takes the pool's kernel and its
  rendered page; Voila refills the pool a second later (``fill_delay``), and the next
  measurement waits until the new kernel has run its notebook and everything is quiet.

Each server first serves one page unmeasured, so the browser's cache and the server's
templates are warm as for any later reader; every measured load then waits until the
server and its kernels are idle (and, for up to 30 s, until the machine is: other work on
a shared machine skews the timings). The kernel of a measured page is shut down afterwards.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from bench.browser import chromium, in_own_thread, new_page, report_remote
from bench.common import (ROOT, free_port, kernels, listening, median, row, stop, target, wait_machine_idle, wait_quiet,
                          wait_until)

# The chapters with explorers or games (bargaining.ipynb has only a quiz; case-data a case browser).
EXERCISE_PAGES = ["free-riding", "uriri", "delicias-criollas", "modhupur", "bagra", "apex-clusters", "governance",
                  "modhupur-governance", "delicias-governance", "sri-lanka-sbas"]
QUICK_PAGES = ["uriri"]
CONTROLS = ".widget-slider, .widget-button, .widget-dropdown, .widget-text, .widget-checkbox"
COLD_TARGET, PREHEATED_TARGET = 1.5, 0.3  # seconds (issue 8)
START_TIMEOUT = 60
PAGE_TIMEOUT = 120
SETTLE_TIMEOUT = 300  # a pool of ten kernels running their notebooks on two cores
QUICK_IDLE_WAIT = 3  # seconds to wait for a busy machine in the smoke run, which asserts no timings


class VoilaServer:
    """``voila book/`` on 127.0.0.1 with the offline template, optionally with preheated pools."""

    def __init__(self, preheat: list[str] | None = None, machine_idle_wait: float = 30):
        self.preheat = preheat or []
        self.machine_idle_wait = machine_idle_wait  # seconds ``settle`` waits at most for the machine
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> VoilaServer:
        self.folder = tempfile.TemporaryDirectory(prefix="voila-bench-")
        config_dir = Path(self.folder.name)
        args = [str(Path(sys.executable).parent / "voila"), str(ROOT / "book"), "--no-browser",
                f"--port={self.port}", "--Voila.ip=127.0.0.1", "--template=offline",
                f"--Voila.config_file_paths={config_dir}"]
        if self.preheat:
            pools = {"default": {"pool_size": 0}, **{f"{page}.ipynb": {"pool_size": 1} for page in self.preheat}}
            (config_dir / "voila.json").write_text(json.dumps({"VoilaKernelManager": {"kernel_pools_config": pools}}))
            args += ["--preheat_kernel=True", "--pool_size=1"]
        self.log = config_dir / "voila.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(args, cwd=ROOT, env={**os.environ, "JUPYTER_PATH": str(ROOT / "templates")},
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if not listening(self.port, self.process, START_TIMEOUT):
            self.__exit__()
            raise RuntimeError(f"Voila did not start: {self.log.read_text()[-3000:]}")
        return self

    def __exit__(self, *exc_info) -> None:
        if self.process is not None:
            stop(self.process)
        self.folder.cleanup()

    @property
    def pid(self) -> int:
        return self.process.pid

    def kernels(self) -> set[int]:
        return kernels(self.pid)

    def settle(self, expected_kernels: int, changed_from: set[int] | None = None) -> None:
        """Wait until exactly ``expected_kernels`` kernels run, a set other than
        ``changed_from`` when given (a used kernel gone and the pool refilled), and the
        server and its kernels are idle (the new kernel has run its notebook)."""
        wait_until(lambda: len(k := self.kernels()) == expected_kernels and k != changed_from, SETTLE_TIMEOUT,
                   f"{expected_kernels} kernel(s) in Voila")
        wait_quiet(self.pid, SETTLE_TIMEOUT)
        wait_machine_idle(self.machine_idle_wait)

    def shut_down(self, kernel_id: str) -> None:
        """Shut a kernel down through Voila's own endpoint. Voila sets no XSRF cookie, so the
        page's own request on unload is refused (403) and the kernel would stay; this
        request brings a cookie and the same token, as a page holding the cookie would."""
        token = uuid.uuid4().hex
        request = urllib.request.Request(f"{self.url}/voila/api/shutdown/{kernel_id}", method="POST", data=b"",
                                         headers={"Cookie": f"_xsrf={token}", "X-XSRFToken": token})
        urllib.request.urlopen(request, timeout=10).close()


def kernel_id(page) -> str:
    found = re.search(r'"kernelId": "([0-9a-f-]+)"', page.content())
    if not found:
        raise RuntimeError("The Voila page names no kernel.")
    return found.group(1)


def open_page(page, server: VoilaServer, name: str) -> float:
    """Seconds from ``goto`` to the first visible control of ``name``."""
    started = time.perf_counter()
    page.goto(f"{server.url}/voila/render/{name}.ipynb", wait_until="commit", timeout=PAGE_TIMEOUT * 1000)
    page.locator(CONTROLS).filter(visible=True).first.wait_for(state="visible", timeout=PAGE_TIMEOUT * 1000)
    return time.perf_counter() - started


def leave(page, server: VoilaServer) -> None:
    """Leave the page and shut its kernel down, as a reader closing the tab."""
    used = kernel_id(page)
    page.goto("about:blank")
    server.shut_down(used)


def _loads(pages: list[str], repeats: int, preheat: bool, quick: bool) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in pages}
    pool = len(pages) if preheat else 0
    server = VoilaServer(preheat=pages if preheat else None, machine_idle_wait=QUICK_IDLE_WAIT if quick else 30)
    with server, chromium() as browser:
        page = new_page(browser)
        server.settle(pool)
        for index, name in enumerate([pages[0]] + [n for n in pages for _ in range(repeats)]):
            before = server.kernels()
            seconds = open_page(page, server, name)
            if index:  # the first load only warms the browser's cache and the server up
                times[name].append(seconds)
            leave(page, server)
            server.settle(pool, changed_from=before if preheat else None)
        report_remote(page, f"Voila ({'preheated' if preheat else 'cold'})")
        page.context.close()
    return times


def time_to_widgets(quick: bool) -> list[dict]:
    pages, repeats = (QUICK_PAGES, 1) if quick else (EXERCISE_PAGES, 3)
    cold = in_own_thread(lambda: _loads(pages, repeats, preheat=False, quick=quick))
    warm = in_own_thread(lambda: _loads(pages, repeats, preheat=True, quick=quick))
    rows = []
    for name in pages:
        cold_s, warm_s = median(cold[name]), median(warm[name])
        rows.append(row(f"Voila: first control visible, {name}, cold (median of {repeats})", cold_s, "s", warm_s,
                        "preheated pool, pool_size=1",
                        targets=[target("cold", COLD_TARGET, cold_s), target("preheated", PREHEATED_TARGET, warm_s)],
                        runs={"cold": cold[name], "preheated": warm[name]}))
    return rows


MEASUREMENTS = [time_to_widgets]
