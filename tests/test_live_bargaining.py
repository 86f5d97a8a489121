"""The Modhupur chapter's negotiation, played live in Voila through its on-screen controls.

The expected numbers come from the bargaining model, playing the same moves as the test
clicks; nothing is copied from the page into the expectations.
"""
from __future__ import annotations


import numpy as np
import pytest

from widgets import bargaining as model
from widgets.cases import load_case

pytestmark = [pytest.mark.browser, pytest.mark.voila]

MODHUPUR = load_case("modhupur")
# The spot sale the chapter sets up: a pineapple worth the PRAN price to the buyer. The
# page's own texts (days, fruit left, the buyer's counter-offer) are checked against
# these, so a chapter that changed its parameters would fail here, not pass silently.
SPOT_SALE = model.NegotiationParams(
    value=MODHUPUR.value("processor_price"), spoilage=0.10, buyer_waiting_cost=0.02, deadline_days=10
)
PAGE = "modhupur.ipynb"
TIMEOUT = 20_000  # ms for the kernel to answer one click


def money(value: float) -> str:
    """A price as the negotiation view shows it."""
    return f"{value:,.2f}"


def expected_game(ask: float):
    """Play the test's moves through the model: ask ``ask``, then accept the buyer's counter.

    Returns the buyer's counter-offer, the state while it waits for an answer, and the
    finished state.
    """
    rng = np.random.default_rng(0)  # the equilibrium buyer ignores its draws
    state = model.initial_state(SPOT_SALE)
    _, state = model.play_round(SPOT_SALE, state, {model.ASSOCIATION: ask})
    while state.turn == model.BUYER and state.phase != model.OVER:
        _, state = model.play_round(SPOT_SALE, state, {model.BUYER: model.bot_decision(SPOT_SALE, state, rng)})
    waiting = state
    _, finished = model.play_round(SPOT_SALE, waiting, {model.ASSOCIATION: model.ACCEPT})
    return waiting.offer, waiting, finished


def open_negotiation(page, voila_url):
    page.goto(f"{voila_url}/voila/render/{PAGE}")
    offer = page.locator(".negotiation-offer input")
    offer.wait_for(state="visible", timeout=60_000)
    return offer


def propose(page, offer, price_text: str) -> None:
    offer.fill(price_text)
    offer.press("Enter")  # sends the value to the kernel before the click
    page.locator("button.negotiation-propose").click()


def test_a_negotiation_played_in_the_live_page_ends_as_the_model_says(voila_url, offline_page):
    page = offline_page
    offer = open_negotiation(page, voila_url)
    status = page.locator(".negotiation-status")
    start = status.inner_text()
    assert f"Day 1 of {SPOT_SALE.deadline_days}" in start
    assert f"at most {money(model.value_left(SPOT_SALE, 0))} taka" in start

    # Ask what the local market pays. The model's buyer turns it down (the premise of the
    # test) and names its own price the next day.
    ask = MODHUPUR.value("local_market_price")
    assert model.bot_response(SPOT_SALE, 0, ask, 0.0) == model.REJECT
    counter, waiting, finished = expected_game(ask)
    assert waiting.day == 1 and waiting.phase == model.RESPOND

    propose(page, offer, str(ask))
    accept = page.locator("button.negotiation-accept")
    accept.wait_for(state="visible", timeout=TIMEOUT)
    during = status.inner_text()
    assert f"Day 2 of {SPOT_SALE.deadline_days}" in during
    assert f"{model.sound_fraction(SPOT_SALE, waiting.day):.0%} of your fruit" in during
    assert f"The buyer offers {money(counter)} taka" in during
    assert page.locator(".negotiation-history").inner_text().count("rejected") == 1

    accept.click()
    result = page.locator(".negotiation-result")
    result.get_by_text("Agreement on day").wait_for(timeout=TIMEOUT)
    shown = result.inner_text()
    end = model.outcome(SPOT_SALE, finished)
    theory = model.predicted_outcome(SPOT_SALE)
    assert end.agreed and end.day == 1
    assert f"Agreement on day {end.day + 1} at {money(end.price)} taka a pineapple" in shown
    assert f"({end.price_share:.0%} of the value)" in shown
    assert f"your growers get {money(end.association_payoff)} for each pineapple" in shown
    assert f"the buyer keeps {money(end.buyer_payoff)}" in shown
    assert f"{theory.association_share:.0%} of the value, {money(theory.price)} taka a pineapple" in shown
    assert f"{end.fruit_lost:.0%} of the fruit rotted" in shown
    # The game is over: only the restart button is left to press.
    assert page.locator("button.negotiation-restart").is_visible()
    assert not accept.is_visible() and not offer.is_visible()
    assert page.blocked_requests == [], f"the page tried to reach the internet: {page.blocked_requests}"


def test_a_price_above_the_buyers_value_shows_a_message_and_changes_nothing(voila_url, offline_page):
    page = offline_page
    offer = open_negotiation(page, voila_url)
    status = page.locator(".negotiation-status")
    before = status.inner_text()
    too_high = f"{2 * SPOT_SALE.value:g}"
    with pytest.raises(ValueError) as refused:
        model.validate_decision(SPOT_SALE, float(too_high))

    propose(page, offer, too_high)
    message = page.locator(".negotiation-message")
    message.get_by_text("The price must be").wait_for(timeout=TIMEOUT)
    assert message.inner_text().strip() == str(refused.value)
    assert status.inner_text() == before
    assert page.locator(".negotiation-history").inner_text().strip() == ""
    assert offer.is_visible() and not page.locator("button.negotiation-accept").is_visible()

    # A price the model's buyer takes at once clears the message and closes the deal.
    fair = f"{model.predicted_outcome(SPOT_SALE).price:.4f}"
    assert model.bot_response(SPOT_SALE, 0, float(fair), 0.0) == model.ACCEPT
    propose(page, offer, fair)
    page.locator(".negotiation-result").get_by_text("Agreement on day 1").wait_for(timeout=TIMEOUT)
    assert message.inner_text().strip() == ""
    assert page.blocked_requests == []
