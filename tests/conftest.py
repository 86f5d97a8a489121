"""Shared fixtures: the built book, a local web server for it, and a headless browser."""
from __future__ import annotations

import asyncio
import functools
import os
import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bench.browser import CHROMIUM, CHROMIUM_FLAGS  # Debian's Chromium, never a downloaded one

ROOT = Path(__file__).resolve().parent.parent
BUILT_HTML = ROOT / "_build" / "html"


@pytest.fixture(scope="session")
def built_book() -> Path:
    """The HTML book; built here if `make book` has not run yet."""
    if not (BUILT_HTML / "book" / "case-data.html").exists():
        subprocess.run(
            [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT), "--warningiserror", "--keep-going"],
            check=True,
        )
    return BUILT_HTML


@pytest.fixture(scope="session")
def book_url(built_book: Path):
    """Serve the built book on 127.0.0.1 at a free port."""

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (no browser is ever downloaded)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test-tools` (apt-get install chromium) first")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def offline_page(browser):
    """A page that may reach 127.0.0.1 only; every other request is refused and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.blocked_requests = []

    def only_local(route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            page.blocked_requests.append(url)
            route.abort()

    context.route("**/*", only_local)
    yield page
    context.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def voila_url():
    """A real Voila server over the book's notebooks, on 127.0.0.1 only."""
    import time
    import urllib.request

    port = _free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "voila"),
            str(ROOT / "book"),
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
            "--show_tracebacks=True",
            "--template=offline",
        ],
        env={**os.environ, "JUPYTER_PATH": str(ROOT / "templates")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"Voila did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.3)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def _in_a_kernel_like_thread(test):
    """Run `test` in a thread of its own with a fresh current event loop, as a kernel's cells
    have. Playwright's sync API keeps its own loop running in the main thread for the whole
    session, so a test that runs a loop there would be refused."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        outcome = {}

        def body():
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                outcome["value"] = test(*args, **kwargs)
            except BaseException as error:  # handed back to the main thread below
                outcome["error"] = error
            finally:
                for task in asyncio.all_tasks(loop):
                    task.cancel()
                loop.run_until_complete(asyncio.sleep(0))
                loop.close()

        thread = threading.Thread(target=body, name=f"kernel-loop-{test.__name__}")
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")

    return run


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    if pyfuncitem.get_closest_marker("kernel_loop"):
        pyfuncitem.obj = _in_a_kernel_like_thread(pyfuncitem.obj)
    return (yield)

