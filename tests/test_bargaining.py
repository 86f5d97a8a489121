"""Tests of the bargaining models: closed forms, the market, the negotiation game, lead firms."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from widgets import bargaining as b

FAST = settings(max_examples=60, deadline=None)
unit = st.floats(0, 1, allow_nan=False)
below_one = st.floats(0, 0.99, allow_nan=False)


# --- closed forms --------------------------------------------------------------------

def test_nash_split_by_hand():
    # S = 10, d = (2, 3): the gain over disagreement is 10 - 2 - 3 = 5.
    assert b.nash_split(10, (2, 3)) == pytest.approx((2 + 2.5, 3 + 2.5))
    # Power 0.8: side 1 gets 2 + 0.8*5 = 6, side 2 gets 3 + 0.2*5 = 4.
    assert b.nash_split(10, (2, 3), power=0.8) == pytest.approx((6, 4))


def test_nash_split_refuses_points_that_exceed_the_surplus():
    with pytest.raises(ValueError, match="more than the surplus"):
        b.nash_split(10, (6, 5))


def test_outside_option_counts_only_when_it_binds():
    # S = 10, equal power: half is 5. An option of 3 does not bind, so the share stays 5,
    # not 3 + half of the remaining 7 (= 8) as "split the difference" would say.
    assert b.outside_option_share(10, 3) == 5
    # An option of 7 beats half the pie: the share is exactly the option.
    assert b.outside_option_share(10, 7) == 7
    with pytest.raises(ValueError, match="outside option"):
        b.outside_option_share(10, 11)


def test_two_buyer_price_by_hand():
    assert b.two_buyer_price(10, 4) == 5   # 10/2 = 5 beats the rival's 4
    assert b.two_buyer_price(10, 6) == 6   # the rival's 6 beats 10/2
    with pytest.raises(ValueError, match="other buyer"):
        b.two_buyer_price(4, 10)


def test_runner_up_value_by_hand():
    assert b.runner_up_value(5, 2, 1) == 2                     # one buyer: nobody to bid against it
    assert b.runner_up_value(5, 2, 2) == pytest.approx(3.5)    # 2 + 3 * 1/2
    assert b.runner_up_value(5, 2, 3) == pytest.approx(4)      # 2 + 3 * 2/3


def test_patience_from_spoilage():
    assert b.patience(0.1) == pytest.approx(0.9)
    assert b.patience(0.1, storage=0.5) == pytest.approx(0.95)  # storage halves the loss
    assert b.patience(0.3, storage=1) == 1


def test_rubinstein_share_by_hand():
    # (1 - 0.8) / (1 - 0.9 * 0.8) = 0.2 / 0.28 = 5/7
    assert b.rubinstein_share(0.9, 0.8) == pytest.approx(5 / 7)
    # Common δ = 0.9: 1 / 1.9
    assert b.rubinstein_share(0.9, 0.9) == pytest.approx(1 / 1.9)
    with pytest.raises(ValueError, match="lose something"):
        b.rubinstein_share(1, 1)


def test_finite_horizon_by_hand():
    d1, d2 = 0.9, 0.8
    assert b.finite_horizon_share(d1, d2, 1) == 1                         # an ultimatum
    assert b.finite_horizon_share(d1, d2, 2) == pytest.approx(1 - d2)      # 0.2
    assert b.finite_horizon_share(d1, d2, 3) == pytest.approx(1 - d2 * (1 - d1))  # 0.92


@pytest.mark.parametrize("d1, d2", [(0.9, 0.8), (0.5, 0.95), (0.99, 0.99), (0.9, 0.98)])
def test_finite_horizon_converges_to_rubinstein(d1, d2):
    limit = b.rubinstein_share(d1, d2)
    # The gap shrinks like (δ1 δ2)^(days/2): 0.98^2000 is below 1e-17.
    assert b.finite_horizon_share(d1, d2, 4000) == pytest.approx(limit, abs=1e-9)
    shares = [b.finite_horizon_share(d1, d2, days) for days in range(1, 201)]
    # Odd horizons (the first proposer also proposes last) lie above the limit, even ones below.
    assert all(s >= limit - 1e-12 for s in shares[0::2])
    assert all(s <= limit + 1e-12 for s in shares[1::2])


@FAST
@given(p=unit, ds=below_one, do=below_one)
def test_random_proposer_share_solves_its_equations(p, ds, do):
    v = b.random_proposer_share(p, ds, do)
    # Named by this side: 1 - δo(1 - v); named by the other: δs v. Its expectation is v.
    if p * (1 - do) + (1 - p) * (1 - ds) > 1e-9:
        assert p * (1 - do * (1 - v)) + (1 - p) * ds * v == pytest.approx(v, abs=1e-9)
    assert 0 <= v <= 1


def test_random_proposer_share_special_cases():
    assert b.random_proposer_share(0.3, 0.95, 0.95) == pytest.approx(0.3)  # equal patience: the Nash weight
    assert b.random_proposer_share(0.3, 1, 1) == 0.3
    # p = 1/2 with short days: close to alternating offers, (1 - δo)/(1 - δs δo).
    assert b.random_proposer_share(0.5, 0.999, 0.9995) == pytest.approx(b.rubinstein_share(0.999, 0.9995), rel=1e-3)


@FAST
@given(surplus=st.floats(0, 1e6), w=unit, power=unit)
def test_shares_lie_within_the_surplus(surplus, w, power):
    share = b.outside_option_share(surplus, w * surplus, power)
    assert -1e-9 <= share <= surplus + 1e-9
    x1, x2 = b.nash_split(surplus, (w * surplus / 2, w * surplus / 2), power)
    assert x1 + x2 == pytest.approx(surplus)
    assert min(x1, x2) >= -1e-9


@FAST
@given(d1=below_one, d2=below_one, step=st.floats(0.001, 0.5))
def test_rubinstein_share_rises_with_own_patience(d1, d2, step):
    more_patient = min(d1 + step, 0.999)
    assert b.rubinstein_share(more_patient, d2) >= b.rubinstein_share(d1, d2) - 1e-12
    assert b.rubinstein_share(d1, min(d2 + step, 0.999)) <= b.rubinstein_share(d1, d2) + 1e-12
    assert 0 <= b.rubinstein_share(d1, d2) <= 1


@pytest.mark.parametrize("call, message", [
    (lambda: b.nash_split(-1), "surplus"),
    (lambda: b.nash_split(10, (1,)), "pair"),
    (lambda: b.nash_split(10, power=1.5), "Bargaining power"),
    (lambda: b.nash_split(float("nan")), "surplus"),
    (lambda: b.nash_split(True), "surplus"),
    (lambda: b.patience(1.0), "Spoilage"),
    (lambda: b.patience(0.1, storage=-0.1), "Storage"),
    (lambda: b.rubinstein_share(1.2, 0.5), "proposer"),
    (lambda: b.finite_horizon_share(0.9, 0.9, 0), "days"),
    (lambda: b.finite_horizon_share(0.9, 0.9, 2.5), "days"),
    (lambda: b.runner_up_value(5, 2, 0), "buyers"),
    (lambda: b.runner_up_value(1, 2, 2), "best buyer"),
])
def test_closed_forms_reject_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- the market -----------------------------------------------------------------------

# Example values in the range of the Modhupur case (the book passes the real ones).
EXAMPLE = b.MarketParams(local_price=2.6, buyer_value=5.3, commission=0.1, buyers=4, middlemen=1,
                         dealing_cost=0.4, members=20, spoilage=0.1, storage=0.5)


def test_association_deal_by_hand():
    deal = b.market_deal(EXAMPLE, "association")
    # Dealing cost spread over 20 lots: 0.4 / 20 = 0.02; the pie is 5.3 - 0.02 = 5.28.
    # Runner-up of 4 buyers: 2.6 + 2.7 * 3/4 = 4.625, less 0.02 = 4.605 > 2.6.
    # Bargaining alone gives at most half of 5.28 = 2.64, so the rival bid binds.
    assert deal.price == pytest.approx(4.605)
    assert deal.binding == "competing buyer"
    assert deal.commission == pytest.approx(0.4605)       # 10% of 4.605
    assert deal.growers_net == pytest.approx(4.1445)      # 4.605 - 0.4605
    assert deal.buyer_margin == pytest.approx(0.675)      # 5.28 - 4.605


def test_lone_grower_deal_by_hand():
    deal = b.market_deal(EXAMPLE, "alone")
    # δ_buyer = 0.99; δ_grower = 0.99 * 0.9 = 0.891. Share = 0.5*0.01 / (0.5*0.01 + 0.5*0.109) = 0.0840.
    assert deal.bargaining_share == pytest.approx(0.005 / (0.005 + 0.0545))
    # 0.084 * (5.3 - 0.4) = 0.41 is below the local price, which therefore sets the price.
    assert deal.price == 2.6 and deal.binding == "local market"
    assert deal.buyer_margin == pytest.approx(5.3 - 0.4 - 2.6)
    assert deal.growers_net == 2.6 and deal.commission == 0


def test_contract_takes_spoilage_out_of_the_bargaining():
    params = replace(EXAMPLE, buyers=1, contract=True, bargaining_power=0.7)
    deal = b.market_deal(params, "association")
    # Equal patience: the share is the power 0.7, and 0.7 * 5.28 = 3.696 beats the local 2.6.
    assert deal.bargaining_share == pytest.approx(0.7)
    assert deal.price == pytest.approx(3.696) and deal.binding == "bargaining"
    spot = b.market_deal(replace(params, contract=False), "association")
    assert spot.price < deal.price


def test_a_single_buyer_who_names_the_price_leaves_growers_the_local_price():
    params = replace(EXAMPLE, buyers=1, middlemen=1, bargaining_power=0.0)
    for deal in b.compare_channels(params):
        assert deal.price == 2.6
    assert b.market_deal(params, "association").growers_net == pytest.approx(2.6 * 0.9)


def test_no_trade_when_dealing_costs_eat_the_gain():
    deal = b.market_deal(replace(EXAMPLE, dealing_cost=3.0), "alone")   # 5.3 - 3.0 < 2.6
    assert not deal.traded and deal.price == 2.6 and deal.buyer_margin == 0 and deal.binding == "no buyer"


market_params = st.builds(
    b.MarketParams,
    local_price=st.floats(0, 10),
    buyer_value=st.floats(10, 20),
    commission=st.floats(0, 0.5),
    buyers=st.integers(1, 20),
    middlemen=st.integers(1, 20),
    dealing_cost=st.floats(0, 15),
    members=st.integers(1, 500),
    spoilage=st.floats(0, 0.9),
    storage=unit,
    waiting_cost=st.floats(0, 0.5),
    bargaining_power=unit,
    contract=st.booleans(),
)


@FAST
@given(params=market_params, channel=st.sampled_from(b.CHANNELS))
def test_every_unit_of_value_is_accounted_for(params, channel):
    deal = b.market_deal(params, channel)
    if deal.traded:
        total = deal.growers_net + deal.commission + deal.dealing_cost + deal.buyer_margin
        assert total == pytest.approx(params.buyer_value)
        assert params.local_price - 1e-9 <= deal.price <= params.buyer_value - deal.dealing_cost + 1e-9
        assert deal.buyer_margin >= -1e-9
    else:
        assert deal.growers_net == params.local_price


@FAST
@given(params=market_params, more=st.integers(1, 10))
def test_price_never_falls_with_more_buyers_members_storage_or_power(params, more):
    base = b.market_deal(params, "association").price
    assert b.market_deal(replace(params, buyers=params.buyers + more), "association").price >= base - 1e-9
    assert b.market_deal(replace(params, members=params.members + more), "association").price >= base - 1e-9
    assert b.market_deal(replace(params, storage=min(1, params.storage + 0.1)), "association").price >= base - 1e-9
    power = min(1, params.bargaining_power + 0.1)
    assert b.market_deal(replace(params, bargaining_power=power), "association").price >= base - 1e-9
    alone = b.market_deal(params, "alone").price
    assert b.market_deal(replace(params, middlemen=params.middlemen + more), "alone").price >= alone - 1e-9


@FAST
@given(params=market_params)
def test_price_never_rises_with_spoilage_or_dealing_cost(params):
    alone = b.market_deal(params, "alone").price
    assert b.market_deal(replace(params, spoilage=min(0.95, params.spoilage + 0.05)), "alone").price <= alone + 1e-9
    assert b.market_deal(replace(params, dealing_cost=params.dealing_cost + 0.5), "alone").price <= alone + 1e-9


@pytest.mark.parametrize("change, message", [
    ({"local_price": -1}, "local market price"),
    ({"buyer_value": 2.0}, "keenest buyer"),
    ({"commission": 10}, "commission"),
    ({"commission": 1.0}, "commission"),
    ({"buyers": 0}, "buyers"),
    ({"buyers": 2.5}, "buyers"),
    ({"buyers": True}, "buyers"),
    ({"middlemen": 0}, "middlemen"),
    ({"members": 0}, "growers"),
    ({"dealing_cost": float("nan")}, "dealing cost"),
    ({"spoilage": 1.2}, "Spoilage"),
    ({"storage": 2}, "Storage"),
    ({"waiting_cost": 1}, "waiting"),
    ({"bargaining_power": -0.1}, "Bargaining power"),
    ({"contract": "yes"}, "Contract"),
])
def test_market_params_reject_bad_values(change, message):
    with pytest.raises(ValueError, match=message):
        replace(EXAMPLE, **change)


def test_market_deal_rejects_unknown_channel():
    with pytest.raises(ValueError, match="channel"):
        b.market_deal(EXAMPLE, "cooperative")


# --- the day-by-day negotiation ---------------------------------------------------------

GAME = b.NegotiationParams(value=5.0, spoilage=0.1, buyer_waiting_cost=0.02, deadline_days=4)


def test_a_negotiation_by_hand():
    state = b.initial_state(GAME)
    assert (state.day, state.turn, state.phase) == (0, "association", "propose")
    result, state = b.play_round(GAME, state, {"association": 3.0})
    assert result.move == "offer" and state.phase == "respond" and state.turn == "buyer" and state.offer == 3.0
    result, state = b.play_round(GAME, state, {"buyer": "reject"})
    assert result.move == "reject" and result.outcome is None
    assert (state.day, state.turn, state.phase) == (1, "buyer", "propose")   # a day lost; the buyer names a price
    _, state = b.play_round(GAME, state, {"buyer": 1.0})
    result, state = b.play_round(GAME, state, {"association": "Accept "})
    assert state.outcome == "agreement" and state.phase == "over" and state.offer == 1.0
    # Day 1: the growers are paid for the 90% still sound, 1.0 * 0.9; the buyer keeps (5 - 1) * 0.98.
    assert result.association_payoff == pytest.approx(0.9)
    assert result.buyer_payoff == pytest.approx(3.92)
    assert [(o.day, o.by, o.price, o.accepted) for o in state.history] == [
        (0, "association", 3.0, False), (1, "buyer", 1.0, True)]
    assert b.value_left(GAME, 1) == pytest.approx(4.5)


def test_outcome_for_a_debrief():
    state = b.initial_state(GAME)
    with pytest.raises(ValueError, match="still going on"):
        b.outcome(GAME, state)
    for role, move in [("association", 3.0), ("buyer", "reject"), ("buyer", 1.0), ("association", "accept")]:
        _, state = b.play_round(GAME, state, {role: move})
    end = b.outcome(GAME, state)
    # Price 1.0 of a value of 5.0 is 20%; one day of 10% spoilage lost a tenth of the fruit.
    assert end.agreed and end.price_share == pytest.approx(0.2) and end.fruit_lost == pytest.approx(0.1)
    assert (end.association_payoff, end.buyer_payoff) == pytest.approx((0.9, 3.92))


def test_inconsistent_stored_states_are_refused():
    with pytest.raises(ValueError, match="waiting for an answer"):
        b.NegotiationState.from_dict({"day": 0, "turn": "buyer", "phase": "respond", "offer": None})
    with pytest.raises(ValueError, match="outcome exactly when"):
        b.NegotiationState(phase="over")


moves = st.lists(st.one_of(st.floats(0, 5.0), st.sampled_from(["accept", "reject"])), max_size=40)


@FAST
@given(moves=moves, deadline=st.integers(1, 8), first=st.sampled_from(b.ROLES))
def test_any_sequence_of_valid_moves_keeps_the_game_sound(moves, deadline, first):
    params = replace(GAME, deadline_days=deadline, first_proposer=first)
    state = b.initial_state(params)
    for move in moves:
        if state.phase == "over":
            break
        try:
            result, state = b.play_round(params, state, {state.turn: move})
        except ValueError:
            continue  # a price when an answer is due, or an answer with no offer: refused, state kept
        assert state.day <= deadline
    if state.phase == "over":
        end = b.outcome(params, state)
        assert 0 <= end.association_payoff <= params.value and 0 <= end.buyer_payoff <= params.value
        assert end.association_payoff + end.buyer_payoff <= params.value + 1e-9
        assert end.agreed == (state.outcome == "agreement")


def test_the_fruit_rots_at_the_deadline():
    state = b.initial_state(replace(GAME, deadline_days=2))
    params = replace(GAME, deadline_days=2)
    for role, move in [("association", 4.0), ("buyer", "reject"), ("buyer", 0.5), ("association", "reject")]:
        result, state = b.play_round(params, state, {role: move})
    assert state.outcome == "rotted" and state.phase == "over"
    assert result.association_payoff == 0 and result.buyer_payoff == 0
    with pytest.raises(ValueError, match="over"):
        b.play_round(params, state, {"association": 1.0})


@pytest.mark.parametrize("decisions, message", [
    ({"buyer": 2.0}, "association's turn"),
    ({"association": 2.0, "buyer": 1.0}, "association's turn"),
    ({"association": "accept"}, "no offer"),
    ({"association": 6.0}, "price"),
    ({"association": -1}, "price"),
    ({"association": float("nan")}, "price"),
    ({"association": True}, "price"),
    ({"association": "lots"}, "decision"),
    ({"association": None}, "price"),
])
def test_bad_moves_raise_and_change_nothing(decisions, message):
    state = b.initial_state(GAME)
    before = state.to_dict()
    with pytest.raises(ValueError, match=message):
        b.play_round(GAME, state, decisions)
    assert state.to_dict() == before


def test_a_new_price_while_an_offer_waits_is_refused():
    _, state = b.play_round(GAME, b.initial_state(GAME), {"association": 3.0})
    with pytest.raises(ValueError, match="accept or reject"):
        b.play_round(GAME, state, {"buyer": 2.0})


def test_validate_decision_cleans_values():
    assert b.validate_decision(GAME, " 2.5 ") == 2.5
    assert b.validate_decision(GAME, np.float64(1)) == 1.0
    assert b.validate_decision(GAME, "REJECT") == "reject"


def test_state_and_results_survive_a_json_store():
    state = b.initial_state(GAME)
    results = []
    for role, move in [("association", 3.0), ("buyer", "reject"), ("buyer", 1.5)]:
        result, state = b.play_round(GAME, state, {role: move})
        results.append(result)
    assert b.NegotiationState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
    assert [b.MoveResult.from_dict(json.loads(json.dumps(r.to_dict()))) for r in results] == results
    assert b.NegotiationParams.from_dict(json.loads(json.dumps(GAME.to_dict()))) == GAME
    with pytest.raises(ValueError, match="cannot be built"):
        b.NegotiationState.from_dict({"day": 0, "colour": "red"})
    with pytest.raises(ValueError, match="side making an offer"):
        b.NegotiationState.from_dict({"history": [{"day": 0, "by": "broker", "price": 1.0}]})


@pytest.mark.parametrize("change, message", [
    ({"value": 0}, "value"),
    ({"spoilage": 1}, "Spoilage"),
    ({"buyer_waiting_cost": 0}, "buyer's daily cost"),
    ({"deadline_days": 0}, "deadline"),
    ({"deadline_days": 61}, "deadline"),
    ({"first_proposer": "trader"}, "first proposer"),
])
def test_negotiation_params_reject_bad_values(change, message):
    with pytest.raises(ValueError, match=message):
        replace(GAME, **change)


def test_rubinstein_prediction_by_hand():
    prediction = b.predicted_outcome(GAME)
    # Growers δ = 0.9, buyer δ = 0.98: (1 - 0.98) / (1 - 0.882) = 0.02 / 0.118
    assert prediction.association_share == pytest.approx(0.02 / 0.118)
    assert prediction.price == pytest.approx(5 * 0.02 / 0.118)
    # The buyer naming first leaves the growers δg times their proposer share.
    buyer_first = b.predicted_outcome(replace(GAME, first_proposer="buyer"))
    assert buyer_first.association_share == pytest.approx(0.9 * 0.02 / 0.118)


def test_more_spoilage_means_a_smaller_predicted_share():
    shares = [b.predicted_outcome(replace(GAME, spoilage=s)).association_share for s in (0.0, 0.05, 0.1, 0.3)]
    assert shares == sorted(shares, reverse=True)
    assert shares[0] == pytest.approx(1 / 1.0)  # growers who lose nothing by waiting take it all when naming first


@pytest.mark.parametrize("first", b.ROLES)
def test_computer_players_agree_at_once_on_the_prediction(first):
    params = replace(GAME, first_proposer=first, deadline_days=10)
    rng = np.random.default_rng(1)
    state = b.initial_state(params)
    while state.phase != "over":
        result, state = b.play_round(params, state, {state.turn: b.bot_decision(params, state, rng)})
    assert state.outcome == "agreement" and state.day == 0
    assert state.offer / params.value == pytest.approx(b.predicted_outcome(params).association_share)


def test_the_computer_buyer_takes_what_waiting_is_worth_and_no_less():
    params = replace(GAME, deadline_days=10)
    # The buyer's threshold: δb times its proposer share (1 - 0.9)/(1 - 0.882) = 0.1/0.118.
    threshold = 0.98 * 0.1 / 0.118
    best_price = params.value * (1 - threshold)
    assert b.bot_response(params, 0, best_price - 1e-9, 0.5) == "accept"
    assert b.bot_response(params, 0, best_price + 0.01, 0.5) == "reject"
    # On the last day there is no tomorrow: anything is better than rotten fruit.
    assert b.bot_response(params, 9, params.value, 0.5) == "accept"


# --- the behavioural responder and the published ultimatum figures ---------------------------

def test_offer_distribution_matches_the_published_summaries():
    shares = np.array([s for s, _ in b.OFFER_DISTRIBUTION])
    weights = np.array([w for _, w in b.OFFER_DISTRIBUTION])
    assert weights.sum() == pytest.approx(1)
    assert abs(shares @ weights - b.OOSTERBEEK_2004["mean_offer"]) <= 0.02       # mean offer about 40%
    low, high = b.SHARE_OFFERING_40_TO_50
    assert low <= weights[(shares >= 0.4) & (shares <= 0.5)].sum() <= high     # 60-80% offer 40-50%


def test_rejection_curve_shape():
    lenient = b.PUBLISHED_LENIENCY
    assert b.rejection_probability(0.0, lenient) == 1
    assert b.rejection_probability(0.5, lenient) == 0 and b.rejection_probability(0.7, lenient) == 0
    curve = b.rejection_probability(np.linspace(0, 0.5, 51), lenient)
    assert np.all(np.diff(curve) < 0)   # lower offers are rejected more often


def test_calibrated_rejection_rate_is_the_published_sixteen_percent():
    assert b.expected_rejection_rate(b.PUBLISHED_LENIENCY) == pytest.approx(0.16, abs=1e-6)
    # Not used in the fit: offers of about 20% should be rejected about half the time (Camerer 2003).
    assert 0.35 <= b.rejection_probability(b.CAMERER_LOW_OFFER["share"], b.PUBLISHED_LENIENCY) <= 0.65


def test_core_profiles_reproduce_their_acceptance_of_ten_percent():
    for who, accepted in b.CORE_ACCEPTANCE_OF_TEN_PERCENT.items():
        assert 1 - b.rejection_probability(0.1, b.RESPONDER_LENIENCY[who]) == pytest.approx(accepted)
    # Farmers who turn down low offers are harder to squeeze than students.
    assert b.RESPONDER_LENIENCY["Kenyan farmers"] < b.RESPONDER_LENIENCY["pooled experiments"] < b.RESPONDER_LENIENCY["US students"]


def test_simulated_ultimatum_games_reject_about_sixteen_percent():
    # A one-day negotiation is an ultimatum game: offers drawn from the published
    # distribution, answered by behavioural responders. 40,000 games give a standard
    # error of sqrt(0.16 * 0.84 / 40000) = 0.0018, so a tolerance of 0.01 is over 5 errors.
    params = b.NegotiationParams(value=10, deadline_days=1)
    result = b.simulate(params, 40_000, seed=7, proposer="published", responder="behavioural")
    assert result.summary()["rejection_rate"] == pytest.approx(0.16, abs=0.01)
    # Low offers are rejected more often. The buyer's share of an accepted deal is
    # 1 - price/value; offers of 20% or less are 15% of all offers, 40-50% are 70%.
    offered = 1 - result.price[result.agreed] / params.value
    accepted_low = np.sum(offered <= 0.2 + 1e-9) / (0.15 * 40_000)
    accepted_fair = np.sum(offered >= 0.4 - 1e-9) / (0.70 * 40_000)
    assert accepted_low < 0.55 and accepted_fair > 0.92


# --- many games at once ---------------------------------------------------------------------

@pytest.mark.parametrize("first", b.ROLES)
@pytest.mark.parametrize("proposer", b.PROPOSER_STYLES)
@pytest.mark.parametrize("responder", b.RESPONDER_STYLES)
def test_batch_and_loop_play_the_same_games(first, proposer, responder):
    params = b.NegotiationParams(value=5.3, spoilage=0.15, buyer_waiting_cost=0.05, deadline_days=6,
                                 first_proposer=first)
    fast = b.simulate(params, 300, seed=11, proposer=proposer, responder=responder)
    slow = b.simulate_loop(params, 300, seed=11, proposer=proposer, responder=responder)
    for name in ("agreed", "day", "price", "rejections"):
        assert np.array_equal(getattr(fast, name), getattr(slow, name), equal_nan=True), name
    assert np.allclose(fast.association_payoff, slow.association_payoff, rtol=1e-12)
    assert np.allclose(fast.buyer_payoff, slow.buyer_payoff, rtol=1e-12)


def test_behavioural_growers_turn_down_the_buyers_low_offers():
    params = b.NegotiationParams(value=5.3, spoilage=0.1, buyer_waiting_cost=0.02, deadline_days=10,
                                 first_proposer="buyer")
    # The buyer offers the growers 0.9 * 0.1695 = 15% of the value: an insult by ultimatum standards.
    theory = b.simulate(params, 5000, seed=3, responder="equilibrium").summary()
    people = b.simulate(params, 5000, seed=3, responder="behavioural").summary()
    assert theory["rejection_rate"] == 0 and theory["mean_day"] == 0
    assert people["rejection_rate"] > 0.3 and people["mean_day"] > 0


def test_simulate_is_reproducible_and_checks_its_input():
    params = b.NegotiationParams(value=5.3, deadline_days=5)
    one = b.simulate(params, 500, seed=5, proposer="published")
    two = b.simulate(params, 500, seed=5, proposer="published")
    other = b.simulate(params, 500, seed=6, proposer="published")
    assert np.array_equal(one.price, two.price, equal_nan=True)
    assert not np.array_equal(one.price, other.price, equal_nan=True)
    for bad in [dict(n_games=0), dict(n_games=2.5), dict(proposer="greedy"), dict(responder="angry")]:
        with pytest.raises(ValueError):
            b.simulate(params, **{"n_games": 10, **bad})


# --- the lead firm ----------------------------------------------------------------------------

SERVICES = (b.Service("materials", 10, 15), b.Service("quality control", 2, 4))
FIRM = b.LeadFirmParams(lead_firm_value=100, cluster_cost=70, local_margin=5, services=SERVICES)


def test_subcontract_by_hand():
    deal = b.subcontract(FIRM)
    # Surplus: 100 - 70 + (15 + 4) - (10 + 2) = 37; the local margin 5 does not bind; each side 18.5.
    assert deal.cluster_margin == pytest.approx(18.5) and deal.lead_firm_margin == pytest.approx(18.5)
    # Cash price: the cluster's margin plus what it still pays itself, 70 - 19 = 51: 69.5.
    assert deal.cash_price == pytest.approx(69.5)
    # The lead firm's side adds up: 100 = 69.5 cash + 12 services + 18.5 margin.
    assert deal.cash_price + deal.services_cost + deal.lead_firm_margin == pytest.approx(100)
    assert deal.binding == "bargaining"


def test_a_second_lead_firm_improves_the_clusters_terms():
    deal = b.subcontract(replace(FIRM, lead_firms=4))
    # Rivals' values run from 75 (local price of a pair) to 100; the runner-up of four
    # values a pair at 75 + 25 * 3/4 = 93.75, leaving the cluster 93.75 - 70 = 23.75 > 18.5.
    assert deal.cluster_margin == pytest.approx(23.75) and deal.binding == "another lead firm"
    assert deal.lead_firm_margin == pytest.approx(37 - 23.75)


def test_bundling_pays_only_for_services_the_lead_firm_supplies_cheaper():
    plain = b.subcontract(replace(FIRM, services=()))
    useful = b.subcontract(replace(FIRM, services=(b.Service("materials", 10, 15),)))
    wasteful = b.subcontract(replace(FIRM, services=(b.Service("machinery", 8, 5),)))
    surplus = lambda deal: deal.cluster_margin + deal.lead_firm_margin
    assert surplus(useful) == pytest.approx(surplus(plain) + 5)
    assert surplus(wasteful) == pytest.approx(surplus(plain) - 3)


def test_cost_sharing_by_hand():
    costs = {"worker training": 1000, "quality training": 400, "trade fairs": 200}
    shares = {"worker training": 0.6, "quality training": 0.25, "trade fairs": 0.5}
    split = {c.programme: (c.lead_firm_pays, c.project_pays) for c in b.share_costs(costs, shares)}
    assert split == {"worker training": (600, 400), "quality training": (100, 300), "trade fairs": (100, 100)}
    with pytest.raises(ValueError, match="both a cost and a lead-firm share"):
        b.share_costs(costs, {"worker training": 0.6})
    with pytest.raises(ValueError, match="share of trade fairs"):
        b.share_costs(costs, {**shares, "trade fairs": 50})


def test_the_lead_firm_keeps_less_of_general_training():
    kwargs = dict(saving_per_unit=4, units=1000, programme_cost=3000, lead_firm_share=0.6)
    # One lead firm, bargaining binds: specific training saves 4 a pair, the lead firm keeps half: 2000.
    specific = b.training_return(FIRM, transferable=0.0, **kwargs)
    assert specific.lead_firm_gain == pytest.approx(2000) and specific.cluster_gain == pytest.approx(2000)
    assert specific.lead_firm_outlay == pytest.approx(1800) and specific.worthwhile
    assert specific.break_even_share == pytest.approx(2000 / 3000)
    # Four lead firms: the rival bid binds. Specific skills: the lead firm keeps all 4 a pair.
    competing = replace(FIRM, lead_firms=4)
    assert b.training_return(competing, transferable=0.0, **kwargs).lead_firm_gain == pytest.approx(4000)
    # General skills raise the rival bid by the full saving: the lead firm keeps nothing,
    # so only a project paying the whole cost gets the training done.
    general = b.training_return(competing, transferable=1.0, **kwargs)
    assert general.lead_firm_gain == pytest.approx(0, abs=1e-9) and not general.worthwhile
    assert general.break_even_share == 0


lead_firm_params = st.builds(
    b.LeadFirmParams,
    lead_firm_value=st.floats(0, 500),
    cluster_cost=st.floats(0, 400),
    local_margin=st.floats(0, 50),
    services=st.just(SERVICES),
    lead_firms=st.integers(1, 10),
    bargaining_power=unit,
)


@FAST
@given(params=lead_firm_params)
def test_subcontract_adds_up_and_more_firms_never_hurt_the_cluster(params):
    deal = b.subcontract(params)
    if deal.traded:
        assert deal.cluster_margin >= deal.outside_option - 1e-9 and deal.lead_firm_margin >= -1e-9
        assert deal.cash_price + deal.services_cost + deal.lead_firm_margin == pytest.approx(params.lead_firm_value)
    more = b.subcontract(replace(params, lead_firms=params.lead_firms + 1))
    assert more.cluster_margin >= deal.cluster_margin - 1e-9


@pytest.mark.parametrize("make, message", [
    (lambda: b.Service("", 1, 1), "name"),
    (lambda: b.Service("materials", -1, 1), "materials"),
    (lambda: replace(FIRM, lead_firms=0), "lead firms"),
    (lambda: replace(FIRM, bargaining_power=2), "bargaining power"),
    (lambda: replace(FIRM, services=(SERVICES[0], SERVICES[0])), "once"),
    (lambda: replace(FIRM, services=[SERVICES[0]]), "tuple"),
    (lambda: replace(FIRM, cluster_cost=-5), "cluster's cost"),
    (lambda: replace(FIRM, training_saving=80), "training"),
])
def test_lead_firm_inputs_are_checked(make, message):
    with pytest.raises(ValueError, match=message):
        make()
