"""The Modhupur governance page's meeting game, played live in Voila through its buttons.

The test builds the same illustrative membership as the chapter, from the case file, and
plays the same votes through the governance model; every tally it expects comes from
``widgets.governance``, never from the page. The page's own texts (the learner's seat and
what the first proposal would bring them) are checked against the model first, so a
chapter whose membership drifted from this one would fail here rather than pass by luck.
"""
from __future__ import annotations

import pytest

from widgets import governance as gov
from widgets.cases import load_case

pytestmark = [pytest.mark.browser, pytest.mark.voila]

PAGE = "modhupur-governance.ipynb"
TIMEOUT = 20_000  # ms for the kernel to answer one click

MODHUPUR = load_case("modhupur")
SPECIAL_MEMBERS = 6  # as in the chapter: illustrative, the case does not say how many invest
MEMBERS = gov.example_membership(
    general=MODHUPUR.value("core_members") - SPECIAL_MEMBERS,
    special=SPECIAL_MEMBERS,
    seed=0,
    max_investment=MODHUPUR.value("special_member_investment_max"),
)
PROPOSALS = gov.example_proposals()
RULE = gov.VotingRule(committee_size=MODHUPUR.value("executive_committee"))


def weight(value: float) -> str:
    """A voting weight as the page writes it: whole numbers with thousands separators."""
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.1f}"


def signed(value: float) -> str:
    """Taka with a sign, as the page writes a gain or loss (a true minus sign)."""
    return f"+{value:,.0f}" if value > 0.5 else (f"−{abs(value):,.0f}" if value < -0.5 else "0")


def smallest_general_grower() -> int:
    """The seat the game gives the learner at first: the general member who delivers least."""
    general = [seat for seat, member in enumerate(MEMBERS) if not member.special]
    return min(general, key=lambda seat: (MEMBERS[seat].deliveries, seat))


def expected_tally(result: gov.RoundResult, seat: int) -> str:
    verdict = "adopted" if result.passed else "rejected"
    text = (f"Round {result.round + 1}, {result.proposal}: "
            f"for {weight(result.yes_weight)}, against {weight(result.no_weight)} — {verdict}.")
    if result.weights[seat] == 0:
        text += " Your vote did not count under this rule (no weight, or not on the committee)."
    return text


def expected_preview(params: gov.GameParams, state: gov.GameState, seat: int) -> str:
    """The sentence telling the learner what the coming proposal would bring them."""
    preview = gov.preview_round(params, state)
    row = preview.seats.index(seat)
    return (f"If it is adopted you receive {preview.gains[row]:,.0f} taka and pay {preview.costs[row]:,.0f}: "
            f"net {signed(preview.net_gains[row])} taka.")


def open_meeting(page, voila_url):
    page.goto(f"{voila_url}/voila/render/{PAGE}")
    yes = page.locator("button.vote-yes")  # ipywidgets 8 puts the class on the <button> itself
    yes.wait_for(state="visible", timeout=60_000)
    return yes, page.locator("button.vote-no"), page.locator(".vote-tally"), page.locator(".vote-proposal")


def cast(page, button, tally, round_number: int) -> str:
    button.click()
    tally.get_by_text(f"Round {round_number},").wait_for(timeout=TIMEOUT)
    return tally.inner_text().strip()


def test_a_whole_meeting_played_live_gives_the_models_tallies(voila_url, offline_page):
    page = offline_page
    yes, no, tally, proposal = open_meeting(page, voila_url)
    seat = smallest_general_grower()
    params = gov.GameParams(MEMBERS, PROPOSALS, RULE)
    state = gov.initial_state(params)

    # The page is the chapter's illustrative membership, labelled as such, with the learner
    # at the seat the model expects.
    solo_text = page.locator(".vote-proposal").locator("xpath=..").inner_text()
    assert "Illustrative members" in solo_text
    chosen = page.locator(".vote-seat select").evaluate("s => s.options[s.selectedIndex].text")
    chosen = chosen.replace("\xa0", " ")  # the dropdown writes its labels with non-breaking spaces
    learner = MEMBERS[seat]
    assert chosen.startswith(f"{learner.name} (general)") and f"delivers {learner.deliveries:,.0f}" in chosen
    assert tally.inner_text().strip() == "No votes cast yet."

    votes = [gov.YES, gov.NO, gov.NO, gov.YES, gov.NO]
    for number, vote in enumerate(votes, start=1):
        heading = f"Proposal {number} of {len(PROPOSALS)}: {PROPOSALS[number - 1].name}"
        proposal.get_by_text(heading).wait_for(timeout=TIMEOUT)  # the page has moved on to this round
        assert expected_preview(params, state, seat) in proposal.inner_text()
        result, state = gov.play_round(params, state, {seat: vote})
        shown = cast(page, yes if vote == gov.YES else no, tally, number)
        assert shown == expected_tally(result, seat)

    # The meeting is over: the buttons are off and the debrief sums up from the model's state.
    page.locator(".vote-debrief").get_by_text("Debrief").wait_for(timeout=TIMEOUT)
    assert yes.is_disabled() and no.is_disabled()
    debrief = page.locator(".vote-debrief").inner_text()
    adopted = sum(state.passed)
    you = state.payoffs[seat]
    rank = 1 + sum(payoff > you for payoff in state.payoffs)
    assert f"{adopted} of {len(PROPOSALS)} proposals were adopted under {RULE.label}" in debrief
    assert f"You gained {signed(you)} taka in all, rank {rank} of {len(MEMBERS)} members" in debrief
    assert page.blocked_requests == [], f"the page tried to reach the internet: {page.blocked_requests}"


def test_under_the_elected_committee_a_small_growers_vote_does_not_count(voila_url, offline_page):
    page = offline_page
    yes, no, tally, proposal = open_meeting(page, voila_url)
    seat = smallest_general_grower()
    params = gov.GameParams(MEMBERS, PROPOSALS, gov.VotingRule(gov.COMMITTEE, committee_size=RULE.committee_size))
    state = gov.initial_state(params)
    committee = gov.preview_round(params, state).committee
    assert len(committee) == MODHUPUR.value("executive_committee") and seat not in committee

    page.locator(".vote-rule select").select_option(label=gov.RULE_LABELS[gov.COMMITTEE])
    names = ", ".join(MEMBERS[s].name for s in committee)
    proposal.get_by_text(f"The committee deciding: {names}.").wait_for(timeout=TIMEOUT)

    # Outside the committee, yes and no give the same result; the page says the vote did not count.
    result, _ = gov.play_round(params, state, {seat: gov.YES})
    flipped, _ = gov.play_round(params, state, {seat: gov.NO})
    assert (result.yes_weight, result.no_weight) == (flipped.yes_weight, flipped.no_weight)
    assert result.yes_weight + result.no_weight == len(committee)
    shown = cast(page, yes, tally, 1)
    assert shown == expected_tally(result, seat)
    assert shown.endswith("Your vote did not count under this rule (no weight, or not on the committee).")
    assert page.blocked_requests == []


def test_a_large_investor_voting_by_deliveries_sees_the_models_tally(voila_url, offline_page):
    page = offline_page
    yes, no, tally, proposal = open_meeting(page, voila_url)
    params = gov.GameParams(MEMBERS, PROPOSALS, gov.VotingRule(gov.PATRONAGE, committee_size=RULE.committee_size))
    state = gov.initial_state(params)
    special = [s for s, member in enumerate(MEMBERS) if member.special]
    seat = max(special, key=lambda s: (MEMBERS[s].deliveries, -s))

    page.locator(".vote-rule select").select_option(label=gov.RULE_LABELS[gov.PATRONAGE])
    page.locator(".vote-seat select").select_option(index=seat)
    preview = expected_preview(params, state, seat)
    proposal.get_by_text(preview).wait_for(timeout=TIMEOUT)

    # The land proposal costs the investor more than his equal share of its income: he votes no.
    assert gov.preview_round(params, state).net_gains[seat] < 0
    result, _ = gov.play_round(params, state, {seat: gov.NO})
    assert result.weights[seat] == MEMBERS[seat].deliveries
    shown = cast(page, no, tally, 1)
    assert shown == expected_tally(result, seat)
    history = page.locator("table").filter(has_text="For – against")
    assert f"{weight(result.yes_weight)} – {weight(result.no_weight)}" in history.inner_text()
    assert page.blocked_requests == []
