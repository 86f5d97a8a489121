"""The exercises a live workshop can run, one small adapter per exercise family.

Every adapter answers the same questions, so the participant's and the facilitator's
screens work for all of them:

- ``settings`` and ``check_params``: the parameters, with defaults and checks (plain JSON
  is stored with the session, so every kernel rebuilds the same game);
- ``treatments``: what the facilitator may switch between rounds;
- ``new_group``: a group's state before its first round;
- ``deciders``: which seats (numbered from 1, as in the store) decide in the coming round;
- ``turn``: what a seat's phone shows: the situation and the control (a number with its
  range and step, a choice between buttons, or points to give each other member);
- ``validate`` and ``bot``: a participant's decision checked by the model, and the decision
  a simulated member makes for an empty seat;
- ``step``: one round for one group, built on the model's ``play_round``; it returns the
  group's results and its new state (both plain JSON);
- ``live`` and ``debrief``: what the projector shows while decisions arrive and after the
  rounds, beside the published pattern where one exists.

All payoff arithmetic stays in the models (``widgets.bargaining``, ``widgets.governance``,
``widgets.freeriding``). The round driver at the end (``group_states``, ``close_round``)
turns the store's decision rows into results that the facilitator's kernel records when
it closes a round, so any kernel can rebuild every group's state from the store alone.

Kept lean on purpose: no pandas, no matplotlib; participants' kernels import this module.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from widgets import bargaining, freeriding, governance

NUMBER, CHOICE, POINTS = "number", "choice", "points"


@dataclass(frozen=True)
class Control:
    """The control a phone shows for one decision.

    ``number``: a number from ``low`` to ``high`` in steps of ``step``; ``choice``: one of
    ``options`` (value sent, button text); ``points``: a whole number from 0 to ``high``
    for each of ``targets`` (seat, who that is).
    """

    kind: str
    label: str
    low: float = 0.0
    high: float = 0.0
    step: float = 1.0
    options: tuple[tuple[str, str], ...] = ()
    targets: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Turn:
    """What one seat sees before the round is closed."""

    decides: bool
    heading: str
    situation: str           # a few sentences; the participant view escapes them
    control: Control | None  # None when the seat only watches this round


@dataclass(frozen=True)
class Setting:
    """One parameter on the facilitator's form."""

    name: str
    label: str
    default: float
    low: float
    high: float
    step: float
    whole: bool = False


def _seat_number(value: Any, size: int) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= size:
        raise ValueError(f"A seat must be a whole number from 1 to {size}; got {value!r}.")
    return int(value)


def _setting_value(setting: Setting, raw: Mapping) -> float | int:
    value = raw.get(setting.name, setting.default)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or not setting.low <= value <= setting.high or (setting.whole and value != int(value)):
        kind = "a whole number" if setting.whole else "a number"
        raise ValueError(f"{setting.label} must be {kind} from {setting.low:g} to {setting.high:g}; got {value!r}.")
    return int(value) if setting.whole else float(value)


def _who(seat: int, names: Mapping[int, str]) -> str:
    return names.get(seat) or f"a simulated member (seat {seat})"


class Exercise:
    """What every exercise offers the workshop screens (see the module's docstring)."""

    name = ""           # stored with the session; also the exercise's key here
    title = ""
    summary = ""        # one sentence for the facilitator's form
    treatments: tuple[str, ...] = ()
    settings: tuple[Setting, ...] = ()
    round_hint = ""     # what a round is, for the facilitator's form
    default_rounds = 5

    # --- parameters ---

    def default_params(self) -> dict:
        return {s.name: s.default for s in self.settings}

    def check_params(self, raw: Mapping) -> dict:
        """The parameters as plain JSON, every one checked; unknown names are an error.

        ``seed`` fixes the simulated members' draws so every kernel replays the same game.
        """
        if not isinstance(raw, Mapping):
            raise ValueError(f"The parameters must be a mapping from name to value; got {raw!r}.")
        known = {s.name for s in self.settings} | {"seed"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"{self.title} has no parameter(s) {', '.join(map(str, unknown))}.")
        params = {s.name: _setting_value(s, raw) for s in self.settings}
        seed = raw.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**31:
            raise ValueError(f"The seed must be a whole number from 0 to {2**31 - 1}; got {seed!r}.")
        params["seed"] = int(seed)
        self._check_model(params)
        return params

    def _check_model(self, params: dict) -> None:
        """Build the model's parameters once, so that its own checks speak."""

    def group_size(self, params: Mapping) -> int:
        raise NotImplementedError

    def max_rounds(self, params: Mapping) -> int:
        return 100

    def check_treatment(self, treatment: Any) -> str:
        if treatment not in self.treatments:
            raise ValueError(f"The treatment must be one of: {', '.join(self.treatments)}; got {treatment!r}.")
        return treatment

    # --- one group, round by round ---

    def new_group(self, params: Mapping, treatment: str, group: int) -> dict:
        raise NotImplementedError

    def begin(self, params: Mapping, treatment: str, state: Mapping) -> dict:
        """The group's state as the coming round starts (e.g. a new negotiation)."""
        return dict(state)

    def deciders(self, params: Mapping, treatment: str, state: Mapping) -> list[int]:
        raise NotImplementedError

    def turn(self, params: Mapping, treatment: str, state: Mapping, seat: int,
             names: Mapping[int, str] | None = None) -> Turn:
        raise NotImplementedError

    def validate(self, params: Mapping, treatment: str, state: Mapping, seat: int, value: Any) -> Any:
        raise NotImplementedError

    def bot(self, params: Mapping, treatment: str, state: Mapping, seat: int, rng: np.random.Generator) -> Any:
        raise NotImplementedError

    def step(self, params: Mapping, treatment: str, state: Mapping, decisions: Mapping[int, Any],
             rng: np.random.Generator) -> tuple[dict, dict]:
        raise NotImplementedError

    def _check_decisions(self, params, treatment, state, decisions) -> dict[int, Any]:
        """People's decisions by seat, each checked; only seats that decide now may send one."""
        if not isinstance(decisions, Mapping):
            raise ValueError(f"Decisions must map seats to decisions; got {decisions!r}.")
        size = self.group_size(params)
        cleaned = {}
        for key, value in decisions.items():
            seat = _seat_number(key, size)
            if seat in cleaned:
                raise ValueError(f"Seat {seat} decided twice.")
            cleaned[seat] = self.validate(params, treatment, state, seat, value)
        return cleaned

    def _not_your_turn(self, params, treatment, state, seat) -> None:
        if seat not in self.deciders(params, treatment, state):
            raise ValueError("It is not your turn to decide in this round. Please wait for the next one.")

    # --- words and pictures ---

    def describe(self, params: Mapping, entry: Mapping, seat: int, names: Mapping[int, str] | None = None) -> str:
        """A seat's own result and its group's, in a few sentences, from one round's group entry."""
        raise NotImplementedError

    def room_summary(self, params: Mapping, treatment: str, entries: Mapping[str, Mapping]) -> dict:
        """Numbers that sum the round up for the whole room (stored with the round's results)."""
        return {}

    def live(self, params: Mapping, treatment: str, states: Mapping[int, Mapping], rows: Sequence[Mapping]) -> dict:
        """What the projector shows while decisions arrive: ``numbers`` (with ``low``/``high``)
        and/or ``counts`` by label, a ``title`` and an ``axis`` label."""
        raise NotImplementedError

    def published(self) -> dict | None:
        """The published pattern the debrief compares the room with, if there is one."""
        return None

    def debrief(self, params: Mapping, rounds: Sequence[Mapping]) -> dict:
        """Text and series for the debrief from the stored results of the closed rounds.

        Returns ``{"lines": [...], "x_label", "y_label", "room": [(x, y)...],
        "published": {"label", "points"} or None}``.
        """
        raise NotImplementedError


# ---------------------------------------------------------------------------------------
# Bargaining: the growers' association and a buyer, one move per round
# ---------------------------------------------------------------------------------------

GROWERS_FIRST, BUYER_FIRST, FAST_ROT = "Growers propose first", "Buyer proposes first", "Fruit rots fast"
ROLE_OF_SEAT = {1: bargaining.ASSOCIATION, 2: bargaining.BUYER}
SEAT_OF_ROLE = {role: seat for seat, role in ROLE_OF_SEAT.items()}
ROLE_NAMES = {bargaining.ASSOCIATION: "the growers' association", bargaining.BUYER: "the buyer"}


class Bargaining(Exercise):
    """Pairs: seat 1 speaks for the growers' association, seat 2 for the buyer.

    Each round is one move: the side whose turn it is names a price, or accepts or rejects
    the price on the table. A rejection costs a day while the fruit rots. When a pair's
    negotiation ends, its next round starts a new one under the treatment then in force.
    """

    name = "bargaining"
    title = "Selling a perishable harvest"
    summary = ("Pairs negotiate a price day by day while the fruit rots: one side names a price, "
               "the other accepts or rejects it.")
    treatments = (GROWERS_FIRST, BUYER_FIRST, FAST_ROT)
    round_hint = "Each offer and each answer is one round."
    default_rounds = 8
    settings = (
        Setting("value", "Value of a unit to the buyer (the most it would pay)", 5.3, 0.1, 100_000, 0.1),
        Setting("spoilage", "Share of the fruit that rots each day", 0.1, 0.0, 0.9, 0.01),
        Setting("fast_spoilage", "Share that rots each day when the fruit rots fast", 0.3, 0.0, 0.9, 0.01),
        Setting("buyer_waiting_cost", "Buyer's loss from waiting a day (share of its margin)", 0.02, 0.001, 0.9,
                0.001),
        Setting("deadline_days", "Days before the fruit is past selling", 5, 1, 30, 1, whole=True),
    )

    def default_params(self) -> dict:
        from widgets.cases import load_case  # only on the facilitator's path

        params = super().default_params()
        params["value"] = float(load_case("modhupur").value("processor_price"))
        return params

    def negotiation(self, params: Mapping, treatment: str) -> bargaining.NegotiationParams:
        self.check_treatment(treatment)
        return bargaining.NegotiationParams(
            value=params["value"],
            spoilage=params["fast_spoilage"] if treatment == FAST_ROT else params["spoilage"],
            buyer_waiting_cost=params["buyer_waiting_cost"],
            deadline_days=params["deadline_days"],
            first_proposer=bargaining.BUYER if treatment == BUYER_FIRST else bargaining.ASSOCIATION,
        )

    def _check_model(self, params: dict) -> None:
        for treatment in self.treatments:
            self.negotiation(params, treatment)

    def group_size(self, params: Mapping) -> int:
        return 2

    def new_group(self, params: Mapping, treatment: str, group: int) -> dict:
        return {"negotiation": 0, "params": None, "state": None, "finished": []}

    def _current(self, state: Mapping):
        return (bargaining.NegotiationParams.from_dict(state["params"]),
                bargaining.NegotiationState.from_dict(state["state"]))

    def begin(self, params: Mapping, treatment: str, state: Mapping) -> dict:
        if state["state"] is not None and state["state"]["phase"] != bargaining.OVER:
            return dict(state)
        terms = self.negotiation(params, treatment)
        return {**state, "negotiation": state["negotiation"] + 1, "params": terms.to_dict(),
                "state": bargaining.initial_state(terms).to_dict(), "treatment": treatment}

    def deciders(self, params: Mapping, treatment: str, state: Mapping) -> list[int]:
        _, now = self._current(self.begin(params, treatment, state))
        return [SEAT_OF_ROLE[now.turn]]

    def turn(self, params, treatment, state, seat, names=None) -> Turn:
        state = self.begin(params, treatment, state)
        terms, now = self._current(state)
        seat = _seat_number(seat, 2)
        role = ROLE_OF_SEAT[seat]
        sound = bargaining.sound_fraction(terms, now.day)
        lines = [f"You speak for {ROLE_NAMES[role]}. Negotiation {state['negotiation']}, "
                 f"day {now.day + 1} of {terms.deadline_days}.",
                 f"A unit is worth {terms.value:,.2f} to the buyer; {sound:.0%} of the growers' fruit is still sound."]
        heading = f"Day {now.day + 1}"
        if now.turn != role:
            waiting = "an offer" if now.phase == bargaining.PROPOSE else "an answer to your offer"
            lines.append(f"Waiting for {waiting} from {ROLE_NAMES[now.turn]}.")
            return Turn(False, heading, " ".join(lines), None)
        if now.phase == bargaining.PROPOSE:
            lines.append(f"Name a price per unit, from 0 to {terms.value:,.2f}.")
            control = Control(NUMBER, "Your price per unit", 0.0, terms.value, 0.01)
            return Turn(True, heading + ": your offer", " ".join(lines), control)
        lines.append(f"{ROLE_NAMES[bargaining.other_role(role)].capitalize()} offers "
                     f"{now.offer:,.2f} per unit. Accept, or reject and name your own price tomorrow"
                     + (" (today is the last day: rejecting leaves the fruit unsold)."
                        if now.day + 1 >= terms.deadline_days else "."))
        control = Control(CHOICE, "Your answer", options=((bargaining.ACCEPT, "Accept"), (bargaining.REJECT, "Reject")))
        return Turn(True, heading + ": your answer", " ".join(lines), control)

    def validate(self, params, treatment, state, seat, value):
        state = self.begin(params, treatment, state)
        seat = _seat_number(seat, 2)
        self._not_your_turn(params, treatment, state, seat)
        terms, now = self._current(state)
        cleaned = bargaining.validate_decision(terms, value)
        bargaining.play_round(terms, now, {now.turn: cleaned})  # the model refuses a move out of place
        return cleaned

    def bot(self, params, treatment, state, seat, rng):
        state = self.begin(params, treatment, state)
        self._not_your_turn(params, treatment, state, _seat_number(seat, 2))
        terms, now = self._current(state)
        return bargaining.bot_decision(terms, now, rng, proposer="published", responder="behavioural")

    def step(self, params, treatment, state, decisions, rng):
        state = self.begin(params, treatment, state)
        given = self._check_decisions(params, treatment, state, decisions)
        terms, now = self._current(state)
        seat = SEAT_OF_ROLE[now.turn]
        simulated = [] if seat in given else [seat]
        decision = given[seat] if seat in given else self.bot(params, treatment, state, seat, rng)
        move, after = bargaining.play_round(terms, now, {now.turn: decision})
        finished = list(state["finished"])
        if after.phase == bargaining.OVER:
            ended = bargaining.outcome(terms, after)
            finished.append({"negotiation": state["negotiation"], "treatment": state["treatment"],
                             "agreed": ended.agreed, "day": ended.day, "price": ended.price,
                             "association_payoff": ended.association_payoff, "buyer_payoff": ended.buyer_payoff})
        new_state = {**state, "state": after.to_dict(), "finished": finished}
        result = {"negotiation": state["negotiation"], "move": move.to_dict(), "seat": seat,
                  "value": terms.value, "by_person": not simulated, "phase": now.phase}
        return {"result": result, "decisions": {str(k): v for k, v in given.items()},
                "simulated": simulated, "deciders": [seat]}, new_state

    def describe(self, params, entry, seat, names=None):
        result = entry["result"]
        move, value = result["move"], result["value"]
        mover = "You" if result["seat"] == seat else ROLE_NAMES[move["role"]].capitalize()
        if move["move"] == "offer":
            text = f"{mover} offered {move['price']:,.2f} per unit."
        else:
            verb = "accepted" if move["move"] == bargaining.ACCEPT else "rejected"
            text = f"{mover} {verb} {move['price']:,.2f} per unit."
        if move["outcome"] == bargaining.AGREEMENT:
            mine = move["association_payoff"] if ROLE_OF_SEAT[seat] == bargaining.ASSOCIATION else move["buyer_payoff"]
            text += (f" Deal! Your side earns {mine:,.2f} per unit the growers brought "
                     f"(the most possible is {value:,.2f}).")
        elif move["outcome"] == bargaining.ROTTED:
            text += " No deal before the deadline: the fruit is past selling and both sides earn nothing."
        return text

    def _offers(self, entries: Mapping[str, Mapping], people_only: bool = True) -> tuple[list[float], list[bool]]:
        """Offers made (as the responder's share of the value) and answers given (True: rejected)."""
        shares, rejections = [], []
        for entry in entries.values():
            result = entry["result"]
            if people_only and not result["by_person"]:
                continue
            move = result["move"]
            if move["move"] == "offer":
                to_buyer = move["role"] == bargaining.ASSOCIATION
                share = move["price"] / result["value"]
                shares.append(1 - share if to_buyer else share)
            else:
                rejections.append(move["move"] == bargaining.REJECT)
        return shares, rejections

    def room_summary(self, params, treatment, entries):
        shares, rejections = self._offers(entries)
        deals = [e["result"]["move"]["outcome"] for e in entries.values() if e["result"]["move"]["outcome"]]
        return {"offers": len(shares), "offer_share_sum": math.fsum(shares), "answers": len(rejections),
                "rejections": sum(rejections), "deals": deals.count(bargaining.AGREEMENT),
                "rotted": deals.count(bargaining.ROTTED)}

    def live(self, params, treatment, states, rows):
        offers, answers = [], {"Accept": 0, "Reject": 0}
        for row in rows:
            if isinstance(row["value"], str):
                answers["Accept" if row["value"] == bargaining.ACCEPT else "Reject"] += 1
            else:
                offers.append(float(row["value"]))
        return {"title": "Prices offered in this round, and answers", "axis": "price per unit",
                "numbers": offers, "low": 0.0, "high": float(params["value"]),
                "counts": answers if sum(answers.values()) else {}}

    def published(self):
        source = bargaining.OOSTERBEEK_2004
        return {"label": f"Ultimatum experiments, {source['papers']} papers (Oosterbeek et al. 2004)",
                "mean_offer": source["mean_offer"], "rejection_rate": source["rejection_rate"],
                "citation": source["citation"]}

    def debrief(self, params, rounds):
        offers = sum(r["room"].get("offers", 0) for r in rounds)
        share_sum = math.fsum(r["room"].get("offer_share_sum", 0.0) for r in rounds)
        answers = sum(r["room"].get("answers", 0) for r in rounds)
        rejected = sum(r["room"].get("rejections", 0) for r in rounds)
        deals = sum(r["room"].get("deals", 0) for r in rounds)
        rotted = sum(r["room"].get("rotted", 0) for r in rounds)
        source = self.published()
        lines = []
        if offers:
            lines.append(f"People in this room offered the other side {share_sum / offers:.0%} of the value on average "
                         f"({offers} offers); in ultimatum experiments the mean offer is about "
                         f"{source['mean_offer']:.0%}.")
        if answers:
            lines.append(f"They rejected {rejected / answers:.0%} of the offers they answered ({answers} answers); "
                         f"the experiments find about {source['rejection_rate']:.0%}.")
        lines.append(f"Negotiations ended: {deals} with a deal, {rotted} with the fruit unsold.")
        terms = self.negotiation(params, GROWERS_FIRST)
        prediction = bargaining.predicted_outcome(terms)
        lines.append(f"Theory (Rubinstein) when the growers name the first price: they get "
                     f"{prediction.association_share:.0%} of the value at once, a price of {prediction.price:,.2f}.")
        room = [(r["round"], r["room"]["offer_share_sum"] / r["room"]["offers"])
                for r in rounds if r["room"].get("offers")]
        return {"lines": lines, "x_label": "round", "y_label": "share of the value offered to the other side",
                "room": room, "published": {"label": source["label"] + ": mean offer",
                                            "points": [(x, source["mean_offer"]) for x, _ in room]} if room else None}


# ---------------------------------------------------------------------------------------
# Governance: a meeting that votes on one proposal per round
# ---------------------------------------------------------------------------------------

RULE_OF_TREATMENT = {label: kind for kind, label in governance.RULE_LABELS.items()}


class Governance(Exercise):
    """Each group is an association of members who differ in land, deliveries and capital.

    Every seat votes yes or no on one proposal per round; the treatment is the voting rule.
    Empty seats vote by their interest, as the model's simulated members do. The members
    are illustrative, drawn by ``governance.example_membership`` for each group.
    """

    name = "governance"
    title = "Who decides in the association"
    summary = "Members who differ in land, deliveries and capital vote on proposals under a voting rule."
    treatments = tuple(governance.RULE_LABELS.values())
    round_hint = "Each round is one proposal put to the vote."
    default_rounds = 5
    settings = (
        Setting("members", "Members in each association (group size)", 6, 3, 21, 1, whole=True),
        Setting("special", "Special members who invest capital, in each group", 2, 1, 10, 1, whole=True),
        Setting("committee_size", "Members on the elected committee", 3, 1, 21, 1, whole=True),
        Setting("max_investment", "Most a special member invests", 50_000, 0, 10_000_000, 1000),
    )

    def default_params(self) -> dict:
        from widgets.cases import load_case  # only on the facilitator's path

        params = super().default_params()
        params["max_investment"] = float(load_case("modhupur").value("special_member_investment_max"))
        return params

    def _check_model(self, params: dict) -> None:
        if params["special"] >= params["members"]:
            raise ValueError(f"Special members must be fewer than the members of a group ({params['members']}); "
                             f"got {params['special']}.")
        if params["committee_size"] > params["members"]:
            raise ValueError(f"The committee must be a whole number from 1 to the group size ({params['members']}); "
                             f"got {params['committee_size']}.")
        for treatment in self.treatments:
            self.game(params, treatment, 1)

    def group_size(self, params):
        return int(params["members"])

    def max_rounds(self, params):
        return len(governance.example_proposals())

    def membership(self, params: Mapping, group: int) -> tuple[governance.Member, ...]:
        return governance.example_membership(general=params["members"] - params["special"],
                                             special=params["special"], seed=params["seed"] + group,
                                             max_investment=params["max_investment"])

    def game(self, params: Mapping, treatment: str, group: int) -> governance.GameParams:
        rule = governance.VotingRule(RULE_OF_TREATMENT[self.check_treatment(treatment)],
                                     committee_size=params["committee_size"])
        return governance.GameParams(self.membership(params, group), governance.example_proposals(), rule)

    def new_group(self, params, treatment, group):
        game = self.game(params, treatment, group)
        return {"group": group, "game": governance.initial_state(game).to_dict()}

    def _now(self, params, treatment, state):
        return self.game(params, treatment, state["group"]), governance.GameState.from_dict(state["game"])

    def deciders(self, params, treatment, state):
        game, now = self._now(params, treatment, state)
        if now.round >= game.rounds:
            return []
        return [seat + 1 for seat, active in enumerate(now.active) if active]

    def turn(self, params, treatment, state, seat, names=None):
        game, now = self._now(params, treatment, state)
        seat = _seat_number(seat, self.group_size(params))
        member = game.members[seat - 1]
        kind = "a special member" if member.special else "a general member"
        who = (f"You are {member.name}, {kind}: {member.land:,.1f} acres, deliveries of {member.deliveries:,.0f} "
               f"and {member.capital:,.0f} invested.")
        if now.round >= game.rounds:
            return Turn(False, "The meeting is over", who + " Every proposal has been voted on.", None)
        preview = governance.preview_round(game, now)
        row = preview.seats.index(seat - 1)
        proposal = game.proposals[now.round]
        weight = preview.weights[row]
        rule_text = f"The rule: {game.rule.label}."
        if weight == 0:
            rule_text += " Your vote does not count under this rule (no weight, or not on the committee)."
        situation = " ".join([
            who, f"{proposal.description}",
            f"If it is adopted you gain {preview.gains[row]:,.0f} and pay {preview.costs[row]:,.0f}: "
            f"net {preview.net_gains[row]:+,.0f}.", rule_text])
        control = Control(CHOICE, "Your vote", options=((governance.YES, "Yes"), (governance.NO, "No")))
        return Turn(True, f"Proposal {now.round + 1} of {game.rounds}: {proposal.name}", situation, control)

    def validate(self, params, treatment, state, seat, value):
        self._not_your_turn(params, treatment, state, _seat_number(seat, self.group_size(params)))
        game, _ = self._now(params, treatment, state)
        return governance.validate_decision(game, value)

    def bot(self, params, treatment, state, seat, rng):
        seat = _seat_number(seat, self.group_size(params))
        game, now = self._now(params, treatment, state)
        return governance.bot_decisions(game, now, rng, seats=[seat - 1])[seat - 1]

    def step(self, params, treatment, state, decisions, rng):
        given = self._check_decisions(params, treatment, state, decisions)
        game, now = self._now(params, treatment, state)
        preview = governance.preview_round(game, now)
        interest = {seat + 1: gain for seat, gain in zip(preview.seats, preview.net_gains)}
        # Empty seats vote by their interest, as the model's simulated members do.
        result, after = governance.play_round(game, now, {seat - 1: vote for seat, vote in given.items()})
        deciders = self.deciders(params, treatment, state)
        entry = {"result": result.to_dict(), "decisions": {str(k): v for k, v in given.items()},
                 "simulated": [s for s in deciders if s not in given], "deciders": deciders,
                 "interest": {str(k): v for k, v in interest.items()}, "rule": game.rule.label}
        return entry, {**state, "game": after.to_dict()}

    def describe(self, params, entry, seat, names=None):
        result = entry["result"]
        verdict = "adopted" if result["passed"] else "rejected"
        text = (f"{result['proposal']}: {verdict} under {entry['rule']}, "
                f"for {result['yes_weight']:,.0f} against {result['no_weight']:,.0f}.")
        if result["votes"][seat - 1] is not None:
            text += f" Your vote: {result['votes'][seat - 1]}."
        if result["passed"]:
            text += f" It brings you {result['net_gains'][seat - 1]:+,.0f}."
        return text

    def room_summary(self, params, treatment, entries):
        people_votes = own_interest = adopted = 0
        for entry in entries.values():
            adopted += bool(entry["result"]["passed"])
            for seat, vote in entry["decisions"].items():
                people_votes += 1
                own_interest += (vote == governance.YES) == governance.sincere_vote(entry["interest"][seat])
        return {"groups": len(entries), "adopted": adopted, "votes": people_votes, "own_interest": own_interest,
                "proposal": next(iter(entries.values()))["result"]["proposal"] if entries else ""}

    def live(self, params, treatment, states, rows):
        counts = {"Yes": 0, "No": 0}
        for row in rows:
            counts["Yes" if row["value"] == governance.YES else "No"] += 1
        return {"title": "Votes cast so far in this round", "axis": "votes", "numbers": [], "counts": counts}

    def debrief(self, params, rounds):
        lines, room = [], []
        for r in rounds:
            summary = r["room"]
            if not summary.get("groups"):
                continue
            share = summary["adopted"] / summary["groups"]
            room.append((r["round"], share))
            lines.append(f"Round {r['round']}, {summary['proposal']} ({r['treatment']}): adopted in "
                         f"{summary['adopted']} of {summary['groups']} groups.")
        votes = sum(r["room"].get("votes", 0) for r in rounds)
        if votes:
            own = sum(r["room"].get("own_interest", 0) for r in rounds)
            lines.append(f"{own / votes:.0%} of the {votes} votes cast by people followed the voter's own net gain.")
        return {"lines": lines, "x_label": "round", "y_label": "share of groups adopting the proposal",
                "room": room, "published": None}


# ---------------------------------------------------------------------------------------
# Free-riding: the public goods game, with or without a sanction stage
# ---------------------------------------------------------------------------------------

NO_SANCTIONS, SANCTIONS = "No sanctions", "Sanctions"
CONTRIBUTE, SANCTION = "contribute", "sanction"


class PublicGoods(Exercise):
    """Each member of a group keeps tokens or puts them into a common project that returns
    ``mpcr`` to every member per token. With sanctions, each period takes two rounds: the
    contributions, then, once everyone sees them, points that cost the giver and cost the
    receiver more (Fehr & Gächter 2000).
    """

    name = "public goods"
    title = "Contributing to the common project"
    summary = "Members keep tokens or give them to a common project that pays every member; sanctions optional."
    treatments = (NO_SANCTIONS, SANCTIONS)
    round_hint = "Each round is one period; with sanctions a period takes two rounds (give, then sanction)."
    default_rounds = 10
    settings = (
        Setting("group_size", "Members in each group", 4, 2, 10, 1, whole=True),
        Setting("endowment", "Tokens each member receives per period", 20, 1, 1000, 1, whole=True),
        Setting("mpcr", "What each token in the project returns to every member", 0.4, 0.05, 1.0, 0.05),
        Setting("punishment_cost", "Cost of one sanction point to the giver", 1.0, 0.1, 10, 0.1),
        Setting("punishment_effect", "Cost of one sanction point to the receiver", 3.0, 0.0, 30, 0.5),
        Setting("max_points", "Most points one member may give another", 10, 1, 20, 1, whole=True),
    )

    def game(self, params: Mapping, sanctions: bool) -> freeriding.GameParams:
        return freeriding.public_goods(params["group_size"], params["endowment"], params["mpcr"],
                                       freeriding.MAX_ROUNDS, sanctions,
                                       punishment_cost=params["punishment_cost"],
                                       punishment_effect=params["punishment_effect"],
                                       max_points=params["max_points"])

    def _check_model(self, params: dict) -> None:
        self.game(params, True)

    def group_size(self, params):
        return int(params["group_size"])

    def max_rounds(self, params):
        return freeriding.MAX_ROUNDS

    def new_group(self, params, treatment, group):
        game = self.game(params, self.check_treatment(treatment) == SANCTIONS)
        start = freeriding.initial_state(game, seed=params["seed"] * 1000 + group)
        return {"group": group, "game": start.to_dict(), "pending": None, "periods": []}

    def _phase(self, state) -> str:
        return CONTRIBUTE if state["pending"] is None else SANCTION

    def _now(self, params, treatment, state):
        # A period that began with sanctions ends with its sanction stage, whatever comes next.
        sanctions = state["pending"] is not None or self.check_treatment(treatment) == SANCTIONS
        return self.game(params, sanctions), freeriding.GameState.from_dict(state["game"])

    def deciders(self, params, treatment, state):
        game, now = self._now(params, treatment, state)
        if now.round >= game.rounds:
            return []
        return list(range(1, game.members + 1))

    def turn(self, params, treatment, state, seat, names=None):
        names = names or {}
        game, now = self._now(params, treatment, state)
        seat = _seat_number(seat, game.members)
        period = now.round + 1
        if self._phase(state) == CONTRIBUTE:
            harvest = freeriding.preview_round(game, now)["harvests"][seat - 1]
            situation = (f"You have {harvest:,.0f} tokens. Each token you put into the common project gives "
                         f"{params['mpcr']:g} to every one of the {game.members} members, you included; "
                         f"each token you keep is worth 1 to you alone.")
            if treatment == SANCTIONS:
                situation += " After everyone has given, you will see the contributions and may give sanction points."
            control = Control(NUMBER, "Tokens you give to the project", 0.0, float(harvest), 1.0)
            return Turn(True, f"Period {period}: your contribution", situation, control)
        pending = state["pending"]
        others = [(s, _who(s, names)) for s in range(1, game.members + 1) if s != seat]
        shown = "; ".join(f"{who}: {pending['deliveries'][s - 1]:,.1f}" for s, who in others)
        situation = (f"Contributions this period: you {pending['deliveries'][seat - 1]:,.1f}; {shown}. "
                     f"Each point you give costs you {game.punishment_cost:g} and its receiver "
                     f"{game.punishment_effect:g}. Give 0 to anyone you do not want to sanction.")
        control = Control(POINTS, "Sanction points", 0.0, float(game.max_points), 1.0, targets=tuple(others))
        return Turn(True, f"Period {period}: sanctions", situation, control)

    def validate(self, params, treatment, state, seat, value):
        game, now = self._now(params, treatment, state)
        seat = _seat_number(seat, game.members)
        self._not_your_turn(params, treatment, state, seat)
        if self._phase(state) == CONTRIBUTE:
            if isinstance(value, Mapping):
                raise ValueError("Send the number of tokens you give to the project.")
            harvest = freeriding.preview_round(game, now)["harvests"][seat - 1]
            try:
                return freeriding.validate_delivery(game, value, harvest)
            except ValueError:  # the model speaks of deliveries; here they are tokens
                raise ValueError(f"The tokens you give must be a number from 0 to {harvest:,g}; "
                                 f"got {value!r}.") from None
        if not isinstance(value, Mapping):
            raise ValueError("Send your sanction points as one whole number for each other member.")
        points = freeriding.validate_points(
            game, {_seat_number(k, game.members) - 1: v for k, v in value.items()}, seat - 1)
        return {str(target + 1): amount for target, amount in sorted(points.items())}

    def bot(self, params, treatment, state, seat, rng):
        game, now = self._now(params, treatment, state)
        seat = _seat_number(seat, game.members)
        if self._phase(state) == CONTRIBUTE:
            return freeriding.bot_decisions(game, now, rng, seats=[seat - 1])[seat - 1]
        deliveries = np.array(state["pending"]["deliveries"])
        shares = deliveries / np.array(freeriding.preview_round(game, now)["harvests"])
        codes = np.full(game.members, freeriding.TYPE_CODE[freeriding.CONDITIONAL])
        points = freeriding.bot_points(game, codes, shares)[seat - 1]
        return {str(target + 1): int(p) for target, p in enumerate(points) if target != seat - 1}

    def step(self, params, treatment, state, decisions, rng):
        given = self._check_decisions(params, treatment, state, decisions)
        game, now = self._now(params, treatment, state)
        if self._phase(state) == CONTRIBUTE and game.punishment:
            # Stage one of a period with sanctions: record what everyone gives, settle nothing yet.
            # Empty seats give what the model's simulated members give this round (its own draws),
            # so the settlement in stage two, which leaves them out, finds the same amounts.
            bots = freeriding.bot_decisions(game, now, seats=[s - 1 for s in range(1, game.members + 1)
                                                              if s not in given])
            deliveries = [given[s] if s in given else bots[s - 1] for s in range(1, game.members + 1)]
            pending = {"deliveries": deliveries, "people": sorted(given), "treatment": treatment}
            entry = {"result": {"stage": CONTRIBUTE, "period": now.round + 1, "deliveries": deliveries},
                     "decisions": {str(k): v for k, v in given.items()},
                     "simulated": [s for s in range(1, game.members + 1) if s not in given],
                     "deciders": list(range(1, game.members + 1))}
            return entry, {**state, "pending": pending}
        if self._phase(state) == SANCTION:
            pending = state["pending"]
            chosen = {}
            for seat in range(1, game.members + 1):
                if seat in pending["people"] or seat in given:
                    points = {int(t) - 1: p for t, p in given.get(seat, {}).items()}
                    chosen[seat - 1] = {"delivery": pending["deliveries"][seat - 1], "points": points}
            stage = SANCTION
        else:
            chosen = {seat - 1: value for seat, value in given.items()}
            stage = CONTRIBUTE
        result, after = freeriding.play_round(game, now, chosen)
        people = sorted(s + 1 for s in result.people)
        periods = list(state["periods"]) + [{"period": now.round + 1, "mean_delivery": result.mean_delivery,
                                             "sanctions": game.punishment}]
        entry = {"result": {"stage": stage, "period": now.round + 1, **result.to_dict()},
                 "decisions": {str(k): v for k, v in given.items()},
                 "simulated": [s for s in range(1, game.members + 1) if s not in given],
                 "deciders": list(range(1, game.members + 1)), "people": people}
        return entry, {**state, "game": after.to_dict(), "pending": None, "periods": periods}

    def describe(self, params, entry, seat, names=None):
        result = entry["result"]
        if result["stage"] == CONTRIBUTE and "payoffs" not in result:
            deliveries = result["deliveries"]
            return (f"Period {result['period']}: you gave {deliveries[seat - 1]:,.1f}; your group gave "
                    f"{sum(deliveries) / len(deliveries):,.1f} on average. Sanctions come next.")
        deliveries = result["deliveries"]
        text = (f"Period {result['period']}: you gave {deliveries[seat - 1]:,.1f}; your group gave "
                f"{sum(deliveries) / len(deliveries):,.1f} on average. "
                f"You earned {result['payoffs'][seat - 1]:,.1f} this period.")
        if result["punishment_received"][seat - 1] or result["punishment_given"][seat - 1]:
            text += (f" Sanctions cost you {result['punishment_received'][seat - 1]:,.1f} "
                     f"and giving them cost you {result['punishment_given'][seat - 1]:,.1f}.")
        return text

    def room_summary(self, params, treatment, entries):
        """Mean contribution of a period, once it is settled (people and simulated members alike)."""
        settled = [e["result"] for e in entries.values() if "payoffs" in e["result"]]
        staged = [e["result"] for e in entries.values() if "payoffs" not in e["result"]]
        people = [float(v) for e in entries.values() if e["result"]["stage"] == CONTRIBUTE
                  for v in e["decisions"].values()]
        summary = {"settled": bool(settled), "people_contributions": people}
        if settled:
            summary.update(period=settled[0]["period"], sanctions=any(r["stage"] == SANCTION for r in settled),
                           mean_delivery=math.fsum(sum(r["deliveries"]) for r in settled)
                           / sum(len(r["deliveries"]) for r in settled))
        elif staged:
            summary.update(period=staged[0]["period"])
        return summary

    def live(self, params, treatment, states, rows):
        contributions = [float(r["value"]) for r in rows if not isinstance(r["value"], Mapping)]
        if contributions or not rows:
            return {"title": "Contributions sent so far in this round", "axis": "tokens given",
                    "numbers": contributions, "low": 0.0, "high": float(params["endowment"]), "counts": {}}
        given = sum(sum(r["value"].values()) for r in rows)
        return {"title": "Sanction points given so far", "axis": "points", "numbers": [],
                "counts": {"members who sanctioned": sum(1 for r in rows if any(r["value"].values())),
                           "who did not": sum(1 for r in rows if not any(r["value"].values())),
                           "points in all": given}}

    def published(self):
        source = freeriding.FEHR_GACHTER_2000
        return {"label": "Fehr & Gächter (2000)", "citation": source["citation"],
                "endowment": source["endowment"],
                NO_SANCTIONS: list(freeriding.published_path(False)), SANCTIONS: list(freeriding.published_path(True))}

    def debrief(self, params, rounds):
        periods = [(r["room"]["period"], r["room"]["mean_delivery"] / params["endowment"], r["room"]["sanctions"])
                   for r in rounds if r["room"].get("settled")]
        source = self.published()
        lines = []
        if len(periods) == 1:
            lines.append(f"This room gave {periods[0][1]:.0%} of its tokens in period {periods[0][0]}.")
        elif periods:
            first, last = periods[0][1], periods[-1][1]
            lines.append(f"This room gave {first:.0%} of its tokens in period {periods[0][0]} and {last:.0%} "
                         f"in period {periods[-1][0]}.")
        with_sanctions = any(s for _, _, s in periods)
        for label, path in ((NO_SANCTIONS, source[NO_SANCTIONS]), (SANCTIONS, source[SANCTIONS])):
            lines.append(f"{source['label']}, {label.lower()}: {path[0] / source['endowment']:.0%} in period 1, "
                         f"{path[-1] / source['endowment']:.0%} in period {len(path)}.")
        path = source[SANCTIONS if with_sanctions else NO_SANCTIONS]
        return {"lines": lines, "x_label": "period", "y_label": "share of tokens given to the project",
                "room": [(p, share) for p, share, _ in periods],
                "published": {"label": f"{source['label']}, {'with' if with_sanctions else 'without'} sanctions",
                              "points": [(i + 1, v / source["endowment"]) for i, v in enumerate(path)]}}


EXERCISES: dict[str, Exercise] = {e.name: e for e in (PublicGoods(), Bargaining(), Governance())}


def exercise(name: str) -> Exercise:
    if name not in EXERCISES:
        raise ValueError(f"The exercise must be one of: {', '.join(EXERCISES)}; got {name!r}.")
    return EXERCISES[name]


# ---------------------------------------------------------------------------------------
# The round driver: from the store's rows to recorded results, and back to group states
# ---------------------------------------------------------------------------------------

def group_states(game: Exercise, params: Mapping, treatment: str, results: Mapping[int, Mapping],
                 groups: Sequence[int]) -> dict[int, dict]:
    """Each group's state after the last closed round: from the recorded results, or a new group.

    ``results`` are the store's ``results(session_id)``: the results of every closed round.
    A group formed after some rounds had closed (late arrivals) starts fresh.
    """
    states = {}
    for group in groups:
        state = None
        for number in sorted(results, reverse=True):
            entry = (results[number] or {}).get("groups", {}).get(str(group))
            if entry is not None:
                state = entry["state"]
                break
        states[group] = state if state is not None else game.new_group(params, treatment, group)
    return states


def round_rng(params: Mapping, group: int, round_number: int) -> np.random.Generator:
    """The simulated members' draws for one group in one round: the same in every kernel and after a restart."""
    return np.random.default_rng([int(params["seed"]), int(group), int(round_number)])


def close_round(game: Exercise, params: Mapping, treatment: str, round_number: int,
                states: Mapping[int, Mapping], rows: Sequence[Mapping]) -> dict:
    """The results of one round for every group, from the decisions stored for it.

    Decisions from seats that were not to decide (which the store cannot know) are ignored;
    empty seats and people who sent nothing are played by simulated members.
    """
    by_group: dict[int, dict[int, Any]] = {}
    for row in rows:
        if row["group"] is not None:
            by_group.setdefault(row["group"], {})[row["seat"]] = row["value"]
    groups = {}
    for group, state in sorted(states.items()):
        state = game.begin(params, treatment, state)
        deciding = set(game.deciders(params, treatment, state))
        decisions = {seat: value for seat, value in by_group.get(group, {}).items() if seat in deciding}
        if not deciding:
            continue
        entry, new_state = game.step(params, treatment, state, decisions, round_rng(params, group, round_number))
        groups[str(group)] = {**entry, "state": new_state}
    return {"round": round_number, "treatment": treatment, "groups": groups,
            "room": game.room_summary(params, treatment, groups)}


def round_closer(store, session_id: int):
    """The function the facilitator gives ``store.close_round``: the round's results, worked
    out from exactly the decisions stored when the round stopped taking them.

    ``store`` is a ``widgets.workshop.store.Store``; only its reading methods are used.
    """
    def results(rows: Sequence[Mapping]) -> dict:
        info = store.lobby(session_id)
        game = exercise(info["exercise"])
        groups = [g["group"] for g in info["groups"]]
        states = group_states(game, info["params"], info["treatment"], store.results(session_id), groups)
        return close_round(game, info["params"], info["treatment"], info["current_round"], states, rows)

    return results
