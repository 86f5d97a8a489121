"""Governance: who decides in a producer association, who gains, who pays, who leaves.

The module reads top to bottom:

1. Members and proposals. Members differ in land, deliveries and capital; a proposal
   (buy land, build a plant, add a crop, sign a contract) has a cost and a benefit, each
   spread over the members in a stated way. ``net_gain`` is each member's gain from it.
2. Voting rules: one member one vote, votes by deliveries (patronage), votes by capital,
   a qualified majority, and an elected committee. ``decide`` says who wins, the tally,
   how gains and costs fall, and who would rather leave.
3. Round by round: a sequence of proposals, one per round, for solo play and for live
   workshops (``play_round``); simulated members vote by their interests.
4. Many random memberships at once (``simulate``), and the same thing as a plain loop.
5. Sharing a surplus between patronage refunds, returns on capital and reserves, and what
   each split does to delivering, investing and staying.
6. The manager as the members' agent: what auditing costs against what it saves.
7. Ostrom's eight design principles as a self-assessment.

Money is in taka (any currency works). Case figures (the largest investment a special
member may make, the committee size) are never written here: the book passes them in
from ``cases/``. The memberships and proposals made here are illustrative only.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np

from widgets.checks import number as _number, whole as _whole, choice as _choice, flag as _flag, text as _text

if TYPE_CHECKING:  # pandas is imported inside the functions that use it: the participant app stays lean
    import pandas as pd


# ---------------------------------------------------------------------------------------
# Checking inputs: every message names the parameter, the allowed range and the value.
# ---------------------------------------------------------------------------------------

def _set(instance, name: str, value) -> None:
    """Store a cleaned value on a frozen dataclass (used only inside ``__post_init__``)."""
    object.__setattr__(instance, name, value)


# ---------------------------------------------------------------------------------------
# 1. Members and proposals
# ---------------------------------------------------------------------------------------

MAX_MEMBERS = 1000
MEMBER_COLUMNS = ("name", "land", "deliveries", "capital", "special", "exit_option")


@dataclass(frozen=True)
class Member:
    """One member of the association."""

    name: str
    land: float = 0.0         # acres the member farms
    deliveries: float = 0.0   # what the member sells through the association in a season (e.g. thousand pineapples)
    capital: float = 0.0      # taka the member has invested in the association
    special: bool = False     # a special member invests capital; a general member shares in profit only
    exit_option: float = 0.0  # what leaving is worth against staying as things are (taka, zero or less):
                              # a member whose net gain from a decision falls below it would rather leave

    def __post_init__(self):
        _set(self, "name", _text(self.name, "A member's name", 40))
        who = f"{self.name}'s"
        _set(self, "land", _number(self.land, f"{who} land (acres)", 0))
        _set(self, "deliveries", _number(self.deliveries, f"{who} deliveries", 0))
        _set(self, "capital", _number(self.capital, f"{who} capital (taka)", 0))
        _set(self, "special", _flag(self.special, f"Whether {self.name} is a special member"))
        _set(self, "exit_option", _number(
            self.exit_option, f"{who} exit option (taka)", high=0,
            hint=" (the loss the member would bear before leaving, as a negative number; "
                 "a member who gained by leaving would already have left)"))

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in MEMBER_COLUMNS}

    @classmethod
    def from_dict(cls, data: Mapping) -> Member:
        return _build(cls, data, MEMBER_COLUMNS)


def _build(cls, data: Any, allowed: Sequence[str]):
    if not isinstance(data, Mapping):
        raise ValueError(f"{cls.__name__} needs a mapping of fields; got {data!r}.")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValueError(f"{cls.__name__} has no field(s) {', '.join(map(str, unknown))}; "
                         f"the fields are: {', '.join(allowed)}.")
    try:
        return cls(**data)
    except TypeError as exc:  # a required field is missing
        raise ValueError(f"{cls.__name__}: {exc}") from None


def check_membership(members: Any, *, fewest: int = 2) -> tuple[Member, ...]:
    """The membership as a tuple of ``Member``, or a ValueError (too few, duplicate names)."""
    if isinstance(members, Member) or not isinstance(members, (tuple, list)):
        raise ValueError(f"A membership must be a list of members; got {type(members).__name__}.")
    if not fewest <= len(members) <= MAX_MEMBERS:
        raise ValueError(f"A membership must have from {fewest} to {MAX_MEMBERS:,} members; got {len(members)}.")
    if not all(isinstance(m, Member) for m in members):
        raise ValueError("Every entry of a membership must be a Member.")
    doubles = sorted(name for name, count in Counter(m.name for m in members).items() if count > 1)
    if doubles:
        raise ValueError(f"Each member needs a different name; repeated: {', '.join(doubles)}.")
    return tuple(members)


def to_frame(members: Sequence[Member]) -> pd.DataFrame:
    """The membership as a table, one row per member (for the book and for trainers' edits)."""
    import pandas as pd

    members = check_membership(members, fewest=1)
    return pd.DataFrame([m.to_dict() for m in members], columns=list(MEMBER_COLUMNS))


def from_frame(frame: pd.DataFrame) -> tuple[Member, ...]:
    """A membership from a table with columns name, land, deliveries, capital (special, exit_option optional)."""
    missing = [c for c in ("name", "land", "deliveries", "capital") if c not in getattr(frame, "columns", ())]
    if missing:
        raise ValueError(f"The members table lacks the column(s): {', '.join(missing)}.")
    members = []
    for row in frame.to_dict("records"):
        data = {k: v for k, v in row.items() if k in MEMBER_COLUMNS}
        data = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in data.items()}
        members.append(Member(**data))
    return check_membership(members, fewest=1)


# How a proposal's gains and costs are spread over the members.
DELIVERIES, LAND, CAPITAL, EQUAL = "deliveries", "land", "capital", "equal"
GAIN_BASES = (DELIVERIES, LAND, CAPITAL, EQUAL)
LEVY, RESERVES = "levy", "reserves"
COST_BASES = (LEVY, CAPITAL, RESERVES)
BASIS_LABELS = {
    DELIVERIES: "in proportion to deliveries",
    LAND: "in proportion to land",
    CAPITAL: "in proportion to capital invested",
    EQUAL: "equally",
    LEVY: "by an equal levy on every member",
    RESERVES: "from the association's reserves",
}
PROPOSAL_FIELDS = ("name", "cost", "benefit", "gains_by", "costs_by", "reserve_weight", "description")


@dataclass(frozen=True)
class Proposal:
    """A decision put to the members."""

    name: str
    cost: float                  # taka, in total
    benefit: float               # taka, the total gain to the members over the years they count on
    gains_by: str = DELIVERIES   # how the benefit falls: deliveries, land, capital or equal
    costs_by: str = LEVY         # how the cost is raised: levy (equal), capital, or reserves
    reserve_weight: float = 0.5  # how much a taka taken from the reserves weighs with a member, against a
                                 # taka from their own pocket (reserves cannot be taken home, so less than 1)
    description: str = ""

    def __post_init__(self):
        _set(self, "name", _text(self.name, "A proposal's name", 60))
        _set(self, "cost", _number(self.cost, f"The cost of '{self.name}' (taka)", 0))
        _set(self, "benefit", _number(self.benefit, f"The benefit of '{self.name}' (taka)", 0))
        _choice(self.gains_by, f"How the benefit of '{self.name}' is shared", GAIN_BASES)
        _choice(self.costs_by, f"How the cost of '{self.name}' is raised", COST_BASES)
        _set(self, "reserve_weight", _number(self.reserve_weight, "The weight of a taka from the reserves", 0, 1))
        if not isinstance(self.description, str) or len(self.description) > 500:
            raise ValueError("A proposal's description must be text of at most 500 characters.")

    @property
    def felt_cost(self) -> float:
        """The cost as members feel it: a taka from the reserves counts ``reserve_weight``."""
        return self.cost * (self.reserve_weight if self.costs_by == RESERVES else 1.0)

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in PROPOSAL_FIELDS}

    @classmethod
    def from_dict(cls, data: Mapping) -> Proposal:
        return _build(cls, data, PROPOSAL_FIELDS)


@dataclass(frozen=True)
class Totals:
    """What the members hold between them: the denominators of every share."""

    members: int
    land: float
    deliveries: float
    capital: float

    @classmethod
    def of(cls, members: Sequence[Member]) -> Totals:
        return cls(len(members), sum(m.land for m in members), sum(m.deliveries for m in members),
                   sum(m.capital for m in members))


def _fraction(member: Member, basis: str, totals: Totals) -> float:
    """The member's share of whatever is spread by ``basis``."""
    if basis in (EQUAL, LEVY, RESERVES):
        return 1.0 / totals.members
    return getattr(member, basis) / getattr(totals, basis)


def net_gain(member: Member, proposal: Proposal, totals: Totals) -> float:
    """The member's gain from the proposal minus the cost that falls on them (taka).

    gain = benefit × the member's share by ``gains_by``;
    cost = cost × the member's share by ``costs_by`` (× ``reserve_weight`` from reserves).
    """
    gain = proposal.benefit * _fraction(member, proposal.gains_by, totals)
    cost = proposal.felt_cost * _fraction(member, proposal.costs_by, totals)
    return gain - cost


def _check_bases(members: Sequence[Member], proposal: Proposal, totals: Totals) -> None:
    for basis, what in ((proposal.gains_by, "shares its benefit"), (proposal.costs_by, "raises its cost")):
        if basis in (DELIVERIES, LAND, CAPITAL) and getattr(totals, basis) <= 0:
            raise ValueError(f"'{proposal.name}' {what} {BASIS_LABELS[basis]}, but no member has any {basis}.")


def example_proposals() -> tuple[Proposal, ...]:
    """Five illustrative proposals of the kind the Modhupur members discussed.

    The plans come from the case; every cost and benefit here is made up for teaching,
    sized for a membership of about twenty growers.
    """
    return (
        Proposal("Buy land in the association's name", cost=300_000, benefit=360_000, gains_by=EQUAL,
                 costs_by=CAPITAL,
                 description="The special members' capital buys land the association farms for everyone: "
                             "the investors pay, every member shares the income equally."),
        Proposal("Build a processing plant", cost=1_200_000, benefit=1_500_000, gains_by=DELIVERIES,
                 costs_by=LEVY,
                 description="Every member repays an equal part of the bank loan; the plant pays more for "
                             "each pineapple delivered, so big growers gain most."),
        Proposal("Add banana as a second crop", cost=150_000, benefit=250_000, gains_by=LAND, costs_by=LEVY,
                 description="Suckers and training paid by an equal levy; members plant banana on their own "
                             "land, so gains follow land."),
        Proposal("Sign a supermarket contract", cost=200_000, benefit=400_000, gains_by=DELIVERIES,
                 costs_by=RESERVES,
                 description="Grading, packing and certification paid from the reserves; the contract's "
                             "better price is paid on deliveries."),
        Proposal("Add papaya", cost=100_000, benefit=90_000, gains_by=EQUAL, costs_by=LEVY,
                 description="A small demonstration plot run by the association: a fashionable idea that "
                             "costs more than it brings."),
    )


# ---------------------------------------------------------------------------------------
# 2. Voting rules
# ---------------------------------------------------------------------------------------

ONE_MEMBER_ONE_VOTE, PATRONAGE, BY_CAPITAL, QUALIFIED, COMMITTEE = (
    "one member one vote", "patronage", "capital", "qualified majority", "committee")
RULES = (ONE_MEMBER_ONE_VOTE, PATRONAGE, BY_CAPITAL, QUALIFIED, COMMITTEE)
RULE_LABELS = {
    ONE_MEMBER_ONE_VOTE: "One member, one vote",
    PATRONAGE: "Votes by deliveries",
    BY_CAPITAL: "Votes by capital",
    QUALIFIED: "Qualified majority",
    COMMITTEE: "Elected committee",
}
COMMITTEE_BASES = (DELIVERIES, LAND, CAPITAL)
RULE_FIELDS = ("kind", "threshold", "committee_size", "committee_by")


@dataclass(frozen=True)
class VotingRule:
    """How votes are weighed and how many are needed.

    Simple-majority rules pass a proposal when more weight votes for than against (a tie
    fails). A qualified majority needs at least ``threshold`` of all members. Under
    ``committee`` the members elect ``committee_size`` of themselves, the ones with the most
    ``committee_by`` (deliveries by default: members pick the growers who sell most and
    know the market; ties go to the member listed first), and the committee decides by
    simple majority, one vote each.
    """

    kind: str = ONE_MEMBER_ONE_VOTE
    threshold: float = 2 / 3        # qualified majority only: share of all members needed
    committee_size: int = 5         # committee only
    committee_by: str = DELIVERIES  # committee only: what members elect by

    def __post_init__(self):
        _choice(self.kind, "The voting rule", RULES)
        _set(self, "threshold", _number(self.threshold, "The qualified-majority threshold", 0.5, 1, low_open=True,
                                        hint=" (2/3 for a two-thirds majority)"))
        _set(self, "committee_size", _whole(self.committee_size, "The committee size", 1, MAX_MEMBERS))
        _choice(self.committee_by, "What members elect the committee by", COMMITTEE_BASES)

    @property
    def label(self) -> str:
        if self.kind == QUALIFIED:
            return f"{RULE_LABELS[QUALIFIED]} ({self.threshold:.0%})"
        if self.kind == COMMITTEE:
            return f"{RULE_LABELS[COMMITTEE]} of {self.committee_size}"
        return RULE_LABELS[self.kind]

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in RULE_FIELDS}

    @classmethod
    def from_dict(cls, data: Mapping) -> VotingRule:
        return _build(cls, data, RULE_FIELDS)


def all_rules(threshold: float = 2 / 3, committee_size: int = 5, committee_by: str = DELIVERIES
              ) -> tuple[VotingRule, ...]:
    """One ``VotingRule`` of each kind, sharing the qualified threshold and committee settings."""
    return tuple(VotingRule(kind, threshold, committee_size, committee_by) for kind in RULES)


def elect_committee(members: Sequence[Member], size: int, by: str = DELIVERIES) -> tuple[int, ...]:
    """Seats (0-based) of the ``size`` members with the most ``by``; ties go to the one listed first."""
    order = sorted(range(len(members)), key=lambda seat: (-getattr(members[seat], by), seat))
    return tuple(sorted(order[:size]))


def voting_weights(members: Sequence[Member], rule: VotingRule) -> tuple[float, ...]:
    """Each member's weight in the vote under ``rule``."""
    if rule.kind in (ONE_MEMBER_ONE_VOTE, QUALIFIED):
        return tuple(1.0 for _ in members)
    if rule.kind == PATRONAGE:
        return tuple(m.deliveries for m in members)
    if rule.kind == BY_CAPITAL:
        return tuple(m.capital for m in members)
    seats = set(elect_committee(members, rule.committee_size, rule.committee_by))
    return tuple(1.0 if seat in seats else 0.0 for seat in range(len(members)))


def sincere_vote(gain: float) -> bool:
    """A member votes yes only when the proposal leaves them better off (no change: no)."""
    return gain > 0


@dataclass(frozen=True)
class Tally:
    yes: float     # weight voting for
    no: float      # weight voting against
    passed: bool

    @property
    def total(self) -> float:
        return self.yes + self.no


def count_votes(weights: Sequence[float], votes: Sequence[bool], rule: VotingRule) -> Tally:
    """Add up the weight for and against and apply the rule's majority."""
    yes = sum(w for w, v in zip(weights, votes) if v)
    no = sum(w for w, v in zip(weights, votes) if not v)
    return Tally(yes, no, _passes(yes, no, rule))


def _passes(yes, no, rule: VotingRule):
    """Works on numbers and on numpy arrays alike, so the loop and the batch agree."""
    if rule.kind == QUALIFIED:
        total = yes + no
        return yes >= rule.threshold * total - 1e-9 * total  # 4 of 6 is two thirds despite rounding
    return yes > no


@dataclass(frozen=True)
class Decision:
    """The outcome of one proposal under one rule; per-member tuples follow ``seats``."""

    proposal: str
    rule: str                       # the rule's label
    passed: bool
    yes_weight: float
    no_weight: float
    seats: tuple[int, ...]          # which members of the full list these rows are
    votes: tuple[bool, ...]
    weights: tuple[float, ...]      # each member's weight in the vote (0 off the committee or without capital)
    gains: tuple[float, ...]        # each member's share of the benefit (taka)
    costs: tuple[float, ...]        # the cost each member bears, as felt (taka)
    net_gains: tuple[float, ...]    # gains - costs, if the proposal is adopted
    leave_if_adopted: tuple[bool, ...]  # net gain below the member's exit option
    committee: tuple[int, ...] = () # seats on the committee (committee rule only)

    @property
    def total_weight(self) -> float:
        return self.yes_weight + self.no_weight

    @property
    def leavers(self) -> tuple[int, ...]:
        """Seats of members who would rather leave now that the decision is made."""
        if not self.passed:
            return ()
        return tuple(seat for seat, leave in zip(self.seats, self.leave_if_adopted) if leave)

    @property
    def winners(self) -> tuple[int, ...]:
        """Seats of members who gain if the proposal is adopted."""
        return tuple(seat for seat, gain in zip(self.seats, self.net_gains) if gain > 0)

    def to_dict(self) -> dict:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def _clean_votes(votes: Any, count: int) -> tuple[bool, ...]:
    if not isinstance(votes, (tuple, list)) or len(votes) != count:
        raise ValueError(f"Give one vote per member ({count}); got {votes!r}.")
    cleaned = []
    for vote in votes:
        if isinstance(vote, (bool, np.bool_)):
            cleaned.append(bool(vote))
        else:
            cleaned.append(validate_vote(vote) == YES)
    return tuple(cleaned)


def decide(members: Sequence[Member], proposal: Proposal, rule: VotingRule,
           votes: Sequence[bool | str] | None = None, *, seats: Sequence[int] | None = None) -> Decision:
    """Put ``proposal`` to ``members`` under ``rule``.

    Without ``votes`` every member votes sincerely by their net gain; with ``votes`` (one
    per member: True/False or "yes"/"no") those votes are counted instead.
    """
    members = check_membership(members, fewest=1)
    if not isinstance(proposal, Proposal):
        raise ValueError("The proposal must be a Proposal.")
    if not isinstance(rule, VotingRule):
        raise ValueError("The voting rule must be a VotingRule.")
    totals = Totals.of(members)
    _check_bases(members, proposal, totals)
    if rule.kind == COMMITTEE and rule.committee_size > len(members):
        raise ValueError(f"The committee size must be a whole number from 1 to the number of members "
                         f"({len(members)}); got {rule.committee_size}.")
    weights = voting_weights(members, rule)
    if sum(weights) <= 0:
        basis = "deliveries" if rule.kind == PATRONAGE else "capital"
        raise ValueError(f"Nobody can vote {RULE_LABELS[rule.kind].lower()}: no member has any {basis}.")
    gains = tuple(proposal.benefit * _fraction(m, proposal.gains_by, totals) for m in members)
    costs = tuple(proposal.felt_cost * _fraction(m, proposal.costs_by, totals) for m in members)
    nets = tuple(net_gain(m, proposal, totals) for m in members)
    cast = tuple(sincere_vote(g) for g in nets) if votes is None else _clean_votes(votes, len(members))
    tally = count_votes(weights, cast, rule)
    committee = elect_committee(members, rule.committee_size, rule.committee_by) if rule.kind == COMMITTEE else ()
    seats = tuple(range(len(members))) if seats is None else tuple(seats)
    if len(seats) != len(members):
        raise ValueError(f"Give one seat number per member ({len(members)}); got {len(seats)}.")
    return Decision(
        proposal=proposal.name, rule=rule.label, passed=bool(tally.passed),
        yes_weight=tally.yes, no_weight=tally.no, seats=seats, votes=cast, weights=weights,
        gains=gains, costs=costs, net_gains=nets,
        leave_if_adopted=tuple(g < m.exit_option for g, m in zip(nets, members)),
        committee=tuple(seats[i] for i in committee),
    )


def compare_rules(members: Sequence[Member], proposal: Proposal,
                  rules: Iterable[VotingRule] | None = None) -> dict[str, Decision]:
    """The same proposal under each rule, by the rule's label."""
    rules = all_rules() if rules is None else tuple(rules)
    return {rule.label: decide(members, proposal, rule) for rule in rules}


# ---------------------------------------------------------------------------------------
# 3. Round by round: one proposal per round
# ---------------------------------------------------------------------------------------

YES, NO = "yes", "no"


def validate_vote(value: Any) -> str:
    """"yes" or "no" (any case, spaces trimmed); anything else is an error."""
    if isinstance(value, str) and value.strip().lower() in (YES, NO):
        return value.strip().lower()
    raise ValueError(f'A vote must be "yes" or "no"; got {value!r}.')


PARAM_FIELDS = ("members", "proposals", "rule", "exits")


@dataclass(frozen=True)
class GameParams:
    """A meeting: the members, the proposals in the order they come up, and the rule.

    With ``exits`` on, members whose net gain from an adopted proposal falls below their
    exit option leave: they no longer vote, gain or pay in later rounds.
    """

    members: tuple[Member, ...]
    proposals: tuple[Proposal, ...]
    rule: VotingRule = field(default_factory=VotingRule)
    exits: bool = False

    def __post_init__(self):
        _set(self, "members", check_membership(self.members))
        if not isinstance(self.proposals, (tuple, list)) or not 1 <= len(self.proposals) <= 50 \
                or not all(isinstance(p, Proposal) for p in self.proposals):
            raise ValueError("The proposals must be a list of 1 to 50 Proposal entries, one per round.")
        _set(self, "proposals", tuple(self.proposals))
        if not isinstance(self.rule, VotingRule):
            raise ValueError("The voting rule must be a VotingRule.")
        _flag(self.exits, "Exits")
        for proposal in self.proposals:  # catches a rule or proposal the membership cannot use
            decide(self.members, proposal, self.rule)

    @property
    def rounds(self) -> int:
        return len(self.proposals)

    def to_dict(self) -> dict:
        return {"members": [m.to_dict() for m in self.members],
                "proposals": [p.to_dict() for p in self.proposals],
                "rule": self.rule.to_dict(), "exits": self.exits}

    @classmethod
    def from_dict(cls, data: Mapping) -> GameParams:
        data = _mapping(data, PARAM_FIELDS, "GameParams")
        if not {"members", "proposals"} <= set(data):
            raise ValueError("Game parameters need at least 'members' and 'proposals'.")
        return cls(members=tuple(Member.from_dict(m) for m in data["members"]),
                   proposals=tuple(Proposal.from_dict(p) for p in data["proposals"]),
                   rule=VotingRule.from_dict(data.get("rule", {})),
                   exits=data.get("exits", False))


@dataclass(frozen=True)
class GameState:
    round: int                   # rounds played so far (the next proposal's index)
    active: tuple[bool, ...]     # who is still a member
    payoffs: tuple[float, ...]   # each member's net gain so far from the proposals adopted
    passed: tuple[bool, ...] = ()  # each round's outcome so far

    def __post_init__(self):
        _whole(self.round, "The round", 0, 50)
        if len(self.active) != len(self.payoffs) or len(self.passed) != self.round:
            raise ValueError("A game state needs one entry per member in 'active' and 'payoffs', "
                             "and one per round played in 'passed'.")
        _set(self, "active", tuple(_flag(a, "Whether a member is still in") for a in self.active))
        _set(self, "payoffs", tuple(_number(p, "A member's payoff") for p in self.payoffs))
        _set(self, "passed", tuple(_flag(p, "A round's outcome") for p in self.passed))

    def to_dict(self) -> dict:
        return {"round": self.round, "active": list(self.active), "payoffs": list(self.payoffs),
                "passed": list(self.passed)}

    @classmethod
    def from_dict(cls, data: Mapping) -> GameState:
        data = _mapping(data, ("round", "active", "payoffs", "passed"), "GameState")
        return cls(round=data["round"], active=tuple(data["active"]), payoffs=tuple(data["payoffs"]),
                   passed=tuple(data.get("passed", ())))


def _mapping(data: Any, allowed: Sequence[str], what: str) -> Mapping:
    if not isinstance(data, Mapping) or set(data) - set(allowed):
        raise ValueError(f"{what} needs a mapping with the fields {', '.join(allowed)}; got {data!r}.")
    return data


RESULT_FIELDS = ("round", "proposal", "passed", "yes_weight", "no_weight", "votes", "weights",
                 "net_gains", "leavers", "committee", "deciders")


@dataclass(frozen=True)
class RoundResult:
    """One round's outcome, for every seat (None/0 for members who have left)."""

    round: int
    proposal: str
    passed: bool
    yes_weight: float
    no_weight: float
    votes: tuple[str | None, ...]   # "yes"/"no" per seat, None for members who have left
    weights: tuple[float, ...]      # each seat's weight in the vote
    net_gains: tuple[float, ...]    # what each seat gained this round (0 if rejected)
    leavers: tuple[int, ...]        # seats that would rather leave after this decision
    committee: tuple[int, ...] = ()
    deciders: tuple[int, ...] = ()  # seats whose votes were given (people), the rest were simulated

    @property
    def total_weight(self) -> float:
        return self.yes_weight + self.no_weight

    def to_dict(self) -> dict:
        data = {name: getattr(self, name) for name in RESULT_FIELDS}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_dict(cls, data: Mapping) -> RoundResult:
        data = _mapping(data, RESULT_FIELDS, "RoundResult")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def initial_state(params: GameParams) -> GameState:
    n = len(params.members)
    return GameState(0, (True,) * n, (0.0,) * n)


def _check_state(params: GameParams, state: Any) -> GameState:
    if not isinstance(state, GameState) or len(state.active) != len(params.members):
        raise ValueError("The game state does not belong to this membership; start from initial_state(params).")
    if state.round >= params.rounds:
        raise ValueError(f"All {params.rounds} proposals have been voted on; the meeting is over.")
    if not any(state.active):
        raise ValueError("Every member has left; there is nobody to vote.")
    return state


def check_seat(params: GameParams, key: Any) -> int:
    """A seat number (0-based; digits in a string are fine, as JSON keys come back), or a ValueError."""
    if isinstance(key, str) and key.strip().isdigit():
        key = int(key)
    return _whole(key, "A seat number", 0, len(params.members) - 1)


def preview_round(params: GameParams, state: GameState) -> Decision:
    """The coming proposal put to the members still in, all voting sincerely.

    Its rows follow ``Decision.seats``: the learner can see their own net gain before voting.
    """
    state = _check_state(params, state)
    seats = tuple(s for s, a in enumerate(state.active) if a)
    members = tuple(params.members[s] for s in seats)
    rule = params.rule
    if rule.kind == COMMITTEE and rule.committee_size > len(members):
        rule = replace(rule, committee_size=len(members))  # fewer members than seats: all of them sit
    return decide(members, params.proposals[state.round], rule, seats=seats)


def bot_decisions(params: GameParams, state: GameState, rng: np.random.Generator, *,
                  seats: Iterable[int] | None = None, tremble: float = 0.0) -> dict[int, str]:
    """Votes of simulated members for the coming round.

    Bots vote by their interest in this proposal (the history does not sway them); with
    probability ``tremble`` a bot votes the other way, as people sometimes do.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError("Simulated members need a numpy Generator (np.random.default_rng(seed)).")
    tremble = _number(tremble, "The chance of a mistaken vote", 0, 1)
    preview = preview_round(params, state)
    wanted = set(preview.seats) if seats is None else {check_seat(params, s) for s in seats}
    flips = rng.random(len(preview.seats)) < tremble
    return {seat: (YES if vote != flip else NO)
            for seat, vote, flip in zip(preview.seats, preview.votes, flips) if seat in wanted}


def validate_decision(params: GameParams, value: Any) -> str:
    """A vote, "yes" or "no"."""
    return validate_vote(value)


def play_round(params: GameParams, state: GameState,
               decisions: Mapping[int | str, str]) -> tuple[RoundResult, GameState]:
    """Vote on the current proposal. ``decisions`` maps seats (0-based) to "yes"/"no".

    Seats left out vote sincerely by their interest. Nothing changes on an error.
    """
    preview = preview_round(params, state)
    if not isinstance(decisions, Mapping):
        raise ValueError(f"Decisions must map seat numbers to votes; got {decisions!r}.")
    given: dict[int, str] = {}
    for key, value in decisions.items():
        seat = check_seat(params, key)
        if not state.active[seat]:
            raise ValueError(f"Seat {seat} ({params.members[seat].name}) has left the association and cannot vote.")
        if seat in given:
            raise ValueError(f"Seat {seat} voted twice.")
        given[seat] = validate_decision(params, value)
    votes = tuple((given[s] == YES) if s in given else v for s, v in zip(preview.seats, preview.votes))
    members = tuple(params.members[s] for s in preview.seats)
    rule = params.rule
    if rule.kind == COMMITTEE:
        rule = replace(rule, committee_size=min(rule.committee_size, len(members)))
    decision = decide(members, params.proposals[state.round], rule, votes, seats=preview.seats)

    n = len(params.members)
    vote_by_seat: list[str | None] = [None] * n
    weight_by_seat, gain_by_seat = [0.0] * n, [0.0] * n
    for seat, vote, weight, gain in zip(decision.seats, decision.votes, decision.weights, decision.net_gains):
        vote_by_seat[seat] = YES if vote else NO
        weight_by_seat[seat] = weight
        gain_by_seat[seat] = gain if decision.passed else 0.0
    leavers = decision.leavers
    active = list(state.active)
    if params.exits:
        for seat in leavers:
            active[seat] = False
    result = RoundResult(state.round, decision.proposal, decision.passed, decision.yes_weight, decision.no_weight,
                         tuple(vote_by_seat), tuple(weight_by_seat), tuple(gain_by_seat), leavers,
                         decision.committee, tuple(sorted(given)))
    new_state = GameState(state.round + 1, tuple(active),
                          tuple(p + g for p, g in zip(state.payoffs, gain_by_seat)),
                          state.passed + (decision.passed,))
    return result, new_state


def play_game(params: GameParams, votes_by_round: Sequence[Mapping[int | str, str]] | None = None
              ) -> tuple[list[RoundResult], GameState]:
    """Every round in turn; ``votes_by_round`` gives the people's votes (simulated members fill the rest)."""
    state = initial_state(params)
    results = []
    for index in range(params.rounds):
        decisions = votes_by_round[index] if votes_by_round is not None and index < len(votes_by_round) else {}
        result, state = play_round(params, state, decisions)
        results.append(result)
    return results, state


# ---------------------------------------------------------------------------------------
# 4. Many random memberships at once
# ---------------------------------------------------------------------------------------
# Illustrative memberships: the sources give the size of the core group, the committee
# and the largest investment, but not each member's land or deliveries. Land is drawn
# from a log-normal spread around a mean; deliveries follow land with some scatter;
# general members hold a small membership share; special members invest between a share
# of the most allowed and the most allowed; each member bears a loss drawn evenly between
# nothing and twice ``exit_tolerance`` before they would rather leave.

DRAW_FIELDS = ("max_investment", "general", "special", "mean_land", "land_spread", "deliveries_per_acre",
               "delivery_spread", "general_capital", "least_investment_share", "exit_tolerance")


@dataclass(frozen=True)
class MembershipDraw:
    max_investment: float               # the most a special member invests (the book passes the case figure)
    general: int = 15                   # general members
    special: int = 6                    # special members
    mean_land: float = 3.0              # acres per member on average (illustrative)
    land_spread: float = 0.6            # spread of log land
    deliveries_per_acre: float = 10.0   # thousand pineapples a season per acre (illustrative)
    delivery_spread: float = 0.3        # spread of log deliveries around land × deliveries per acre
    general_capital: float = 1_000.0    # a general member's membership share (taka, illustrative)
    least_investment_share: float = 0.2 # special members invest between this share of the most and the most
    exit_tolerance: float = 5_000.0     # the average loss a member bears before leaving (taka)

    def __post_init__(self):
        _set(self, "max_investment", _number(self.max_investment, "The largest investment by a special member", 0))
        _whole(self.general, "The number of general members", 0, MAX_MEMBERS)
        _whole(self.special, "The number of special members", 0, MAX_MEMBERS)
        if not 2 <= self.general + self.special <= MAX_MEMBERS:
            raise ValueError(f"A membership must have from 2 to {MAX_MEMBERS:,} members; "
                             f"got {self.general + self.special}.")
        _number(self.mean_land, "The average land per member (acres)", 0, low_open=True)
        _number(self.land_spread, "The spread of land", 0, 3)
        _number(self.deliveries_per_acre, "Deliveries per acre", 0, low_open=True)
        _number(self.delivery_spread, "The spread of deliveries", 0, 3)
        _number(self.general_capital, "A general member's capital (taka)", 0)
        _number(self.least_investment_share, "The least investment as a share of the most", 0, 1)
        _number(self.exit_tolerance, "The exit tolerance (taka)", 0)

    @property
    def size(self) -> int:
        return self.general + self.special

    def names(self) -> tuple[str, ...]:
        return tuple(f"G{i + 1}" for i in range(self.general)) + tuple(f"S{i + 1}" for i in range(self.special))


def draw_memberships(draw: MembershipDraw, n_games: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Arrays of shape (n_games, members): land, deliveries, capital, special, exit_option."""
    shape = (n_games, draw.size)
    normals = rng.standard_normal((2, *shape))
    uniforms = rng.random((2, *shape))
    land = draw.mean_land * np.exp(draw.land_spread * normals[0] - draw.land_spread ** 2 / 2)
    deliveries = land * draw.deliveries_per_acre * np.exp(draw.delivery_spread * normals[1]
                                                          - draw.delivery_spread ** 2 / 2)
    special = np.zeros(shape, dtype=bool)
    special[:, draw.general:] = True
    invested = draw.max_investment * (draw.least_investment_share + (1 - draw.least_investment_share) * uniforms[0])
    capital = np.where(special, invested, draw.general_capital)
    exit_option = -2 * draw.exit_tolerance * uniforms[1]
    return {"land": land, "deliveries": deliveries, "capital": capital, "special": special,
            "exit_option": exit_option}


def _members_from_row(draw: MembershipDraw, arrays: Mapping[str, np.ndarray], game: int,
                      rounded: bool = False) -> tuple[Member, ...]:
    def number(key, seat, digits):
        value = float(arrays[key][game, seat])
        return round(value, digits) if rounded else value

    return tuple(
        Member(name, land=number("land", seat, 1), deliveries=number("deliveries", seat, 0),
               capital=number("capital", seat, -2), special=bool(arrays["special"][game, seat]),
               exit_option=min(0.0, number("exit_option", seat, -2)))
        for seat, name in enumerate(draw.names())
    )


def example_membership(general: int = 15, special: int = 6, seed: int = 0, *, max_investment: float,
                       **spread) -> tuple[Member, ...]:
    """An ILLUSTRATIVE membership: general members G1.., special members S1...

    The sources do not give any member's land, deliveries or capital; these are drawn
    (rounded for reading) from ``MembershipDraw`` so that members differ as they would in
    practice. ``max_investment`` is the most a special member invests: pass the case figure.
    """
    draw = MembershipDraw(max_investment, general, special, **spread)
    arrays = draw_memberships(draw, 1, np.random.default_rng(seed))
    return _members_from_row(draw, arrays, 0, rounded=True)


SIM_FIELDS = ("membership", "proposal", "rules")


@dataclass(frozen=True)
class SimulationParams:
    membership: MembershipDraw
    proposal: Proposal
    rules: tuple[VotingRule, ...] = field(default_factory=all_rules)

    def __post_init__(self):
        if not isinstance(self.membership, MembershipDraw) or not isinstance(self.proposal, Proposal):
            raise ValueError("Simulation parameters need a MembershipDraw and a Proposal.")
        if not isinstance(self.rules, (tuple, list)) or not self.rules \
                or not all(isinstance(r, VotingRule) for r in self.rules):
            raise ValueError("The rules must be a non-empty list of VotingRule.")
        _set(self, "rules", tuple(self.rules))
        draw = self.membership
        no_capital = draw.general_capital == 0 and (draw.special == 0 or draw.max_investment == 0)
        uses_capital = CAPITAL in (self.proposal.gains_by, self.proposal.costs_by) or any(
            r.kind == BY_CAPITAL or (r.kind == COMMITTEE and r.committee_by == CAPITAL) for r in self.rules)
        if no_capital and uses_capital:
            raise ValueError("The proposal or a rule goes by capital, but the memberships drawn hold none.")
        for rule in self.rules:
            if rule.kind == COMMITTEE and rule.committee_size > draw.size:
                raise ValueError(f"The committee size must be a whole number from 1 to the number of members "
                                 f"({draw.size}); got {rule.committee_size}.")


@dataclass(frozen=True, eq=False)
class SimulationResult:
    rules: tuple[str, ...]       # rule labels, the columns of the arrays below
    passed: np.ndarray           # (games, rules) bool
    yes_weight: np.ndarray       # (games, rules)
    no_weight: np.ndarray        # (games, rules)
    net_gains: np.ndarray        # (games, members) if adopted
    leave_if_adopted: np.ndarray # (games, members) bool

    def summary(self) -> dict[str, float]:
        """Share of memberships in which the proposal passes, under each rule; and who gains."""
        out = {f"passes: {label}": float(self.passed[:, j].mean()) for j, label in enumerate(self.rules)}
        out["share of members who gain"] = float((self.net_gains > 0).mean())
        out["share who would leave if adopted"] = float(self.leave_if_adopted.mean())
        return out


def _check_batch(params: Any, n_games: Any) -> int:
    if not isinstance(params, SimulationParams):
        raise ValueError("The parameters must be SimulationParams.")
    return _whole(n_games, "The number of games", 1, 1_000_000)


def _batch_fraction(arrays: Mapping[str, np.ndarray], basis: str, n: int) -> np.ndarray:
    if basis in (EQUAL, LEVY, RESERVES):
        return np.full_like(arrays["land"], 1.0 / n)
    values = arrays[basis]
    return values / values.sum(axis=1, keepdims=True)


def _batch_weights(arrays: Mapping[str, np.ndarray], rule: VotingRule) -> np.ndarray:
    if rule.kind in (ONE_MEMBER_ONE_VOTE, QUALIFIED):
        return np.ones_like(arrays["land"])
    if rule.kind == PATRONAGE:
        return arrays["deliveries"]
    if rule.kind == BY_CAPITAL:
        return arrays["capital"]
    # Stable sort on the negated basis: the largest first, ties to the seat listed first.
    order = np.argsort(-arrays[rule.committee_by], axis=1, kind="stable")[:, :rule.committee_size]
    weights = np.zeros_like(arrays["land"])
    np.put_along_axis(weights, order, 1.0, axis=1)
    return weights


def simulate(params: SimulationParams, n_games: int, seed: int | None = None) -> SimulationResult:
    """The proposal put to ``n_games`` random memberships under every rule, with numpy."""
    n_games = _check_batch(params, n_games)
    arrays = draw_memberships(params.membership, n_games, np.random.default_rng(seed))
    n, proposal = params.membership.size, params.proposal
    nets = (proposal.benefit * _batch_fraction(arrays, proposal.gains_by, n)
            - proposal.felt_cost * _batch_fraction(arrays, proposal.costs_by, n))
    votes = nets > 0
    yes, no, passed = [], [], []
    for rule in params.rules:
        weights = _batch_weights(arrays, rule)
        y = np.where(votes, weights, 0.0).sum(axis=1)
        x = np.where(votes, 0.0, weights).sum(axis=1)
        yes.append(y)
        no.append(x)
        passed.append(_passes(y, x, rule))
    return SimulationResult(tuple(r.label for r in params.rules), np.column_stack(passed), np.column_stack(yes),
                            np.column_stack(no), nets, nets < arrays["exit_option"])


def simulate_loop(params: SimulationParams, n_games: int, seed: int | None = None) -> SimulationResult:
    """The same memberships and votes one game at a time through ``decide``, in plain Python."""
    n_games = _check_batch(params, n_games)
    arrays = draw_memberships(params.membership, n_games, np.random.default_rng(seed))
    passed, yes, no, nets, leave = [], [], [], [], []
    for game in range(n_games):
        members = _members_from_row(params.membership, arrays, game)
        decisions = [decide(members, params.proposal, rule) for rule in params.rules]
        passed.append([d.passed for d in decisions])
        yes.append([d.yes_weight for d in decisions])
        no.append([d.no_weight for d in decisions])
        nets.append(decisions[0].net_gains)
        leave.append(decisions[0].leave_if_adopted)
    return SimulationResult(tuple(r.label for r in params.rules), np.array(passed, dtype=bool), np.array(yes),
                            np.array(no), np.array(nets), np.array(leave, dtype=bool))


# ---------------------------------------------------------------------------------------
# 5. Sharing the surplus
# ---------------------------------------------------------------------------------------
# The year's surplus is split three ways: patronage refunds (by deliveries), returns on
# capital (by capital invested) and indivisible reserves (owned by the association; each
# member's notional slice is equal, and nobody can take it home). Members respond, each
# in one documented, simple way:
# - Delivering: a trader pays ``side_premium`` more per unit in cash now. Members deliver
#   ``committed_share`` of their harvest whatever happens, and more as the refund per unit
#   approaches the trader's premium: share = committed + (1 - committed) × refund/premium,
#   capped at all of it. (Members plan on the refund per unit paid this year.)
# - Investing: special members invest the most allowed when capital here earns at least
#   ``outside_rate``, and that fraction of the most when it earns less. General members
#   keep their membership share.
# - Staying: a member leaves when refund + return on capital + their reserve slice valued
#   at ``reserve_weight`` falls below ``outside_option``; leavers deliver nothing and take
#   their capital out. A low reserve weight stands for Cook's horizon problem (members
#   about to retire gain little from reserves); the equal slice is his free-rider
#   problem (a newcomer or a member who delivers little gets as much of it as anyone).

SHARING_FIELDS = ("patronage", "capital", "reserve")


@dataclass(frozen=True)
class SharingRule:
    """Shares of the surplus (each from 0 to 1, adding up to 1)."""

    patronage: float = 0.6
    capital: float = 0.1
    reserve: float = 0.3

    def __post_init__(self):
        for name in SHARING_FIELDS:
            _set(self, name, _number(getattr(self, name), f"The {name} share of the surplus", 0, 1,
                                     hint=" (0.6 for 60%)"))
        total = self.patronage + self.capital + self.reserve
        if abs(total - 1) > 1e-9:
            raise ValueError(f"The patronage, capital and reserve shares must add up to 100%; "
                             f"they add up to {total:.1%}.")

    @classmethod
    def rest_to_reserve(cls, patronage: float, capital: float) -> SharingRule:
        """Refund and capital shares as chosen; whatever they leave goes to the reserves."""
        patronage = _number(patronage, "The patronage share of the surplus", 0, 1, hint=" (0.6 for 60%)")
        capital = _number(capital, "The capital share of the surplus", 0, 1, hint=" (0.1 for 10%)")
        if patronage + capital > 1 + 1e-9:
            raise ValueError(f"Refunds ({patronage:.0%}) and returns on capital ({capital:.0%}) cannot take more "
                             f"than the whole surplus; together they ask for {patronage + capital:.0%}.")
        return cls(patronage, capital, max(0.0, 1 - patronage - capital))


SURPLUS_FIELDS = ("surplus", "max_investment", "sharing", "side_premium", "committed_share", "outside_rate",
                  "reserve_weight", "outside_option")


@dataclass(frozen=True)
class SurplusParams:
    surplus: float                    # taka to share out this year
    max_investment: float             # the most a special member may invest (the book passes the case figure)
    sharing: SharingRule = field(default_factory=SharingRule)
    side_premium: float = 300.0       # extra cash per unit of deliveries a trader pays on the spot (taka)
    committed_share: float = 0.5      # share of the harvest members deliver whatever the refund
    outside_rate: float = 0.1         # what capital earns elsewhere in a year (0.1 for 10%)
    reserve_weight: float = 0.5       # what a taka of a member's reserve slice is worth to them today
    outside_option: float = 0.0       # what a member earns a year by leaving (taka)

    def __post_init__(self):
        _set(self, "surplus", _number(self.surplus, "The surplus (taka)", 0))
        _set(self, "max_investment", _number(self.max_investment, "The largest investment by a special member", 0))
        if not isinstance(self.sharing, SharingRule):
            raise ValueError("The split of the surplus must be a SharingRule.")
        _number(self.side_premium, "The trader's cash premium per unit (taka)", 0)
        _number(self.committed_share, "The committed share of the harvest", 0, 1)
        _number(self.outside_rate, "The return on capital elsewhere", 0, 1, low_open=True, hint=" (0.1 for 10%)")
        _number(self.reserve_weight, "The weight of a taka of reserves", 0, 1)
        _number(self.outside_option, "The outside option (taka)", 0)


@dataclass(frozen=True)
class SurplusOutcome:
    refunds: tuple[float, ...]         # patronage refund per member (taka)
    capital_returns: tuple[float, ...] # return on capital per member (taka)
    reserve_slices: tuple[float, ...]  # each member's equal, notional slice of the reserves (taka)
    reserve_values: tuple[float, ...]  # that slice as the member values it (× reserve_weight)
    valued: tuple[float, ...]          # refund + capital return + reserve slice × reserve weight
    stays: tuple[bool, ...]
    deliveries_next: tuple[float, ...]
    capital_next: tuple[float, ...]
    refund_per_unit: float             # patronage refund per unit delivered: the marginal patronage return
    return_on_capital: float           # capital returns / capital invested
    delivered_share: float             # share of the harvest members deliver next year
    to_reserves: float
    deliveries_before: float           # this year's total deliveries
    capital_before: float              # capital invested this year

    @property
    def deliveries_ratio(self) -> float:
        """Next year's deliveries as a share of this year's (0 when nobody delivered)."""
        return sum(self.deliveries_next) / self.deliveries_before if self.deliveries_before else 0.0

    @property
    def capital_ratio(self) -> float:
        return sum(self.capital_next) / self.capital_before if self.capital_before else 0.0

    @property
    def paid_out(self) -> float:
        return sum(self.refunds) + sum(self.capital_returns)

    @property
    def leavers(self) -> tuple[int, ...]:
        return tuple(i for i, stay in enumerate(self.stays) if not stay)


def member_share(member: Member, params: SurplusParams, totals: Totals) -> tuple[float, float, float]:
    """(patronage refund, return on capital, reserve slice) for one member, in taka."""
    s = params.surplus
    # Each member's fraction first: multiplying tiny holdings before dividing loses precision.
    refund = s * params.sharing.patronage * (member.deliveries / totals.deliveries) if totals.deliveries else 0.0
    interest = s * params.sharing.capital * (member.capital / totals.capital) if totals.capital else 0.0
    return refund, interest, s * params.sharing.reserve / totals.members


def share_surplus(members: Sequence[Member], params: SurplusParams) -> SurplusOutcome:
    """Who gets what from the surplus, and who delivers, invests and stays next year."""
    members = check_membership(members, fewest=1)
    if not isinstance(params, SurplusParams):
        raise ValueError("The parameters must be SurplusParams.")
    totals = Totals.of(members)
    share = params.sharing
    if share.patronage > 0 and params.surplus > 0 and totals.deliveries <= 0:
        raise ValueError("Patronage refunds are paid on deliveries, but no member delivered anything.")
    if share.capital > 0 and params.surplus > 0 and totals.capital <= 0:
        raise ValueError("Returns on capital are paid on capital, but no member has invested any.")
    parts = [member_share(m, params, totals) for m in members]
    refunds, interest, slices = (tuple(column) for column in zip(*parts))
    reserve_values = tuple(params.reserve_weight * v for v in slices)
    valued = tuple(r + i + v for r, i, v in zip(refunds, interest, reserve_values))
    stays = tuple(v >= params.outside_option for v in valued)

    refund_per_unit = params.surplus * share.patronage / totals.deliveries if totals.deliveries else 0.0
    return_on_capital = params.surplus * share.capital / totals.capital if totals.capital else 0.0
    if params.side_premium == 0:
        delivered = 1.0  # no reason to side-sell
    else:
        delivered = min(1.0, params.committed_share + (1 - params.committed_share) * refund_per_unit
                        / params.side_premium)
    invest = params.max_investment * min(1.0, return_on_capital / params.outside_rate)
    deliveries_next = tuple(m.deliveries * delivered if stay else 0.0 for m, stay in zip(members, stays))
    capital_next = tuple((invest if m.special else m.capital) if stay else 0.0 for m, stay in zip(members, stays))
    return SurplusOutcome(refunds, interest, slices, reserve_values, valued, stays, deliveries_next, capital_next,
                          refund_per_unit, return_on_capital, delivered, params.surplus * share.reserve,
                          totals.deliveries, totals.capital)


# ---------------------------------------------------------------------------------------
# 6. The manager as the members' agent
# ---------------------------------------------------------------------------------------
# The manager (or a broker) handles the members' money and produce and could take some
# for himself. An audit level from 0 to 1 is the share of his dealings the members check.
# - chance of self-dealing = base_chance × (1 - level): the more he expects to be checked,
#   the less likely he is to try;
# - an audit finds self-dealing with probability = level, and the association gets back
#   ``recovery`` of what is found: expected loss = chance × at_stake × (1 - recovery × level);
# - auditing costs full_audit_cost × level.
# Members lose expected loss + audit cost. It is a parabola in the level, lowest at
# level* = (1 + recovery - full_audit_cost / (base_chance × at_stake)) / (2 × recovery),
# kept between 0 and 1.

AGENCY_FIELDS = ("at_stake", "base_chance", "recovery", "full_audit_cost", "members")


@dataclass(frozen=True)
class AgencyParams:
    at_stake: float         # what the manager could take for himself in a year (taka)
    base_chance: float      # chance he does so when nobody checks
    recovery: float         # share of what an audit finds that the association gets back
    full_audit_cost: float  # cost of checking all his dealings (taka)
    members: int = 1        # to show the loss per member

    def __post_init__(self):
        _number(self.at_stake, "The money at stake (taka)", 0)
        _number(self.base_chance, "The chance of self-dealing without audits", 0, 1)
        _number(self.recovery, "The share recovered", 0, 1)
        _number(self.full_audit_cost, "The cost of a full audit (taka)", 0)
        _whole(self.members, "The number of members", 1, 100_000)


@dataclass(frozen=True)
class AgencyOutcome:
    level: float
    chance: float          # chance of self-dealing
    expected_loss: float   # taka lost to self-dealing, on average
    audit_cost: float
    total: float           # expected loss + audit cost
    per_member: float


def agency_outcome(params: AgencyParams, level: float) -> AgencyOutcome:
    """What the members lose at one audit level."""
    level = _number(level, "The audit level", 0, 1, hint=" (the share of dealings checked)")
    chance = params.base_chance * (1 - level)
    loss = chance * params.at_stake * (1 - params.recovery * level)
    audit = params.full_audit_cost * level
    return AgencyOutcome(level, chance, loss, audit, loss + audit, (loss + audit) / params.members)


def agency_costs(params: AgencyParams, levels: Any = None) -> dict[str, np.ndarray]:
    """Chance, expected loss, audit cost and total for many audit levels at once (default 0 to 1 by 0.01)."""
    levels = np.linspace(0, 1, 101) if levels is None else np.asarray(levels, dtype=float)
    if levels.ndim != 1 or not np.all(np.isfinite(levels)) or np.any((levels < 0) | (levels > 1)):
        raise ValueError("Audit levels must be numbers from 0 to 1.")
    chance = params.base_chance * (1 - levels)
    loss = chance * params.at_stake * (1 - params.recovery * levels)
    audit = params.full_audit_cost * levels
    return {"level": levels, "chance": chance, "expected_loss": loss, "audit_cost": audit, "total": loss + audit}


def best_audit_level(params: AgencyParams) -> float:
    """The audit level that keeps expected loss + audit cost lowest (closed form, see above)."""
    exposure = params.base_chance * params.at_stake
    if params.recovery > 0 and exposure > 0:
        level = (1 + params.recovery - params.full_audit_cost / exposure) / (2 * params.recovery)
        return min(1.0, max(0.0, level))
    # A straight line: audit fully if checking everything costs less than what it stops.
    return 1.0 if params.full_audit_cost < exposure else 0.0


# ---------------------------------------------------------------------------------------
# 7. Ostrom's design principles as a self-assessment
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Principle:
    key: str
    name: str
    description: str
    suggestion: str


PRINCIPLES = (
    Principle("boundaries", "Clear boundaries",
              "Everyone knows who is a member and what the association owns and manages.",
              "Keep a member register with each member's land and deliveries, and a written list of what "
              "the association owns: land, stock, equipment, bank accounts."),
    Principle("congruence", "Benefits match costs",
              "What members put in matches what they get out, and the rules suit local conditions.",
              "Pay part of the surplus back on deliveries, and raise levies for a project from those who "
              "will use it, so nobody carries others' costs year after year."),
    Principle("collective_choice", "Collective choice",
              "Members affected by the rules can take part in changing them.",
              "Hold a general meeting at least once a year where any member may propose a change to the "
              "rules, and write down the decisions taken."),
    Principle("monitoring", "Accountable monitoring",
              "Those who check deliveries, quality and the books answer to the members.",
              "Have two members chosen by the general meeting check the accounts each quarter, and read "
              "their findings out at the next meeting."),
    Principle("sanctions", "Graduated sanctions",
              "Rule breakers face penalties that start small and grow if they repeat.",
              "Agree a ladder of sanctions in advance, from a warning to losing the next season's credit "
              "to exclusion, and apply it the same way to committee members."),
    Principle("conflict_resolution", "Quick local conflict resolution",
              "Disputes are settled fast and cheaply, close to home.",
              "Name two respected members, not on the committee, to hear complaints about grading, "
              "payments or prices within a week."),
    Principle("recognition", "Recognised right to organise",
              "Outside authorities accept the association's right to make its own rules.",
              "Register the association and its by-laws, and invite local officials and the bank to the "
              "annual meeting so they know who speaks for it."),
    Principle("nesting", "Nested enterprises",
              "Larger tasks are organised in layers, each with its own rules.",
              "Let each village group keep its own rules and elect a delegate to the network, which "
              "handles selling, transport and bank loans for all."),
)
PRINCIPLE_KEYS = tuple(p.key for p in PRINCIPLES)
WEAK_BELOW = 4      # ratings below this count as weak
MOST_WEAK_SHOWN = 3


@dataclass(frozen=True)
class Assessment:
    ratings: tuple[int, ...]                # one per principle, in PRINCIPLES order
    weakest: tuple[Principle, ...]          # lowest rated below WEAK_BELOW, at most MOST_WEAK_SHOWN

    @property
    def mean(self) -> float:
        return sum(self.ratings) / len(self.ratings)

    @property
    def profile(self) -> tuple[tuple[str, int], ...]:
        return tuple((p.name, r) for p, r in zip(PRINCIPLES, self.ratings))


def check_ratings(ratings: Any) -> tuple[int, ...]:
    """Eight whole numbers from 1 to 5, as a list or as a mapping from principle key."""
    if isinstance(ratings, Mapping):
        missing = [k for k in PRINCIPLE_KEYS if k not in ratings]
        unknown = [k for k in ratings if k not in PRINCIPLE_KEYS]
        if missing or unknown:
            raise ValueError(f"Rate each of the eight principles ({', '.join(PRINCIPLE_KEYS)}); "
                             f"missing: {missing or 'none'}, unknown: {unknown or 'none'}.")
        ratings = [ratings[k] for k in PRINCIPLE_KEYS]
    if isinstance(ratings, (str, bytes)) or not isinstance(ratings, (tuple, list, np.ndarray)) \
            or len(ratings) != len(PRINCIPLES):
        raise ValueError(f"Give exactly {len(PRINCIPLES)} ratings, one per principle; got {ratings!r}.")
    return tuple(_whole(r, f"The rating for '{p.name}'", 1, 5) for p, r in zip(PRINCIPLES, ratings))


def assess(ratings: Any) -> Assessment:
    """The profile and the weakest principles, lowest first (ties in the principles' order)."""
    ratings = check_ratings(ratings)
    weak = sorted((r, i) for i, r in enumerate(ratings) if r < WEAK_BELOW)
    return Assessment(ratings, tuple(PRINCIPLES[i] for _, i in weak[:MOST_WEAK_SHOWN]))
