"""The governance views, driven from Python: set controls, check the charts and sentences change."""
from __future__ import annotations

import pytest

from widgets import governance as g
from widgets.views import governance as v

# The five members of the model tests (see tests/test_governance.py for the arithmetic).
FIVE = (
    g.Member("A", land=1, deliveries=10, capital=0, exit_option=-5_000),
    g.Member("B", land=2, deliveries=20, capital=0, exit_option=-5_000),
    g.Member("C", land=1, deliveries=5, capital=0, exit_option=-5_000),
    g.Member("D", land=4, deliveries=40, capital=30_000, special=True, exit_option=-10_000),
    g.Member("E", land=2, deliveries=25, capital=20_000, special=True, exit_option=-10_000),
)
PLANT = g.Proposal("Plant", cost=50_000, benefit=80_000, gains_by="deliveries", costs_by="levy")
LAND = g.Proposal("Land", cost=50_000, benefit=60_000, gains_by="equal", costs_by="capital")
BANANA = g.Proposal("Banana", cost=20_000, benefit=30_000, gains_by="land", costs_by="reserves")


def _snapshot(*widgets):
    return [w.value for w in widgets]


# --- the explorer ---------------------------------------------------------------------

@pytest.fixture
def explorer():
    return v.explorer(members=FIVE, proposals=(PLANT, LAND), rule=g.VotingRule(committee_size=3))


def test_explorer_shows_the_worked_example(explorer):
    # Plant under one member one vote: B, D, E for; A, C against; C would rather leave.
    assert "adopted" in explorer.summary.value
    assert "3 for, 2 against" in explorer.summary.value
    assert "3 of 5 members would gain" in explorer.summary.value
    assert "1 would rather leave:</b> C." in explorer.leavers.value
    assert explorer.tally_image.value[:4] == b"\x89PNG" and explorer.gains_image.value[:4] == b"\x89PNG"


def test_explorer_rule_change_updates_charts_in_place(explorer):
    tally, gains = explorer.tally_image, explorer.gains_image
    before = tally.value
    explorer.rule_picker.value = g.QUALIFIED     # 3 of 5 is short of two thirds
    assert "rejected" in explorer.summary.value
    assert explorer.tally_image is tally and tally.value != before
    assert "Had it been adopted" in explorer.leavers.value
    assert explorer.threshold.layout.display is None and explorer.committee_size.layout.display == "none"
    explorer.rule_picker.value = g.PATRONAGE
    assert "85 for, 15 against" in explorer.summary.value
    explorer.rule_picker.value = g.COMMITTEE     # D, E, B sit on it and all vote yes
    assert "3 for, 0 against" in explorer.summary.value
    assert gains.value  # still drawn


def test_explorer_proposal_picker_fills_the_fields(explorer):
    gains_before = explorer.gains_image.value
    explorer.proposal_picker.value = 1           # Land: A, B, C +12,000; D -18,000; E -8,000
    assert explorer.cost.value == 50_000 and explorer.gains_by.value == "equal"
    assert explorer.costs_by.value == "capital"
    assert "3 for, 2 against" in explorer.summary.value and "<b>Land</b>" in explorer.summary.value
    assert explorer.gains_image.value != gains_before
    explorer.rule_picker.value = g.BY_CAPITAL    # the investors pay and outvote the rest
    assert "0 for, 50,000 against" in explorer.summary.value
    explorer.benefit.value = 400_000             # 80,000 each now beats D's 30,000 and E's 20,000
    assert "50,000 for, 0 against" in explorer.summary.value


def test_explorer_member_edits_change_the_outcome(explorer):
    # C delivers 50 instead of 5: total 145; C gains 80,000 × 50/145 = 27,586 > 10,000, so votes yes;
    # A (5,517) still votes no, B (11,034), D and E still yes: 4 for, 1 against.
    explorer.table.rows[2][2].value = 50
    assert "4 for, 1 against" in explorer.summary.value


def test_explorer_bad_input_shows_a_message_and_changes_nothing(explorer):
    shown = _snapshot(explorer.summary, explorer.tally_image, explorer.gains_image, explorer.leavers)
    explorer.table.rows[0][1].value = -1         # A's land
    assert "Not changed" in explorer.message.value and "land" in explorer.message.value
    assert "governance-error" in explorer.message._dom_classes
    assert _snapshot(explorer.summary, explorer.tally_image, explorer.gains_image, explorer.leavers) == shown
    explorer.table.rows[0][1].value = 1
    assert explorer.message.value == ""
    explorer.table.rows[1][0].value = "A"        # two members called A
    assert "different name" in explorer.message.value
    explorer.table.rows[1][0].value = "B"
    explorer.table.rows[3][5].value = 500        # an exit option above zero
    assert "exit option" in explorer.message.value


def test_explorer_add_and_remove_members():
    explorer = v.explorer(members=FIVE[:3], proposals=(PLANT,), rule=g.VotingRule(committee_size=3))
    explorer.table.add_button.click()
    assert len(explorer.table.rows) == 4 and "of 4 members" in explorer.summary.value
    assert explorer.committee_size.max == 4
    explorer.table.rows[-1][-1].click()          # the new member's remove button
    assert len(explorer.table.rows) == 3 and "of 3 members" in explorer.summary.value
    explorer.table.rows[0][-1].click()
    assert [row[0].value for row in explorer.table.rows] == ["B", "C"]
    assert "of 2 members" in explorer.summary.value
    # One member is not an association: the remove buttons are off and a click does nothing.
    assert all(row[-1].disabled for row in explorer.table.rows)
    explorer.table.rows[0][-1].click()
    assert len(explorer.table.rows) == 2 and "of 2 members" in explorer.summary.value
    explorer.table.add_button.click()
    assert not any(row[-1].disabled for row in explorer.table.rows)


def test_explorer_builds_with_the_case_defaults():
    view = v.explorer()
    case = v.case_defaults()
    assert len(view.table.rows) == case["members"]
    assert view.committee_size.value == case["committee_size"]
    assert "Illustrative" in view.children[0].children[0].children[0].value


# --- solo voting ----------------------------------------------------------------------

@pytest.fixture
def solo():
    return v.VotingSolo(members=FIVE, proposals=(PLANT, LAND, BANANA), rule=g.VotingRule(), seat=1)


def test_solo_controls_carry_stable_classes(solo):
    assert "vote-yes" in solo.yes._dom_classes and "vote-no" in solo.no._dom_classes
    assert "vote-tally" in solo.tally._dom_classes
    assert "vote-debrief" in solo.debrief._dom_classes and "vote-restart" in solo.restart_button._dom_classes


def test_solo_game_by_hand(solo):
    # You are B. The plant gives B 16,000 for a 10,000 levy: net +6,000.
    assert "net +6,000 taka" in solo.proposal.value
    chart = solo.image.value
    solo.yes.click()
    assert "Round 1, Plant: <b>for 3, against 2</b> — adopted." in solo.tally.value
    assert solo.image.value != chart
    # Land: B would gain 12,000 but votes no: A and C for, B, D, E against: rejected.
    assert "net +12,000 taka" in solo.proposal.value
    solo.no.click()
    assert "for 2, against 3</b> — rejected." in solo.tally.value
    # Banana from reserves (felt at half: 2,000 each); 30,000 by land gives B 6,000: net +4,000.
    solo.yes.click()
    assert "for 5, against 0</b> — adopted." in solo.tally.value
    assert solo.yes.disabled and solo.no.disabled
    # B's total: 6,000 + 0 + 4,000 = 10,000.
    assert "+10,000 taka" in solo.debrief.value
    # B's vote decided two rounds: a no on the plant would have made it 2-3, a yes on land 3-2.
    assert "Your vote decided the outcome of: Plant; Land." in solo.debrief.value
    assert "2 of 3 proposals were adopted" in solo.debrief.value


def test_solo_refuses_votes_after_the_end_and_restarts(solo):
    for _ in range(3):
        solo.yes.click()
    shown = _snapshot(solo.tally, solo.debrief, solo.image)
    solo.vote("yes")
    assert "meeting is over" in solo.message.value
    assert _snapshot(solo.tally, solo.debrief, solo.image) == shown
    solo.vote("perhaps")
    assert "meeting is over" in solo.message.value
    solo.restart_button.click()
    assert solo.state.round == 0 and solo.debrief.value == "" and not solo.yes.disabled
    assert "No votes cast yet" in solo.tally.value
    solo.vote("perhaps")
    assert "A vote must be" in solo.message.value and solo.state.round == 0


def test_solo_rule_change_restarts_and_says_when_a_vote_does_not_count(solo):
    solo.yes.click()
    solo.rule_picker.value = g.BY_CAPITAL
    assert solo.state.round == 0
    assert "carries no weight" in solo.proposal.value  # B holds no capital
    solo.yes.click()
    assert "for 50,000, against 0" in solo.tally.value and "did not count" in solo.tally.value


def test_solo_refuses_a_rule_the_membership_cannot_use():
    # Nobody among A, B, C holds capital, so there can be no vote by capital.
    view = v.VotingSolo(members=FIVE[:3], proposals=(PLANT,), rule=g.VotingRule(committee_size=3), seat=0)
    view.no.click()
    shown = _snapshot(view.tally, view.image)
    view.rule_picker.value = g.BY_CAPITAL
    assert "no member has any capital" in view.message.value
    assert view.rule_picker.value == g.ONE_MEMBER_ONE_VOTE and view.state.round == 1
    assert _snapshot(view.tally, view.image) == shown


def test_solo_seat_picker(solo):
    solo.seat_picker.value = 3                        # D: the plant gives 32,000 - 10,000
    assert "net +22,000 taka" in solo.proposal.value


def test_solo_builds_with_the_case_defaults():
    view = v.VotingSolo()
    assert len(view.params.members) == v.case_defaults()["members"]
    view.yes.click()
    assert "Round 1" in view.tally.value


# --- self-assessment ----------------------------------------------------------------------

def test_self_assessment_shows_the_weakest_principles():
    view = v.SelfAssessment()
    assert len(view.sliders) == 8 and all(s.min == 1 and s.max == 5 for s in view.sliders)
    chart = view.image.value
    view.sliders[4].value = 1                      # one slider: the chart and the advice follow
    assert view.image.value != chart
    assert "Graduated sanctions</b> (rated 1)" in view.weakest.value
    view.set_ratings([5, 4, 2, 3, 1, 4, 5, 2])
    assert view.ratings == (5, 4, 2, 3, 1, 4, 5, 2)
    text = view.weakest.value
    assert text.index("Graduated sanctions") < text.index("Collective choice") < text.index("Nested enterprises")
    assert "Accountable monitoring" not in text   # fourth weakest: only three are shown
    assert g.PRINCIPLES[4].suggestion.split(",")[0] in text
    shown = _snapshot(view.image, view.weakest)
    with pytest.raises(ValueError, match="exactly 8"):
        view.set_ratings([5] * 7)
    assert _snapshot(view.image, view.weakest) == shown and view.ratings == (5, 4, 2, 3, 1, 4, 5, 2)
    view.set_ratings([5] * 8)
    assert "No principle is rated below" in view.weakest.value


# --- surplus and agency -------------------------------------------------------------------

def test_surplus_split_by_hand_and_bad_input():
    view = v.SurplusSplit(members=FIVE, surplus=100_000, max_investment=50_000)
    view.side_premium.value = 1_000
    view.outside_option.value = 7_000
    # 60% refunds: 600 a unit; 0.5 + 0.5 × 600/1,000 = 80% delivered; C (6,000 < 7,000) leaves.
    text = view.summary.value
    assert "<b>600 taka</b>" in text and "<b>80%</b> of their harvest" in text and "1 would leave: C." in text
    assert "<b>20.0%</b>" in text                  # 10,000 over 50,000 invested
    shown = _snapshot(view.summary, view.image)
    view.capital.value = 0.5                       # 60% + 50% is more than the surplus
    assert "more than the whole surplus" in view.message.value
    assert _snapshot(view.summary, view.image) == shown
    view.patronage.value = 0.3                     # 30% + 50% leaves 20% for reserves
    assert view.message.value == "" and "Reserves get 20%" in view.summary.value
    assert view.image.value != shown[1]
    view.surplus.value = -5
    assert "surplus" in view.message.value.lower() and "Reserves get 20%" in view.summary.value


def test_agency_explorer_by_hand():
    view = v.AgencyExplorer(at_stake=100_000, base_chance=0.4, recovery=0.5, full_audit_cost=30_000,
                            members=20, level=0.5)
    # Level 0.5: loss 15,000 + audit 15,000 = 30,000, 1,500 each; cheapest 75% at 28,750.
    assert "30,000 taka a year, 1,500 per member" in view.summary.value
    assert "checking 75%" in view.summary.value and "28,750 taka" in view.summary.value
    chart = view.image.value
    view.level.value = 1.0
    assert "30,000 taka a year" in view.summary.value and "chance he helps himself is 0%" in view.summary.value
    assert view.image.value != chart
