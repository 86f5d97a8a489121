"""The workshop's exercise adapters, alone and in whole sessions played by bots through the store.

Worked examples are checked by hand (the arithmetic is written out); whole sessions are
played the way phones play them: each simulated participant reads its seat from the store,
asks the adapter whether it decides now, sends the adapter's bot decision through
``Store.submit`` with the adapter's check, and the facilitator closes each round with
``round_closer``. The checks then hold the recorded results against the stored decisions
and against the models' own rules, independently of the adapters' bookkeeping.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from widgets import bargaining, freeriding, governance
from widgets.workshop import exercises as ex
from widgets.workshop.store import Store, WorkshopError

PUBLIC_GOODS, BARGAINING, GOVERNANCE = ex.EXERCISES["public goods"], ex.EXERCISES["bargaining"], \
    ex.EXERCISES["governance"]


@pytest.fixture
def store(tmp_path):
    with Store(f"sqlite:///{tmp_path / 'workshop.db'}") as opened:
        yield opened


def params_of(game, **changes):
    """Parameters with the adapters' defaults (no case file needed) and a fixed seed."""
    return game.check_params({**{s.name: s.default for s in game.settings}, "seed": 11, **changes})


def rng():
    return np.random.default_rng(0)


# --- worked examples, by hand ----------------------------------------------------------------


def test_public_goods_round_worked_by_hand():
    params = params_of(PUBLIC_GOODS)  # groups of 4, 20 tokens, each token returns 0.4 to everyone
    state = PUBLIC_GOODS.new_group(params, ex.NO_SANCTIONS, 1)
    entry, after = PUBLIC_GOODS.step(params, ex.NO_SANCTIONS, state, {1: 20, 2: 10, 3: 0, 4: 10}, rng())
    # 40 tokens in the project return 0.4 × 40 = 16 to each member: 20 − c + 16.
    assert entry["result"]["payoffs"] == pytest.approx([16, 26, 36, 26])
    assert entry["simulated"] == [] and entry["result"]["people"] == [0, 1, 2, 3]
    assert freeriding.GameState.from_dict(after["game"]).round == 1
    assert "You earned 36.0 this period" in PUBLIC_GOODS.describe(params, entry, 3)


def test_a_period_with_sanctions_takes_two_rounds_worked_by_hand():
    params = params_of(PUBLIC_GOODS)  # a point costs its giver 1 and its receiver 3
    state = PUBLIC_GOODS.new_group(params, ex.SANCTIONS, 1)
    staged, state = PUBLIC_GOODS.step(params, ex.SANCTIONS, state, {1: 20, 2: 20, 3: 0, 4: 20}, rng())
    assert staged["result"] == {"stage": ex.CONTRIBUTE, "period": 1, "deliveries": [20, 20, 0, 20]}
    assert "payoffs" not in staged["result"]  # nothing is settled before the sanctions
    # The stage that follows is the sanctions, even if the treatment is switched off meanwhile.
    turn = PUBLIC_GOODS.turn(params, ex.NO_SANCTIONS, state, 1, {3: "Cy"})
    assert turn.control.kind == ex.POINTS and [who for _, who in turn.control.targets][1] == "Cy"
    points = {1: {"3": 3}, 2: {"3": 0}, 3: {}, 4: {"1": 0}}
    entry, after = PUBLIC_GOODS.step(params, ex.NO_SANCTIONS, state, points, rng())
    # 60 tokens return 0.4 × 60 = 24 each; seat 1 pays 3 × 1 for its points, seat 3 loses 3 × 3.
    assert entry["result"]["payoffs"] == pytest.approx([20 - 20 + 24 - 3, 24, 20 - 0 + 24 - 9, 24])
    assert entry["result"]["stage"] == ex.SANCTION and after["pending"] is None
    assert after["periods"] == [{"period": 1, "mean_delivery": 15.0, "sanctions": True}]


def test_bargaining_negotiation_worked_by_hand():
    params = params_of(BARGAINING)  # value 5.3, a tenth rots a day, the buyer loses 2% a day
    state = BARGAINING.new_group(params, ex.GROWERS_FIRST, 1)
    assert BARGAINING.deciders(params, ex.GROWERS_FIRST, state) == [1]  # the growers name the price
    moves = [(1, 4.0), (2, "reject"), (2, 3.0), (1, "accept")]
    for seat, decision in moves:
        assert BARGAINING.deciders(params, ex.GROWERS_FIRST, state) == [seat]
        entry, state = BARGAINING.step(params, ex.GROWERS_FIRST, state, {seat: decision}, rng())
    # Agreed on day 1 at 3.00: the growers are paid for the 90% still sound, 3.00 × 0.9 = 2.70;
    # the buyer's margin 5.30 − 3.00 = 2.30 is a day late, 2.30 × 0.98 = 2.254.
    assert state["finished"] == [{"negotiation": 1, "treatment": ex.GROWERS_FIRST, "agreed": True, "day": 1,
                                  "price": 3.0, "association_payoff": pytest.approx(2.7),
                                  "buyer_payoff": pytest.approx(2.254)}]
    assert BARGAINING.describe(params, entry, 1) == ("You accepted 3.00 per unit. Deal! Your side earns 2.70 per unit "
                                                    "the growers brought (the most possible is 5.30).")
    # The next round starts a new negotiation under the treatment now in force.
    assert BARGAINING.deciders(params, ex.BUYER_FIRST, state) == [2]
    assert BARGAINING.begin(params, ex.BUYER_FIRST, state)["negotiation"] == 2


def test_governance_vote_worked_by_hand():
    params = params_of(GOVERNANCE)  # 6 members, 2 of them special
    state = GOVERNANCE.new_group(params, "One member, one vote", 1)
    votes = {1: "yes", 2: "yes", 3: "no", 4: "no", 5: "no", 6: "yes"}
    entry, _ = GOVERNANCE.step(params, "One member, one vote", state, votes, rng())
    assert (entry["result"]["yes_weight"], entry["result"]["no_weight"], entry["result"]["passed"]) == (3, 3, False)
    # Votes by capital: each vote weighs the member's capital.
    members = GOVERNANCE.membership(params, 1)
    entry, _ = GOVERNANCE.step(params, "Votes by capital", state, votes, rng())
    yes = sum(m.capital for seat, m in enumerate(members, start=1) if votes[seat] == "yes")
    no = sum(m.capital for seat, m in enumerate(members, start=1) if votes[seat] == "no")
    assert entry["result"]["yes_weight"] == pytest.approx(yes)
    assert entry["result"]["no_weight"] == pytest.approx(no)
    assert entry["result"]["passed"] == (yes > no)


# --- whole sessions through the store -----------------------------------------------------------


def play(store, game, params, schedule, people, skip=frozenset(), seed=0):
    """Bots play a session through the store as phones do; returns the session and what was sent.

    ``schedule`` is the treatment of each round; ``skip`` holds (round, person) pairs who
    send nothing that round (a simulated member plays their seat).
    """
    draws = np.random.default_rng(seed)
    session_id, code, key = store.create_session(game.name, params, game.group_size(params), len(schedule),
                                                 schedule[0])
    tokens = [store.join(code, f"Person {i}")[1] for i in range(people)]
    store.form_groups(session_id, key)
    sent: dict[tuple[int, int, int], object] = {}
    for number, treatment in enumerate(schedule, start=1):
        if store.lobby(session_id)["treatment"] != treatment:
            store.set_treatment(session_id, key, treatment)
        store.open_round(session_id, key)
        for person, token in enumerate(tokens):
            seat = store.rejoin(token)
            states = ex.group_states(game, params, treatment, store.results(session_id), [seat["group"]])
            state = game.begin(params, treatment, states[seat["group"]])
            if seat["seat"] not in game.deciders(params, treatment, state) or (number, person) in skip:
                continue
            value = game.bot(params, treatment, state, seat["seat"], draws)
            stored = store.submit(token, number, value,
                                  lambda v, s=state, at=seat["seat"]: game.validate(params, treatment, s, at, v))
            sent[(number, seat["group"], seat["seat"])] = stored["value"]
        store.close_round(session_id, key, ex.round_closer(store, session_id))
    return session_id, key, sent


def check_every_decision_is_in_the_results(store, session_id, sent):
    results = store.results(session_id)
    recorded = {}
    for number, result in results.items():
        for group, entry in result["groups"].items():
            for seat, value in entry["decisions"].items():
                recorded[(number, int(group), int(seat))] = value
            # Seats that were to decide and sent nothing are exactly the simulated ones.
            people = {int(s) for s in entry["decisions"]}
            assert sorted(entry["simulated"]) == sorted(set(entry["deciders"]) - people)
    assert recorded == sent
    assert len(store.decisions(session_id)) == len(sent)
    return results


def test_a_public_goods_session_with_and_without_sanctions(store, tmp_path):
    game = PUBLIC_GOODS
    params = params_of(game)
    schedule = [ex.NO_SANCTIONS, ex.NO_SANCTIONS, ex.SANCTIONS, ex.SANCTIONS, ex.SANCTIONS, ex.SANCTIONS]
    session_id, _, sent = play(store, game, params, schedule, people=6, skip={(2, 0), (4, 5)})
    results = check_every_decision_is_in_the_results(store, session_id, sent)
    n, endowment, mpcr = 4, params["endowment"], params["mpcr"]
    settled = 0
    for number, result in results.items():
        for group, entry in result["groups"].items():
            outcome = entry["result"]
            if "payoffs" not in outcome:
                continue
            settled += 1
            given = sum(outcome["deliveries"])
            points = np.array(outcome["points"])
            # Payoffs add up: everyone's endowment, plus what the project multiplies, minus sanctions.
            expected = n * endowment + (n * mpcr - 1) * given - points.sum() * (
                params["punishment_cost"] + params["punishment_effect"])
            assert sum(outcome["payoffs"]) == pytest.approx(expected)
            for seat in range(1, n + 1):
                if (number, int(group), seat) in sent and outcome["stage"] == ex.CONTRIBUTE:
                    assert outcome["deliveries"][seat - 1] == pytest.approx(sent[(number, int(group), seat)])
    assert settled == 2 * 2 + 2 * 2  # two groups: two periods without sanctions, two with (four rounds)
    # The sanction rounds carry the contributions of the round before them.
    for group in ("1", "2"):
        assert results[4]["groups"][group]["result"]["deliveries"] == \
            pytest.approx(results[3]["groups"][group]["result"]["deliveries"])
    assert [r["room"]["settled"] for _, r in sorted(results.items())] == [True, True, False, True, False, True]
    # Another kernel (a fresh Store on the same file) rebuilds the same states from the store alone.
    with Store(f"sqlite:///{tmp_path / 'workshop.db'}") as other:
        assert ex.group_states(game, params, ex.SANCTIONS, other.results(session_id), [1, 2]) == \
            {int(g): e["state"] for g, e in results[6]["groups"].items()}


def test_empty_public_goods_seats_play_as_the_models_simulated_members(store):
    game = PUBLIC_GOODS
    params = params_of(game)
    session_id, _, sent = play(store, game, params, [ex.NO_SANCTIONS, ex.NO_SANCTIONS], people=2)
    results = store.results(session_id)
    state = freeriding.GameState.from_dict(game.new_group(params, ex.NO_SANCTIONS, 1)["game"])
    model = game.game(params, False)
    for number in (1, 2):
        entry = results[number]["groups"]["1"]
        bots = freeriding.bot_decisions(model, state, seats=[2, 3])  # seats 3 and 4: nobody sat there
        assert entry["simulated"] == [3, 4]
        assert entry["result"]["deliveries"][2:] == pytest.approx([bots[2], bots[3]])
        state = freeriding.GameState.from_dict(entry["state"]["game"])


def test_a_bargaining_session_switching_who_proposes(store):
    game = BARGAINING
    params = params_of(game, deadline_days=3)
    schedule = [ex.GROWERS_FIRST] * 5 + [ex.BUYER_FIRST] * 5 + [ex.FAST_ROT] * 4
    session_id, _, sent = play(store, game, params, schedule, people=5, skip={(3, 1)})
    results = check_every_decision_is_in_the_results(store, session_id, sent)
    for group in ("1", "2", "3"):
        last = None
        for number in sorted(results):
            entry = results[number]["groups"][group]
            move = entry["result"]["move"]
            negotiation = entry["result"]["negotiation"]
            if last is None or last[0] != negotiation:
                # A negotiation opens with an offer from the side the treatment then in force names.
                assert move["move"] == "offer"
                first = bargaining.BUYER if schedule[number - 1] == ex.BUYER_FIRST else bargaining.ASSOCIATION
                assert move["role"] == first
            elif last[1]["move"] == "offer":  # an offer is answered by the other side
                assert move["move"] in ("accept", "reject") and move["role"] != last[1]["role"]
            else:  # after a rejection the side that rejected names the next price
                assert move["move"] == "offer" and move["role"] == last[1]["role"]
            last = (negotiation, move)
        finished = results[max(results)]["groups"][group]["state"]["finished"]
        for ended in finished:
            if ended["agreed"]:
                terms = bargaining.NegotiationParams(value=params["value"], spoilage=params["fast_spoilage"]
                                                     if ended["treatment"] == ex.FAST_ROT else params["spoilage"])
                sound = (1 - terms.spoilage) ** ended["day"]
                assert ended["association_payoff"] == pytest.approx(ended["price"] * sound)


def test_a_governance_session_under_every_rule(store):
    game = GOVERNANCE
    params = params_of(game, members=5, special=2, committee_size=3)
    schedule = list(game.treatments)  # one proposal per rule: 5 rounds
    session_id, _, sent = play(store, game, params, schedule, people=7, skip={(1, 0), (3, 6)})
    results = check_every_decision_is_in_the_results(store, session_id, sent)
    for number, result in results.items():
        for group, entry in result["groups"].items():
            outcome = entry["result"]
            yes = sum(w for w, v in zip(outcome["weights"], outcome["votes"]) if v == "yes")
            no = sum(w for w, v in zip(outcome["weights"], outcome["votes"]) if v == "no")
            assert (outcome["yes_weight"], outcome["no_weight"]) == pytest.approx((yes, no))
            for seat in entry["simulated"]:  # empty seats vote by their own net gain
                assert (outcome["votes"][seat - 1] == "yes") == (entry["interest"][str(seat)] > 0)
            assert outcome["proposal"] == governance.example_proposals()[number - 1].name
    assert results[5]["groups"]["1"]["rule"] == "Elected committee of 3"


# --- refusals ----------------------------------------------------------------------------------


BAD_TOKENS = [-1, 21, 20.5, "abc", "", float("nan"), float("inf"), True, None, [], {"delivery": 3}]


def open_round_for(store, game, params, treatment, people=4):
    session_id, code, key = store.create_session(game.name, params, game.group_size(params), 3, treatment)
    tokens = [store.join(code, f"P{i}")[1] for i in range(people)]
    store.form_groups(session_id, key)
    store.open_round(session_id, key)
    return session_id, key, tokens


@pytest.mark.parametrize("value", BAD_TOKENS, ids=repr)
def test_a_bad_contribution_is_refused_and_nothing_is_stored(store, value):
    params = params_of(PUBLIC_GOODS)
    session_id, _, tokens = open_round_for(store, PUBLIC_GOODS, params, ex.NO_SANCTIONS)
    state = PUBLIC_GOODS.new_group(params, ex.NO_SANCTIONS, 1)
    with pytest.raises(WorkshopError) as refused:
        store.submit(tokens[0], 1, value, lambda v: PUBLIC_GOODS.validate(params, ex.NO_SANCTIONS, state, 1, v))
    assert "from 0 to 20" in str(refused.value) or "number of tokens" in str(refused.value)
    assert store.decisions(session_id) == []


@pytest.mark.parametrize(("points", "words"), [
    ({"1": 2}, "cannot punish herself"), ({"2": 11}, "from 0 to 10"), ({"2": 1.5}, "whole number"),
    ({"9": 1}, "seat must be a whole number from 1 to 4"), (7, "one whole number for each other member"),
    ({"2": "x"}, "whole number"),
])
def test_bad_sanction_points_are_refused(points, words):
    params = params_of(PUBLIC_GOODS)
    state = PUBLIC_GOODS.new_group(params, ex.SANCTIONS, 1)
    _, state = PUBLIC_GOODS.step(params, ex.SANCTIONS, state, {1: 5, 2: 5, 3: 5, 4: 5}, rng())
    with pytest.raises(ValueError, match=words):
        PUBLIC_GOODS.validate(params, ex.SANCTIONS, state, 1, points)


def test_bargaining_refuses_moves_out_of_turn_or_out_of_place(store):
    params = params_of(BARGAINING)
    state = BARGAINING.new_group(params, ex.GROWERS_FIRST, 1)
    with pytest.raises(ValueError, match="not your turn"):
        BARGAINING.validate(params, ex.GROWERS_FIRST, state, 2, 3.0)  # the buyer, while the growers propose
    with pytest.raises(ValueError, match="no offer to accept yet"):
        BARGAINING.validate(params, ex.GROWERS_FIRST, state, 1, "accept")
    with pytest.raises(ValueError, match=r"from 0 to 5\.3"):
        BARGAINING.validate(params, ex.GROWERS_FIRST, state, 1, 6)
    _, state = BARGAINING.step(params, ex.GROWERS_FIRST, state, {1: 4.0}, rng())
    with pytest.raises(ValueError, match="must accept or reject"):
        BARGAINING.validate(params, ex.GROWERS_FIRST, state, 2, 3.5)
    assert BARGAINING.validate(params, ex.GROWERS_FIRST, state, 2, " Reject ") == "reject"
    # A seat that is not to decide cannot slip a decision into the round either.
    with pytest.raises(ValueError, match="not your turn"):
        BARGAINING.step(params, ex.GROWERS_FIRST, state, {1: "accept"}, rng())


def test_governance_refuses_anything_but_yes_or_no():
    params = params_of(GOVERNANCE)
    state = GOVERNANCE.new_group(params, "Votes by deliveries", 1)
    for value in ("maybe", 1, True, None, ["yes"]):
        with pytest.raises(ValueError, match='"yes" or "no"'):
            GOVERNANCE.validate(params, "Votes by deliveries", state, 1, value)
    assert GOVERNANCE.validate(params, "Votes by deliveries", state, 1, " YES ") == "yes"


@pytest.mark.parametrize(("game", "changes", "words"), [
    (PUBLIC_GOODS, {"group_size": 1}, "Members in each group must be a whole number from 2 to 10; got 1"),
    (PUBLIC_GOODS, {"endowment": 2.5}, "whole number"),
    (PUBLIC_GOODS, {"mpcr": float("nan")}, "from 0.05 to 1"),
    (PUBLIC_GOODS, {"mpcr": True}, "from 0.05 to 1"),
    (PUBLIC_GOODS, {"colour": 3}, "no parameter"),
    (PUBLIC_GOODS, {"seed": -1}, "seed"),
    (BARGAINING, {"value": 0}, "Value of a unit"),
    (BARGAINING, {"deadline_days": 0}, "Days before the fruit"),
    (GOVERNANCE, {"special": 6}, "Special members must be fewer"),
    (GOVERNANCE, {"committee_size": 9}, "committee must be a whole number from 1 to the group size"),
])
def test_bad_parameters_name_what_is_wrong(game, changes, words):
    with pytest.raises(ValueError, match=words):
        params_of(game, **changes)


def test_treatments_are_checked():
    params = params_of(PUBLIC_GOODS)
    with pytest.raises(ValueError, match="No sanctions, Sanctions"):
        PUBLIC_GOODS.new_group(params, "Punishment", 1)


# --- properties --------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(size=st.integers(2, 6), mpcr=st.sampled_from([0.2, 0.4, 0.75]), data=st.data())
def test_any_valid_contributions_and_points_add_up(size, mpcr, data):
    params = params_of(PUBLIC_GOODS, group_size=size, mpcr=mpcr)
    state = PUBLIC_GOODS.new_group(params, ex.SANCTIONS, 1)
    people = data.draw(st.sets(st.integers(1, size)))
    given_ = {s: data.draw(st.floats(0, 20)) for s in people}
    staged, state = PUBLIC_GOODS.step(params, ex.SANCTIONS, state, given_, rng())
    points = {s: {str(t): data.draw(st.integers(0, 10)) for t in range(1, size + 1) if t != s} for s in people}
    entry, _ = PUBLIC_GOODS.step(params, ex.SANCTIONS, state, points, rng())
    outcome = entry["result"]
    assert outcome["deliveries"] == pytest.approx(staged["result"]["deliveries"])
    spent = sum(sum(p.values()) for p in points.values())
    received = np.array(outcome["points"]).sum()
    assert received >= spent  # people's points, and the simulated members' on top
    total = size * 20 + (size * mpcr - 1) * sum(outcome["deliveries"]) - received * (1 + 3)
    assert sum(outcome["payoffs"]) == pytest.approx(total)


@settings(max_examples=40, deadline=None)
@given(moves=st.lists(st.tuples(st.booleans(), st.floats(0, 5.3)), max_size=12))
def test_any_valid_moves_keep_a_negotiation_consistent(moves):
    params = params_of(BARGAINING, deadline_days=4)
    state = BARGAINING.new_group(params, ex.GROWERS_FIRST, 1)
    for accept, price in moves:
        state = BARGAINING.begin(params, ex.GROWERS_FIRST, state)
        seat = BARGAINING.deciders(params, ex.GROWERS_FIRST, state)[0]
        phase = state["state"]["phase"]
        decision = price if phase == bargaining.PROPOSE else ("accept" if accept else "reject")
        _, state = BARGAINING.step(params, ex.GROWERS_FIRST, state, {seat: decision}, rng())
        for ended in state["finished"]:
            assert 0 <= ended["association_payoff"] <= params["value"]
            assert 0 <= ended["buyer_payoff"] <= params["value"]
            assert ended["day"] <= 4


# --- the debrief's published patterns ----------------------------------------------------------


def test_the_public_goods_debrief_sets_the_room_beside_fehr_and_gaechter():
    source = PUBLIC_GOODS.published()
    # Mean contribution per period, out of 20, as published (EXERCISES.md).
    assert source[ex.NO_SANCTIONS] == [6.5, 4.9, 6.5, 5.8, 5.5, 4.5, 4.7, 2.9, 3.5, 2.0]
    assert source[ex.SANCTIONS] == [7.7, 9.5, 9.9, 10.5, 10.2, 10.3, 11.7, 12.4, 12.7, 13.2]
    params = params_of(PUBLIC_GOODS, endowment=10)
    rounds = [{"round": 1, "treatment": ex.NO_SANCTIONS,
               "room": {"settled": True, "period": 1, "mean_delivery": 4.0, "sanctions": False}},
              {"round": 2, "treatment": ex.NO_SANCTIONS,
               "room": {"settled": True, "period": 2, "mean_delivery": 2.5, "sanctions": False}}]
    debrief = PUBLIC_GOODS.debrief(params, rounds)
    assert debrief["room"] == [(1, 0.4), (2, 0.25)]  # 4 of 10 tokens, then 2.5 of 10
    assert debrief["published"]["points"][0] == (1, pytest.approx(6.5 / 20))
    assert debrief["lines"][0] == "This room gave 40% of its tokens in period 1 and 25% in period 2."


def test_the_bargaining_debrief_sets_the_room_beside_the_ultimatum_experiments():
    params = params_of(BARGAINING)
    rounds = [{"round": 1, "treatment": ex.GROWERS_FIRST,
               "room": {"offers": 2, "offer_share_sum": 0.7, "answers": 4, "rejections": 1, "deals": 1, "rotted": 0}}]
    debrief = BARGAINING.debrief(params, rounds)
    # Offers of 0.3 and 0.4 of the value average 35%; one rejection in four answers is 25%.
    assert debrief["lines"][0].startswith("People in this room offered the other side 35% of the value")
    assert "about 40%" in debrief["lines"][0]
    assert debrief["lines"][1].startswith("They rejected 25% of the offers") and "about 16%" in debrief["lines"][1]
    assert debrief["room"] == [(1, pytest.approx(0.35))]


def test_room_offer_shares_are_the_share_left_to_the_other_side():
    params = params_of(BARGAINING)
    state = BARGAINING.new_group(params, ex.GROWERS_FIRST, 1)
    entry, state = BARGAINING.step(params, ex.GROWERS_FIRST, state, {1: 3.975}, rng())
    # The growers ask 3.975 of 5.3: they leave the buyer 1 − 0.75 = 25%.
    summary = BARGAINING.room_summary(params, ex.GROWERS_FIRST, {"1": entry})
    assert summary["offers"] == 1 and math.isclose(summary["offer_share_sum"], 0.25)
