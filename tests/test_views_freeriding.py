"""The free-riding views, driven from Python: set controls, check the charts and sentences change."""
from __future__ import annotations

import re

import numpy as np
import pytest

from widgets import freeriding as f
from widgets.views import freeriding as v

PNG = b"\x89PNG"


def percents(text: str) -> list[int]:
    return [int(p) for p in re.findall(r"(\d+)%", text)]


# --- the explorer ------------------------------------------------------------------------

@pytest.fixture
def side_selling():
    return v.explorer(n_games=300)


def test_explorer_sliders_are_stable_and_styled(side_selling):
    descriptions = [s.description for s in side_selling.sliders]
    assert descriptions == ["Group size (members)", "Patronage bonus share of the surplus", "Monitoring probability",
                            "Fine per unit side-sold", "Trader's cash price per unit"]
    assert all("explorer-slider" in s._dom_classes for s in side_selling.sliders)
    assert side_selling.image.value[:4] == PNG


def test_explorer_summary_comes_from_the_model(side_selling):
    run = f.simulate(side_selling.params(), 300, 0)
    first, last = run.mean_share_path[0], run.mean_share_path[-1]
    assert percents(side_selling.summary.value)[:2] == [round(100 * first), round(100 * last)]
    assert f"to {run.mean_capital_path[-1]:,.1f}" in side_selling.summary.value
    assert "shrinks" in side_selling.summary.value  # members dodge their loans by side-selling
    assert f"earns {run.mean_income:,.1f} a season" in side_selling.summary.value
    best = f.full_cooperation_income(side_selling.params())
    assert f"({best:,.1f} if everyone delivered" in side_selling.summary.value


def test_public_goods_explorer_compares_earnings_with_full_cooperation():
    explorer = v.explorer("public goods", members=4, n_games=300)
    # Everyone gives all 20 tokens: 20 - 20 + 0.4 × 80 = 32 a round.
    assert "against 32 if everyone gave everything" in explorer.summary.value
    assert v._published_shares(explorer.params()) == pytest.approx([c / 20 for c in f.published_path(False)])
    explorer.mpcr.value = 0.6   # no longer Fehr & Gächter's game: their path is not drawn
    assert v._published_shares(explorer.params()) is None
    assert "against 48 if everyone gave everything" in explorer.summary.value   # 0.6 × 80


def test_explorer_updates_in_place(side_selling):
    image, before, text = side_selling.image, side_selling.image.value, side_selling.summary.value
    side_selling.monitoring.value = 0.5
    assert side_selling.image is image and image.value != before and side_selling.summary.value != text
    side_selling.patronage.value = 1.0   # the bonus makes delivering pay: everyone delivers, loans come back
    assert percents(side_selling.summary.value)[:2] == [100, 100]
    assert "stays at 24" in side_selling.summary.value


def test_explorer_toggles_and_sanction_reach_the_model(side_selling):
    side_selling.contract.value = True
    side_selling.communication.value = True
    side_selling.sanction_kind.value = f.FINE
    side_selling.sanction.value = 0.6
    params = side_selling.params()
    assert (params.contract_minimum, params.communication, params.sanction, params.fine) == (0.8, True, f.FINE, 0.6)
    side_selling.group_size.value = 4
    assert side_selling.params().members == 4 and side_selling.params().capital == pytest.approx(12)


def test_public_goods_explorer_rises_with_punishment():
    explorer = v.explorer("public goods", members=4, n_games=300)
    assert [s.description for s in explorer.sliders] == ["Group size (members)",
                                                         "Return per token to each member (MPCR)"]
    assert "fall" in explorer.summary.value
    before = explorer.image.value
    explorer.punishment.value = True
    assert "rise" in explorer.summary.value and explorer.image.value != before
    explorer.mpcr.value = 0.6
    assert explorer.params().value_added == pytest.approx(2.4)


def test_explorer_rejects_unknown_games():
    with pytest.raises(ValueError, match="The game must be one of"):
        v.explorer("poker")


# --- the brand explorer ------------------------------------------------------------------

def test_brand_explorer_small_groups_deter_shirking():
    explorer = v.brand_explorer(group_size=8, detection=0.5, for_good=False, n_games=300)
    assert [s.description for s in explorer.sliders][:2] == ["Group size (members)", "Chance a shirker is detected"]
    before_text, before_image = explorer.summary.value, explorer.image.value
    effort_big = percents(before_text)[0]
    explorer.group_size.value = 2
    assert percents(explorer.summary.value)[0] > effort_big + 20
    assert explorer.image.value != before_image
    assert "returns her 1.00" in explorer.summary.value  # premium 2 shared by 2


def test_brand_explorer_opens_on_exclusion_for_good():
    explorer = v.brand_explorer(n_games=300)
    assert explorer.exclusion.value == v.FOR_GOOD and explorer.params().sanction_for_good
    assert "still in the brand" in explorer.summary.value
    assert "explorer-slider" in explorer.exclusion._dom_classes


def test_brand_explorer_exclusion_for_good():
    explorer = v.brand_explorer(group_size=4, detection=0.1, for_good=False, n_games=300)
    assert explorer.params().sanction == f.EXCLUSION and not explorer.params().sanction_for_good
    once, image = percents(explorer.summary.value)[0], explorer.image.value
    assert "still in the brand" not in explorer.summary.value
    explorer.exclusion.value = v.FOR_GOOD
    assert explorer.params().sanction_for_good and explorer.image.value != image
    # Losing the premium for every remaining round, not just one, makes effort pay early on.
    assert percents(explorer.summary.value)[0] > once + 20
    staying = explorer.result.staying_path[-1]
    assert f"{staying:,.1f} of 4 members are still in the brand" in explorer.summary.value
    explorer.exclusion.value = v.NOT_EXCLUDED
    assert explorer.params().sanction == f.FINE and explorer.params().fine == 0


# --- solo play ---------------------------------------------------------------------------

@pytest.fixture
def solo():
    return v.SoloPlay("public goods", seed=5)


def test_solo_controls_have_their_classes(solo):
    assert "solo-contribution" in solo.contribution._dom_classes
    assert "solo-submit" in solo.submit_button._dom_classes
    assert "solo-result" in solo.result._dom_classes
    assert "Round 1 of 10" in solo.status.value and solo.image.value[:4] == PNG


@pytest.mark.parametrize("bad", ["abc", "25", "-1", "", "nan", "True"])
def test_solo_bad_input_shows_a_message_and_changes_nothing(solo, bad):
    state, image = solo.state.to_dict(), solo.image.value
    solo.contribution.value = bad
    solo.submit_button.click()
    assert "Not changed" in solo.message.value
    assert solo.state.to_dict() == state and solo.results == [] and solo.image.value == image


def test_solo_round_matches_the_model(solo):
    state = solo.state
    expected, _ = f.play_round(solo.params, state, {0: 12})
    solo.contribution.value = "12"
    solo.submit_button.click()
    assert solo.message.value == ""
    assert solo.results[0].payoffs == expected.payoffs
    assert f"Your payoff this round: {expected.payoffs[0]:,.1f}" in solo.result.value or \
        f"Your payoff this round: {expected.payoffs[0]:,.0f}" in solo.result.value
    assert "Round 2 of 10" in solo.status.value


def test_solo_game_ends_with_a_debrief(solo):
    images = set()
    for _ in range(10):
        solo.submit(20)
        images.add(solo.image.value)
    assert len(images) == 10  # the running chart grows each round
    assert solo.over and solo.submit_button.disabled
    assert "You earned" in solo.debrief.value and "Fehr" in solo.debrief.value
    # The learner gave 100% every round; the published path ends at 2.0 of 20 tokens = 10%.
    assert "100% of your endowment in round 1 and 100% in round 10" in solo.debrief.value
    assert "10% by period 10" in solo.debrief.value and "in this very game" in solo.debrief.value
    figures = f.debrief_figures(solo.params, solo.results, 0)
    above = sum(r.shares[0] > np.mean(r.shares[1:]) + 1e-9 for r in solo.results)
    assert figures["rounds_above_others"] == above
    assert f"more than the others' average in {above} rounds" in solo.debrief.value
    # Full cooperation: 32 a round for 10 rounds = 320 each.
    assert "each would have earned about 320" in solo.debrief.value
    # Giving everything while others give less: the learner earns less than the others.
    payoffs = np.array(solo.state.payoffs)
    assert payoffs[0] < payoffs[1:].mean()
    solo.submit(5)
    assert "over" in solo.message.value
    solo.restart_button.click()
    assert solo.results == [] and not solo.over and solo.debrief.value == ""


def test_solo_brand_exclusion_for_good_is_explained():
    params = f.brand_game(4, 10, 2.0, 1.0, True, 0.0, 3, for_good=True)   # every shirker is caught
    play = v.SoloPlay("brand", params, seed=2)
    play.submit(0)
    assert "caught short of the standard: no share of the premium for the rest of the game" in play.result.value
    assert "out of the group for good" in play.status.value
    play.submit(10)
    # Out of the group: her 10 units of effort earn her nothing (10 - 10 + 0).
    assert play.results[1].payoffs[0] == 0
    assert "Your payoff this round: 0" in play.result.value


@pytest.mark.parametrize("game, words", [("brand", "units of effort"), ("side-selling", "bags")])
def test_solo_supports_the_other_games(game, words):
    play = v.SoloPlay(game, seed=1)
    assert words in play.status.value
    play.submit("4")
    assert play.results[0].deliveries[0] == 4
    for _ in range(play.params.rounds - 1):
        play.submit(0)
    assert "You earned" in play.debrief.value
