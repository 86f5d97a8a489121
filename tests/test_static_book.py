"""The built book works with no internet: stored widgets render from the shipped manager."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def test_stored_widget_renders_offline(book_url, offline_page):
    page = offline_page
    page.goto(f"{book_url}/book/case-data.html")
    dropdown = page.locator(".case-picker select")
    dropdown.wait_for(state="visible", timeout=20_000)
    assert dropdown.input_value() == "Uriri Farmers Cooperative Society"
    table = page.locator(".case-table table.case-figures")
    assert table.is_visible()
    assert "Farmers who benefited from the project" in table.inner_text()
    assert "5,000 farmers" in table.inner_text()
    assert page.blocked_requests == [], f"the page tried to reach the internet: {page.blocked_requests}"


@pytest.mark.parametrize(
    "chapter",
    ["intro", "how-to-use", "value-chains", "collective-action", "three-approaches", "bibliography",
     "free-riding", "uriri", "delicias-criollas", "session-plans", "glossary",
     "bargaining", "modhupur", "apex-clusters", "bagra",
     "governance", "modhupur-governance", "delicias-governance", "sri-lanka-sbas"],
)
def test_chapters_load_nothing_from_the_internet(book_url, offline_page, chapter):
    page = offline_page
    response = page.goto(f"{book_url}/book/{chapter}.html")
    assert response.ok
    # Not "networkidle": the blob: URLs of widget images can stay open in Playwright's view.
    page.wait_for_load_state("load")
    if page.locator("script[type='application/vnd.jupyter.widget-state+json']").count():
        page.locator(".jupyter-widgets").first.wait_for(state="attached", timeout=20_000)
    page.wait_for_timeout(500)  # let scripts that run after load make their requests
    assert page.blocked_requests == [], f"{chapter} tried to reach the internet: {page.blocked_requests}"
    broken_images = page.evaluate(
        "Array.from(document.images).filter(i => i.complete && i.naturalWidth === 0).map(i => i.src)"
    )
    assert broken_images == []


def test_case_figures_show_their_source_on_hover(book_url, offline_page):
    page = offline_page
    page.goto(f"{book_url}/book/how-to-use.html")
    fact = page.locator("abbr.case-fact").first
    assert fact.inner_text() == "5.3 taka per pineapple"
    assert re.search(r"Source: Business Linkages and Producer Associations in Bangladesh", fact.get_attribute("title"))


def test_formulas_render_with_the_shipped_mathjax(book_url, offline_page):
    page = offline_page
    page.goto(f"{book_url}/book/collective-action.html")
    page.locator("mjx-container").first.wait_for(state="attached", timeout=20_000)
    assert page.locator("mjx-container").count() >= 5
    assert page.blocked_requests == [], f"the page tried to reach the internet: {page.blocked_requests}"


def test_quiz_gives_feedback_without_a_kernel(book_url, offline_page):
    page = offline_page
    page.goto(f"{book_url}/book/value-chains.html")
    right = page.locator(".MCButton", has_text="Because each grower sells too little")
    right.wait_for(state="visible", timeout=20_000)
    right.click()
    feedback = page.locator(".Feedback")
    assert feedback.nth(0).inner_text().startswith("Right.")
    page.locator(".MCButton", has_text="It cannot gain; it only pays more out of goodwill").click()
    assert "Goodwill may help" in feedback.nth(1).inner_text()
    assert page.blocked_requests == []
