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


def _explorer_image_src(page) -> str:
    """The chart of the explorer the sliders belong to (the nearest image above them)."""
    return page.evaluate(
        """() => {
            let box = document.querySelector('.explorer-slider').parentElement;
            while (box && !box.querySelector('img')) { box = box.parentElement; }
            return box.querySelector('img').src;
        }"""
    )


@pytest.mark.parametrize(
    ("chapter", "slider"), [("uriri", "Monitoring probability"), ("modhupur", "Association's commission")]
)
def test_moving_an_explorer_slider_redraws_the_chart_live(voila_url, offline_page, chapter, slider):
    page = offline_page
    page.goto(f"{voila_url}/voila/render/{chapter}.ipynb")
    control = page.locator(".explorer-slider", has=page.locator(f"label:text-is(\"{slider}\")")).first
    control.wait_for(state="visible", timeout=90_000)
    before, readout = _explorer_image_src(page), control.locator(".widget-readout").inner_text()
    control.locator(".noUi-handle").focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        """([before]) => {
            let box = document.querySelector('.explorer-slider').parentElement;
            while (box && !box.querySelector('img')) { box = box.parentElement; }
            return box.querySelector('img').src !== before;
        }""",
        arg=[before],
        timeout=20_000,
    )
    assert control.locator(".widget-readout").inner_text() != readout
    assert page.blocked_requests == []
