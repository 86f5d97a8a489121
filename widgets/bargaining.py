"""Bargaining: who gets what when growers, an association and a buyer agree on a price.

The module reads top to bottom:

1. Closed forms: the Nash split, the outside-option principle, Rubinstein's split of
   alternating offers, and how spoilage turns into impatience.
2. A market: growers selling one by one to middlemen, against an association that sells
   everybody's produce together for a commission.
3. A day-by-day negotiation between an association and a buyer while the fruit rots:
   parameters, state, ``play_round``, and simulated players (one that follows the theory
   and one that, like people in ultimatum experiments, turns down insulting offers).
4. A lead firm that subcontracts a cluster and bundles services into the price, and who
   pays for training and trade fairs.
5. ``simulate``: many computer-against-computer negotiations at once, and the same thing
   as a plain loop.

Prices are per unit (a pineapple, a pair of shoes) in whatever currency the caller uses.
Case figures are never written here: the book passes them in from ``cases/``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Mapping

import numpy as np

from widgets.checks import number as _number, whole as _whole, choice as _choice

ASSOCIATION, BUYER = "association", "buyer"
ROLES = (ASSOCIATION, BUYER)


# ---------------------------------------------------------------------------------------
# Checking inputs: every message names the parameter, the allowed range and the value.
# ---------------------------------------------------------------------------------------


def _build(cls, data: Any):
    """``cls(**data)`` for data read back from a store, with a readable error for wrong fields."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{cls.__name__} needs a mapping of its fields; got {data!r}.")
    try:
        return cls(**data)
    except TypeError as error:
        raise ValueError(f"{cls.__name__} cannot be built from {dict(data)!r}: {error}.") from None


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{what} must be True or False; got {value!r}.")
    return bool(value)


# ---------------------------------------------------------------------------------------
# 1. Closed forms
# ---------------------------------------------------------------------------------------

def nash_split(surplus: float, disagreement: tuple[float, float] = (0.0, 0.0),
               power: float = 0.5) -> tuple[float, float]:
    """Nash bargaining: each side gets its disagreement point plus its power's share of the gain.

    Maximising (x1 - d1)^a (x2 - d2)^(1-a) with x1 + x2 = S gives
    x1 = d1 + a (S - d1 - d2) and x2 = d2 + (1 - a)(S - d1 - d2).
    """
    surplus = _number(surplus, "The surplus to share", 0)
    if not isinstance(disagreement, (tuple, list)) or len(disagreement) != 2:
        raise ValueError(f"The disagreement points must be a pair of numbers, one for each side; got {disagreement!r}.")
    d1 = _number(disagreement[0], "The first side's disagreement point", 0)
    d2 = _number(disagreement[1], "The second side's disagreement point", 0)
    power = _number(power, "Bargaining power", 0, 1)
    if d1 + d2 > surplus:
        raise ValueError(
            f"The disagreement points add up to {d1 + d2:g}, more than the surplus of {surplus:g}: "
            "neither side gains from a deal, so there is nothing to split."
        )
    gain = surplus - d1 - d2
    return d1 + power * gain, d2 + (1 - power) * gain


def outside_option_share(surplus: float, outside_option: float, power: float = 0.5) -> float:
    """The outside-option principle (Binmore, Shaked & Sutton 1989).

    An option to walk away counts only when it beats what bargaining would give anyway:
    share = max(power * S, w), not w plus a share of what is left.
    """
    surplus = _number(surplus, "The surplus to share", 0)
    outside_option = _number(outside_option, "The outside option", 0, surplus,
                             hint=" (an option worth more than the whole deal means there is no deal)")
    power = _number(power, "Bargaining power", 0, 1)
    return max(power * surplus, outside_option)


def two_buyer_price(high_value: float, low_value: float) -> float:
    """A seller facing two buyers who value the good at h > l gets max(h/2, l).

    The seller splits with the keener buyer, and the other buyer's bid is an outside
    option that binds only when it is above half of h.
    """
    high_value = _number(high_value, "The keener buyer's value", 0)
    low_value = _number(low_value, "The other buyer's value", 0, high_value,
                        hint=" (the keener buyer's value)")
    return max(high_value / 2, low_value)


def runner_up_value(best_value: float, floor: float, buyers: int) -> float:
    """The second-best buyer's value when buyers' values are spread evenly above a floor.

    With n buyers valuing the good at floor + (best - floor)·k/n for k = 1..n, the
    runner-up values it at floor + (best - floor)(n - 1)/n: the floor itself for a single
    buyer, and closer to the best buyer as more buyers compete.
    """
    floor = _number(floor, "The floor value", 0)
    best_value = _number(best_value, "The best buyer's value", floor, hint=" (the floor value)")
    buyers = _whole(buyers, "The number of buyers", 1, 1000)
    return floor + (best_value - floor) * (buyers - 1) / buyers


def patience(spoilage: float, storage: float = 0.0) -> float:
    """Share of a day's value still there tomorrow: δ = 1 - spoilage·(1 - storage).

    ``storage`` is the share of the spoilage that collective storage or fast transport
    avoids (0: none, 1: the fruit keeps).
    """
    spoilage = _number(spoilage, "Spoilage per day", 0, 1, high_open=True,
                       hint=" (0.1 means a tenth of the fruit rots each day)")
    storage = _number(storage, "Storage", 0, 1, hint=" (the share of spoilage avoided)")
    return 1 - spoilage * (1 - storage)


def rubinstein_share(delta_proposer: float, delta_responder: float) -> float:
    """First proposer's share in Rubinstein's alternating offers: (1 - δ2)/(1 - δ1·δ2).

    With a common δ this is 1/(1 + δ): the less patient side gets less.
    """
    d1 = _number(delta_proposer, "The proposer's patience (δ)", 0, 1)
    d2 = _number(delta_responder, "The responder's patience (δ)", 0, 1)
    if d1 == 1 and d2 == 1:
        raise ValueError("At least one side must lose something by waiting (a patience δ below 1); both are 1.")
    return (1 - d2) / (1 - d1 * d2)


def random_proposer_share(power: float, delta_self: float, delta_other: float) -> float:
    """Share of a side that names the price on any day with probability ``power``.

    In the stationary equilibrium the share is p(1 - δo) / (p(1 - δo) + (1 - p)(1 - δs)).
    With equal patience it is p, the Nash split with weight p; with p = 1/2 and short
    days it tends to Rubinstein's split. When neither side loses by waiting it is p.
    """
    p = _number(power, "Bargaining power", 0, 1)
    ds = _number(delta_self, "This side's patience (δ)", 0, 1)
    do = _number(delta_other, "The other side's patience (δ)", 0, 1)
    numerator = p * (1 - do)
    denominator = numerator + (1 - p) * (1 - ds)
    return p if denominator == 0 else numerator / denominator


def _backward_induction(delta_first: float, delta_second: float, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Equilibrium payoffs of a finite alternating-offers game, for every starting day.

    Returns (first, second): the first mover's and the second mover's shares of the pie
    in the subgame that starts on day t (t = 0..days), valued on day t. The first mover
    proposes on even days. No agreement by the deadline gives both nothing.
    """
    first = np.zeros(days + 1)
    second = np.zeros(days + 1)
    for t in range(days - 1, -1, -1):
        if t % 2 == 0:  # the first mover proposes and leaves the other just what waiting is worth
            second[t] = delta_second * second[t + 1]
            first[t] = 1 - second[t]
        else:
            first[t] = delta_first * first[t + 1]
            second[t] = 1 - first[t]
    return first, second


def finite_horizon_share(delta_first: float, delta_second: float, days: int) -> float:
    """First proposer's share when offers alternate for at most ``days`` days (backward induction)."""
    d1 = _number(delta_first, "The first proposer's patience (δ)", 0, 1)
    d2 = _number(delta_second, "The other side's patience (δ)", 0, 1)
    days = _whole(days, "The number of days", 1, 100_000)
    return float(_backward_induction(d1, d2, days)[0][0])


# ---------------------------------------------------------------------------------------
# 2. Selling alone to middlemen, or together through an association
# ---------------------------------------------------------------------------------------

ALONE, TOGETHER = "alone", "association"
CHANNELS = (ALONE, TOGETHER)


@dataclass(frozen=True)
class MarketParams:
    """One season's sale of a perishable crop. Money figures are per unit (a pineapple)."""

    local_price: float            # what growers get on the local market: always open to them
    buyer_value: float            # the most the keenest buyer would pay (e.g. a processor)
    commission: float = 0.0       # the association's cut of the price it reaches, as a fraction
    buyers: int = 1               # competing buyers the association can reach
    middlemen: int = 1            # buyers a grower selling alone can reach
    dealing_cost: float = 0.0     # a buyer's cost per unit of dealing with one grower's small lot
    members: int = 1              # growers whose lots the association sells as one
    spoilage: float = 0.0         # share of the ripe fruit lost per day without a deal
    storage: float = 0.0          # share of that loss the association's storage and transport avoid
    waiting_cost: float = 0.01    # both sides' cost of a day's delay (interest, idle trucks, an idle plant)
    bargaining_power: float = 0.5 # chance that the sellers, not the buyer, name the price on a day
    contract: bool = False        # association's price agreed before harvest, not as a spot sale

    def __post_init__(self):
        local = _number(self.local_price, "The local market price", 0)
        _number(self.buyer_value, "The keenest buyer's value", local, hint=" (the local market price)")
        _number(self.commission, "The commission", 0, 1, high_open=True, hint=" (0.1 for ten percent)")
        _whole(self.buyers, "The number of buyers the association reaches", 1, 100)
        _whole(self.middlemen, "The number of middlemen a lone grower reaches", 1, 100)
        _number(self.dealing_cost, "The dealing cost per unit", 0)
        _whole(self.members, "The number of growers in the association", 1, 100_000)
        patience(self.spoilage, self.storage)
        _number(self.waiting_cost, "The daily cost of waiting", 0, 1, high_open=True)
        _number(self.bargaining_power, "Bargaining power", 0, 1)
        _flag(self.contract, "Contract")


@dataclass(frozen=True)
class Deal:
    """Where each unit's value goes, for one way of selling."""

    channel: str            # "alone" or "association"
    traded: bool            # False: no buyer beats the local market
    price: float            # what the buyer pays per unit
    growers_net: float      # what the growers keep after the association's commission
    commission: float       # the association's income per unit
    dealing_cost: float     # the buyer's cost per unit of dealing with the suppliers
    buyer_margin: float     # what the buyer keeps per unit
    outside_option: float   # the best the sellers can get by walking away
    bargaining_share: float # sellers' share of the value that patience and power give them
    binding: str            # what sets the price: "bargaining", "local market", "competing buyer" or "no buyer"

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def market_deal(params: MarketParams, channel: str) -> Deal:
    """Price and split for growers selling ``alone`` or through the ``association``.

    The buyer's value net of its dealing cost is split by bargaining (patience and power,
    see ``random_proposer_share``); the sellers' outside option (the local market, or the
    runner-up buyer's bid) counts only when it binds.
    """
    if not isinstance(params, MarketParams):
        raise ValueError("market_deal needs MarketParams.")
    _choice(channel, "The channel", CHANNELS)
    together = channel == TOGETHER
    dealing = params.dealing_cost / params.members if together else params.dealing_cost
    buyers = params.buyers if together else params.middlemen
    if together and params.contract:
        spoilage = 0.0  # agreed before harvest: the fruit is not rotting while they talk
    else:
        spoilage = params.spoilage * (1 - params.storage) if together else params.spoilage
    delta_buyer = 1 - params.waiting_cost
    delta_sellers = delta_buyer * (1 - spoilage)
    share = random_proposer_share(params.bargaining_power, delta_sellers, delta_buyer)

    pie = params.buyer_value - dealing
    if pie <= params.local_price:
        return Deal(channel, False, params.local_price, params.local_price, 0.0, 0.0, 0.0,
                    params.local_price, share, "no buyer")
    rival_bid = runner_up_value(params.buyer_value, params.local_price, buyers) - dealing
    outside = max(params.local_price, rival_bid)
    bargained = share * pie
    price = max(bargained, outside)
    if bargained >= outside:
        binding = "bargaining"
    else:
        binding = "competing buyer" if rival_bid > params.local_price else "local market"
    commission = price * params.commission if together else 0.0
    return Deal(channel, True, price, price - commission, commission, dealing, pie - price,
                outside, share, binding)


def compare_channels(params: MarketParams) -> tuple[Deal, Deal]:
    """(selling alone, selling through the association) under the same conditions."""
    return market_deal(params, ALONE), market_deal(params, TOGETHER)


# ---------------------------------------------------------------------------------------
# 3. A day-by-day negotiation while the fruit rots
# ---------------------------------------------------------------------------------------
# Each day one side names a price per unit and the other accepts or rejects. A rejection
# costs a day: a share ``spoilage`` of the growers' fruit rots, and the buyer loses
# ``buyer_waiting_cost`` of its margin (it can buy fresh fruit from others meanwhile, so
# the rot is the growers' loss). The proposer alternates; the side that rejected names
# the next price. After ``deadline_days`` without agreement the fruit is past selling.
# Simulated players follow Rubinstein's stationary strategy (the equilibrium of talks with
# no deadline): offer the other side exactly what waiting is worth to it, and accept any
# offer at least that good; on the last day, with nothing to wait for, accept anything.
# The behavioural responder also turns down low offers as people do in ultimatum games.

PROPOSE, RESPOND, OVER = "propose", "respond", "over"
AGREEMENT, ROTTED = "agreement", "rotted"
ACCEPT, REJECT = "accept", "reject"


def other_role(role: str) -> str:
    return BUYER if role == ASSOCIATION else ASSOCIATION


@dataclass(frozen=True)
class NegotiationParams:
    value: float                     # what a unit is worth to the buyer: prices run from 0 to this
    spoilage: float = 0.1            # share of the growers' fruit that rots each day
    buyer_waiting_cost: float = 0.02 # share of its margin the buyer loses each day
    deadline_days: int = 10          # days before the fruit is past selling
    first_proposer: str = ASSOCIATION

    def __post_init__(self):
        _number(self.value, "The value of a unit to the buyer", 0, low_open=True)
        _number(self.spoilage, "Spoilage per day", 0, 1, high_open=True,
                hint=" (0.1 means a tenth of the fruit rots each day)")
        _number(self.buyer_waiting_cost, "The buyer's daily cost of waiting", 0, 1, low_open=True, high_open=True,
                hint=" (a buyer who loses nothing by waiting would never settle)")
        _whole(self.deadline_days, "The deadline", 1, 60)
        _choice(self.first_proposer, "The first proposer", ROLES)

    @property
    def growers_patience(self) -> float:
        return 1 - self.spoilage

    @property
    def buyer_patience(self) -> float:
        return 1 - self.buyer_waiting_cost

    def patience_of(self, role: str) -> float:
        return self.growers_patience if role == ASSOCIATION else self.buyer_patience

    def proposer_on(self, day: int) -> str:
        return self.first_proposer if day % 2 == 0 else other_role(self.first_proposer)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping) -> NegotiationParams:
        return _build(cls, data)


@dataclass(frozen=True)
class Offer:
    day: int
    by: str
    price: float
    accepted: bool | None = None  # None while the answer is awaited

    def __post_init__(self):
        _whole(self.day, "The day of an offer", 0, 60)
        _choice(self.by, "The side making an offer", ROLES)
        _number(self.price, "The price offered", 0)
        if self.accepted is not None:
            _flag(self.accepted, "Whether an offer was accepted")


@dataclass(frozen=True)
class NegotiationState:
    day: int = 0
    turn: str = ASSOCIATION          # who moves now
    phase: str = PROPOSE             # "propose", "respond" or "over"
    offer: float | None = None       # the price on the table (awaiting an answer, or agreed)
    outcome: str | None = None       # "agreement" or "rotted" once over
    history: tuple[Offer, ...] = ()

    def __post_init__(self):
        _whole(self.day, "The day", 0, 60)
        _choice(self.turn, "The side to move", ROLES)
        _choice(self.phase, "The phase", (PROPOSE, RESPOND, OVER))
        if self.offer is not None:
            _number(self.offer, "The price on the table", 0)
        if self.outcome is not None:
            _choice(self.outcome, "The outcome", (AGREEMENT, ROTTED))
        if self.phase == RESPOND and (self.offer is None or not self.history):
            raise ValueError("A negotiation waiting for an answer needs the offer on the table in its history.")
        if (self.phase == OVER) != (self.outcome is not None):
            raise ValueError("A negotiation has an outcome exactly when it is over.")

    def to_dict(self) -> dict:
        return {
            "day": self.day, "turn": self.turn, "phase": self.phase, "offer": self.offer,
            "outcome": self.outcome,
            "history": [dict(offer.__dict__) for offer in self.history],
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> NegotiationState:
        if not isinstance(data, Mapping) or not isinstance(data.get("history", []), (list, tuple)):
            raise ValueError(f"A negotiation state must be a mapping with a list of offers; got {data!r}.")
        history = tuple(_build(Offer, item) for item in data.get("history", ()))
        return _build(cls, {**data, "history": history})


@dataclass(frozen=True)
class MoveResult:
    day: int
    role: str                             # who moved
    move: str                             # "offer", "accept" or "reject"
    price: float                          # the price offered, accepted or rejected
    outcome: str | None = None            # set when this move ended the negotiation
    association_payoff: float | None = None  # per unit the growers started with, once over
    buyer_payoff: float | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping) -> MoveResult:
        return _build(cls, data)


def initial_state(params: NegotiationParams) -> NegotiationState:
    return NegotiationState(turn=params.first_proposer)


def value_left(params: NegotiationParams, day: int) -> float:
    """What the growers' fruit is worth to the buyer on ``day``: the sound part of it."""
    return params.value * sound_fraction(params, day)


def sound_fraction(params: NegotiationParams, day: int) -> float:
    """Share of the growers' fruit still sound on ``day``."""
    return params.growers_patience ** day


def payoffs(params: NegotiationParams, price: float, day: int) -> tuple[float, float]:
    """(growers, buyer) per unit the growers started with, for a deal at ``price`` on ``day``.

    The growers are paid for the fruit still sound; the buyer's margin is only delayed.
    """
    return (price * sound_fraction(params, day),
            (params.value - price) * params.buyer_patience ** day)


def validate_decision(params: NegotiationParams, value: Any) -> float | str:
    """A price (a number from 0 to the value) or "accept"/"reject"; anything else is an error."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in (ACCEPT, REJECT):
            return word
        try:
            value = float(word)
        except ValueError:
            raise ValueError(f'A decision must be a price or "accept" or "reject"; got {value!r}.') from None
    return _number(value, "The price", 0, params.value, hint=f" (the most the buyer could pay, {params.value:g})")


def play_round(params: NegotiationParams, state: NegotiationState,
               decisions: Mapping[str, Any]) -> tuple[MoveResult, NegotiationState]:
    """One move: the side whose turn it is names a price, or accepts or rejects the one on the table.

    ``decisions`` maps that side's role to its decision. Nothing changes on an error.
    """
    if state.phase == OVER:
        raise ValueError("The negotiation is over; start a new one.")
    if not isinstance(decisions, Mapping) or set(decisions) != {state.turn}:
        raise ValueError(f"It is the {state.turn}'s turn: give one decision, for the {state.turn} only; "
                         f"got decisions for {list(decisions) if isinstance(decisions, Mapping) else decisions!r}.")
    decision = validate_decision(params, decisions[state.turn])
    role = state.turn
    if state.phase == PROPOSE:
        if isinstance(decision, str):
            raise ValueError(f"There is no offer to {decision} yet: the {role} names a price first.")
        new_state = replace(state, turn=other_role(role), phase=RESPOND, offer=decision,
                            history=state.history + (Offer(state.day, role, decision),))
        return MoveResult(state.day, role, "offer", decision), new_state

    if not isinstance(decision, str):
        raise ValueError(f"The {other_role(role)} has offered {state.offer:g}: "
                         f"the {role} must accept or reject it before naming a new price.")
    accepted = decision == ACCEPT
    history = state.history[:-1] + (replace(state.history[-1], accepted=accepted),)
    price = state.offer
    if accepted:
        growers, buyer = payoffs(params, price, state.day)
        new_state = replace(state, phase=OVER, outcome=AGREEMENT, history=history)
        return MoveResult(state.day, role, ACCEPT, price, AGREEMENT, growers, buyer), new_state
    if state.day + 1 >= params.deadline_days:
        new_state = replace(state, day=state.day + 1, phase=OVER, offer=None, outcome=ROTTED, history=history)
        return MoveResult(state.day, role, REJECT, price, ROTTED, 0.0, 0.0), new_state
    new_state = replace(state, day=state.day + 1, turn=role, phase=PROPOSE, offer=None, history=history)
    return MoveResult(state.day, role, REJECT, price), new_state


def proposer_share(params: NegotiationParams, role: str) -> float:
    """Rubinstein's share of the value for ``role`` when it names the price: (1 - δo)/(1 - δs·δo)."""
    return rubinstein_share(params.patience_of(role), params.patience_of(other_role(role)))


def acceptance_threshold(params: NegotiationParams, role: str, day: int) -> float:
    """Smallest share of the value ``role`` takes on ``day`` under Rubinstein's stationary strategy.

    Rejecting is worth naming the price tomorrow, a day later: δ times the proposer's
    share. On the last day there is no tomorrow, so any offer beats rejecting.
    """
    if day + 1 >= params.deadline_days:
        return 0.0
    return params.patience_of(role) * proposer_share(params, role)


@dataclass(frozen=True)
class Prediction:
    association_share: float   # growers' share of the value, agreed at once on day 0
    price: float
    association_proposer_share: float  # what the association gets whenever it names the price
    buyer_proposer_share: float        # what the buyer gets whenever it names the price


def predicted_outcome(params: NegotiationParams) -> Prediction:
    """Rubinstein's prediction: the first proposer's offer is accepted at once."""
    growers_naming = proposer_share(params, ASSOCIATION)
    buyer_naming = proposer_share(params, BUYER)
    share = growers_naming if params.first_proposer == ASSOCIATION else 1 - buyer_naming
    return Prediction(share, share * params.value, growers_naming, buyer_naming)


@dataclass(frozen=True)
class Outcome:
    agreed: bool
    day: int                   # day of agreement, or the day the fruit was past selling
    price: float | None        # agreed price per unit
    price_share: float | None  # the price as a share of the value
    association_payoff: float  # per unit the growers started with
    buyer_payoff: float
    fruit_lost: float          # share of the growers' fruit that rotted while they talked


def outcome(params: NegotiationParams, state: NegotiationState) -> Outcome:
    """How a finished negotiation ended, for a debrief."""
    if state.phase != OVER:
        raise ValueError("The negotiation is still going on; its outcome is not known yet.")
    lost = 1 - sound_fraction(params, state.day)
    if state.outcome != AGREEMENT:
        return Outcome(False, state.day, None, None, 0.0, 0.0, lost)
    growers, buyer = payoffs(params, state.offer, state.day)
    return Outcome(True, state.day, state.offer, state.offer / params.value, growers, buyer, lost)


# Published ultimatum-game findings, which the behavioural responder is calibrated to.
OOSTERBEEK_2004 = {
    "citation": ("Oosterbeek, H., Sloof, R. & van de Kuilen, G. (2004). Cultural differences in "
                 "ultimatum game experiments: evidence from a meta-analysis. Experimental Economics 7, 171-188."),
    "papers": 37,
    "mean_offer": 0.40,       # share of the pie proposers offer, on average
    "rejection_rate": 0.16,   # share of offers responders turn down
}
# Most proposers offer 40-50% of the pie: 60-80% of them in the experiments surveyed.
SHARE_OFFERING_40_TO_50 = (0.60, 0.80)
# CORE Econ, The Economy, unit 4.12 (ultimatum game with US students and Kenyan farmers):
# offers of half the pie were accepted by everyone; offers of 10% by 58% of the students
# and 2% of the farmers.
CORE_ACCEPTANCE_OF_TEN_PERCENT = {"US students": 0.58, "Kenyan farmers": 0.02}
# Camerer (2003), Behavioral Game Theory, ch. 2: offers below about 20% are rejected about
# half the time (a check on the calibrated responder, not used to fit it).
CAMERER_LOW_OFFER = {"share": 0.20, "rejection_rate": 0.5}

# An offer distribution (share offered, fraction of proposers) built to match the summaries
# above: mean 0.39, 70% of offers at 40-50%, few below 20%. The sources give the summaries,
# not this histogram.
OFFER_DISTRIBUTION = ((0.1, 0.05), (0.2, 0.10), (0.3, 0.15), (0.4, 0.30), (0.5, 0.40))
FAIR_SHARE = 0.5  # everyone accepts half (CORE 4.12)


def rejection_probability(share: Any, leniency: float) -> Any:
    """Chance that a responder turns down ``share`` of the pie: (1 - share/0.5)^leniency below half.

    Nothing is rejected at half or more; an offer of nothing is always rejected; a larger
    ``leniency`` means fewer rejections of low offers. Works on arrays too.
    """
    gap = np.clip(1 - np.asarray(share, dtype=float) / FAIR_SHARE, 0.0, 1.0)
    result = np.where(gap > 0, gap ** leniency, 0.0)
    return float(result) if result.ndim == 0 else result


def leniency_for_acceptance(share: float, accepted: float) -> float:
    """The leniency at which a fraction ``accepted`` of responders take ``share`` of the pie."""
    share = _number(share, "The share offered", 0, FAIR_SHARE, low_open=True, high_open=True)
    accepted = _number(accepted, "The fraction accepting", 0, 1, low_open=True, high_open=True)
    return math.log(1 - accepted) / math.log(1 - share / FAIR_SHARE)


def expected_rejection_rate(leniency: float, offers=OFFER_DISTRIBUTION) -> float:
    shares = np.array([s for s, _ in offers])
    weights = np.array([w for _, w in offers])
    return float(np.sum(weights * rejection_probability(shares, leniency)) / weights.sum())


def _fit_leniency(target: float, offers=OFFER_DISTRIBUTION) -> float:
    # The rejection rate falls as leniency rises, so bisection on a log scale finds it.
    low, high = 1e-3, 1e3
    for _ in range(200):
        middle = math.sqrt(low * high)
        if expected_rejection_rate(middle, offers) > target:
            low = middle
        else:
            high = middle
    return math.sqrt(low * high)


# Leniency that reproduces the meta-analysis's 16% rejections over the offers above.
PUBLISHED_LENIENCY = _fit_leniency(OOSTERBEEK_2004["rejection_rate"])
RESPONDER_LENIENCY = {
    "pooled experiments": PUBLISHED_LENIENCY,
    **{who: leniency_for_acceptance(0.1, rate) for who, rate in CORE_ACCEPTANCE_OF_TEN_PERCENT.items()},
}

PROPOSER_STYLES = ("equilibrium", "published")     # the theory's offer, or a draw from OFFER_DISTRIBUTION
RESPONDER_STYLES = ("equilibrium", "behavioural")  # accept what beats waiting, or also spurn insults


def _published_share(uniform):
    """Inverse of the offer distribution's CDF: the share offered for a uniform draw."""
    shares = np.array([s for s, _ in OFFER_DISTRIBUTION])
    cumulative = np.cumsum([w for _, w in OFFER_DISTRIBUTION])
    cumulative /= cumulative[-1]
    index = np.minimum(np.searchsorted(cumulative, uniform, side="right"), len(shares) - 1)
    return shares[index]


def _price_for(params: NegotiationParams, proposer: str, responder_share):
    """The price that leaves the responder ``responder_share`` of the value."""
    if proposer == ASSOCIATION:
        return params.value * (1 - responder_share)
    return params.value * responder_share


def _responder_share(params: NegotiationParams, responder: str, price):
    return price / params.value if responder == ASSOCIATION else 1 - price / params.value


def bot_offer(params: NegotiationParams, day: int, uniform: float, style: str = "equilibrium") -> float:
    """The price a simulated proposer names on ``day``; ``uniform`` is a draw from [0, 1)."""
    _choice(style, "The proposer style", PROPOSER_STYLES)
    proposer = params.proposer_on(day)
    responder = other_role(proposer)
    if style == "equilibrium":  # what waiting is worth to the responder, on every day alike
        share = params.patience_of(responder) * proposer_share(params, responder)
    else:
        share = float(_published_share(uniform))
    return float(_price_for(params, proposer, share))


def bot_response(params: NegotiationParams, day: int, price: float, uniform: float,
                 style: str = "equilibrium", leniency: float = PUBLISHED_LENIENCY) -> str:
    """"accept" or "reject" for a simulated responder; ``uniform`` is a draw from [0, 1).

    It takes any offer at least as good as waiting for tomorrow; the behavioural style
    also turns down low offers with the probability people do in ultimatum games.
    """
    _choice(style, "The responder style", RESPONDER_STYLES)
    responder = other_role(params.proposer_on(day))
    share = _responder_share(params, responder, price)
    beats_waiting = share >= acceptance_threshold(params, responder, day) - 1e-12
    spurned = style == "behavioural" and uniform < rejection_probability(share, leniency)
    return ACCEPT if beats_waiting and not spurned else REJECT


def bot_decision(params: NegotiationParams, state: NegotiationState, rng: np.random.Generator, *,
                 proposer: str = "equilibrium", responder: str = "equilibrium",
                 leniency: float = PUBLISHED_LENIENCY) -> float | str:
    """A decision for whichever side is to move, as a simulated player would make it."""
    if state.phase == OVER:
        raise ValueError("The negotiation is over; a simulated player has nothing to decide.")
    uniform = float(rng.random())
    if state.phase == PROPOSE:
        return bot_offer(params, state.day, uniform, proposer)
    return bot_response(params, state.day, state.offer, uniform, responder, leniency)


# ---------------------------------------------------------------------------------------
# 4. A lead firm and a cluster of small workshops
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Service:
    """A service the lead firm supplies with the order instead of cash."""

    name: str
    cost_to_lead_firm: float   # per unit: what supplying it costs the lead firm
    saving_to_cluster: float   # per unit: what the cluster would spend to get it alone

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"A service needs a name; got {self.name!r}.")
        _number(self.cost_to_lead_firm, f"The lead firm's cost of {self.name}", 0)
        _number(self.saving_to_cluster, f"The cluster's saving from {self.name}", 0)


@dataclass(frozen=True)
class LeadFirmParams:
    """A subcontract per unit (a pair of shoes)."""

    lead_firm_value: float          # what a unit earns the lead firm before it pays the cluster
    cluster_cost: float             # the cluster's cost per unit when it buys everything itself
    local_margin: float = 0.0       # the cluster's margin per unit selling for local consumption
    services: tuple[Service, ...] = ()  # embedded in the subcontract
    lead_firms: int = 1             # lead firms that would subcontract the cluster
    bargaining_power: float = 0.5   # the cluster's weight in the split
    training_saving: float = 0.0    # cost saved per unit on the lead firm's orders thanks to training
    transferable: float = 0.0       # share of that saving the cluster also makes on other work

    def __post_init__(self):
        _number(self.lead_firm_value, "The lead firm's value per unit", 0)
        cost = _number(self.cluster_cost, "The cluster's cost per unit", 0)
        _number(self.local_margin, "The cluster's local margin per unit", 0)
        if not isinstance(self.services, tuple) or not all(isinstance(s, Service) for s in self.services):
            raise ValueError("The services must be a tuple of Service entries.")
        names = [s.name for s in self.services]
        if len(set(names)) != len(names):
            raise ValueError(f"Each service may appear once; got {names}.")
        _whole(self.lead_firms, "The number of lead firms", 1, 20)
        _number(self.bargaining_power, "The cluster's bargaining power", 0, 1)
        _number(self.training_saving, "The saving from training per unit", 0, cost, hint=" (the cluster's cost)")
        _number(self.transferable, "The transferable share of training", 0, 1)


@dataclass(frozen=True)
class Subcontract:
    traded: bool             # False: the cluster does better elsewhere
    cash_price: float        # paid per unit, on top of the embedded services
    services_value: float    # what the embedded services save the cluster per unit
    services_cost: float     # what they cost the lead firm per unit
    cluster_costs: float     # what the cluster still pays itself per unit
    cluster_margin: float
    lead_firm_margin: float
    outside_option: float    # the cluster's best margin elsewhere
    binding: str             # "bargaining", "local sales", "another lead firm" or "no deal"

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def subcontract(params: LeadFirmParams) -> Subcontract:
    """The split of a subcontract with services bundled into the price.

    Bundling a service adds (saving - cost) to the pie when the lead firm supplies it more
    cheaply than the cluster could buy it. Other lead firms bid without the services (they
    come with the relationship); their values are spread evenly between the local price of
    a unit and the lead firm's, so more of them means a better outside option.
    """
    if not isinstance(params, LeadFirmParams):
        raise ValueError("subcontract needs LeadFirmParams.")
    savings = sum(s.saving_to_cluster for s in params.services)
    costs = sum(s.cost_to_lead_firm for s in params.services)
    own_cost = params.cluster_cost - params.training_saving
    other_cost = params.cluster_cost - params.transferable * params.training_saving
    local = params.local_margin + params.transferable * params.training_saving
    surplus = params.lead_firm_value - own_cost + savings - costs
    rival_value = runner_up_value(max(params.lead_firm_value, params.cluster_cost + params.local_margin),
                                  params.cluster_cost + params.local_margin, params.lead_firms)
    rival_margin = rival_value - other_cost
    outside = max(local, rival_margin)
    if surplus <= outside:
        return Subcontract(False, 0.0, 0.0, 0.0, 0.0, outside, 0.0, outside, "no deal")
    bargained = params.bargaining_power * surplus
    margin = max(bargained, outside)
    if bargained >= outside:
        binding = "bargaining"
    else:
        binding = "another lead firm" if rival_margin > local else "local sales"
    cluster_costs = own_cost - savings
    return Subcontract(True, margin + cluster_costs, savings, costs, cluster_costs, margin,
                       surplus - margin, outside, binding)


@dataclass(frozen=True)
class CostShare:
    programme: str
    cost: float
    lead_firm_pays: float
    project_pays: float


def share_costs(costs: Mapping[str, float], lead_firm_shares: Mapping[str, float]) -> tuple[CostShare, ...]:
    """Split each programme's cost (training, trade fairs) between the lead firm and a project."""
    if not isinstance(costs, Mapping) or not isinstance(lead_firm_shares, Mapping):
        raise ValueError("Costs and shares must each map programme names to numbers.")
    if set(costs) != set(lead_firm_shares):
        raise ValueError(f"Every programme needs both a cost and a lead-firm share; costs for {sorted(costs)}, "
                         f"shares for {sorted(lead_firm_shares)}.")
    result = []
    for name, cost in costs.items():
        cost = _number(cost, f"The cost of {name}", 0)
        share = _number(lead_firm_shares[name], f"The lead firm's share of {name}", 0, 1, hint=" (0.6 for 60%)")
        result.append(CostShare(name, cost, share * cost, (1 - share) * cost))
    return tuple(result)


@dataclass(frozen=True)
class TrainingReturn:
    lead_firm_gain: float      # extra lead-firm margin over the order, thanks to the training
    cluster_gain: float
    lead_firm_outlay: float    # its share of the training cost
    break_even_share: float    # the largest cost share at which the training still pays the lead firm

    @property
    def worthwhile(self) -> bool:
        return self.lead_firm_gain >= self.lead_firm_outlay


def training_return(params: LeadFirmParams, *, saving_per_unit: float, transferable: float,
                    units: float, programme_cost: float, lead_firm_share: float) -> TrainingReturn:
    """Does training the cluster pay the lead firm, given who keeps the saving?

    Skills the cluster can also use for other buyers raise its outside option, so the lead
    firm keeps less of the gain (general training); a project's share of the cost can make
    up the difference.
    """
    units = _number(units, "The number of units ordered", 0)
    programme_cost = _number(programme_cost, "The training cost", 0)
    lead_firm_share = _number(lead_firm_share, "The lead firm's share of the training cost", 0, 1)
    before = subcontract(replace(params, training_saving=0.0, transferable=0.0))
    after = subcontract(replace(params, training_saving=saving_per_unit, transferable=transferable))
    gain = (after.lead_firm_margin - before.lead_firm_margin) * units
    cluster_gain = (after.cluster_margin - before.cluster_margin) * units
    break_even = 1.0 if programme_cost == 0 else min(1.0, max(0.0, gain / programme_cost))
    return TrainingReturn(gain, cluster_gain, lead_firm_share * programme_cost, break_even)


# ---------------------------------------------------------------------------------------
# 5. Many negotiations at once
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class SimulationResult:
    agreed: np.ndarray             # bool per game
    day: np.ndarray                # day of agreement, or the deadline
    price: np.ndarray              # agreed price (NaN without agreement)
    association_payoff: np.ndarray
    buyer_payoff: np.ndarray
    rejections: np.ndarray         # offers turned down per game

    def summary(self) -> dict[str, float]:
        offers = self.rejections + self.agreed
        return {
            "games": int(self.agreed.size),
            "agreement_rate": float(self.agreed.mean()),
            "mean_day": float(self.day[self.agreed].mean()) if self.agreed.any() else math.nan,
            "rejection_rate": float(self.rejections.sum() / max(offers.sum(), 1)),
            "association_payoff": float(self.association_payoff.mean()),
            "buyer_payoff": float(self.buyer_payoff.mean()),
        }


def _check_batch(params, n_games, proposer, responder, leniency):
    if not isinstance(params, NegotiationParams):
        raise ValueError("The parameters must be NegotiationParams.")
    n_games = _whole(n_games, "The number of games", 1, 1_000_000)
    _choice(proposer, "The proposer style", PROPOSER_STYLES)
    _choice(responder, "The responder style", RESPONDER_STYLES)
    _number(leniency, "Leniency", 0)
    return n_games


def _daily_draws(seed, days: int):
    """One generator per day, so batch and loop versions see the same draws in any order."""
    return [np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(days)]


def simulate(params: NegotiationParams, n_games: int, seed: int | None = None, *,
             proposer: str = "equilibrium", responder: str = "behavioural",
             leniency: float = PUBLISHED_LENIENCY) -> SimulationResult:
    """Computer-against-computer negotiations, all games advanced a day at a time with numpy."""
    n_games = _check_batch(params, n_games, proposer, responder, leniency)
    rngs = _daily_draws(seed, params.deadline_days)
    active = np.ones(n_games, dtype=bool)
    day = np.full(n_games, params.deadline_days)
    price = np.full(n_games, np.nan)
    rejections = np.zeros(n_games, dtype=int)
    for t in range(params.deadline_days):
        draws = rngs[t].random((n_games, 2))
        by = params.proposer_on(t)
        to = other_role(by)
        threshold = acceptance_threshold(params, to, t)
        if proposer == "equilibrium":
            share = np.full(n_games, params.patience_of(to) * proposer_share(params, to))
        else:
            share = _published_share(draws[:, 0])
        offered = _price_for(params, by, share)
        share = _responder_share(params, to, offered)  # recomputed from the price, as the loop does
        accept = share >= threshold - 1e-12
        if responder == "behavioural":
            accept &= ~(draws[:, 1] < rejection_probability(share, leniency))
        settled = active & accept
        price[settled] = offered[settled]
        day[settled] = t
        rejections += active & ~accept
        active &= ~accept
        if not active.any():
            break
    agreed = ~np.isnan(price)
    growers = np.where(agreed, np.nan_to_num(price) * params.growers_patience ** day, 0.0)
    buyer = np.where(agreed, (params.value - np.nan_to_num(price)) * params.buyer_patience ** day, 0.0)
    return SimulationResult(agreed, day, price, growers, buyer, rejections)


def simulate_loop(params: NegotiationParams, n_games: int, seed: int | None = None, *,
                  proposer: str = "equilibrium", responder: str = "behavioural",
                  leniency: float = PUBLISHED_LENIENCY) -> SimulationResult:
    """The same games one move at a time through ``play_round``, in plain Python."""
    n_games = _check_batch(params, n_games, proposer, responder, leniency)
    rngs = _daily_draws(seed, params.deadline_days)
    draws = [rng.random((n_games, 2)) for rng in rngs]
    agreed, days, prices, growers, buyers, rejections = [], [], [], [], [], []
    for game in range(n_games):
        state = initial_state(params)
        turned_down = 0
        while state.phase != OVER:
            u_offer, u_answer = draws[state.day][game]
            if state.phase == PROPOSE:
                decision = bot_offer(params, state.day, u_offer, proposer)
            else:
                decision = bot_response(params, state.day, state.offer, u_answer, responder, leniency)
            result, state = play_round(params, state, {state.turn: decision})
            turned_down += result.move == REJECT
        done = state.outcome == AGREEMENT
        agreed.append(done)
        days.append(state.day)
        prices.append(state.offer if done else math.nan)
        growers.append(result.association_payoff)
        buyers.append(result.buyer_payoff)
        rejections.append(turned_down)
    return SimulationResult(np.array(agreed), np.array(days), np.array(prices, dtype=float),
                            np.array(growers, dtype=float), np.array(buyers, dtype=float),
                            np.array(rejections))
