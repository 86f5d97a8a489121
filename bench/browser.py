"""Debian's Chromium driven by Playwright, as the browser tests drive it (no browser is
ever downloaded), for the sections that time what a reader sees.

Playwright's sync API refuses a thread whose event loop is running, and the test suite
keeps one running in its main thread once a browser fixture started; so the browser
work of a section runs in a thread of its own (``in_own_thread``).
"""
from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [  # the browser tests launch it the same way (tests/conftest.py)
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")

T = TypeVar("T")


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium (a Playwright ``Browser``)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `make test-tools` (apt-get install chromium) first")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser):
    """A page in a fresh context (its own cache). Requests that leave 127.0.0.1 are not
    intercepted (interception would slow every request down) but recorded in
    ``page.remote_requests``: the pages must work offline."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.remote_requests = []
    page.on("request", lambda request: None if request.url.startswith(LOCAL)
            else page.remote_requests.append(request.url))
    return page


def report_remote(page, where: str) -> None:
    if page.remote_requests:
        print(f"{where}: requests that left 127.0.0.1: {sorted(set(page.remote_requests))}", file=sys.stderr)


def in_own_thread(work: Callable[[], T]) -> T:
    """Run ``work`` in a new thread (no running event loop there) and hand back its result."""
    outcome: dict = {}

    def body():
        try:
            outcome["value"] = work()
        except BaseException as error:  # raised again in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=body, name="bench-browser")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
