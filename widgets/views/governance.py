"""Governance views: a what-if explorer, a voting game, a self-assessment and two small explorers.

Every number shown comes from ``widgets.governance``; these views only lay out controls,
draw charts and write sentences. Charts are PNG bytes in an ``ipywidgets.Image`` so they
update in place and still show in the static book.

Stable CSS classes let browser tests find the controls: ``vote-yes``, ``vote-no``,
``vote-tally``, ``vote-proposal``, ``vote-debrief``, ``vote-restart`` (voting game);
``governance-error`` on every message that reports a bad input.
"""
from __future__ import annotations

import html
from dataclasses import replace
from typing import Callable, Sequence

import ipywidgets as w
import numpy as np
from matplotlib.ticker import StrMethodFormatter

from widgets import governance as gov
from widgets.charts import COLOURS, figure, png_bytes

BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY = COLOURS[:6]
GREY = "#999999"
WIDE_LABEL = {"description_width": "16em"}


def _big() -> w.Layout:
    """A wide control; a fresh Layout each time, since hiding one control must not hide the others."""
    return w.Layout(width="100%", max_width="640px")


def _button() -> w.Layout:
    return w.Layout(width="160px", height="52px")
ILLUSTRATIVE = ("Illustrative members: the sources describe the membership, not each member's land, "
                "deliveries or capital.")
CURRENCY = "taka"  # the Bangladesh cases' currency; every view takes ``currency`` to change it


# ---------------------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------------------

def case_defaults() -> dict:
    """The Modhupur figures the views start from, read from the case file."""
    from widgets.cases import load_case

    case = load_case("modhupur")
    return {
        "committee_size": int(case.value("executive_committee")),
        "members": int(case.value("core_members")),
        "max_investment": float(case.value("special_member_investment_max")),
    }


def default_membership(special: int = 6, seed: int = 0) -> tuple[gov.Member, ...]:
    """An illustrative membership the size of Modhupur's core group."""
    case = case_defaults()
    return gov.example_membership(case["members"] - special, special, seed, max_investment=case["max_investment"])


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _weight(value: float) -> str:
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.1f}"


def _signed(value: float) -> str:
    return f"+{value:,.0f}" if value > 0.5 else (f"−{abs(value):,.0f}" if value < -0.5 else "0")


def _error_box() -> w.HTML:
    box = w.HTML("")
    box.add_class("governance-error")
    return box


def _show_error(box: w.HTML, exc: Exception) -> None:
    box.value = f"<div style='color:{VERMILLION};font-size:1.1em'><b>Not changed:</b> {html.escape(str(exc))}</div>"


def _image() -> w.Image:
    return w.Image(format="png", layout=w.Layout(width="100%", max_width="820px", height="auto"))


def _thousands(axis) -> None:
    axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def _rule_options() -> list[tuple[str, str]]:
    return [(gov.RULE_LABELS[kind], kind) for kind in gov.RULES]


# ---------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------

def tally_chart(decision: gov.Decision, rule: gov.VotingRule) -> bytes:
    """Weight for and against, with the line the 'for' bar has to cross."""
    with figure(7, 2.6) as (fig, ax):
        ax.barh(["Against", "For"], [decision.no_weight, decision.yes_weight], color=[VERMILLION, GREEN])
        total = decision.total_weight
        needed = rule.threshold * total if rule.kind == gov.QUALIFIED else total / 2
        ax.axvline(needed, color="black", linestyle="--", linewidth=1.5)
        ax.text(needed, 1.45, " needed" if rule.kind == gov.QUALIFIED else " half", va="center", fontsize=11)
        for y, value in enumerate([decision.no_weight, decision.yes_weight]):
            ax.text(value, y, f" {_weight(value)}", va="center", fontsize=12)
        ax.set_xlim(0, max(total, 1e-9) * 1.15)
        ax.set_ylim(-0.6, 1.8)
        verdict = "adopted" if decision.passed else "rejected"
        ax.set_title(f"{decision.rule}: {verdict}")
        ax.set_xlabel("voting weight")
        _thousands(ax.xaxis)
        return png_bytes(fig)


def gains_chart(members: Sequence[gov.Member], decision: gov.Decision, title: str | None = None,
                currency: str = CURRENCY) -> bytes:
    """Each member's net gain if adopted: green for yes, vermillion for no; exit options as dashes."""
    names = [members[s].name for s in decision.seats]
    x = np.arange(len(names))
    with figure(9, 4.2) as (fig, ax):
        colours = [GREEN if v else VERMILLION for v in decision.votes]
        bars = ax.bar(x, decision.net_gains, color=colours, edgecolor=colours, linewidth=2)
        for bar, seat, leave in zip(bars, decision.seats, decision.leave_if_adopted):
            if seat in decision.committee:
                bar.set_edgecolor("black")
            if leave:
                bar.set_hatch("///")
                bar.set_hatchcolor("white")
        exits = [members[s].exit_option for s in decision.seats]
        ax.scatter(x, exits, marker="_", s=300, color="black", linewidths=2, zorder=3, label="exit option")
        ax.axhline(0, color="black", linewidth=1)
        ax.set_xticks(x, names, rotation=90 if len(names) > 12 else 0)
        ax.set_ylabel(f"net gain if adopted ({currency})")
        ax.bar([0], [0], color=GREEN, label="votes yes")
        ax.bar([0], [0], color=VERMILLION, label="votes no")
        ax.bar([0], [0], color=GREY, edgecolor=GREY, hatch="///", hatchcolor="white", label="would rather leave")
        if decision.committee:
            ax.bar([0], [0], color="white", edgecolor="black", linewidth=2, label="on the committee")
        fig.legend(loc="outside lower center", fontsize=10, frameon=False, ncols=5)
        _thousands(ax.yaxis)
        ax.set_title(title or decision.proposal)
        return png_bytes(fig)


def payoffs_chart(members: Sequence[gov.Member], payoffs: Sequence[float], active: Sequence[bool],
                  you: int, currency: str = CURRENCY) -> bytes:
    """Net gain so far per member; the learner's bar in blue, members who left in grey."""
    x = np.arange(len(members))
    with figure(9, 3.6) as (fig, ax):
        colours = [BLUE if i == you else (ORANGE if a else GREY) for i, a in enumerate(active)]
        ax.bar(x, payoffs, color=colours)
        ax.axhline(0, color="black", linewidth=1)
        ax.set_xticks(x, [m.name for m in members], rotation=90 if len(members) > 12 else 0)
        ax.set_ylabel(f"net gain so far ({currency})")
        _thousands(ax.yaxis)
        ax.set_title("You (blue) and the other members (grey: left)")
        return png_bytes(fig)


# ---------------------------------------------------------------------------------------
# An editable table of members
# ---------------------------------------------------------------------------------------

class MemberTable(w.VBox):
    """One row per member: name, land, deliveries, capital, special, exit option, remove."""

    COLUMNS = "7em 7em 7em 8em 5em 9em 3em"
    FEWEST = 2

    def __init__(self, members: Sequence[gov.Member], on_change: Callable[[], None] | None = None,
                 currency: str = CURRENCY):
        self.HEADINGS = ("Name", "Land (acres)", "Deliveries", f"Capital ({currency})", "Special",
                         f"Exit option ({currency})", "")
        self._on_change = on_change
        self._rows: list[list[w.Widget]] = []
        self.grid = w.GridBox(layout=w.Layout(grid_template_columns=self.COLUMNS, grid_gap="4px 6px",
                                              overflow="auto", max_width="100%"))
        self.add_button = w.Button(description="Add a member", icon="plus", layout=w.Layout(width="180px",
                                                                                          height="44px"))
        self.add_button.add_class("member-add")
        self.add_button.on_click(lambda _: self.add_member())
        for member in members:
            self._rows.append(self._row(member))
        self._layout()
        super().__init__([self.grid, self.add_button])

    def _row(self, member: gov.Member) -> list[w.Widget]:
        small = w.Layout(width="100%")
        cells = [
            w.Text(member.name, layout=small),
            w.FloatText(member.land, layout=small),
            w.FloatText(member.deliveries, layout=small),
            w.FloatText(member.capital, layout=small),
            w.Checkbox(member.special, indent=False, layout=small),
            w.FloatText(member.exit_option, layout=small),
            w.Button(description="✕", tooltip="Remove this member", layout=small),
        ]
        for cell in cells[:-1]:
            cell.observe(self._changed, names="value")
        cells[-1].add_class("member-remove")
        cells[-1].on_click(lambda button: self.remove_member(self._index_of(button)))
        return cells

    def _index_of(self, button: w.Button) -> int:
        return next(i for i, row in enumerate(self._rows) if row[-1] is button)

    def _layout(self) -> None:
        headings = [w.HTML(f"<b>{h}</b>") for h in self.HEADINGS]
        self.grid.children = headings + [cell for row in self._rows for cell in row]
        for row in self._rows:  # an association needs at least two members
            row[-1].disabled = len(self._rows) <= self.FEWEST

    def _changed(self, _change=None) -> None:
        if self._on_change is not None:
            self._on_change()

    @property
    def rows(self) -> list[list[w.Widget]]:
        return self._rows

    def members(self) -> tuple[gov.Member, ...]:
        """The table as members; a ValueError names the first bad entry."""
        built = []
        for name, land, deliveries, capital, special, exit_option, _ in self._rows:
            built.append(gov.Member(name.value, land.value, deliveries.value, capital.value, special.value,
                                    exit_option.value))
        return gov.check_membership(built)

    def set_members(self, members: Sequence[gov.Member]) -> None:
        self._rows = [self._row(m) for m in members]
        self._layout()
        self._changed()

    def add_member(self) -> None:
        taken = {row[0].value for row in self._rows}
        number = len(self._rows) + 1
        while f"New {number}" in taken:
            number += 1
        self._rows.append(self._row(gov.Member(f"New {number}", land=1.0, deliveries=10.0)))
        self._layout()
        self._changed()

    def remove_member(self, index: int) -> None:
        if len(self._rows) <= self.FEWEST:
            return
        del self._rows[index]
        self._layout()
        self._changed()


# ---------------------------------------------------------------------------------------
# The what-if explorer
# ---------------------------------------------------------------------------------------

class Explorer(w.VBox):
    """Members, a rule and a proposal in; who wins, the tally and who gains or leaves out."""

    def __init__(self, members: Sequence[gov.Member] | None = None,
                 proposals: Sequence[gov.Proposal] | None = None, rule: gov.VotingRule | None = None,
                 currency: str = CURRENCY):
        self.currency = currency
        case = case_defaults()
        members = default_membership() if members is None else gov.check_membership(members)
        self.proposals = tuple(gov.example_proposals() if proposals is None else proposals)
        rule = rule or gov.VotingRule(committee_size=min(case["committee_size"], len(members)))
        self.decision: gov.Decision | None = None
        self._filling = False

        self.table = MemberTable(members, self.update, currency)
        self.rule_picker = w.Dropdown(options=_rule_options(), value=rule.kind, description="Voting rule",
                                      layout=_big(), style=WIDE_LABEL)
        self.rule_picker.add_class("governance-rule")
        self.threshold = w.FloatSlider(value=rule.threshold, min=0.55, max=1.0, step=0.05,
                                       description="Qualified majority", readout_format=".0%", layout=_big(),
                                       style=WIDE_LABEL)
        self.committee_size = w.IntSlider(value=rule.committee_size, min=1, max=max(len(members), 1),
                                          description="Committee size", layout=_big(), style=WIDE_LABEL)
        self.committee_by = w.Dropdown(options=[(f"largest {b}", b) for b in gov.COMMITTEE_BASES],
                                       value=rule.committee_by, description="Committee: members elect the",
                                       layout=_big(), style=WIDE_LABEL)
        self.proposal_picker = w.Dropdown(options=[(p.name, i) for i, p in enumerate(self.proposals)], value=0,
                                          description="Proposal", layout=_big(), style=WIDE_LABEL)
        self.proposal_picker.add_class("governance-proposal")
        self.cost = w.FloatText(description=f"Cost ({currency})", layout=_big(), style=WIDE_LABEL)
        self.costs_by = w.Dropdown(options=[(gov.BASIS_LABELS[b], b) for b in gov.COST_BASES],
                                   description="Cost raised", layout=_big(), style=WIDE_LABEL)
        self.benefit = w.FloatText(description=f"Benefit ({currency})", layout=_big(), style=WIDE_LABEL)
        self.gains_by = w.Dropdown(options=[(gov.BASIS_LABELS[b], b) for b in gov.GAIN_BASES],
                                   description="Benefit shared", layout=_big(), style=WIDE_LABEL)
        self.reserve_weight = w.FloatSlider(min=0, max=1, step=0.05, description=f"Weight of 1 {currency} of reserves",
                                            layout=_big(), style=WIDE_LABEL)
        self.description = w.HTML()
        self.message = _error_box()
        self.summary = w.HTML()
        self.summary.add_class("governance-outcome")
        self.tally_image = _image()
        self.gains_image = _image()
        self.leavers = w.HTML()
        self.leavers.add_class("governance-leavers")

        for control in (self.rule_picker, self.threshold, self.committee_size, self.committee_by, self.cost,
                        self.costs_by, self.benefit, self.gains_by, self.reserve_weight):
            control.observe(lambda _: self.update(), names="value")
        self.proposal_picker.observe(lambda _: self._fill_proposal(), names="value")

        self.rule_box = w.VBox([self.rule_picker, self.threshold, self.committee_size, self.committee_by])
        proposal_box = w.VBox([self.proposal_picker, self.description, self.cost, self.costs_by, self.benefit,
                               self.gains_by, self.reserve_weight])
        tabs = w.Tab([w.VBox([w.HTML(f"<i>{ILLUSTRATIVE}</i>"), self.table]), proposal_box, self.rule_box])
        for i, title in enumerate(("Members", "Proposal", "Voting rule")):
            tabs.set_title(i, title)
        super().__init__([tabs, self.message, self.summary, self.tally_image, self.gains_image, self.leavers])
        self._fill_proposal()

    def _fill_proposal(self) -> None:
        proposal = self.proposals[self.proposal_picker.value]
        self._filling = True  # one update for the whole proposal, not one per field
        try:
            self.cost.value, self.benefit.value = proposal.cost, proposal.benefit
            self.costs_by.value, self.gains_by.value = proposal.costs_by, proposal.gains_by
            self.reserve_weight.value = proposal.reserve_weight
            self.description.value = f"<p style='font-size:1.05em'>{html.escape(proposal.description)}</p>"
        finally:
            self._filling = False
        self.update()

    def current_rule(self) -> gov.VotingRule:
        return gov.VotingRule(self.rule_picker.value, self.threshold.value, self.committee_size.value,
                              self.committee_by.value)

    def current_proposal(self) -> gov.Proposal:
        base = self.proposals[self.proposal_picker.value]
        return replace(base, cost=self.cost.value, benefit=self.benefit.value, costs_by=self.costs_by.value,
                       gains_by=self.gains_by.value, reserve_weight=self.reserve_weight.value)

    def update(self) -> None:
        if self._filling:
            return
        kind = self.rule_picker.value
        self.threshold.layout.display = None if kind == gov.QUALIFIED else "none"
        for control in (self.committee_size, self.committee_by):
            control.layout.display = None if kind == gov.COMMITTEE else "none"
        self.reserve_weight.layout.display = None if self.costs_by.value == gov.RESERVES else "none"
        try:
            members = self.table.members()
            if self.committee_size.max != len(members):
                self._filling = True  # the slider may clamp its value: no second update for that
                try:
                    self.committee_size.max = len(members)
                finally:
                    self._filling = False
            rule, proposal = self.current_rule(), self.current_proposal()
            decision = gov.decide(members, proposal, rule)
        except ValueError as exc:
            _show_error(self.message, exc)
            return
        self.message.value = ""
        self.decision = decision
        verdict = "<span style='color:%s'>adopted</span>" % GREEN if decision.passed else \
            "<span style='color:%s'>rejected</span>" % VERMILLION
        winners = len(decision.winners)
        self.summary.value = (
            f"<div style='font-size:1.25em'><b>{html.escape(proposal.name)}</b> is {verdict} under "
            f"<b>{html.escape(decision.rule)}</b>: {_weight(decision.yes_weight)} for, "
            f"{_weight(decision.no_weight)} against. {winners} of {len(members)} members would gain.</div>")
        self.tally_image.value = tally_chart(decision, rule)
        self.gains_image.value = gains_chart(members, decision, currency=self.currency)
        leaving = [members[s].name for s, leave in zip(decision.seats, decision.leave_if_adopted) if leave]
        if not leaving:
            self.leavers.value = "<p>Nobody would lose more than their exit option if it were adopted.</p>"
        else:
            when = "Now that it is adopted" if decision.passed else "Had it been adopted"
            self.leavers.value = (f"<p><b>{when}, {len(leaving)} would rather leave:</b> "
                                  f"{html.escape(', '.join(leaving))}.</p>")


def explorer(members: Sequence[gov.Member] | None = None, proposals: Sequence[gov.Proposal] | None = None,
             rule: gov.VotingRule | None = None, currency: str = CURRENCY) -> Explorer:
    """The governance what-if explorer (a trainer edits members, picks a rule and a proposal)."""
    return Explorer(members, proposals, rule, currency)


# ---------------------------------------------------------------------------------------
# Solo play: the learner is one member
# ---------------------------------------------------------------------------------------

class VotingSolo(w.VBox):
    """Vote yes or no on each proposal in turn; simulated members vote by their interests."""

    def __init__(self, members: Sequence[gov.Member] | None = None,
                 proposals: Sequence[gov.Proposal] | None = None, rule: gov.VotingRule | None = None,
                 seat: int | None = None, exits: bool = False, currency: str = CURRENCY):
        self.currency = currency
        case = case_defaults()
        members = default_membership() if members is None else gov.check_membership(members)
        proposals = tuple(gov.example_proposals() if proposals is None else proposals)
        rule = rule or gov.VotingRule(committee_size=min(case["committee_size"], len(members)))
        self.params = gov.GameParams(members, proposals, rule, exits)
        if seat is None:  # by default the learner is the smallest general grower: the one most often outvoted
            general = [i for i, m in enumerate(members) if not m.special] or list(range(len(members)))
            seat = min(general, key=lambda i: (members[i].deliveries, i))
        self.seat = gov.check_seat(self.params, seat)
        self.state = gov.initial_state(self.params)
        self.results: list[gov.RoundResult] = []
        self.pivotal: list[bool] = []

        self.seat_picker = w.Dropdown(options=[(self._describe(i), i) for i in range(len(members))],
                                      value=self.seat, description="You are", layout=_big(), style=WIDE_LABEL)
        self.seat_picker.add_class("vote-seat")
        self.rule_picker = w.Dropdown(options=_rule_options(), value=rule.kind, description="Voting rule",
                                      layout=_big(), style=WIDE_LABEL)
        self.rule_picker.add_class("vote-rule")
        self.proposal = w.HTML()
        self.proposal.add_class("vote-proposal")
        self.yes = w.Button(description="Yes", button_style="success", layout=_button(),
                            style={"font_size": "20px", "font_weight": "bold"})
        self.no = w.Button(description="No", button_style="danger", layout=_button(),
                           style={"font_size": "20px", "font_weight": "bold"})
        self.yes.add_class("vote-yes")
        self.no.add_class("vote-no")
        self.yes.on_click(lambda _: self.vote(gov.YES))
        self.no.on_click(lambda _: self.vote(gov.NO))
        self.tally = w.HTML("<p style='font-size:1.2em'>No votes cast yet.</p>")
        self.tally.add_class("vote-tally")
        self.history = w.HTML()
        self.image = _image()
        self.debrief = w.HTML()
        self.debrief.add_class("vote-debrief")
        self.restart_button = w.Button(description="Play again", icon="refresh", layout=_button())
        self.restart_button.add_class("vote-restart")
        self.restart_button.on_click(lambda _: self.restart())
        self.message = _error_box()
        self._reverting = False
        self.seat_picker.observe(lambda _: self.restart(), names="value")
        self.rule_picker.observe(self._rule_changed, names="value")
        super().__init__([
            w.HTML(f"<i>{ILLUSTRATIVE} The proposals' costs and benefits are illustrative too.</i>"),
            self.seat_picker, self.rule_picker, self.proposal, w.HBox([self.yes, self.no]), self.message,
            self.tally, self.history, self.image, self.debrief, self.restart_button,
        ])
        self._show()

    def _describe(self, seat: int) -> str:
        m = self.params.members[seat]
        kind = "special" if m.special else "general"
        return f"{m.name} ({kind}): {m.land:g} acres, delivers {m.deliveries:,.0f}, capital {_money(m.capital)}"

    @property
    def over(self) -> bool:
        return self.state.round >= self.params.rounds or not any(self.state.active)

    def _rule_changed(self, change) -> None:
        if self._reverting:
            return
        try:
            params = replace(self.params, rule=replace(self.params.rule, kind=change["new"]))
        except ValueError as exc:  # e.g. votes by capital when nobody holds capital
            _show_error(self.message, exc)
            self._reverting = True
            try:
                self.rule_picker.value = change["old"]
            finally:
                self._reverting = False
            return
        self.params = params
        self.restart()

    def restart(self) -> None:
        """A new meeting with the chosen seat and rule."""
        self.seat = self.seat_picker.value
        self.state = gov.initial_state(self.params)
        self.results, self.pivotal = [], []
        self.tally.value = "<p style='font-size:1.2em'>No votes cast yet.</p>"
        self.debrief.value = ""
        self.message.value = ""
        self._show()

    def vote(self, choice: str) -> None:
        """Cast the learner's vote on the current proposal."""
        try:
            if self.over:
                raise ValueError("The meeting is over: press 'Play again' for a new one.")
            choice = gov.validate_decision(self.params, choice)
            if not self.state.active[self.seat]:
                result, new_state = gov.play_round(self.params, self.state, {})
                other = None
            else:
                result, new_state = gov.play_round(self.params, self.state, {self.seat: choice})
                flipped = gov.NO if choice == gov.YES else gov.YES
                other, _ = gov.play_round(self.params, self.state, {self.seat: flipped})
        except ValueError as exc:
            _show_error(self.message, exc)
            return
        self.message.value = ""
        self.pivotal.append(other is not None and other.passed != result.passed)
        self.results.append(result)
        self.state = new_state
        verdict = "adopted" if result.passed else "rejected"
        counted = "" if result.weights[self.seat] > 0 else \
            " Your vote did not count under this rule (no weight, or not on the committee)."
        self.tally.value = (
            f"<p style='font-size:1.3em'>Round {result.round + 1}, {html.escape(result.proposal)}: "
            f"<b>for {_weight(result.yes_weight)}, against {_weight(result.no_weight)}</b> — {verdict}.{counted}</p>")
        self._show()

    def _show(self) -> None:
        members = self.params.members
        self.image.value = payoffs_chart(members, self.state.payoffs, self.state.active, self.seat, self.currency)
        self.history.value = self._history_table()
        if self.over:
            self.proposal.value = "<p style='font-size:1.2em'><b>The meeting is over.</b></p>"
            self.yes.disabled = self.no.disabled = True
            self.debrief.value = self._debrief()
            return
        self.yes.disabled = self.no.disabled = False
        preview = gov.preview_round(self.params, self.state)
        proposal = self.params.proposals[self.state.round]
        if self.seat in preview.seats:
            row = preview.seats.index(self.seat)
            gain, cost = preview.gains[row], preview.costs[row]
            you = (f"If it is adopted you receive {_money(gain)} {self.currency} and pay {_money(cost)}: "
                   f"<b>net {_signed(preview.net_gains[row])} {self.currency}</b>.")
            if preview.weights[row] == 0:
                you += " Your vote carries no weight under this rule."
        else:
            you = "You have left the association; the others vote without you."
        committee = ""
        if self.params.rule.kind == gov.COMMITTEE:
            names = ", ".join(members[s].name for s in preview.committee)
            committee = f"<br>The committee deciding: {html.escape(names)}."
        self.proposal.value = (
            f"<div style='font-size:1.15em'><b>Proposal {self.state.round + 1} of {self.params.rounds}: "
            f"{html.escape(proposal.name)}</b><br>{html.escape(proposal.description)}<br>"
            f"Cost {_money(proposal.cost)} {self.currency}, raised {gov.BASIS_LABELS[proposal.costs_by]}; "
            f"benefit {_money(proposal.benefit)} {self.currency}, shared {gov.BASIS_LABELS[proposal.gains_by]}.<br>"
            f"{you}{committee}</div>")

    def _history_table(self) -> str:
        if not self.results:
            return ""
        rows = "".join(
            f"<tr><td>{r.round + 1}</td><td>{html.escape(r.proposal)}</td>"
            f"<td>{r.votes[self.seat] or 'left'}</td><td>{_weight(r.yes_weight)} – {_weight(r.no_weight)}</td>"
            f"<td>{'adopted' if r.passed else 'rejected'}</td><td>{_signed(r.net_gains[self.seat])}</td></tr>"
            for r in self.results)
        return ("<table style='font-size:1.05em'><tr><th>Round</th><th>Proposal</th><th>You</th>"
                f"<th>For – against</th><th>Outcome</th><th>Your gain</th></tr>{rows}</table>")

    def _debrief(self) -> str:
        members = self.params.members
        payoffs = self.state.payoffs
        you = payoffs[self.seat]
        rank = 1 + sum(p > you for p in payoffs)
        adopted = sum(r.passed for r in self.results)
        decisive = [r.proposal for r, p in zip(self.results, self.pivotal) if p]
        rule = self.params.rule
        rules = gov.all_rules(rule.threshold, min(rule.committee_size, len(members)), rule.committee_by)
        header = "".join(f"<th>{html.escape(r.label)}</th>" for r in rules)
        rows = ""
        for proposal in self.params.proposals:
            outcomes = gov.compare_rules(members, proposal, rules)
            cells = "".join(f"<td style='text-align:center'>{'✔' if d.passed else '✘'}</td>"
                            for d in outcomes.values())
            rows += f"<tr><td>{html.escape(proposal.name)}</td>{cells}</tr>"
        pivotal = (f"Your vote decided the outcome of: {html.escape('; '.join(decisive))}." if decisive
                   else "Your vote never changed an outcome: the others' interests settled every round.")
        left = [members[i].name for i, a in enumerate(self.state.active) if not a]
        wanted_out = [members[s].name for s in sorted({s for r in self.results for s in r.leavers})]
        exits = (f"Members who would rather have left after a decision: {html.escape(', '.join(wanted_out))}."
                 if wanted_out else "No decision pushed any member below their exit option.")
        if left:
            exits += f" Members who left: {html.escape(', '.join(left))}."
        return (
            "<div style='font-size:1.1em'><h4>Debrief</h4>"
            f"<p>{adopted} of {len(self.results)} proposals were adopted under <b>{html.escape(rule.label)}</b>. "
            f"You gained <b>{_signed(you)} {self.currency}</b> in all, rank {rank} of {len(members)} members. {pivotal}</p>"
            f"<p>{exits}</p>"
            "<p>The same proposals under each rule, everyone voting by their interest "
            "(✔ adopted, ✘ rejected):</p>"
            f"<table><tr><th>Proposal</th>{header}</tr>{rows}</table>"
            "<p>Things to discuss: who gains when votes follow deliveries or capital rather than heads? "
            "Does a committee of the biggest growers decide as the whole membership would? "
            "Which decisions push members towards the exit, and what would keep them in?</p></div>")


# ---------------------------------------------------------------------------------------
# Ostrom's design principles
# ---------------------------------------------------------------------------------------

def profile_chart(assessment: gov.Assessment) -> bytes:
    names = [p.name for p in gov.PRINCIPLES][::-1]
    ratings = list(assessment.ratings)[::-1]
    weak = {p.key for p in assessment.weakest}
    colours = [VERMILLION if p.key in weak else BLUE for p in gov.PRINCIPLES][::-1]
    with figure(8, 4.6) as (fig, ax):
        ax.barh(names, ratings, color=colours)
        ax.set_xlim(0, 5.2)
        ax.set_xticks(range(0, 6))
        ax.axvline(gov.WEAK_BELOW, color=GREY, linestyle=":", linewidth=1.5)
        ax.set_xlabel("rating (1 weak to 5 strong)")
        ax.set_title(f"Design principles: average {assessment.mean:.1f} of 5")
        return png_bytes(fig)


class SelfAssessment(w.VBox):
    """Rate the association on Ostrom's eight principles; see the profile and what to work on."""

    def __init__(self, ratings: Sequence[int] | None = None):
        ratings = gov.check_ratings(ratings if ratings is not None else [3] * len(gov.PRINCIPLES))
        self.sliders = []
        rows = []
        for principle, rating in zip(gov.PRINCIPLES, ratings):
            slider = w.IntSlider(value=rating, min=1, max=5, step=1, layout=w.Layout(width="100%",
                                                                                      max_width="420px"))
            slider.add_class("principle-slider")
            slider.observe(lambda _: self.update(), names="value")
            self.sliders.append(slider)
            rows.append(w.VBox([w.HTML(f"<b style='font-size:1.1em'>{html.escape(principle.name)}</b>: "
                                       f"{html.escape(principle.description)}"), slider]))
        self.image = _image()
        self.weakest = w.HTML()
        self.weakest.add_class("assessment-weakest")
        self._holding = False
        super().__init__(rows + [self.image, self.weakest])
        self.update()

    @property
    def ratings(self) -> tuple[int, ...]:
        return tuple(s.value for s in self.sliders)

    def set_ratings(self, ratings: Sequence[int]) -> None:
        """Move all eight sliders at once (one chart, not eight); bad ratings raise ValueError."""
        ratings = gov.check_ratings(ratings)
        self._holding = True
        try:
            for slider, rating in zip(self.sliders, ratings):
                slider.value = rating
        finally:
            self._holding = False
        self.update()

    def update(self) -> None:
        if self._holding:
            return
        assessment = gov.assess(self.ratings)
        self.assessment = assessment
        self.image.value = profile_chart(assessment)
        if not assessment.weakest:
            self.weakest.value = ("<p style='font-size:1.1em'>No principle is rated below "
                                  f"{gov.WEAK_BELOW}: keep checking that it stays that way.</p>")
            return
        items = "".join(f"<li><b>{html.escape(p.name)}</b> (rated {assessment.ratings[gov.PRINCIPLE_KEYS.index(p.key)]})"
                        f": {html.escape(p.suggestion)}</li>" for p in assessment.weakest)
        self.weakest.value = f"<div style='font-size:1.1em'><b>Work on these first:</b><ul>{items}</ul></div>"


# ---------------------------------------------------------------------------------------
# Sharing the surplus
# ---------------------------------------------------------------------------------------

def surplus_chart(members: Sequence[gov.Member], outcome: gov.SurplusOutcome, params: gov.SurplusParams,
                  currency: str = CURRENCY) -> bytes:
    x = np.arange(len(members))
    with figure(9, 4.2) as (fig, ax):
        ax.bar(x, outcome.refunds, color=BLUE, label="patronage refund")
        ax.bar(x, outcome.capital_returns, bottom=outcome.refunds, color=ORANGE, label="return on capital")
        bottom = [r + c for r, c in zip(outcome.refunds, outcome.capital_returns)]
        ax.bar(x, outcome.reserve_values, bottom=bottom, color=SKY, label="reserve slice, as valued")
        leaving = [i for i, stay in enumerate(outcome.stays) if not stay]
        ax.bar(leaving, [outcome.valued[i] for i in leaving], fill=False, hatch="xx", edgecolor="black",
               linewidth=0, label="would leave")
        ax.axhline(params.outside_option, color=VERMILLION, linestyle="--", label="outside option")
        ax.set_xticks(x, [m.name for m in members], rotation=90 if len(members) > 12 else 0)
        ax.set_ylabel(f"{currency} this year")
        _thousands(ax.yaxis)
        fig.legend(fontsize=10, frameon=False, loc="outside lower center", ncols=5)
        ax.set_title("What each member gets (hatched: would leave)")
        return png_bytes(fig)


class SurplusSplit(w.VBox):
    """Split a surplus between refunds, returns on capital and reserves; see who delivers, invests, stays."""

    def __init__(self, members: Sequence[gov.Member] | None = None, surplus: float = 200_000,
                 max_investment: float | None = None, currency: str = CURRENCY):
        self.currency = currency
        self.members = default_membership() if members is None else gov.check_membership(members)
        self.max_investment = case_defaults()["max_investment"] if max_investment is None else max_investment
        def percent():
            return {"readout_format": ".0%", "layout": _big(), "style": WIDE_LABEL}

        self.patronage = w.FloatSlider(value=0.6, min=0, max=1, step=0.05, description="Patronage refunds",
                                       **percent())
        self.capital = w.FloatSlider(value=0.1, min=0, max=1, step=0.05, description="Returns on capital",
                                     **percent())
        self.surplus = w.FloatText(value=surplus, description=f"Surplus ({currency})", layout=_big(), style=WIDE_LABEL)
        self.side_premium = w.FloatSlider(value=300, min=0, max=1000, step=25,
                                          description="Trader's cash premium per unit", layout=_big(),
                                          style=WIDE_LABEL)
        self.committed = w.FloatSlider(value=0.5, min=0, max=1, step=0.05, description="Delivered whatever happens",
                                       **percent())
        self.outside_rate = w.FloatSlider(value=0.1, min=0.01, max=0.5, step=0.01,
                                          description="Return on capital elsewhere", **percent())
        self.reserve_weight = w.FloatSlider(value=0.5, min=0, max=1, step=0.05,
                                            description=f"Value of 1 {currency} of reserves", layout=_big(),
                                            style=WIDE_LABEL)
        self.outside_option = w.FloatSlider(value=5_000, min=0, max=30_000, step=500,
                                            description=f"Outside option ({currency})", layout=_big(), style=WIDE_LABEL)
        self.controls = (self.patronage, self.capital, self.surplus, self.side_premium, self.committed,
                         self.outside_rate, self.reserve_weight, self.outside_option)
        self.message = _error_box()
        self.summary = w.HTML()
        self.summary.add_class("surplus-summary")
        self.image = _image()
        for control in self.controls:
            control.observe(lambda _: self.update(), names="value")
        super().__init__([w.HTML(f"<i>{ILLUSTRATIVE}</i>"), *self.controls, self.message, self.summary,
                          self.image])
        self.update()

    def current_params(self) -> gov.SurplusParams:
        return gov.SurplusParams(
            surplus=self.surplus.value, max_investment=self.max_investment,
            sharing=gov.SharingRule.rest_to_reserve(self.patronage.value, self.capital.value),
            side_premium=self.side_premium.value, committed_share=self.committed.value,
            outside_rate=self.outside_rate.value, reserve_weight=self.reserve_weight.value,
            outside_option=self.outside_option.value)

    def update(self) -> None:
        try:
            params = self.current_params()
            outcome = gov.share_surplus(self.members, params)
        except ValueError as exc:
            _show_error(self.message, exc)
            return
        self.message.value = ""
        self.outcome = outcome
        leaving = [self.members[i].name for i in outcome.leavers]
        leave_text = (f"{len(leaving)} would leave: {html.escape(', '.join(leaving))}." if leaving
                      else "Nobody would leave.")
        self.summary.value = (
            "<div style='font-size:1.1em'>"
            f"Reserves get {params.sharing.reserve:.0%} ({_money(outcome.to_reserves)} {self.currency}).<br>"
            f"Refund per unit delivered: <b>{outcome.refund_per_unit:,.0f} {self.currency}</b> against the trader's "
            f"{params.side_premium:,.0f}: members deliver <b>{outcome.delivered_share:.0%}</b> of their harvest.<br>"
            f"Return on capital: <b>{outcome.return_on_capital:.1%}</b> against {params.outside_rate:.0%} "
            f"elsewhere: capital next year is <b>{outcome.capital_ratio:.0%}</b> of this year's.<br>"
            f"Deliveries next year: <b>{outcome.deliveries_ratio:.0%}</b> of this year's. {leave_text}</div>")
        self.image.value = surplus_chart(self.members, outcome, params, self.currency)


# ---------------------------------------------------------------------------------------
# The manager as agent
# ---------------------------------------------------------------------------------------

def agency_chart(params: gov.AgencyParams, level: float, currency: str = CURRENCY) -> bytes:
    curves = gov.agency_costs(params)
    best = gov.best_audit_level(params)
    with figure(8, 4.2) as (fig, ax):
        ax.plot(curves["level"], curves["expected_loss"], color=VERMILLION, label="expected loss to self-dealing")
        ax.plot(curves["level"], curves["audit_cost"], color=BLUE, label="audit cost")
        ax.plot(curves["level"], curves["total"], color="black", label="members lose in all")
        ax.axvline(level, color=ORANGE, linewidth=2, label="your audit level")
        ax.axvline(best, color=GREEN, linestyle="--", linewidth=2, label="cheapest level")
        ax.set_xlabel("audit level (share of the manager's dealings checked)")
        ax.set_ylabel(f"{currency} a year")
        ax.set_ylim(bottom=0)
        _thousands(ax.yaxis)
        fig.legend(fontsize=10, frameon=False, loc="outside lower center", ncols=3)
        return png_bytes(fig)


class AgencyExplorer(w.VBox):
    """How much to audit the manager: expected loss to self-dealing against the cost of checking."""

    def __init__(self, at_stake: float = 300_000, base_chance: float = 0.3, recovery: float = 0.5,
                 full_audit_cost: float = 60_000, members: int | None = None, level: float = 0.2,
                 currency: str = CURRENCY):
        self.currency = currency
        members = case_defaults()["members"] if members is None else members
        def style():
            return {"layout": _big(), "style": WIDE_LABEL}

        self.at_stake = w.IntSlider(value=at_stake, min=0, max=2_000_000, step=10_000,
                                    description=f"Money he could take ({currency})", **style())
        self.base_chance = w.FloatSlider(value=base_chance, min=0, max=1, step=0.05,
                                         description="Chance he takes it unchecked", readout_format=".0%", **style())
        self.recovery = w.FloatSlider(value=recovery, min=0, max=1, step=0.05,
                                      description="Share recovered when found", readout_format=".0%", **style())
        self.full_audit_cost = w.IntSlider(value=full_audit_cost, min=0, max=500_000, step=5_000,
                                           description="Cost of checking everything", **style())
        self.members = w.IntSlider(value=members, min=1, max=500, description="Members", **style())
        self.level = w.FloatSlider(value=level, min=0, max=1, step=0.05, description="Audit level",
                                   readout_format=".0%", **style())
        self.controls = (self.at_stake, self.base_chance, self.recovery, self.full_audit_cost, self.members,
                         self.level)
        self.message = _error_box()
        self.summary = w.HTML()
        self.summary.add_class("agency-summary")
        self.image = _image()
        for control in self.controls:
            control.observe(lambda _: self.update(), names="value")
        super().__init__([*self.controls, self.message, self.summary, self.image])
        self.update()

    def current_params(self) -> gov.AgencyParams:
        return gov.AgencyParams(self.at_stake.value, self.base_chance.value, self.recovery.value,
                                self.full_audit_cost.value, self.members.value)

    def update(self) -> None:
        try:
            params = self.current_params()
            here = gov.agency_outcome(params, self.level.value)
            best = gov.agency_outcome(params, gov.best_audit_level(params))
        except ValueError as exc:
            _show_error(self.message, exc)
            return
        self.message.value = ""
        self.summary.value = (
            "<div style='font-size:1.1em'>"
            f"Checking {here.level:.0%} of his dealings: the chance he helps himself is {here.chance:.0%}, "
            f"the expected loss {_money(here.expected_loss)} {self.currency} and the audits cost {_money(here.audit_cost)}: "
            f"<b>{_money(here.total)} {self.currency} a year, {_money(here.per_member)} per member</b>.<br>"
            f"Cheapest: checking {best.level:.0%}, which costs the members {_money(best.total)} {self.currency} a year "
            f"({_money(best.per_member)} each).</div>")
        self.image.value = agency_chart(params, self.level.value, self.currency)
