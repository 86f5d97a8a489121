"""A live workshop in real browser pages: the projector's page and three phones.

Debian's Chromium (the ``browser`` fixture) opens the real workshop server's pages, each
in its own browser context, refusing every request that is not to 127.0.0.1. The phones
join through the link the QR code carries (the seat then appears on the same page, and a
reload comes back to it) and send a decision; the projected chart changes as the
decisions arrive, and the CSV export holds the rows.
"""
from __future__ import annotations

import base64
import csv
import io
import re

import pytest

from bench.workshop import WorkshopServer

pytestmark = [pytest.mark.browser, pytest.mark.voila]

TIMEOUT = 30_000  # ms for the kernel to answer one action
FIRST_LOAD = 90_000  # ms for a page's kernel to start on a busy machine


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = WorkshopServer(tmp_path_factory.mktemp("workshop-data"), pool_size=6).start()
    yield running
    running.kill()  # quicker than a polite stop, and nothing here needs one


@pytest.fixture
def open_page(browser):
    """New pages in contexts of their own (a phone each) that may reach 127.0.0.1 only."""
    contexts = []

    def opened(width: int, height: int):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.blocked_requests = []

        def only_local(route, page=page):
            if route.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
                route.continue_()
            else:
                page.blocked_requests.append(route.request.url)
                route.abort()

        context.route("**/*", only_local)
        contexts.append(context)
        return page

    yield opened
    for context in contexts:
        context.close()


def chart_source(page) -> str:
    return page.locator("img.ws-fac-live").get_attribute("src") or ""


def test_one_round_with_a_projector_and_three_phones(server, open_page):
    projector = open_page(1280, 900)
    projector.goto(f"{server.url}/?key={server.key}")
    projector.locator(".ws-fac-exercise select").wait_for(state="visible", timeout=FIRST_LOAD)
    projector.locator(".ws-fac-exercise select").select_option(label="Contributing to the common project")
    projector.locator(".ws-fac-rounds input").fill("2")
    projector.locator(".ws-fac-rounds input").press("Enter")
    projector.locator("button.ws-fac-create").click()
    code_box = projector.locator(".ws-fac-code")
    code_box.wait_for(state="visible", timeout=TIMEOUT)
    code = code_box.inner_text().strip()
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{6}", code)
    projector.wait_for_function("document.querySelector('img.ws-fac-qr').naturalWidth > 100", timeout=TIMEOUT)

    phones = {}
    for name in ("Ana", "Bo", "Cy"):
        phone = open_page(390, 800)
        phone.goto(f"{server.url}/?code={code}")  # the address in the QR code
        field = phone.locator(".ws-join-name input")
        field.wait_for(state="visible", timeout=FIRST_LOAD)
        assert phone.locator(".ws-join-code input").input_value() == code
        field.fill(name)
        phone.locator("button.ws-join-button").click()
        phone.locator(".ws-status").get_by_text("You are in").wait_for(timeout=TIMEOUT)  # same page
        phone.wait_for_url(re.compile(r"\?token=[\w-]+$"), timeout=TIMEOUT)
        phones[name] = phone

    # A phone that reloads (or loses the Wi-Fi and comes back) is back in its seat.
    phones["Cy"].reload()
    phones["Cy"].locator(".ws-status").get_by_text("You are in").wait_for(timeout=FIRST_LOAD)
    assert phones["Cy"].locator(".ws-join-name").count() == 0

    projector.locator(".ws-fac-lobby").get_by_text("3 joined").wait_for(timeout=TIMEOUT)
    projector.locator("button.ws-fac-form-groups").click()
    projector.locator(".ws-fac-status").get_by_text("played by simulated members").wait_for(timeout=TIMEOUT)
    projector.locator("button.ws-fac-open").click()
    projector.locator(".ws-fac-status").get_by_text("0 of 3").wait_for(timeout=TIMEOUT)
    projector.wait_for_function("document.querySelector('img.ws-fac-live')?.naturalWidth > 100", timeout=TIMEOUT)

    sent = {"Ana": "15", "Bo": "4", "Cy": "9"}
    for count, (name, tokens) in enumerate(sent.items(), start=1):
        before = chart_source(projector)
        phone = phones[name]
        phone.locator(".ws-number input").fill(tokens, timeout=TIMEOUT)
        phone.locator("button.ws-send").click()
        phone.locator(".ws-sent").get_by_text(f"Sent: {tokens}.").wait_for(timeout=TIMEOUT)
        projector.locator(".ws-fac-status").get_by_text(f"{count} of 3").wait_for(timeout=TIMEOUT)
        # The projected chart is redrawn with the new decision.
        projector.wait_for_function("(before) => document.querySelector('img.ws-fac-live').src !== before",
                                    arg=before, timeout=TIMEOUT)

    projector.locator("button.ws-fac-close").click()
    projector.locator(".ws-fac-status").get_by_text("Round 1 of 2 is closed").wait_for(timeout=TIMEOUT)
    for phone in phones.values():
        phone.locator(".ws-result").get_by_text("Round 1").wait_for(timeout=TIMEOUT)
    assert "You earned" in phones["Ana"].locator(".ws-result").inner_text()
    projector.locator(".ws-fac-debrief").get_by_text("Debrief").wait_for(timeout=TIMEOUT)

    link = projector.locator("a.ws-fac-csv")
    assert link.get_attribute("download") == f"workshop-{code}.csv"
    encoded = link.get_attribute("href").split("base64,", 1)[1]
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(encoded).decode("utf-8").lstrip("\ufeff"))))
    assert {(r["participant"], r["round"], r["decision"]) for r in rows} == \
        {(name, "1", f"{float(tokens)!r}") for name, tokens in sent.items()}

    for page in [projector, *phones.values()]:
        assert page.blocked_requests == [], f"a page tried to reach the internet: {page.blocked_requests}"
