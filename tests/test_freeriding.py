"""Tests of the free-riding models: side-selling, the public goods game, the brand, the bots."""
from __future__ import annotations

import json
import math
import time
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from widgets import freeriding as f

FAST = settings(max_examples=40, deadline=None)


def everyone(*deliveries):
    """Decisions for every seat, so no simulated member plays."""
    return dict(enumerate(deliveries))


# --- the public goods game is the special case ------------------------------------------

def test_public_goods_worked_example():
    params = f.public_goods(group_size=4, endowment=20, mpcr=0.4)
    # Σc = 0 + 5 + 10 + 20 = 35; 0.4 × 35 = 14; payoff = 20 - c + 14.
    result, state = f.play_round(params, f.initial_state(params), everyone(0, 5, 10, 20))
    assert result.payoffs == pytest.approx((34, 29, 24, 14))
    assert state.payoffs == pytest.approx((34, 29, 24, 14))
    assert result.mean_delivery == pytest.approx(8.75)


def test_matches_otree_public_goods_simple():
    # oTree's public_goods_simple: 3 players, endowment 100, multiplier 1.8:
    # payoff = 100 - c + 1.8·Σc/3. Contributions 10, 50, 100: Σc = 160, 1.8 × 160 / 3 = 96.
    params = f.public_goods(group_size=3, endowment=100, mpcr=1.8 / 3)
    result, _ = f.play_round(params, f.initial_state(params), everyone(10, 50, 100))
    assert result.payoffs == pytest.approx((186, 146, 96))


@FAST
@given(n=st.integers(2, 12), endowment=st.floats(1, 500), mpcr=st.floats(0.05, 1.5), data=st.data())
def test_public_goods_matches_the_formula(n, endowment, mpcr, data):
    params = f.public_goods(n, endowment, mpcr)
    c = data.draw(st.lists(st.floats(0, endowment), min_size=n, max_size=n))
    result, _ = f.play_round(params, f.initial_state(params), everyone(*c))
    expected = [endowment - ci + mpcr * sum(c) for ci in c]
    assert result.payoffs == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_punishment_points_cost_one_and_three():
    params = f.public_goods(punishment=True)
    decisions = {0: {"delivery": 20, "points": {3: 2}}, 1: {"delivery": 20, "points": {}},
                 2: {"delivery": 20}, 3: {"delivery": 0, "points": [0, 1, 0, 0]}}
    result, _ = f.play_round(params, f.initial_state(params), decisions)
    # Σc = 60, 0.4 × 60 = 24. Points: seat 0 gives seat 3 two, seat 3 gives seat 1 one.
    # Seat 0: 24 - 2 = 22. Seat 1: 24 - 3 = 21. Seat 2: 24. Seat 3: 20 + 24 - 1 - 2 × 3 = 37.
    assert result.payoffs == pytest.approx((22, 21, 24, 37))
    assert result.points[0][3] == 2 and result.points[3][1] == 1


# --- the side-selling game by hand -------------------------------------------------------
# Two members, harvest 10, trader price 1, cooperative price 0.9, value added 0.5 a unit,
# half the surplus as a patronage bonus, a loan of 3 each (each unit adds one unit of harvest),
# capital 6: each gets 3 of credit and harvests 13. A delivers all 13, B side-sells all 13.

SOY = f.GameParams(members=2, harvest=10, rounds=3, trader_price=1, coop_price=0.9, value_added=0.5,
                   patronage_share=0.5, loan=3, input_return=1, capital=6)


def test_side_selling_worked_example():
    state = f.initial_state(SOY)
    assert f.preview_round(SOY, state) == {"credit": (3.0, 3.0), "harvests": (13.0, 13.0)}
    result, new = f.play_round(SOY, state, everyone(13, 0))
    # Surplus 0.5 × 13 = 6.5. A's bonus 0.5 × 0.5 × 13 = 3.25; equal share 0.5 × 6.5 / 2 = 1.625 each.
    assert result.surplus == pytest.approx(6.5)
    assert result.bonus == pytest.approx((3.25, 0))
    assert result.equal_share == pytest.approx((1.625, 1.625))
    # A is owed 0.9 × 13 + 3.25 + 1.625 = 16.575 and repays 3: payoff 13.575.
    # B gets 13 cash; the cooperative keeps B's 1.625 towards the loan; 1.375 is lost.
    assert result.owed == pytest.approx((16.575, 1.625))
    assert result.repaid == pytest.approx((3, 1.625))
    assert result.unrecovered == pytest.approx((0, 1.375))
    assert result.payoffs == pytest.approx((13.575, 13))
    # Capital: 6 - 6 lent + 3 + 1.625 recovered = 4.625, so next season's credit is 2.3125 each.
    assert new.capital == pytest.approx(4.625)
    assert f.preview_round(SOY, new)["credit"] == pytest.approx((2.3125, 2.3125))
    assert result.side_selling == (False, True) and result.caught == (False, False)


def test_caught_side_seller_loses_next_seasons_credit():
    params = replace(SOY, monitoring=1.0, sanction=f.CREDIT)
    result, new = f.play_round(params, f.initial_state(params), everyone(13, 0))
    assert result.caught == (False, True)
    # Capital 4.625 now goes to A alone, up to the loan of 3; B farms without inputs: harvest 10.
    assert f.preview_round(params, new) == {"credit": (3.0, 0.0), "harvests": (13.0, 10.0)}


def test_fine_per_unit_side_sold_goes_to_capital():
    params = replace(SOY, monitoring=1.0, sanction=f.FINE, fine=0.5)
    result, new = f.play_round(params, f.initial_state(params), everyone(13, 3))
    # B delivers 3 of 13: 10 side-sold, fine 5. B: 10 cash + owed (2.7 + 1.625 + 0.375 bonus) - 3 repaid - 5.
    # Surplus 0.5 × 16 = 8: equal 2 each; bonuses 0.25 × 13 = 3.25 and 0.25 × 3 = 0.75.
    assert result.fines == pytest.approx((0, 5))
    assert result.payoffs[1] == pytest.approx(10 + (2.7 + 0.75 + 2) - 3 - 5)
    # Capital: 6 - 6 + 3 + 3 + 5 = 11.
    assert new.capital == pytest.approx(11)


def test_processing_needs_the_threshold():
    params = replace(SOY, threshold=20)
    result, new = f.play_round(params, f.initial_state(params), everyone(13, 0))
    # 13 < 20: no processing, no surplus. A owed 11.7, repays 3; B repays nothing.
    assert not result.processed and result.surplus == 0
    assert result.payoffs == pytest.approx((8.7, 13))
    assert result.unrecovered == pytest.approx((0, 3))
    assert new.capital == pytest.approx(3)


def test_delivery_contract_penalty():
    params = replace(SOY, contract_minimum=0.5, contract_penalty=1.0)
    result, _ = f.play_round(params, f.initial_state(params), everyone(13, 0))
    assert result.penalties == pytest.approx((0, 6.5))  # half of 13 short, at 1 a unit


def test_brand_exclusion_and_pooled_capital():
    params = f.brand_game(group_size=4, effort_budget=10, premium=2, detection=1.0, exclusion=True,
                          pooled_share=0.5, rounds=2)
    state = f.initial_state(params)
    first, state = f.play_round(params, state, everyone(10, 10, 10, 0))
    # Premium pool 2 × 30 = 60, 15 each; half is kept as a stake: 7.5 paid now.
    # The shirker keeps 10 units of effort: 17.5; she is caught and forfeits her 7.5 stake.
    assert first.payoffs == pytest.approx((7.5, 7.5, 7.5, 17.5))
    assert first.caught == (False, False, False, True)
    assert state.capital == pytest.approx(7.5)
    assert state.excluded_surplus == (False, False, False, True)
    last, state = f.play_round(params, state, everyone(10, 10, 10, 10))
    # Pool 2 × 40 = 80, 20 each. The excluded member's 20 goes to capital.
    # Others: 10 paid now + stakes 7.5 + 10 paid out at the end = 27.5.
    assert last.payoffs == pytest.approx((27.5, 27.5, 27.5, 0))
    assert last.capital_after == pytest.approx(27.5)


def test_brand_exclusion_for_good_lasts_and_the_others_share_the_premium():
    def play(for_good, efforts):
        params = f.brand_game(group_size=4, effort_budget=10, premium=2, detection=1.0, exclusion=True,
                              rounds=3, for_good=for_good)
        state, results = f.initial_state(params), []
        for round_efforts in efforts:
            result, state = f.play_round(params, state, everyone(*round_efforts))
            results.append(result)
        return results, state

    # Round 1: pool 2 × 30 = 60, 15 each; the shirker keeps her 10 units: 25. She is caught.
    # For good: from round 2 she is out and the three others split the premium.
    # Round 2, all give 10: pool 80 shared by 3 = 26.67 each; she gets nothing (10 - 10 + 0 = 0).
    # Round 3, she shirks again: pool 60 shared by 3 = 20 each; she keeps 10; she is not checked again.
    results, state = play(True, [(10, 10, 10, 0), (10, 10, 10, 10), (10, 10, 10, 0)])
    assert results[0].payoffs == pytest.approx((15, 15, 15, 25))
    assert results[1].payoffs == pytest.approx((80 / 3, 80 / 3, 80 / 3, 0))
    assert results[2].payoffs == pytest.approx((20, 20, 20, 10))
    assert results[2].caught == (False,) * 4
    assert state.excluded_surplus == (False, False, False, True)
    assert state.capital == pytest.approx(0)  # nothing withheld: her share went to the others
    # For one round only: in round 2 her 20 stays with the cooperative; in round 3 she is back in.
    results, state = play(False, [(10, 10, 10, 0), (10, 10, 10, 10), (10, 10, 10, 10)])
    assert results[1].payoffs == pytest.approx((20, 20, 20, 0))
    assert results[2].payoffs == pytest.approx((20, 20, 20, 20))
    assert state.capital == pytest.approx(20) and state.excluded_surplus == (False,) * 4


def test_when_everyone_is_excluded_for_good_the_cooperative_keeps_the_premium():
    params = f.brand_game(group_size=3, effort_budget=10, premium=2, detection=1.0, rounds=3, for_good=True)
    _, state = f.play_round(params, f.initial_state(params), everyone(0, 0, 0))   # all shirk, all caught
    result, state = f.play_round(params, state, everyone(5, 5, 5))
    # Premium 2 × 15 = 30 with nobody left to share it: capital 30; each keeps the 5 units she held back.
    assert result.payoffs == pytest.approx((5, 5, 5)) and state.capital == pytest.approx(30)


def test_credit_lost_for_good_is_never_restored():
    params = replace(SOY, monitoring=1.0, sanction=f.CREDIT, sanction_for_good=True)
    _, state = f.play_round(params, f.initial_state(params), everyone(13, 0))   # B side-sells and is caught
    assert f.preview_round(params, state)["credit"] == pytest.approx((3, 0))
    _, state = f.play_round(params, state, everyone(13, 10))                  # both deliver everything
    # A borrows 3 of the 4.625 and repays it: capital stays 4.625. B, out for good, still gets none;
    # with a one-season sanction the two would share it: 4.625 / 2 = 2.3125 each.
    assert state.capital == pytest.approx(4.625)
    assert f.preview_round(params, state)["credit"] == pytest.approx((3, 0))
    once = replace(params, sanction_for_good=False)
    _, again = f.play_round(once, f.initial_state(once), everyone(13, 0))
    _, again = f.play_round(once, again, everyone(13, 10))
    assert f.preview_round(once, again)["credit"] == pytest.approx((2.3125, 2.3125))


# --- properties --------------------------------------------------------------------------

params_strategy = st.builds(
    f.GameParams,
    members=st.integers(2, 8), harvest=st.floats(1, 100), rounds=st.integers(1, 4),
    trader_price=st.floats(0, 3), coop_price=st.floats(0, 3), value_added=st.floats(0, 3),
    patronage_share=st.floats(0, 1), loan=st.floats(0, 10), input_return=st.floats(0, 2),
    capital=st.floats(0, 100), required_share=st.floats(0, 1), monitoring=st.floats(0, 1),
    sanction=st.sampled_from(f.SANCTIONS), sanction_for_good=st.booleans(), fine=st.floats(0, 2),
    contract_minimum=st.floats(0, 1),
    contract_penalty=st.floats(0, 2), pooled_share=st.floats(0, 1), communication=st.booleans(),
    punishment=st.booleans(),
)


@FAST
@given(params=params_strategy, seed=st.integers(0, 10_000), data=st.data())
def test_payoffs_add_up(params, seed, data):
    """Payoffs + change in capital + change in stakes = everything produced - credit - punishment."""
    state = f.initial_state(params, seed)
    for _ in range(params.rounds):
        harvests = f.preview_round(params, state)["harvests"]
        people = data.draw(st.lists(st.floats(0, 1), min_size=params.members, max_size=params.members))
        decisions = {i: share * harvests[i] for i, share in enumerate(people) if share < 0.7}  # bots take the rest
        result, new = f.play_round(params, state, decisions)
        delivered = sum(result.deliveries)
        produced = (sum(result.trader_sales) + params.coop_price * delivered + result.surplus
                    - sum(result.credit) - sum(result.punishment_given) - sum(result.punishment_received))
        booked = (sum(result.payoffs) + new.capital - state.capital + sum(new.stakes) - sum(state.stakes))
        assert booked == pytest.approx(produced, rel=1e-9, abs=1e-7)
        assert all(0 <= d <= h + 1e-9 for d, h in zip(result.deliveries, result.harvests))
        assert new.capital >= -1e-9
        state = new
    assert sum(state.stakes) == 0  # stakes are paid out at the end


@FAST
@given(params=params_strategy, seed=st.integers(0, 10_000))
def test_no_crash_on_valid_games_and_the_state_survives_json(params, seed):
    results, state = f.play_game(params, seed)
    assert len(results) == params.rounds and state.round == params.rounds
    assert all(math.isfinite(p) for p in state.payoffs)
    again = f.GameState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again == state
    assert f.RoundResult.from_dict(json.loads(json.dumps(results[-1].to_dict()))) == results[-1]


BAD_PARAMS = [
    {"members": 1}, {"members": 2.5}, {"members": True}, {"harvest": 0}, {"harvest": float("nan")},
    {"rounds": 0}, {"trader_price": -1}, {"patronage_share": 1.5}, {"monitoring": -0.1},
    {"sanction": "jail"}, {"fine": "high"}, {"punishment": 1}, {"communication": "yes"},
    {"threshold": 10_000}, {"punishment_cost": 0}, {"max_points": 3.5}, {"loan": float("inf")},
]


@pytest.mark.parametrize("bad", BAD_PARAMS)
def test_bad_parameters_raise_readable_errors(bad):
    with pytest.raises(ValueError, match="must|got"):
        replace(SOY, **bad)


def test_group_size_message_names_the_range():
    with pytest.raises(ValueError, match=r"Group size must be a whole number from 2 to 60; got 1\."):
        f.public_goods(group_size=1)


@pytest.mark.parametrize("bad", [-1, 13.5, float("nan"), True, "lots", None, [3], {"points": {}}])
def test_bad_decisions_raise_and_change_nothing(bad):
    state = f.initial_state(SOY, 3)
    before = state.to_dict()
    with pytest.raises(ValueError):
        f.play_round(SOY, state, {0: bad})
    assert state.to_dict() == before


@FAST
@given(bad=st.one_of(
    st.floats(max_value=-1e-6), st.floats(min_value=13.000001), st.just(float("nan")), st.just(float("inf")),
    st.booleans(), st.text().filter(lambda t: not _is_number(t)), st.none(), st.lists(st.integers(), max_size=2)))
def test_any_invalid_delivery_raises_and_changes_nothing(bad):
    state = f.initial_state(SOY, 1)   # harvests are 13 in the first season
    before = state.to_dict()
    with pytest.raises(ValueError):
        f.play_round(SOY, state, {1: bad})
    with pytest.raises(ValueError):
        f.validate_decision(SOY, bad, 13.0)
    assert state.to_dict() == before


def _is_number(text):
    try:
        return 0 <= float(text.strip().replace(",", "")) <= 13
    except ValueError:
        return False


@pytest.mark.parametrize("decisions", [{5: 1}, {"x": 1}, {0: 1, "0": 2}, [1, 2], {-1: 0}])
def test_bad_seats_raise(decisions):
    with pytest.raises(ValueError):
        f.play_round(SOY, f.initial_state(SOY), decisions)


def test_bad_points():
    params = f.public_goods(punishment=True)
    state = f.initial_state(params)
    for points in ({1: 11}, {1: -1}, {1: 1.5}, {0: 1}, {9: 1}, "lots"):
        with pytest.raises(ValueError):
            f.play_round(params, state, {0: {"delivery": 5, "points": points}})
    with pytest.raises(ValueError, match="no punishment stage"):
        f.play_round(f.public_goods(), f.initial_state(f.public_goods()), {0: {"delivery": 5, "points": {1: 1}}})


def test_validate_decision_cleans():
    params = f.public_goods()
    assert f.validate_decision(params, "12") == 12.0
    assert f.validate_decision(params, 20) == 20.0
    with pytest.raises(ValueError, match=r"The delivery must be a number from 0 to 20"):
        f.validate_decision(params, 21)


def test_finished_game_refuses_another_round():
    params = f.public_goods(rounds=1)
    _, state = f.play_round(params, f.initial_state(params), {})
    with pytest.raises(ValueError, match="over"):
        f.play_round(params, state, {})


def test_bad_state_data_raises():
    data = f.initial_state(SOY).to_dict()
    for broken in ({**data, "types": ["alien", "free rider"]}, {**data, "capital": -1},
                   {**data, "round": 1}, {**data, "extra": 1}, {k: v for k, v in data.items() if k != "seed"}):
        with pytest.raises(ValueError):
            f.GameState.from_dict(broken)


def test_replaying_stored_decisions_rebuilds_the_game():
    params = f.public_goods(punishment=True)
    stored = [{0: {"delivery": 5, "points": {1: 2}}}, {0: 20}, {0: "7"}]
    results, state = f.play_game(replace(params, rounds=3), seed=42, decisions_by_round=stored)
    json_state = json.loads(json.dumps(f.initial_state(replace(params, rounds=3), 42).to_dict()))
    replay = f.GameState.from_dict(json_state)
    for decisions in json.loads(json.dumps(stored)):  # keys come back as strings
        _, replay = f.play_round(replace(params, rounds=3), replay, decisions)
    assert replay == state
    assert results[1].deliveries[0] == 20 and results[1].people == (0,)


# --- simulated members -------------------------------------------------------------------

def test_type_shares_follow_fischbacher_gachter_fehr():
    types = f.draw_types(60, np.random.default_rng(0))
    assert set(types) <= set(f.TYPES)
    codes = f._type_codes(np.random.default_rng(1).random(100_000), f.BOTS)
    shares = np.bincount(codes, minlength=4) / codes.size
    assert shares[:3] == pytest.approx([0.50, 0.30, 0.14], abs=0.01)


def test_free_riders_give_nothing_in_the_public_goods_game():
    params = f.public_goods()
    state = f.initial_state(params, types=[f.FREE_RIDER] * 4)
    assert f.bot_decisions(params, state, np.random.default_rng(0)) == {0: 0, 1: 0, 2: 0, 3: 0}


def test_bot_decisions_stay_within_the_harvest_and_repeat_with_the_seed():
    state = f.initial_state(SOY, 5)
    one = f.bot_decisions(SOY, state, np.random.default_rng(9))
    two = f.bot_decisions(SOY, state, np.random.default_rng(9))
    assert one == two and all(0 <= v <= 13 for v in one.values())
    assert f.bot_decisions(SOY, state, seats=[1]).keys() == {1}
    with pytest.raises(ValueError):
        f.bot_decisions(SOY, state, rng=42)


def test_punishers_punish_those_who_give_less():
    params = f.public_goods(punishment=True)
    codes = np.array([f.TYPE_CODE[f.CONDITIONAL], f.TYPE_CODE[f.FREE_RIDER]] * 2)
    points = f.bot_points(params, codes, np.array([0.5, 0.0, 0.5, 0.5]))
    # Conditional cooperators (seats 0 and 2) punish seat 1, which gave 10 units less: 0.25 × 10 ≈ 2 (rounded).
    assert points[0, 1] == points[2, 1] == np.rint(f.BOTS.punish_per_unit * 10) > 0
    assert points[1].sum() == 0 and points[:, 0].sum() == 0 and np.trace(points) == 0


# Tolerance: the published path is one experiment's mean over a few groups (ten groups or
# fewer per treatment), so period-to-period wiggles of 1.5 tokens or more (6.5, 4.9, 6.5)
# are sampling noise that no smooth rule should chase. We ask for a mean absolute error
# below 1.5 tokens a period (7.5% of the endowment), no single period off by more than
# 3 tokens, and the direction of the trend.
@pytest.mark.parametrize("punishment", [False, True])
def test_calibration_reproduces_fehr_gachter(punishment):
    check = f.calibration_error(punishment, n_games=3000, seed=11)
    path = check["simulated"]
    assert check["mean_absolute_error"] <= 1.5
    assert check["largest_error"] <= 3.0
    assert 0.25 * 20 <= path[0] <= 0.60 * 20   # first period: published 32% and 39% of the endowment
    early, late = path[:3].mean(), path[-3:].mean()
    if punishment:
        assert late - early >= 2.5       # published: 9.0 → 12.8
        assert path[-1] >= path[-2]      # the threat lasts: the last period is the highest
    else:
        assert early - late >= 1.5       # published: 6.0 → 2.8
        assert path[-1] < path[-2] - 0.5  # the end-game drop (published 3.5 → 2.0)


def test_published_paths_are_the_papers_figures():
    assert f.published_path(False)[0] == 6.5 and f.published_path(True)[-1] == 13.2
    assert len(f.published_path(False)) == len(f.published_path(True)) == 10
    assert "980" in f.FEHR_GACHTER_2000["citation"]


def test_punishment_raises_contributions_over_no_punishment():
    plain = f.simulate(f.public_goods(), 2000, 1).mean_path
    punished = f.simulate(f.public_goods(punishment=True), 2000, 1).mean_path
    assert (punished > plain).all()


def test_treatments_move_deliveries_the_right_way():
    base = f.GameParams()
    share = {label: f.simulate(p, 1000, 4).shares.mean() for label, p in {
        "base": base, "patronage": replace(base, patronage_share=1.0), "monitoring": replace(base, monitoring=0.5),
        "talk": replace(base, communication=True),
        "contract": replace(base, contract_minimum=0.8, contract_penalty=1.0)}.items()}
    for label in ("patronage", "monitoring", "talk", "contract"):
        assert share[label] > share["base"] + 0.1, label


def test_side_selling_drains_the_cooperatives_capital():
    base = f.GameParams()  # members dodge their loans by side-selling
    run = f.simulate(base, 1000, 2)
    assert run.capital[:, -1].mean() < 0.75 * base.capital
    honest = f.simulate(replace(base, patronage_share=1.0), 1000, 2)  # delivering pays: all loans come back
    assert honest.capital[:, -1] == pytest.approx(base.capital)


def test_brand_free_riding_is_deterred_by_small_groups_exclusion_and_pooling():
    def effort(**kw):
        return f.simulate(f.brand_game(**kw), 1000, 3).shares.mean()
    big_open = effort(group_size=8)
    assert effort(group_size=2, detection=0.5) > big_open + 0.2     # small and watched
    assert effort(group_size=4, detection=0.5, pooled_share=0.5) > effort(group_size=4, detection=0.5) + 0.2
    assert effort(group_size=8, detection=0.5, pooled_share=0.5) > big_open


def test_lasting_exclusion_deters_where_one_round_does_not():
    # Group of 4, premium 2, detection 0.1: shirking saves 10 and costs 5 of own premium; losing
    # one round's share (about 5) one time in ten does not stop it, losing up to nine rounds does.
    once = f.simulate(f.brand_game(4, detection=0.1), 1000, 5)
    lasting = f.simulate(f.brand_game(4, detection=0.1, for_good=True), 1000, 5)
    assert lasting.staying_share_path[0] > once.staying_share_path[0] + 0.5
    assert (once.in_group.all()) and not lasting.in_group.all()
    assert np.all(np.diff(lasting.staying_path) <= 1e-12)   # nobody comes back


def test_bot_decisions_are_what_play_round_uses_for_empty_seats():
    # A live session asks for the simulated members' choices first and settles the round later.
    for params in (f.public_goods(), SOY, f.brand_game(detection=0.5, for_good=True)):
        state = f.initial_state(params, 17)
        for _ in range(3):
            bots = f.bot_decisions(params, state)
            result, state = f.play_round(params, state, {0: 1.0})
            assert [result.deliveries[s] for s in range(1, params.members)] == \
                pytest.approx([bots[s] for s in range(1, params.members)])


# --- helpers the views and the debrief use ----------------------------------------------

def test_own_return_is_the_mpcr_or_the_premium_share():
    assert f.own_return(f.public_goods(mpcr=0.4)) == pytest.approx(0.4)
    assert f.own_return(f.brand_game(group_size=4, premium=2)) == pytest.approx(0.5)   # 2 / 4
    assert f.own_return(SOY) == pytest.approx(0.9 + 0.5 * (0.5 + 0.5 / 2))                # price + bonus + own share


def test_full_cooperation_income():
    assert f.full_cooperation_income(f.public_goods()) == pytest.approx(32)   # 20 - 20 + 0.4 × 80
    # SOY: harvest 13, deliver 13: 0.9 × 13 + 0.25 × 13 + 0.5 × 13 / 2 = 18.2, less the loan of 3.
    assert f.full_cooperation_income(SOY) == pytest.approx(15.2)


def test_published_shares_and_the_fehr_gachter_game():
    assert f.published_shares(False, 3) == pytest.approx((6.5 / 20, 4.9 / 20, 6.5 / 20))
    longer = f.published_shares(True, 12)
    assert len(longer) == 12 and longer[-1] == longer[-3] == pytest.approx(13.2 / 20)
    assert f.is_fehr_gachter(f.public_goods()) and f.is_fehr_gachter(f.public_goods(punishment=True))
    assert not f.is_fehr_gachter(f.public_goods(mpcr=0.5))
    assert not f.is_fehr_gachter(f.public_goods(group_size=3))
    assert not f.is_fehr_gachter(f.GameParams(members=4, harvest=20))


def test_debrief_figures_by_hand():
    params = f.public_goods(rounds=2)
    results, _ = f.play_game(params, 0, [everyone(20, 0, 0, 0), everyone(10, 10, 10, 10)])
    d = f.debrief_figures(params, results, 0)
    # Round 1: 0.4 × 20 = 8 each, seat 0 keeps nothing: 8; the others 28. Round 2: 0.4 × 40 = 16, 10 kept: 26.
    assert d["own_total"] == pytest.approx(34) and d["others_total"] == pytest.approx(54)
    assert d["own_shares"] == pytest.approx((1, 0.5)) and d["group_shares"] == pytest.approx((0.25, 0.5))
    assert (d["rounds_above_others"], d["rounds_below_others"]) == (1, 0)   # equal in round 2
    assert d["full_cooperation_total"] == pytest.approx(64)
    assert d["published_shares"] == pytest.approx((0.325, 0.245)) and d["published_same_game"]
    with pytest.raises(ValueError):
        f.debrief_figures(params, [], 0)
    with pytest.raises(ValueError):
        f.debrief_figures(params, results, 4)


# --- batch and loop ----------------------------------------------------------------------

@pytest.mark.parametrize("params", [
    f.public_goods(), f.public_goods(punishment=True), f.GameParams(monitoring=0.4),
    f.GameParams(monitoring=0.3, sanction=f.FINE, fine=0.4, threshold=40, communication=True),
    f.brand_game(detection=0.3, pooled_share=0.5),
    f.brand_game(group_size=8, detection=0.1, pooled_share=0.2, for_good=True),   # a third end up excluded
    f.GameParams(monitoring=0.05, sanction=f.CREDIT, sanction_for_good=True, threshold=30),
])
def test_batch_and_loop_play_the_same_games(params):
    batch = f.simulate(params, 60, 8)
    loop = f.simulate_loop(params, 60, 8)
    for name in ("deliveries", "payoffs", "capital", "processed", "caught", "in_group"):
        np.testing.assert_allclose(getattr(batch, name), getattr(loop, name), atol=1e-9, err_msg=name)


def test_batch_is_fast():
    params = f.GameParams(members=8, rounds=10, monitoring=0.3)
    f.simulate(params, 100, 0)
    start = time.perf_counter()
    result = f.simulate(params, 10_000, 0)
    elapsed = time.perf_counter() - start
    assert result.deliveries.shape == (10_000, 10, 8)
    assert elapsed < 2.0  # about 0.5 s on a laptop; the margin is for slow CI machines


def test_bad_batch_arguments():
    with pytest.raises(ValueError):
        f.simulate(f.public_goods(), 0)
    with pytest.raises(ValueError):
        f.simulate({"members": 4}, 10)
