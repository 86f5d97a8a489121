"""The bargaining views, driven from Python as a trainer or learner would drive them."""
from __future__ import annotations

import ipywidgets as w
import pytest

from widgets import bargaining as model
from widgets.views import bargaining as views

PNG = b"\x89PNG\r\n\x1a\n"
# Example values in the range of the Modhupur case (the book passes the real ones).
MARKS = {"local market": 2.6, "processor contract": 5.3}


@pytest.fixture
def market():
    return views.explorer(2.6, 5.3, 0.1, marks=MARKS, unit_name="pineapple")


def test_explorer_shows_a_chart_and_exposes_its_controls(market):
    assert isinstance(market.image, w.Image) and bytes(market.image.value).startswith(PNG)
    assert set(market.sliders) == {"spoilage", "storage", "buyers", "middlemen", "commission", "dealing_cost",
                                   "members", "bargaining_power"}
    for slider in market.sliders.values():
        assert "explorer-slider" in slider._dom_classes
    assert "Through the association" in market.summary.value and "10% commission" in market.summary.value


def test_more_buyers_redraw_the_chart_in_place(market):
    image, before, text = market.image, market.image.value, market.summary.value
    price_before = market.deals[1].price
    market.buyers.value = 8
    assert market.image is image and market.image.value != before
    assert market.summary.value != text
    assert market.deals[1].price > price_before
    # The text shows the model's new price, to two decimals.
    assert f"{market.deals[1].price:.2f}" in market.summary.value


def test_commission_slider_changes_what_growers_keep(market):
    market.commission.value = 0.2
    deal = market.deals[1]
    assert deal.growers_net == pytest.approx(deal.price * 0.8)
    assert "20% commission" in market.summary.value


def test_single_buyer_who_names_the_price_pushes_growers_to_the_local_price(market):
    market.single_buyer.value = True
    assert market.buyers.disabled and market.bargaining_power.disabled
    assert all(deal.price == 2.6 for deal in market.deals)
    assert "Members would get more selling alone" in market.summary.value
    market.single_buyer.value = False
    assert not market.buyers.disabled and market.deals[1].price > 2.6


def test_contract_toggle_and_storage_change_a_bargained_price():
    one_buyer = views.explorer(2.6, 5.3, 0.1, buyers=1, bargaining_power=0.8)
    spot = one_buyer.deals[1].price
    one_buyer.storage.value = 1.0     # the fruit keeps: the growers are as patient as the buyer
    stored = one_buyer.deals[1].price
    one_buyer.storage.value = 0.0
    one_buyer.contract.value = True
    assert stored > spot and one_buyer.deals[1].price == pytest.approx(stored)


@pytest.mark.parametrize("args, options, message", [
    ((2.6, 5.3, 10), {}, "commission"),
    ((6.0, 5.3, 0.1), {}, "keenest buyer"),
    ((2.6, 5.3, 0.1), {"marks": {"local": -1}}, "marked price"),
    ((2.6, 5.3, 0.1), {"marks": [2.6]}, "Marks"),
    ((2.6, 5.3, 0.1), {"buyers": 0}, "buyers"),
])
def test_explorer_refuses_bad_inputs_from_the_book(args, options, message):
    with pytest.raises(ValueError, match=message):
        views.explorer(*args, **options)


# --- lead firm -------------------------------------------------------------------------------

CASE_LIKE_SHARES = {"worker training": 0.6, "quality and design training": 0.25, "trade fairs": 0.5}


@pytest.fixture
def lead():
    return views.lead_firm_explorer(cost_shares=CASE_LIKE_SHARES)


def test_lead_firm_explorer_draws_both_charts(lead):
    assert bytes(lead.image.value).startswith(PNG) and bytes(lead.costs_image.value).startswith(PNG)
    assert [split.lead_firm_pays / split.cost for split in lead.splits] == pytest.approx([0.6, 0.25, 0.5])
    for slider in lead.sliders.values():
        assert "explorer-slider" in slider._dom_classes


def test_dropping_a_service_shrinks_the_pie(lead):
    before, chart = lead.bundled, lead.image.value
    lead.service_boxes["materials"].value = False
    pie = lambda deal: deal.cluster_margin + deal.lead_firm_margin
    # The example materials save the cluster 80 and cost the lead firm 60: the pie loses 20.
    assert pie(lead.bundled) == pytest.approx(pie(before) - 20)
    assert lead.image.value != chart


def test_rival_lead_firms_raise_the_clusters_margin(lead):
    margin = lead.bundled.cluster_margin
    lead.lead_firms.value = 4
    assert lead.bundled.cluster_margin > margin
    assert "another lead firm" in lead.summary.value


def test_cost_share_slider_moves_the_training_verdict(lead):
    lead.shares["worker training"].value = 0.6
    assert "does not pay" in lead.summary.value     # keeps 25,000 of the gain, pays 36,000
    costs_before = lead.costs_image.value
    lead.shares["worker training"].value = 0.3
    assert "pays for itself" in lead.summary.value  # now pays 18,000
    assert lead.costs_image.value != costs_before


def test_lead_firm_explorer_refuses_mismatched_programmes():
    with pytest.raises(ValueError, match="both a cost and a lead-firm share"):
        views.lead_firm_explorer(cost_shares={"worker training": 0.6})
    with pytest.raises(ValueError, match="training programme"):
        views.lead_firm_explorer(training_programme="football")


# --- negotiation -------------------------------------------------------------------------------

PARAMS = model.NegotiationParams(value=5.3, spoilage=0.1, buyer_waiting_cost=0.02, deadline_days=10)


@pytest.fixture
def game():
    return views.Negotiation(PARAMS, unit_name="pineapple", seed=1)


def shown(widget) -> bool:
    return widget.layout.display != "none"


def test_controls_carry_stable_classes(game):
    for widget, css in [(game.offer, "negotiation-offer"), (game.propose, "negotiation-propose"),
                        (game.accept, "negotiation-accept"), (game.reject, "negotiation-reject"),
                        (game.result, "negotiation-result")]:
        assert css in widget._dom_classes
    assert shown(game.propose_row) and not shown(game.answer_row) and not shown(game.restart)
    assert "Day 1 of 10" in game.status.value and "Name your price" in game.status.value


@pytest.mark.parametrize("bad", [9.0, -1.0, float("nan")])
def test_invalid_offers_show_a_message_and_change_nothing(game, bad):
    state, events, status = game.state, list(game.events), game.status.value
    game.offer.value = bad
    game.propose.click()
    assert "price" in game.message.value
    assert game.state == state and game.events == events and game.status.value == status


def test_answering_before_an_offer_is_refused(game):
    state = game.state
    game.accept.click()
    assert "no offer to accept" in game.message.value and game.state == state


def test_a_rejected_offer_costs_a_day_and_brings_a_counter_offer(game):
    game.offer.value = 4.0
    game.propose.click()
    assert game.message.value == ""
    assert game.state.day == 1 and game.state.turn == "association" and game.state.phase == "respond"
    assert game.fruit.value == pytest.approx(0.9)
    assert "90% of your fruit" in game.status.value and "Accept or reject" in game.status.value
    assert shown(game.answer_row) and not shown(game.propose_row)
    # The buyer's counter-offer is Rubinstein's: δg times the growers' proposer share of 5.3.
    expected = 5.3 * 0.9 * 0.02 / 0.118
    assert game.state.offer == pytest.approx(expected)
    assert f"{expected:.2f}" in game.status.value
    game.accept.click()
    assert "Agreement on day 2" in game.result.value and "Rubinstein" in game.result.value
    assert "10% of the fruit rotted" in game.result.value
    assert shown(game.restart) and not shown(game.answer_row)
    game.restart.click()
    assert game.state == model.initial_state(PARAMS) and game.result.value == ""


def test_asking_the_predicted_price_gets_it_at_once(game):
    game.offer.value = model.predicted_outcome(PARAMS).price
    game.propose.click()
    assert game.state.outcome == "agreement" and "Agreement on day 1" in game.result.value
    assert "You got just that" in game.result.value


def test_talks_that_drag_on_end_with_rotten_fruit():
    game = views.Negotiation(model.NegotiationParams(value=5.3, deadline_days=2), seed=2)
    game.offer.value = 5.0
    game.propose.click()       # rejected on day 1; the buyer counters on day 2
    game.reject.click()        # day 2 was the last: the fruit is past selling
    assert game.state.outcome == "rotted"
    assert "No agreement" in game.result.value and game.fruit.value == pytest.approx(0.81)


def test_behavioural_buyer_may_spurn_a_last_day_squeeze():
    # The buyer names the first price; the learner rejects it and, on the last day, asks
    # 4.0 of 5.3, leaving the buyer 24.5%. With no tomorrow, Rubinstein's buyer takes it;
    # the behavioural buyer turns it down with chance (1 - 0.245/0.5)^1.39, about 0.39.
    params = model.NegotiationParams(value=5.3, deadline_days=2, first_proposer="buyer")

    def play(responder, seed):
        game = views.Negotiation(params, responder=responder, seed=seed)
        game.reject.click()
        game.offer.value = 4.0
        game.propose.click()
        return game.state.outcome

    assert {play("equilibrium", seed) for seed in range(30)} == {"agreement"}
    behavioural = [play("behavioural", seed) for seed in range(30)]
    assert {"agreement", "rotted"} <= set(behavioural)
    assert behavioural == [play("behavioural", seed) for seed in range(30)]   # a seed replays the same game


def test_negotiation_refuses_bad_setup():
    with pytest.raises(ValueError, match="style"):
        views.Negotiation(PARAMS, responder="grumpy")
    with pytest.raises(ValueError, match="NegotiationParams"):
        views.Negotiation({"value": 5.3})
