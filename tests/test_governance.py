"""Tests of the governance models: voting rules, the round-by-round game, surplus, agency, Ostrom."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from widgets import governance as g

FAST = settings(max_examples=60, deadline=None)

# A five-member association used by the worked examples.
#          land  deliveries  capital   exit option
#   A        1       10          0       -5,000
#   B        2       20          0       -5,000
#   C        1        5          0       -5,000
#   D        4       40     30,000      -10,000   (special)
#   E        2       25     20,000      -10,000   (special)
# Totals: land 10, deliveries 100, capital 50,000.
A = g.Member("A", land=1, deliveries=10, capital=0, exit_option=-5_000)
B = g.Member("B", land=2, deliveries=20, capital=0, exit_option=-5_000)
C = g.Member("C", land=1, deliveries=5, capital=0, exit_option=-5_000)
D = g.Member("D", land=4, deliveries=40, capital=30_000, special=True, exit_option=-10_000)
E = g.Member("E", land=2, deliveries=25, capital=20_000, special=True, exit_option=-10_000)
FIVE = (A, B, C, D, E)

# Plant: 50,000 levied equally (10,000 each); 80,000 shared by deliveries (800 per unit).
PLANT = g.Proposal("Plant", cost=50_000, benefit=80_000, gains_by="deliveries", costs_by="levy")
# Land: 50,000 from capital (D 30,000, E 20,000); 60,000 shared equally (12,000 each).
LAND = g.Proposal("Land", cost=50_000, benefit=60_000, gains_by="equal", costs_by="capital")
# Banana: 20,000 from reserves, felt at half (10,000, i.e. 2,000 each); 30,000 by land (3,000 per acre).
BANANA = g.Proposal("Banana", cost=20_000, benefit=30_000, gains_by="land", costs_by="reserves",
                    reserve_weight=0.5)

MEMBERS_RULE = g.VotingRule(g.ONE_MEMBER_ONE_VOTE)
PATRONAGE_RULE = g.VotingRule(g.PATRONAGE)
CAPITAL_RULE = g.VotingRule(g.BY_CAPITAL)
QUALIFIED_RULE = g.VotingRule(g.QUALIFIED, threshold=2 / 3)
COMMITTEE_RULE = g.VotingRule(g.COMMITTEE, committee_size=3)  # by deliveries: D 40, E 25, B 20


# --- net gains ---------------------------------------------------------------------------

def test_net_gains_of_the_plant_by_hand():
    totals = g.Totals.of(FIVE)
    assert (totals.members, totals.land, totals.deliveries, totals.capital) == (5, 10, 100, 50_000)
    # gain = 80,000 × deliveries/100; cost = 10,000 each.
    # A 8,000 - 10,000 = -2,000; B 16,000 - 10,000 = 6,000; C 4,000 - 10,000 = -6,000;
    # D 32,000 - 10,000 = 22,000; E 20,000 - 10,000 = 10,000.
    nets = [g.net_gain(m, PLANT, totals) for m in FIVE]
    assert nets == pytest.approx([-2_000, 6_000, -6_000, 22_000, 10_000])


def test_net_gains_from_reserves_count_at_their_weight():
    totals = g.Totals.of(FIVE)
    # gain = 30,000 × land/10: A 3,000, B 6,000, C 3,000, D 12,000, E 6,000; felt cost 2,000 each.
    nets = [g.net_gain(m, BANANA, totals) for m in FIVE]
    assert nets == pytest.approx([1_000, 4_000, 1_000, 10_000, 4_000])
    # The same cost levied from pockets weighs in full: 4,000 each.
    levied = g.Proposal("Banana", cost=20_000, benefit=30_000, gains_by="land", costs_by="levy")
    assert [g.net_gain(m, levied, totals) for m in FIVE] == pytest.approx([-1_000, 2_000, -1_000, 8_000, 2_000])


# --- one worked example per rule --------------------------------------------------------
# Plant votes (sincere, by the nets above): A no, B yes, C no, D yes, E yes.

def test_plant_one_member_one_vote():
    d = g.decide(FIVE, PLANT, MEMBERS_RULE)
    assert d.votes == (False, True, False, True, True)
    assert (d.yes_weight, d.no_weight) == (3, 2)        # B, D, E against A, C
    assert d.passed
    assert d.winners == (1, 3, 4)
    # C's -6,000 is below C's exit option of -5,000; A's -2,000 is not.
    assert d.leavers == (2,)
    assert d.gains == pytest.approx((8_000, 16_000, 4_000, 32_000, 20_000))
    assert d.costs == pytest.approx((10_000,) * 5)


def test_plant_votes_by_deliveries():
    d = g.decide(FIVE, PLANT, PATRONAGE_RULE)
    # for: 20 + 40 + 25 = 85; against: 10 + 5 = 15.
    assert (d.yes_weight, d.no_weight) == (85, 15)
    assert d.passed


def test_plant_votes_by_capital():
    d = g.decide(FIVE, PLANT, CAPITAL_RULE)
    # Only D and E hold capital, and both vote yes: 50,000 for, 0 against.
    assert (d.yes_weight, d.no_weight) == (50_000, 0)
    assert d.passed


def test_plant_qualified_majority_fails():
    d = g.decide(FIVE, PLANT, QUALIFIED_RULE)
    # 3 of 5 is 60%, short of two thirds.
    assert (d.yes_weight, d.no_weight) == (3, 2)
    assert not d.passed
    assert d.leavers == ()  # nothing adopted, so nobody is pushed out
    assert d.leave_if_adopted == (False, False, True, False, False)


def test_plant_committee_of_the_biggest_growers():
    d = g.decide(FIVE, PLANT, COMMITTEE_RULE)
    # The three largest deliveries: D (40), E (25), B (20); all three vote yes.
    assert d.committee == (1, 3, 4)
    assert d.weights == (0, 1, 0, 1, 1)
    assert (d.yes_weight, d.no_weight) == (3, 0)
    assert d.passed


def test_land_splits_the_rules():
    # Nets: A, B, C +12,000; D 12,000 - 30,000 = -18,000; E 12,000 - 20,000 = -8,000.
    results = g.compare_rules(FIVE, LAND, [MEMBERS_RULE, PATRONAGE_RULE, CAPITAL_RULE, QUALIFIED_RULE,
                                           COMMITTEE_RULE])
    members, patronage, capital, qualified, committee = results.values()
    assert members.net_gains == pytest.approx((12_000, 12_000, 12_000, -18_000, -8_000))
    assert members.passed and (members.yes_weight, members.no_weight) == (3, 2)
    assert not patronage.passed and (patronage.yes_weight, patronage.no_weight) == (35, 65)  # 10+20+5 v 40+25
    assert not capital.passed and (capital.yes_weight, capital.no_weight) == (0, 50_000)
    assert not qualified.passed                                                              # 3/5 < 2/3
    assert not committee.passed and (committee.yes_weight, committee.no_weight) == (1, 2)   # B v D, E
    # D loses 18,000, more than the 10,000 D would bear; E's 8,000 is within E's 10,000.
    assert members.leavers == (3,)


def test_committee_ties_go_to_the_member_listed_first_and_a_tied_vote_fails():
    # By land the largest is D (4); B and E tie at 2 and B is listed first.
    rule = g.VotingRule(g.COMMITTEE, committee_size=2, committee_by="land")
    d = g.decide(FIVE, LAND, rule)
    assert d.committee == (1, 3)
    # B votes yes, D no: 1 against 1, and a tie does not carry.
    assert (d.yes_weight, d.no_weight) == (1, 1)
    assert not d.passed


def test_a_member_with_nothing_to_gain_votes_no():
    # 10,000 levied (2,000 each) for 10,000 shared equally (2,000 each): every net gain is zero.
    wash = g.Proposal("Wash", cost=10_000, benefit=10_000, gains_by="equal", costs_by="levy")
    for rule in g.all_rules(committee_size=3):
        d = g.decide(FIVE, wash, rule)
        assert d.net_gains == pytest.approx((0,) * 5)
        assert not any(d.votes) and not d.passed


def test_qualified_majority_is_reached_exactly_at_the_threshold():
    six = FIVE + (g.Member("F", land=1, deliveries=1),)
    rule = g.VotingRule(g.QUALIFIED, threshold=2 / 3)
    # 4 of 6 is exactly two thirds: enough. 3 of 6 is not.
    assert g.decide(six, PLANT, rule, votes=["yes"] * 4 + ["no"] * 2).passed
    assert not g.decide(six, PLANT, rule, votes=["yes"] * 3 + ["no"] * 3).passed
    # Under one member one vote 3 against 3 is a tie, which fails.
    assert not g.decide(six, PLANT, MEMBERS_RULE, votes=[True] * 3 + [False] * 3).passed


def test_banana_is_unanimous():
    for rule in g.all_rules(committee_size=3):
        d = g.decide(FIVE, BANANA, rule)
        assert all(d.votes) and d.passed and d.no_weight == 0


def test_decide_refuses_what_the_membership_cannot_support():
    no_capital = (A, B, C)
    with pytest.raises(ValueError, match="no member has any capital"):
        g.decide(no_capital, PLANT, CAPITAL_RULE)
    with pytest.raises(ValueError, match="raises its cost in proportion to capital"):
        g.decide(no_capital, LAND, MEMBERS_RULE)
    with pytest.raises(ValueError, match="committee size"):
        g.decide(FIVE, PLANT, g.VotingRule(g.COMMITTEE, committee_size=6))
    with pytest.raises(ValueError, match="one vote per member"):
        g.decide(FIVE, PLANT, MEMBERS_RULE, votes=[True] * 4)
    with pytest.raises(ValueError, match='"yes" or "no"'):
        g.decide(FIVE, PLANT, MEMBERS_RULE, votes=["yes", "no", "maybe", "yes", "no"])
    with pytest.raises(ValueError, match="different name"):
        g.decide((A, A, B), PLANT, MEMBERS_RULE)


# --- bad parameters --------------------------------------------------------------------

@pytest.mark.parametrize("field, value", [
    ("land", -1), ("land", math.nan), ("deliveries", math.inf), ("capital", True), ("capital", "5"),
    ("exit_option", 100), ("special", 1), ("name", ""), ("name", 7),
])
def test_member_rejects_bad_values(field, value):
    data = {"name": "X", "land": 1.0, "deliveries": 1.0, "capital": 0.0, "special": False, "exit_option": 0.0}
    data[field] = value
    with pytest.raises(ValueError):
        g.Member(**data)


@pytest.mark.parametrize("kwargs", [
    {"cost": -1}, {"benefit": math.nan}, {"gains_by": "levy"}, {"costs_by": "equal"}, {"reserve_weight": 1.5},
    {"cost": True},
])
def test_proposal_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        g.Proposal(**{"name": "P", "cost": 1, "benefit": 1, **kwargs})


@pytest.mark.parametrize("kwargs", [
    {"kind": "dictator"}, {"threshold": 0.5}, {"threshold": 1.1}, {"committee_size": 0},
    {"committee_size": 2.5}, {"committee_size": True}, {"committee_by": "equal"},
])
def test_rule_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        g.VotingRule(**kwargs)


def test_messages_name_the_parameter_and_the_range():
    with pytest.raises(ValueError, match=r"The committee size must be a whole number from 1 to 1,000; got 0"):
        g.VotingRule(g.COMMITTEE, committee_size=0)
    with pytest.raises(ValueError, match=r"A's land \(acres\) must be a number of at least 0; got -2"):
        g.Member("A", land=-2)


# --- round by round -------------------------------------------------------------------

def _game(exits=True, rule=MEMBERS_RULE):
    return g.GameParams(FIVE, (PLANT, LAND, BANANA), rule, exits=exits)


def test_a_whole_game_by_hand_with_exits():
    params = _game()
    state = g.initial_state(params)
    # Round 1, plant: as above, 3-2 adopted; C (-6,000 < -5,000) leaves.
    r1, state = g.play_round(params, state, {})
    assert r1.passed and (r1.yes_weight, r1.no_weight) == (3, 2)
    assert r1.net_gains == pytest.approx((-2_000, 6_000, -6_000, 22_000, 10_000))
    assert r1.leavers == (2,) and state.active == (True, True, False, True, True)
    # Round 2, land, among A, B, D, E: 60,000 / 4 = 15,000 each; D pays 30,000, E 20,000.
    # Nets A +15,000, B +15,000, D -15,000, E -5,000: two against two, a tie, rejected.
    # (With C still in, it would have passed 3-2: the exit changed the outcome.)
    r2, state = g.play_round(params, state, {})
    assert r2.votes == ("yes", "yes", None, "no", "no")
    assert (r2.yes_weight, r2.no_weight) == (2, 2) and not r2.passed
    assert r2.net_gains == (0, 0, 0, 0, 0)
    # Round 3, banana, among A, B, D, E (land 9): gains 30,000 × land/9; felt cost 10,000/4 = 2,500 each.
    # A 3,333.33 - 2,500 = 833.33; B 6,666.67 - 2,500 = 4,166.67; D 13,333.33 - 2,500 = 10,833.33;
    # E 6,666.67 - 2,500 = 4,166.67. Unanimous: adopted.
    r3, state = g.play_round(params, state, {})
    assert r3.passed and (r3.yes_weight, r3.no_weight) == (4, 0)
    assert r3.net_gains == pytest.approx((2_500 / 3, 12_500 / 3, 0, 32_500 / 3, 12_500 / 3))
    # Totals: A -2,000 + 833.33; B 6,000 + 4,166.67; C -6,000; D 22,000 + 10,833.33; E 10,000 + 4,166.67.
    assert state.payoffs == pytest.approx((-3_500 / 3, 30_500 / 3, -6_000, 98_500 / 3, 42_500 / 3))
    # They add up to the adopted proposals' benefits less their felt costs: (80,000 - 50,000) + (30,000 - 10,000).
    assert sum(state.payoffs) == pytest.approx(50_000)
    assert state.passed == (True, False, True) and state.round == 3
    with pytest.raises(ValueError, match="meeting is over"):
        g.play_round(params, state, {})


def test_a_person_at_a_seat_can_turn_the_vote():
    params = _game()
    state = g.initial_state(params)
    # B would vote yes on the plant; voting no makes it 2 (D, E) against 3: rejected, nobody pays.
    result, new_state = g.play_round(params, state, {1: "No"})
    assert (result.yes_weight, result.no_weight) == (2, 3) and not result.passed
    assert result.deciders == (1,)
    assert new_state.payoffs == (0, 0, 0, 0, 0) and all(new_state.active)
    # Seat numbers may arrive as strings, as JSON keys do.
    same, _ = g.play_round(params, state, {"1": "no"})
    assert same == result


def test_play_round_refuses_bad_decisions_and_changes_nothing():
    params = _game()
    state = g.initial_state(params)
    before = state.to_dict()
    for bad in ({1: "maybe"}, {7: "yes"}, {True: "yes"}, {-1: "no"}, {1: 1}, ["yes"]):
        with pytest.raises(ValueError):
            g.play_round(params, state, bad)
    assert state.to_dict() == before
    _, after_plant = g.play_round(params, state, {})
    with pytest.raises(ValueError, match="has left"):
        g.play_round(params, after_plant, {2: "yes"})   # C left after the plant


def test_without_exits_everyone_stays():
    params = _game(exits=False)
    _, state = g.play_round(params, g.initial_state(params), {})
    assert all(state.active)
    # Land among all five passes 3-2, as in the one-shot example.
    result, _ = g.play_round(params, state, {})
    assert result.passed and result.leavers == (3,)


def test_committee_shrinks_when_members_leave():
    # A committee of 5 in a game where C leaves after round 1: the four left all sit on it.
    params = _game(rule=g.VotingRule(g.COMMITTEE, committee_size=5))
    state = g.initial_state(params)
    _, state = g.play_round(params, state, {})
    preview = g.preview_round(params, state)
    assert preview.committee == (0, 1, 3, 4)


def test_bots_vote_their_interest_and_tremble_on_request():
    params = _game()
    state = g.initial_state(params)
    rng = np.random.default_rng(1)
    assert g.bot_decisions(params, state, rng) == {0: "no", 1: "yes", 2: "no", 3: "yes", 4: "yes"}
    assert g.bot_decisions(params, state, rng, seats=[3]) == {3: "yes"}
    assert g.bot_decisions(params, state, rng, tremble=1.0) == {0: "yes", 1: "no", 2: "yes", 3: "no", 4: "no"}
    with pytest.raises(ValueError):
        g.bot_decisions(params, state, rng, tremble=2)
    with pytest.raises(ValueError, match="Generator"):
        g.bot_decisions(params, state, 42)


def test_game_objects_round_trip_through_json():
    params = _game()
    result, state = g.play_round(params, g.initial_state(params), {1: "yes"})
    for obj, cls in ((params, g.GameParams), (state, g.GameState), (result, g.RoundResult)):
        text = json.dumps(obj.to_dict())
        assert cls.from_dict(json.loads(text)) == obj
    with pytest.raises(ValueError):
        g.GameState.from_dict({"round": 0, "active": [True], "payoffs": [0.0, 1.0], "passed": []})
    with pytest.raises(ValueError, match="no field"):
        g.Member.from_dict({"name": "A", "acres": 2})


def test_validate_decision():
    params = _game()
    assert g.validate_decision(params, " YES ") == "yes"
    for bad in (True, 1, None, "y", ""):
        with pytest.raises(ValueError):
            g.validate_decision(params, bad)


# --- the membership table and the lean import -------------------------------------------

def test_membership_round_trips_through_a_table():
    frame = g.to_frame(FIVE)
    assert list(frame.columns) == list(g.MEMBER_COLUMNS)
    assert g.from_frame(frame) == FIVE
    with pytest.raises(ValueError, match="lacks the column"):
        g.from_frame(frame.drop(columns=["capital"]))


def test_importing_the_model_pulls_in_neither_pandas_nor_plotting():
    code = ("import sys, widgets.governance; "
            "print(sorted(m for m in ('pandas', 'matplotlib', 'ipywidgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_example_membership_is_what_was_asked_for():
    members = g.example_membership(4, 3, seed=2, max_investment=50_000)
    assert [m.name for m in members] == ["G1", "G2", "G3", "G4", "S1", "S2", "S3"]
    assert [m.special for m in members] == [False] * 4 + [True] * 3
    # Special members invest between a fifth of the most and the most; general members hold the share.
    assert all(10_000 <= m.capital <= 50_000 for m in members[4:])
    assert all(m.capital == 1_000 for m in members[:4])
    assert members == g.example_membership(4, 3, seed=2, max_investment=50_000)
    assert members != g.example_membership(4, 3, seed=3, max_investment=50_000)
    with pytest.raises(TypeError):
        g.example_membership(4, 3)  # the largest investment is case data: the caller must pass it


# --- many memberships at once ---------------------------------------------------------

def _sim(proposal=None):
    return g.SimulationParams(g.MembershipDraw(50_000), proposal or g.example_proposals()[1],
                              g.all_rules(committee_size=9))


def test_batch_and_loop_agree_on_the_same_draws():
    params = _sim()
    fast, slow = g.simulate(params, 150, seed=4), g.simulate_loop(params, 150, seed=4)
    # Same draws, same arithmetic: only float summation order differs, so tallies agree to
    # rounding and every pass/fail and every exit agrees exactly.
    np.testing.assert_array_equal(fast.passed, slow.passed)
    np.testing.assert_allclose(fast.yes_weight, slow.yes_weight, rtol=1e-12)
    np.testing.assert_allclose(fast.no_weight, slow.no_weight, rtol=1e-12)
    np.testing.assert_allclose(fast.net_gains, slow.net_gains, rtol=1e-9, atol=1e-6)
    np.testing.assert_array_equal(fast.leave_if_adopted, slow.leave_if_adopted)
    # Tallies add up to each rule's total weight: 21 heads, 9 committee seats.
    np.testing.assert_allclose(fast.yes_weight[:, 0] + fast.no_weight[:, 0], 21)
    np.testing.assert_allclose(fast.yes_weight[:, 4] + fast.no_weight[:, 4], 9)


def test_batch_outcomes_follow_from_the_proposal():
    good = g.Proposal("Good for all", cost=100, benefit=1_000, gains_by="equal", costs_by="levy")
    bad = g.example_proposals()[4]  # papaya: 100,000 levied for 90,000 shared equally
    assert all(v == 1.0 for k, v in g.simulate(_sim(good), 300, 1).summary().items() if k.startswith("passes"))
    assert all(v == 0.0 for k, v in g.simulate(_sim(bad), 300, 1).summary().items() if k.startswith("passes"))
    # The plant helps big growers: it passes by deliveries more often than by heads.
    plant = g.simulate(_sim(), 2_000, 1).summary()
    assert plant["passes: Votes by deliveries"] > plant["passes: One member, one vote"]


def test_simulation_refuses_bad_input():
    with pytest.raises(ValueError):
        g.simulate(_sim(), 0)
    with pytest.raises(ValueError, match="committee size"):
        g.SimulationParams(g.MembershipDraw(50_000, general=3, special=2), g.example_proposals()[0],
                           g.all_rules(committee_size=9))
    with pytest.raises(ValueError, match="hold none"):
        g.SimulationParams(g.MembershipDraw(0, general_capital=0), g.example_proposals()[0])


# --- surplus sharing --------------------------------------------------------------------

def _surplus(**changes):
    base = dict(surplus=100_000, max_investment=50_000, sharing=g.SharingRule(0.6, 0.1, 0.3),
                side_premium=1_000, committed_share=0.5, outside_rate=0.1, reserve_weight=0.5,
                outside_option=7_000)
    return g.SurplusParams(**{**base, **changes})


def test_surplus_split_by_hand():
    out = g.share_surplus(FIVE, _surplus())
    # Refunds: 60,000 over 100 units = 600 a unit.
    assert out.refund_per_unit == pytest.approx(600)
    assert out.refunds == pytest.approx((6_000, 12_000, 3_000, 24_000, 15_000))
    # Capital: 10,000 over 50,000 invested = 20%: D 6,000, E 4,000.
    assert out.return_on_capital == pytest.approx(0.2)
    assert out.capital_returns == pytest.approx((0, 0, 0, 6_000, 4_000))
    # Reserves: 30,000, a notional 6,000 each, valued at half: 3,000.
    assert out.to_reserves == pytest.approx(30_000)
    assert out.reserve_slices == pytest.approx((6_000,) * 5)
    assert out.valued == pytest.approx((9_000, 15_000, 6_000, 33_000, 22_000))
    # C values the year at 6,000, below the 7,000 outside: C leaves.
    assert out.stays == (True, True, False, True, True) and out.leavers == (2,)
    # Delivered share: 0.5 + 0.5 × 600/1,000 = 0.8 of the harvest; C delivers nothing.
    assert out.delivered_share == pytest.approx(0.8)
    assert out.deliveries_next == pytest.approx((8, 16, 0, 32, 20))
    assert out.deliveries_ratio == pytest.approx(76 / 100)
    # 20% beats 10% elsewhere: D and E invest the most allowed, 50,000 each.
    assert out.capital_next == pytest.approx((0, 0, 0, 50_000, 50_000))
    assert out.paid_out + out.to_reserves == pytest.approx(100_000)


def test_surplus_without_returns_on_capital_dries_up_investment():
    out = g.share_surplus(FIVE, _surplus(sharing=g.SharingRule(0.7, 0.0, 0.3)))
    # 70,000 / 100 = 700 a unit: 0.5 + 0.5 × 0.7 = 0.85 delivered.
    assert out.delivered_share == pytest.approx(0.85)
    # No return on capital: special members invest nothing next year.
    assert out.return_on_capital == 0 and out.capital_next == (0, 0, 0, 0, 0)
    # Half the outside rate: 2,500 over 50,000 = 5%, so special members invest half the most, 25,000.
    half = g.share_surplus(FIVE, _surplus(sharing=g.SharingRule(0.675, 0.025, 0.3)))
    assert half.capital_next[3:] == pytest.approx((25_000, 25_000))


def test_sharing_rule_must_add_up():
    with pytest.raises(ValueError, match="add up to 100%"):
        g.SharingRule(0.5, 0.3, 0.3)
    assert g.SharingRule.rest_to_reserve(0.5, 0.2).reserve == pytest.approx(0.3)
    with pytest.raises(ValueError, match="more than the whole surplus"):
        g.SharingRule.rest_to_reserve(0.8, 0.3)
    with pytest.raises(ValueError, match="no member delivered"):
        g.share_surplus((g.Member("X"), g.Member("Y", capital=5)), _surplus())
    with pytest.raises(ValueError, match="return on capital elsewhere"):
        _surplus(outside_rate=0)


# --- agency --------------------------------------------------------------------------

AGENT = g.AgencyParams(at_stake=100_000, base_chance=0.4, recovery=0.5, full_audit_cost=30_000, members=20)


def test_agency_by_hand():
    # Level 0: chance 0.4, loss 0.4 × 100,000 = 40,000, no audit; 2,000 per member.
    none = g.agency_outcome(AGENT, 0)
    assert (none.chance, none.expected_loss, none.audit_cost, none.total, none.per_member) == \
        pytest.approx((0.4, 40_000, 0, 40_000, 2_000))
    # Level 0.5: chance 0.2; loss 0.2 × 100,000 × (1 - 0.5 × 0.5) = 15,000; audit 15,000.
    half = g.agency_outcome(AGENT, 0.5)
    assert (half.chance, half.expected_loss, half.audit_cost, half.total) == pytest.approx((0.2, 15_000, 15_000, 30_000))
    # Level 1: no self-dealing, audit 30,000.
    assert g.agency_outcome(AGENT, 1).total == pytest.approx(30_000)
    # Best: (1 + 0.5 - 30,000/40,000) / (2 × 0.5) = 0.75, where the members lose
    # 0.4 × 0.25 × 100,000 × (1 - 0.375) + 22,500 = 6,250 + 22,500 = 28,750.
    assert g.best_audit_level(AGENT) == pytest.approx(0.75)
    assert g.agency_outcome(AGENT, 0.75).total == pytest.approx(28_750)


def test_agency_corners():
    from dataclasses import replace
    # Nothing recovered: total = 40,000 (1 - a) + C a, a straight line; audit fully when C < 40,000.
    assert g.best_audit_level(replace(AGENT, recovery=0)) == 1
    assert g.best_audit_level(replace(AGENT, recovery=0, full_audit_cost=50_000)) == 0
    # A costly audit: (1.5 - 200,000/40,000) is negative, so do not audit.
    assert g.best_audit_level(replace(AGENT, full_audit_cost=200_000)) == 0
    with pytest.raises(ValueError, match="audit level"):
        g.agency_outcome(AGENT, 1.5)
    with pytest.raises(ValueError):
        g.AgencyParams(at_stake=-1, base_chance=0.1, recovery=0, full_audit_cost=0)


# --- Ostrom's principles ------------------------------------------------------------------

def test_eight_principles_with_names_and_suggestions():
    assert len(g.PRINCIPLES) == 8
    assert len(set(g.PRINCIPLE_KEYS)) == 8
    assert all(p.name and p.description and p.suggestion for p in g.PRINCIPLES)


def test_assessment_by_hand():
    a = g.assess([5, 4, 2, 3, 1, 4, 5, 2])
    assert a.mean == pytest.approx(26 / 8)
    # Below 4: sanctions 1, collective choice 2, nesting 2, monitoring 3; the three lowest, ties in order.
    assert [p.key for p in a.weakest] == ["sanctions", "collective_choice", "nesting"]
    assert a.profile[4] == ("Graduated sanctions", 1)
    assert g.assess([4] * 8).weakest == ()
    by_key = dict(zip(g.PRINCIPLE_KEYS, [5, 4, 2, 3, 1, 4, 5, 2]))
    assert g.assess(by_key) == a


@pytest.mark.parametrize("ratings", [
    [3] * 7, [3] * 9, [3] * 7 + [2.5], [3] * 7 + [6], [3] * 7 + [0], [3] * 7 + [True], "33333333",
    [3] * 7 + [math.nan], {"boundaries": 3}, 3,
])
def test_assessment_rejects_bad_ratings(ratings):
    with pytest.raises(ValueError):
        g.assess(ratings)


# --- properties ----------------------------------------------------------------------------

amount = st.floats(0, 1e4, allow_nan=False)
member_lists = st.lists(
    st.tuples(amount, amount, st.floats(0, 1e5), st.booleans(), st.floats(-1e4, 0)),
    min_size=2, max_size=12,
).map(lambda rows: tuple(g.Member(f"M{i}", *row) for i, row in enumerate(rows)))
proposals = st.builds(g.Proposal, name=st.just("P"), cost=st.floats(0, 1e7), benefit=st.floats(0, 1e7),
                      gains_by=st.sampled_from(g.GAIN_BASES), costs_by=st.sampled_from(g.COST_BASES),
                      reserve_weight=st.floats(0, 1))


@st.composite
def rules_for(draw, n):
    return g.VotingRule(draw(st.sampled_from(g.RULES)), draw(st.floats(0.51, 1)),
                        draw(st.integers(1, n)), draw(st.sampled_from(g.COMMITTEE_BASES)))


def _usable(members):
    totals = g.Totals.of(members)
    return totals.land > 0 and totals.deliveries > 0 and totals.capital > 0


@FAST
@given(member_lists, proposals, st.data())
def test_tallies_add_up_and_shares_cover_costs_and_benefits(members, proposal, data):
    assume(_usable(members))
    rule = data.draw(rules_for(len(members)))
    d = g.decide(members, proposal, rule)
    assert d.yes_weight + d.no_weight == pytest.approx(sum(d.weights))
    assert sum(d.gains) == pytest.approx(proposal.benefit, abs=1e-6)
    assert sum(d.costs) == pytest.approx(proposal.felt_cost, abs=1e-6)
    assert sum(d.net_gains) == pytest.approx(proposal.benefit - proposal.felt_cost, abs=1e-6)
    assert d.votes == tuple(n > 0 for n in d.net_gains)
    assert all(math.isfinite(x) for x in d.net_gains)


@FAST
@given(member_lists, proposals, st.data())
def test_unanimity_carries_and_no_support_fails_under_every_rule(members, proposal, data):
    assume(_usable(members))
    rule = data.draw(rules_for(len(members)))
    n = len(members)
    assert g.decide(members, proposal, rule, votes=[True] * n).passed
    assert not g.decide(members, proposal, rule, votes=[False] * n).passed


@FAST
@given(member_lists, st.floats(1, 1e6), st.floats(0, 0.99))
def test_a_proposal_good_for_everyone_passes_under_every_rule(members, gain, cost_share):
    assume(_usable(members))
    # Shared equally and levied equally with benefit > cost: every member's net gain is positive.
    proposal = g.Proposal("Good", cost=gain * cost_share, benefit=gain, gains_by="equal", costs_by="levy")
    for rule in g.all_rules(committee_size=len(members)):
        assert g.decide(members, proposal, rule).passed


@FAST
@given(member_lists, st.lists(proposals, min_size=1, max_size=4), st.booleans(), st.data())
def test_games_never_crash_and_payoffs_add_up(members, props, exits, data):
    assume(_usable(members))
    rule = data.draw(rules_for(len(members)))
    params = g.GameParams(members, tuple(props), rule, exits)
    state = g.initial_state(params)
    expected = 0.0
    for proposal in props:
        if not any(state.active):
            break
        seat = data.draw(st.sampled_from([s for s, a in enumerate(state.active) if a]))
        try:
            result, state = g.play_round(params, state, {seat: data.draw(st.sampled_from(["yes", "no"]))})
        except ValueError as exc:  # members who leave can take all the deliveries, land or capital with them
            assert "no member has any" in str(exc)
            return
        assert result.yes_weight + result.no_weight == pytest.approx(sum(result.weights))
        if result.passed:
            expected += proposal.benefit - proposal.felt_cost
    assert sum(state.payoffs) == pytest.approx(expected, rel=1e-9, abs=1e-3)


@FAST
@given(member_lists, st.floats(0, 1e7), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1e4),
       st.floats(0, 1), st.floats(0.01, 1), st.floats(0, 1), st.floats(0, 1e5))
def test_surplus_shares_sum_to_the_surplus(members, surplus, p, c, premium, committed, rate, weight, outside):
    assume(_usable(members))
    assume(p + c <= 1)
    params = g.SurplusParams(surplus, 50_000, g.SharingRule.rest_to_reserve(p, c), premium, committed, rate,
                             weight, outside)
    out = g.share_surplus(members, params)
    assert sum(out.refunds) + sum(out.capital_returns) + out.to_reserves == pytest.approx(surplus, abs=1e-6)
    assert sum(out.reserve_slices) == pytest.approx(out.to_reserves, abs=1e-6)
    assert committed - 1e-12 <= out.delivered_share <= 1
    assert all(stay == (v >= outside) for stay, v in zip(out.stays, out.valued))
    assert all(0 <= k <= 50_000 or not m.special for k, m in zip(out.capital_next, members))


@FAST
@given(st.floats(0, 1e7), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1e7))
def test_best_audit_level_is_the_cheapest_on_a_fine_grid(stake, chance, recovery, cost):
    params = g.AgencyParams(stake, chance, recovery, cost)
    curves = g.agency_costs(params, np.linspace(0, 1, 1001))
    np.testing.assert_allclose(curves["total"], curves["expected_loss"] + curves["audit_cost"])
    best = g.agency_outcome(params, g.best_audit_level(params)).total
    assert best <= curves["total"].min() + 1e-6 * max(1.0, stake, cost)


@FAST
@given(st.lists(st.integers(1, 5), min_size=8, max_size=8))
def test_any_valid_ratings_give_an_assessment(ratings):
    a = g.assess(ratings)
    assert a.ratings == tuple(ratings)
    assert len(a.weakest) <= 3
    assert all(ratings[g.PRINCIPLE_KEYS.index(p.key)] < 4 for p in a.weakest)
    if a.weakest:
        assert ratings[g.PRINCIPLE_KEYS.index(a.weakest[0].key)] == min(ratings)
