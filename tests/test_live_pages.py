"""Book notebooks run live in Voila: controls talk to a kernel and the page updates."""
from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.voila]


def test_case_browser_switches_case_in_a_live_page(voila_url, offline_page):
    page = offline_page
    page.goto(f"{voila_url}/voila/render/case-data.ipynb")
    picker = page.locator(".case-picker select")
    picker.wait_for(state="visible", timeout=60_000)
    table = page.locator(".case-table")
    assert "Uriri" in table.inner_text()
    picker.select_option(label="Modhupur Pineapple Association")
    page.wait_for_function(
        "document.querySelector('.case-table').innerText.includes('taka per pineapple')", timeout=20_000
    )
    assert "Modhupur" in table.inner_text()
    assert page.blocked_requests == []
