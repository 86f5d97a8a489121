"""Free-riding: why members side-sell, shirk on quality, and contribute less as time goes on.

The module reads top to bottom:

1. The side-selling game of a marketing cooperative that advances inputs on credit
   (the Uriri soy case): parameters, and the season's payoff rule ``settle``. Each member
   harvests, then splits the harvest between the cooperative (which pays a price, deducts
   the input loan, and shares a value-addition surplus) and a trader who pays cash now.
2. Two special cases on the same code path: the linear public goods game
   (``public_goods``, with Fehr & Gächter's punishment stage as an option) and a
   collective brand whose premium depends on the members' average hidden quality effort
   (``brand_game``, the Delicias Criollas case); detected shirkers are excluded for a
   round or for good.
3. Simulated members with the behavioural types found in experiments, calibrated to
   Fehr & Gächter's (2000) published mean contributions.
4. Round by round (``play_round``) for solo play and live workshops.
5. ``simulate``: thousands of games at once with numpy, and the same games as a plain loop.

Money is in units of the trader's cash price (any currency works). Case figures are never
written here: the book passes them in from ``cases/``. The side-selling defaults are
illustrative.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Mapping, Sequence

import numpy as np

from widgets.checks import number as _number, whole as _whole, choice as _choice, flag as _flag


def _set(instance, name: str, value) -> None:
    """Store a cleaned value on a frozen dataclass (used only inside ``__post_init__``)."""
    object.__setattr__(instance, name, value)


def _mapping(data: Any, allowed: Sequence[str], what: str) -> Mapping:
    if not isinstance(data, Mapping) or set(data) - set(allowed):
        raise ValueError(f"{what} needs a mapping with (some of) the fields {', '.join(allowed)}; got {data!r}.")
    return data


def _floats(values: Any, what: str, count: int, low: float | None = None) -> tuple[float, ...]:
    if not isinstance(values, (list, tuple)) or len(values) != count:
        raise ValueError(f"{what} needs {count} numbers, one per member; got {values!r}.")
    return tuple(_number(v, what, low) for v in values)


def _flags(values: Any, what: str, count: int) -> tuple[bool, ...]:
    if not isinstance(values, (list, tuple)) or len(values) != count:
        raise ValueError(f"{what} needs {count} True/False values, one per member; got {values!r}.")
    return tuple(_flag(v, what) for v in values)


# ---------------------------------------------------------------------------------------
# 1. The side-selling game
# ---------------------------------------------------------------------------------------

FINE, CREDIT, EXCLUSION = "fine", "credit", "exclusion"
SANCTIONS = (FINE, CREDIT, EXCLUSION)
SANCTION_LABELS = {
    FINE: "a fine per unit side-sold",
    CREDIT: "no input credit next season",
    EXCLUSION: "no credit and no share of the surplus next season",
}
FOR_GOOD_LABELS = {
    CREDIT: "no input credit for the rest of the game",
    EXCLUSION: "no credit and no share of the surplus for the rest of the game",
}
MAX_MEMBERS = 60
MAX_ROUNDS = 50


@dataclass(frozen=True)
class GameParams:
    """One cooperative over several seasons. Quantities are in units of produce (bags).

    The cooperative lends each member up to ``loan`` in inputs at the start of a season,
    as far as its capital goes; each unit of credit adds ``input_return`` units to the
    harvest. At harvest the cooperative pays ``coop_price`` per unit delivered and keeps
    the loan out of what it owes; processing adds ``value_added`` per unit delivered,
    provided total deliveries reach ``threshold``. That surplus is shared: a share
    ``patronage_share`` by each member's own deliveries (a patronage bonus), the rest
    equally. A member must deliver ``required_share`` of her harvest; a side-seller is
    caught with probability ``monitoring`` and sanctioned: for the next season, or with
    ``sanction_for_good`` for the rest of the game (a fine is paid once either way).
    """

    members: int = 8
    harvest: float = 10.0            # units each member harvests without credit (the endowment in a public goods game)
    rounds: int = 10                 # seasons
    trader_price: float = 1.0        # cash per unit from a trader, paid at once
    coop_price: float = 0.9          # paid per unit delivered, before the surplus is shared
    value_added: float = 0.5         # surplus per unit delivered when processing runs
    patronage_share: float = 0.0     # share of the surplus paid by own deliveries (the rest is shared equally)
    loan: float = 3.0                # input credit per member per season
    input_return: float = 1.0        # extra units harvested per unit of credit
    capital: float = 24.0            # the cooperative's capital at the start: what it can lend
    threshold: float = 0.0           # total deliveries processing needs (0: it always runs)
    required_share: float = 1.0      # share of the harvest a member must deliver under the by-laws
    monitoring: float = 0.0          # chance that a side-seller is caught
    sanction: str = CREDIT           # what a side-seller who is caught loses
    sanction_for_good: bool = False  # loss of credit or exclusion lasts to the end, not just next season
    fine: float = 0.0                # per unit side-sold, when the sanction is a fine
    contract_minimum: float = 0.0    # share of the harvest a delivery contract requires
    contract_penalty: float = 0.0    # per unit short of the contract minimum (contracts are always enforced)
    pooled_share: float = 0.0        # share of each surplus payment kept as the member's capital stake
    communication: bool = False      # members talk before deciding (changes the simulated members)
    punishment: bool = False         # a stage after each round where members can punish each other
    punishment_cost: float = 1.0     # what one point costs the punisher
    punishment_effect: float = 3.0   # what one point costs its target
    max_points: int = 10             # points one member may give another in a round

    def __post_init__(self):
        _whole(self.members, "Group size", 2, MAX_MEMBERS)
        _number(self.harvest, "The harvest per member", 0, 1e6, low_open=True)
        _whole(self.rounds, "The number of rounds", 1, MAX_ROUNDS)
        _number(self.trader_price, "The trader's price", 0, 1e6)
        _number(self.coop_price, "The cooperative's price", 0, 1e6)
        _number(self.value_added, "The value added per unit", 0, 1e6)
        _number(self.patronage_share, "The patronage bonus share", 0, 1, hint=" (0.5 for half the surplus)")
        _number(self.loan, "The input loan per member", 0, 1e6)
        _number(self.input_return, "The extra harvest per unit of credit", 0, 1e3)
        _number(self.capital, "The cooperative's starting capital", 0, 1e9)
        _number(self.threshold, "The processing threshold", 0, self.members * self.max_harvest,
                hint=" (everything all members could harvest)")
        _number(self.required_share, "The share members must deliver", 0, 1)
        _number(self.monitoring, "The monitoring probability", 0, 1)
        _choice(self.sanction, "The sanction", SANCTIONS)
        _flag(self.sanction_for_good, "Sanction for good")
        _number(self.fine, "The fine per unit side-sold", 0, 1e6)
        _number(self.contract_minimum, "The contract's minimum delivery share", 0, 1)
        _number(self.contract_penalty, "The contract penalty per unit short", 0, 1e6)
        _number(self.pooled_share, "The pooled share of surplus payments", 0, 1)
        _flag(self.communication, "Communication")
        _flag(self.punishment, "Punishment")
        _number(self.punishment_cost, "The cost of a punishment point to the punisher", 0, 100, low_open=True)
        _number(self.punishment_effect, "The cost of a punishment point to its target", 0, 100)
        _whole(self.max_points, "The most points one member may give another", 0, 100)

    @property
    def max_harvest(self) -> float:
        """The largest harvest a member can have: her own plus what a full loan adds."""
        return self.harvest + self.input_return * self.loan

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping) -> GameParams:
        data = _mapping(data, [f.name for f in fields(cls)], "GameParams")
        return cls(**data)


# ---------------------------------------------------------------------------------------
# 2. Special cases on the same code path: the public goods game and the collective brand
# ---------------------------------------------------------------------------------------

def public_goods(group_size: int = 4, endowment: float = 20, mpcr: float = 0.4, rounds: int = 10,
                 punishment: bool = False, **treatments) -> GameParams:
    """The linear public goods game: payoff_i = E - c_i + mpcr·Σc.

    Keeping a token is selling to a trader at 1; the cooperative pays nothing and lends
    nothing; the surplus per token delivered is mpcr·n, shared equally. ``treatments``
    may add communication or a different punishment technology.
    """
    group_size = _whole(group_size, "Group size", 2, MAX_MEMBERS)
    mpcr = _number(mpcr, "The return per token (MPCR)", 0, 1e3)
    return GameParams(members=group_size, harvest=endowment, rounds=rounds, trader_price=1.0, coop_price=0.0,
                      value_added=mpcr * group_size, patronage_share=0.0, loan=0.0, input_return=0.0,
                      capital=0.0, threshold=0.0, required_share=1.0, monitoring=0.0, sanction=FINE, fine=0.0,
                      punishment=punishment, **treatments)


def brand_game(group_size: int = 4, effort_budget: float = 10, premium: float = 2.0, detection: float = 0.0,
               exclusion: bool = True, pooled_share: float = 0.0, rounds: int = 10, *, for_good: bool = False,
               **treatments) -> GameParams:
    """A collective brand (Delicias Criollas): hidden quality effort against a shared premium.

    Each member has ``effort_budget`` units of effort; each unit she puts into quality costs
    her 1 (the trader's price of the time she keeps). The brand premium every member gets
    is ``premium`` × the group's average effort, so her own unit returns only premium/n to
    her: with premium/n < 1 < premium, quality is a public good. A member below full
    effort is caught with probability ``detection``; with ``exclusion`` she gets no premium
    next round (with ``for_good``, never again), and loses her stake of pooled premium
    (``pooled_share`` of each payment is kept back as capital and paid out at the end).
    Without exclusion a caught shirker is only named: nothing happens to her. Smaller groups, a higher exclusion
    risk and pooled capital all raise the private return of quality (Bonroy et al. 2019).
    """
    group_size = _whole(group_size, "Group size", 2, MAX_MEMBERS)
    premium = _number(premium, "The brand premium per unit of average effort", 0, 1e3)
    exclusion = _flag(exclusion, "Exclusion")
    for_good = _flag(for_good, "Exclusion for good")
    return GameParams(members=group_size, harvest=effort_budget, rounds=rounds, trader_price=1.0, coop_price=0.0,
                      value_added=premium, patronage_share=0.0, loan=0.0, input_return=0.0, capital=0.0,
                      threshold=0.0, required_share=1.0, monitoring=detection,
                      sanction=EXCLUSION if exclusion else FINE, fine=0.0, sanction_for_good=for_good and exclusion,
                      pooled_share=pooled_share, **treatments)


# ---------------------------------------------------------------------------------------
# The season's payoff rule, shared by every variant
# ---------------------------------------------------------------------------------------

def credit_given(params: GameParams, capital, excluded_credit):
    """Input credit per member: the loan, or an equal share of what capital is left.

    Members excluded from credit get none. Works on arrays with the members last.
    """
    eligible = ~np.asarray(excluded_credit, dtype=bool)
    count = eligible.sum(axis=-1)
    each = np.minimum(params.loan, np.asarray(capital, dtype=float) / np.maximum(count, 1))
    return np.where(eligible, np.expand_dims(each, -1), 0.0)


def settle(params: GameParams, round_index: int, capital, harvests, credit, deliveries, points,
           caught_draws, excluded_surplus, stakes, excluded_credit=None) -> dict[str, np.ndarray]:
    """The season's payoff rule, for one game or many (members on the last axis).

    ``points[..., i, j]`` are punishment points member i gives member j;
    ``caught_draws`` are uniform draws, a side-seller is caught when hers is below the
    monitoring probability. ``excluded_*`` are this season's exclusions. When a sanction
    lasts for good, a member already out of credit is not checked again, and one out of
    the surplus has left the group: the equal shares are split among the others.
    Returns every payment, and the next season's capital, stakes and exclusions.
    Accounting identity: the members' payoffs plus the change in capital and in stakes
    equal trader sales + cooperative payments + surplus − credit − punishment costs.
    """
    n = params.members
    total = deliveries.sum(axis=-1)
    processed = total >= params.threshold - 1e-9
    surplus = params.value_added * total * processed
    bonus = params.patronage_share * params.value_added * deliveries * processed[..., None]
    gone = left_group(params, excluded_surplus)
    staying = n - gone.sum(axis=-1)
    equal_pool = (1 - params.patronage_share) * surplus
    equal = np.where(gone, 0.0, (equal_pool / np.maximum(staying, 1))[..., None])
    unshared = equal_pool * (staying == 0)           # everyone has left: the cooperative keeps it
    earned = bonus + equal
    withheld = earned * excluded_surplus            # an excluded member's share stays with the cooperative
    paid = earned - withheld
    retained = params.pooled_share * paid           # kept back as her capital stake
    owed = params.coop_price * deliveries + paid - retained
    repaid = np.minimum(credit, owed)               # the loan comes out of what the cooperative owes
    unrecovered = credit - repaid
    shortfall = np.maximum(0.0, params.required_share * harvests - deliveries)
    side_selling = shortfall > 1e-9
    out_for_good = _out_for_good(params, excluded_credit, side_selling.shape)
    caught = side_selling & (caught_draws < params.monitoring) & ~out_for_good
    fines = params.fine * shortfall * caught if params.sanction == FINE else np.zeros_like(shortfall)
    penalties = params.contract_penalty * np.maximum(0.0, params.contract_minimum * harvests - deliveries)
    given = params.punishment_cost * points.sum(axis=-1)
    received = params.punishment_effect * points.sum(axis=-2)
    trader = params.trader_price * (harvests - deliveries)
    new_stakes = stakes + retained
    forfeited = new_stakes * caught if params.sanction == EXCLUSION else np.zeros_like(new_stakes)
    new_stakes = new_stakes - forfeited
    last = round_index + 1 >= params.rounds
    payout = new_stakes if last else np.zeros_like(new_stakes)
    new_stakes = new_stakes - payout
    payoffs = trader + owed - repaid - fines - penalties - given - received + payout
    new_capital = (capital - credit.sum(axis=-1) + repaid.sum(axis=-1) + fines.sum(axis=-1)
                   + penalties.sum(axis=-1) + withheld.sum(axis=-1) + forfeited.sum(axis=-1) + unshared)
    return {
        "processed": processed, "surplus": surplus, "bonus": bonus * ~excluded_surplus,
        "equal_share": equal * ~excluded_surplus, "trader_sales": trader, "owed": owed, "repaid": repaid,
        "unrecovered": unrecovered, "side_selling": side_selling, "caught": caught, "fines": fines,
        "penalties": penalties, "punishment_given": given, "punishment_received": received,
        "stake_payout": payout, "payoffs": payoffs, "capital": new_capital, "stakes": new_stakes,
        "excluded_credit": caught & (params.sanction in (CREDIT, EXCLUSION)) | out_for_good,
        "excluded_surplus": caught & (params.sanction == EXCLUSION) | out_for_good & excluded_surplus,
    }


def _out_for_good(params: GameParams, excluded_credit, shape) -> np.ndarray:
    """Members a lasting sanction has already put out (every sanction but the fine withholds credit)."""
    if not params.sanction_for_good or excluded_credit is None:
        return np.zeros(shape, dtype=bool)
    return np.broadcast_to(np.asarray(excluded_credit, dtype=bool), shape)


def left_group(params: GameParams, excluded_surplus) -> np.ndarray:
    """Members excluded from the surplus for good: they have left the group in all but their seat."""
    excluded_surplus = np.asarray(excluded_surplus, dtype=bool)
    return excluded_surplus if params.sanction_for_good else np.zeros_like(excluded_surplus)


# ---------------------------------------------------------------------------------------
# 3. Simulated members
# ---------------------------------------------------------------------------------------
# Types and their shares follow Fischbacher, Gächter & Fehr (2001). The rules:
# - every simulated member delivers at least what pays her best on her own ("selfish
#   share": sanctions, contract penalties, a patronage bonus and the loan she would
#   dodge by side-selling all count; she expects the others to do as she believes);
# - a free rider delivers just that;
# - a conditional cooperator matches a fraction ``slope`` of what she believes the others
#   deliver: imperfect conditional cooperation, the force behind the decline (Fischbacher
#   & Gächter 2010). Beliefs move part of the way to what the others did last round;
# - a hump-shaped member matches low beliefs and gives less as beliefs pass one half;
# - a noisy member picks a share at random each round;
# - with punishment, cooperators punish those who gave less than they did, in proportion
#   to the gap; a punished member raises her share for the rest of the game;
# - without punishment, cooperators hold back in the known last round (the end-game
#   effect of repeated public goods games, Andreoni 1988; Ledyard 1995); with a
#   punishment stage the threat lasts to the end and Fehr & Gächter's last period is
#   their highest, so there is no cut then.
# Communication (documented, not calibrated): conditional cooperators start higher and
# match more closely, and some free riders keep the group's promise and act as conditional
# cooperators, in line with the large effect of talk in public goods and common-pool
# experiments (Ostrom, Walker & Gardner 1992).

CONDITIONAL, FREE_RIDER, HUMP, NOISY = "conditional cooperator", "free rider", "hump-shaped", "noisy"
TYPES = (CONDITIONAL, FREE_RIDER, HUMP, NOISY)
PERSON = "person"  # a seat always played by a person: simulated only if a person leaves it empty

FISCHBACHER_GACHTER_FEHR_2001 = {
    "citation": ("Fischbacher, U., Gächter, S. & Fehr, E. (2001). Are people conditionally cooperative? "
                 "Evidence from a public goods experiment. Economics Letters 71, 397-404."),
    "shares": {CONDITIONAL: 0.50, FREE_RIDER: 0.30, HUMP: 0.14},  # the rest could not be classified
}

FEHR_GACHTER_2000 = {
    "citation": ("Fehr, E. & Gächter, S. (2000). Cooperation and punishment in public goods experiments. "
                 "American Economic Review 90(4), 980-994. Mean contribution per period, groups of 4, "
                 "20 tokens, MPCR 0.4, as digitised for the Bowles & Halliday textbook figures."),
    "group_size": 4, "endowment": 20, "mpcr": 0.4,
    "without_punishment": (6.5, 4.9, 6.5, 5.8, 5.5, 4.5, 4.7, 2.9, 3.5, 2.0),
    "with_punishment": (7.7, 9.5, 9.9, 10.5, 10.2, 10.3, 11.7, 12.4, 12.7, 13.2),
}


def published_path(punishment: bool) -> tuple[float, ...]:
    """Fehr & Gächter's (2000) mean contribution per period, out of 20."""
    return FEHR_GACHTER_2000["with_punishment" if _flag(punishment, "Punishment") else "without_punishment"]


def published_shares(punishment: bool, rounds: int = 10) -> tuple[float, ...]:
    """The same path as shares of the endowment, cut to ``rounds`` or held at its last value beyond ten."""
    rounds = _whole(rounds, "The number of rounds", 1, MAX_ROUNDS)
    path = [c / FEHR_GACHTER_2000["endowment"] for c in published_path(punishment)]
    return tuple((path + [path[-1]] * rounds)[:rounds])


def is_fehr_gachter(params: GameParams) -> bool:
    """Whether ``params`` is the game Fehr & Gächter ran (a public goods game, 4 × 20 tokens, MPCR 0.4)."""
    setting = FEHR_GACHTER_2000
    return (params.members == setting["group_size"] and params.harvest == setting["endowment"]
            and params.trader_price == 1 and params.coop_price == 0 and params.loan == 0
            and abs(params.value_added - setting["mpcr"] * params.members) < 1e-9)


@dataclass(frozen=True)
class BotCalibration:
    """How the simulated members behave. Shares of harvest (0 to 1) throughout."""

    type_shares: tuple[float, float, float, float] = (0.50, 0.30, 0.14, 0.06)  # in the order of TYPES
    initial: float = 0.45              # conditional and hump-shaped members' mean first-round share
    initial_punishment: float = 0.55   # the same when a punishment stage is announced
    initial_spread: float = 0.27       # spread of first-round shares
    slope: float = 0.94                # share of the believed average a conditional cooperator matches
    belief_memory: float = 0.75        # weight of last round's belief in this round's
    noise: float = 0.09                # spread of a member's share around her rule
    punish_per_unit: float = 0.25      # points a cooperator gives per unit another delivered less
    deterrence_per_point: float = 0.04  # rise in a punished member's share per point received
    talk_initial: float = 0.25         # communication: first-round share rises by this much
    talk_slope: float = 0.97           # communication: conditional cooperators' slope
    talk_converts: float = 0.5         # communication: share of free riders who keep the promise
    end_game_cut: float = 0.4          # cooperators' cut in the known last round when nobody can punish

    def __post_init__(self):
        shares = self.type_shares
        if not isinstance(shares, (tuple, list)) or len(shares) != len(TYPES):
            raise ValueError(f"Type shares need {len(TYPES)} numbers ({', '.join(TYPES)}); got {shares!r}.")
        shares = tuple(_number(s, "A type share", 0, 1) for s in shares)
        if abs(sum(shares) - 1) > 1e-9:
            raise ValueError(f"Type shares must add up to 1; they add up to {sum(shares):g}.")
        _set(self, "type_shares", shares)
        for name in ("initial", "initial_punishment", "initial_spread", "slope", "belief_memory", "noise",
                     "talk_initial", "talk_slope", "talk_converts", "end_game_cut"):
            _number(getattr(self, name), f"Calibration '{name}'", 0, 1)
        _number(self.punish_per_unit, "Calibration 'punish_per_unit'", 0, 10)
        _number(self.deterrence_per_point, "Calibration 'deterrence_per_point'", 0, 1)


BOTS = BotCalibration()
TYPE_CODE = {name: code for code, name in enumerate(TYPES)}


def draw_types(count: int, rng: np.random.Generator, bots: BotCalibration = BOTS) -> tuple[str, ...]:
    """Behavioural types for ``count`` simulated members, in the calibration's shares."""
    count = _whole(count, "The number of simulated members", 0, MAX_MEMBERS)
    return tuple(TYPES[c] for c in _type_codes(rng.random(count), bots))


def _type_codes(uniforms, bots: BotCalibration):
    cumulative = np.cumsum(bots.type_shares)
    return np.minimum(np.searchsorted(cumulative, uniforms, side="right"), len(TYPES) - 1)


def selfish_share(params: GameParams, round_index: int, harvests, credit, others_expected, excluded_surplus,
                  stakes, capital, excluded_credit=None):
    """The delivery share that pays a member best, given what she expects the others to deliver.

    Her expected payoff is piecewise linear in her delivery, so the best is at an end or a
    kink: where the loan is covered, where processing starts, the contract minimum, or the
    by-law share. Expected sanctions count; so does the next season's credit (and surplus
    share and stake) that a caught side-seller loses, or every remaining season's when the
    sanction lasts for good (a member already out for good has nothing left to lose).
    Works on arrays, members last.
    """
    h = np.asarray(harvests, dtype=float)[..., None]
    k = np.asarray(credit, dtype=float)[..., None]
    others = np.asarray(others_expected, dtype=float)[..., None]
    watched = params.monitoring > 0 and (params.sanction != FINE or params.fine > 0)
    kinks = [np.zeros_like(h), h]  # only the kinks this game has: fewer candidates, faster batches
    if params.loan > 0 and params.coop_price > 0:
        with np.errstate(over="ignore"):  # a price near zero: the loan is never covered (clipped below)
            kinks.append(k / params.coop_price)
    if params.threshold > 0:
        kinks.append(params.threshold - others)
    if params.contract_penalty > 0:
        kinks.append(params.contract_minimum * h)
    if watched:
        kinks.append(params.required_share * h)
    c = np.clip(np.concatenate(np.broadcast_arrays(*kinks), axis=-1), 0.0, h)
    v = params.value_added
    if params.threshold > 0:
        v = v * ((others + c) >= params.threshold - 1e-9)
    staying = params.members - left_group(params, excluded_surplus).sum(axis=-1)
    staying = np.maximum(np.asarray(staying, dtype=float), 1)[..., None, None]
    earned = params.patronage_share * v * c + (1 - params.patronage_share) * v * (others + c) / staying
    if params.monitoring > 0 and params.sanction == EXCLUSION or np.any(excluded_surplus):
        earned = np.where(np.asarray(excluded_surplus, dtype=bool)[..., None], 0.0, earned)
    owed = params.coop_price * c + earned
    payoff = params.trader_price * (h - c) + owed
    if params.loan > 0:
        payoff -= np.minimum(k, owed)
    if params.contract_penalty > 0:
        payoff -= params.contract_penalty * np.maximum(0.0, params.contract_minimum * h - c)
    if watched:
        shortfall = np.maximum(0.0, params.required_share * h - c)
        if params.sanction == FINE:
            payoff -= params.monitoring * params.fine * shortfall
        elif round_index + 1 < params.rounds:
            next_credit = np.minimum(params.loan, np.asarray(capital, dtype=float)[..., None, None] / params.members)
            at_stake = params.input_return * params.trader_price * next_credit
            if params.sanction == EXCLUSION:
                at_stake = at_stake + earned                      # next season's share of the surplus
            if params.sanction_for_good:
                at_stake = at_stake * (params.rounds - round_index - 1)
            if params.sanction == EXCLUSION:                      # her pooled stake, this season's part too
                at_stake = at_stake + np.asarray(stakes, dtype=float)[..., None] + params.pooled_share * earned
            out = _out_for_good(params, excluded_credit, np.shape(harvests))[..., None]
            payoff -= params.monitoring * (shortfall > 1e-9) * at_stake * ~out
    best = np.argmax(payoff - 1e-12 * c, axis=-1)  # on a tie, the smaller delivery
    chosen = np.take_along_axis(c, best[..., None], axis=-1)[..., 0]
    return chosen / np.asarray(harvests, dtype=float)


def bot_shares(params: GameParams, round_index: int, codes, beliefs, deterrence, selfish, noise, uniform,
               bots: BotCalibration = BOTS):
    """Delivery shares by type (arrays, members last); ``noise`` is standard normal, ``uniform`` in [0, 1)."""
    codes = np.asarray(codes)
    talk = params.communication
    slope = bots.talk_slope if talk else bots.slope
    if round_index == 0:
        start = (bots.initial_punishment if params.punishment else bots.initial) + (bots.talk_initial if talk else 0)
        cooperative = start + bots.initial_spread * noise
        hump = cooperative
    else:
        cooperative = slope * beliefs + bots.noise * noise
        hump = np.minimum(beliefs, 1 - beliefs) + bots.noise * noise
    if round_index == params.rounds - 1 and round_index > 0 and not params.punishment:
        # The end-game effect: in the known last round cooperators expect the others to quit and hold back.
        cooperative, hump = (1 - bots.end_game_cut) * cooperative, (1 - bots.end_game_cut) * hump
    free_rider = selfish
    if talk:  # some free riders keep the group's promise
        free_rider = np.where(uniform < bots.talk_converts, cooperative, selfish)
    share = np.select([codes == TYPE_CODE[CONDITIONAL], codes == TYPE_CODE[FREE_RIDER], codes == TYPE_CODE[HUMP]],
                      [cooperative, free_rider, hump], default=uniform)
    return np.clip(np.maximum(share + deterrence, selfish), 0.0, 1.0)


def simulated_shares(params: GameParams, round_index: int, codes, beliefs, deterrence, harvests, credit, capital,
                     excluded_credit, excluded_surplus, stakes, noise, uniform, bots: BotCalibration = BOTS):
    """Every simulated member's delivery share this round, from the public history (arrays, members last).

    A member excluded from the surplus for good has left the group in all but name: she
    delivers only what pays her on her own, and the others leave her out of what they expect.
    """
    harvests = np.asarray(harvests, dtype=float)
    staying = harvests * ~left_group(params, excluded_surplus)
    others_harvest = staying.sum(axis=-1, keepdims=True) - staying
    selfish = selfish_share(params, round_index, harvests, credit, beliefs * others_harvest, excluded_surplus,
                            stakes, capital, excluded_credit)
    shares = bot_shares(params, round_index, codes, beliefs, deterrence, selfish, noise, uniform, bots)
    if params.sanction_for_good:
        shares = np.where(excluded_surplus, selfish, shares)
    return shares


def bot_points(params: GameParams, codes, shares, bots: BotCalibration = BOTS):
    """Punishment points simulated cooperators give: ``points[..., i, j]`` from i to j.

    A conditional cooperator or hump-shaped member punishes each member who delivered a
    smaller share than she did, ``punish_per_unit`` points per unit of the gap, rounded.
    """
    shares = np.asarray(shares, dtype=float)
    gap = (shares[..., :, None] - shares[..., None, :]) * params.harvest
    punisher = np.isin(np.asarray(codes), (TYPE_CODE[CONDITIONAL], TYPE_CODE[HUMP]))
    points = np.rint(np.clip(bots.punish_per_unit * gap, 0, params.max_points))
    points = points * punisher[..., :, None]
    eye = np.eye(params.members, dtype=bool)
    return np.where(eye, 0.0, points)


def _others_mean(values, gone=None):
    """Each member's view of the others' mean, leaving out those who have left the group."""
    if gone is None or not np.any(gone):
        n = values.shape[-1]
        return (values.sum(axis=-1, keepdims=True) - values) / (n - 1)
    staying = ~np.asarray(gone, dtype=bool)
    counted = values * staying
    others = staying.sum(axis=-1, keepdims=True) - staying
    mean = (counted.sum(axis=-1, keepdims=True) - counted) / np.maximum(others, 1)
    return np.where(others > 0, mean, values)  # nobody else left: she keeps her own view


# ---------------------------------------------------------------------------------------
# 4. Round by round
# ---------------------------------------------------------------------------------------

STATE_FIELDS = ("round", "seed", "types", "capital", "excluded_credit", "excluded_surplus", "stakes", "beliefs",
                "deterrence", "payoffs", "mean_shares", "capital_path")


@dataclass(frozen=True)
class GameState:
    """Where a game stands between rounds. Plain JSON types only in ``to_dict``.

    ``types`` names each seat's simulated behaviour (``"person"`` for a seat a person plays);
    ``beliefs`` and ``deterrence`` are the simulated members' memory of the public history.
    """

    round: int
    seed: int
    types: tuple[str, ...]
    capital: float
    excluded_credit: tuple[bool, ...]
    excluded_surplus: tuple[bool, ...]
    stakes: tuple[float, ...]
    beliefs: tuple[float, ...]
    deterrence: tuple[float, ...]
    payoffs: tuple[float, ...]          # each member's total so far
    mean_shares: tuple[float, ...] = ()  # the group's mean delivery share in each round played
    capital_path: tuple[float, ...] = ()  # the cooperative's capital after each round played

    def __post_init__(self):
        _whole(self.round, "The round", 0, MAX_ROUNDS)
        _whole(self.seed, "The seed", 0, 2**63 - 1)
        if not isinstance(self.types, (tuple, list)) or not 2 <= len(self.types) <= MAX_MEMBERS:
            raise ValueError(f"A game state needs one type per seat; got {self.types!r}.")
        n = len(self.types)
        _set(self, "types", tuple(_choice(t, "A seat's type", TYPES + (PERSON,)) for t in self.types))
        _number(self.capital, "The cooperative's capital", 0)
        _set(self, "capital", float(self.capital))
        _set(self, "excluded_credit", _flags(self.excluded_credit, "Exclusion from credit", n))
        _set(self, "excluded_surplus", _flags(self.excluded_surplus, "Exclusion from the surplus", n))
        _set(self, "stakes", _floats(self.stakes, "A capital stake", n, 0))
        _set(self, "beliefs", _floats(self.beliefs, "A belief", n, 0))
        _set(self, "deterrence", _floats(self.deterrence, "A deterrence", n, 0))
        _set(self, "payoffs", _floats(self.payoffs, "A payoff total", n))
        for name in ("mean_shares", "capital_path"):
            values = getattr(self, name)
            if not isinstance(values, (tuple, list)) or len(values) != self.round:
                raise ValueError(f"A game state needs one entry in '{name}' per round played.")
            _set(self, name, tuple(_number(v, name) for v in values))

    def to_dict(self) -> dict:
        return {name: list(v) if isinstance(v := getattr(self, name), tuple) else v for name in STATE_FIELDS}

    @classmethod
    def from_dict(cls, data: Mapping) -> GameState:
        data = _mapping(data, STATE_FIELDS, "GameState")
        missing = set(STATE_FIELDS[:10]) - set(data)
        if missing:
            raise ValueError(f"A game state is missing {', '.join(sorted(missing))}.")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def initial_state(params: GameParams, seed: int = 0, types: Sequence[str] | None = None,
                  bots: BotCalibration = BOTS) -> GameState:
    """A new game. Without ``types`` the seats' behavioural types are drawn from ``seed``."""
    if not isinstance(params, GameParams):
        raise ValueError("initial_state needs GameParams.")
    seed = _whole(seed, "The seed", 0, 2**63 - 1)
    n = params.members
    if types is None:
        types = draw_types(n, np.random.default_rng([seed, 2**31]), bots)
    if not isinstance(types, (tuple, list)) or len(types) != n:
        raise ValueError(f"Give one type per seat ({n} seats); got {types!r}.")
    start = bots.initial_punishment if params.punishment else bots.initial
    start += bots.talk_initial if params.communication else 0.0
    return GameState(0, seed, tuple(types), params.capital, (False,) * n, (False,) * n, (0.0,) * n,
                     (start,) * n, (0.0,) * n, (0.0,) * n)


RESULT_FIELDS = ("round", "harvests", "credit", "deliveries", "shares", "processed", "surplus", "bonus",
                 "equal_share", "trader_sales", "owed", "repaid", "unrecovered", "side_selling", "caught",
                 "fines", "penalties", "points", "punishment_given", "punishment_received", "stake_payout",
                 "payoffs", "capital_before", "capital_after", "people")


@dataclass(frozen=True)
class RoundResult:
    """One season's outcome, per seat. ``points[i][j]``: points seat i gave seat j."""

    round: int
    harvests: tuple[float, ...]
    credit: tuple[float, ...]
    deliveries: tuple[float, ...]
    shares: tuple[float, ...]           # deliveries as a share of the harvest
    processed: bool
    surplus: float
    bonus: tuple[float, ...]
    equal_share: tuple[float, ...]
    trader_sales: tuple[float, ...]
    owed: tuple[float, ...]             # what the cooperative owed each member before the loan came out
    repaid: tuple[float, ...]
    unrecovered: tuple[float, ...]
    side_selling: tuple[bool, ...]
    caught: tuple[bool, ...]
    fines: tuple[float, ...]
    penalties: tuple[float, ...]
    points: tuple[tuple[float, ...], ...]
    punishment_given: tuple[float, ...]
    punishment_received: tuple[float, ...]
    stake_payout: tuple[float, ...]
    payoffs: tuple[float, ...]
    capital_before: float
    capital_after: float
    people: tuple[int, ...] = ()         # seats whose deliveries people chose

    @property
    def mean_delivery(self) -> float:
        return sum(self.deliveries) / len(self.deliveries)

    @property
    def mean_share(self) -> float:
        return sum(self.shares) / len(self.shares)

    def to_dict(self) -> dict:
        def plain(value):
            if isinstance(value, tuple):
                return [plain(v) for v in value]
            return value
        return {name: plain(getattr(self, name)) for name in RESULT_FIELDS}

    @classmethod
    def from_dict(cls, data: Mapping) -> RoundResult:
        data = _mapping(data, RESULT_FIELDS, "RoundResult")

        def tupled(value):
            return tuple(tupled(v) for v in value) if isinstance(value, list) else value
        try:
            return cls(**{k: tupled(v) for k, v in data.items()})
        except TypeError as error:
            raise ValueError(f"RoundResult cannot be built from the data given: {error}.") from None


def check_seat(params: GameParams, key: Any) -> int:
    """A seat number (0-based; digits in a string are fine, as JSON keys come back), or a ValueError."""
    if isinstance(key, str) and key.strip().isdigit():
        key = int(key)
    return _whole(key, "A seat number", 0, params.members - 1)


def validate_delivery(params: GameParams, value: Any, harvest: float | None = None) -> float:
    """A delivery: a number from 0 to the harvest (the largest possible harvest if none is given)."""
    top = params.max_harvest if harvest is None else harvest
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", ""))
        except ValueError:
            raise ValueError(f"The delivery must be a number from 0 to {top:,g}; got {value!r}.") from None
    return _number(value, "The delivery", 0, top, hint=" (the harvest)")


def validate_points(params: GameParams, value: Any, seat: int | None = None) -> dict[int, int]:
    """Punishment points: a mapping from seat to whole points, 0 to ``max_points`` each; not oneself."""
    if not params.punishment:
        raise ValueError("This game has no punishment stage; switch punishment on to give points.")
    if isinstance(value, (list, tuple)):
        value = dict(enumerate(value))
    if not isinstance(value, Mapping):
        raise ValueError(f"Punishment points must map seats to points, e.g. {{2: 3}}; got {value!r}.")
    points = {}
    for key, amount in value.items():
        target = check_seat(params, key)
        amount = _whole(amount, "Punishment points", 0, params.max_points)
        if target == seat and amount:
            raise ValueError("A member cannot punish herself.")
        points[target] = amount
    return points


def validate_decision(params: GameParams, value: Any, harvest: float | None = None, seat: int | None = None):
    """A delivery (a number), or ``{"delivery": x, "points": {seat: points}}`` with a punishment stage.

    Returns the cleaned number, or the cleaned mapping.
    """
    if isinstance(value, Mapping):
        extra = set(value) - {"delivery", "points"}
        if extra or "delivery" not in value:
            raise ValueError(f'A decision needs a "delivery" (and, with punishment, "points"); got {dict(value)!r}.')
        cleaned = {"delivery": validate_delivery(params, value["delivery"], harvest)}
        if "points" in value:
            cleaned["points"] = validate_points(params, value["points"], seat)
        return cleaned
    return validate_delivery(params, value, harvest)


def _check_state(params: GameParams, state: Any) -> GameState:
    if not isinstance(params, GameParams):
        raise ValueError("The parameters must be GameParams.")
    if not isinstance(state, GameState) or len(state.types) != params.members:
        raise ValueError("The game state does not belong to these parameters; start from initial_state(params).")
    if state.round >= params.rounds:
        raise ValueError(f"All {params.rounds} rounds have been played; the game is over.")
    return state


def _round_arrays(params: GameParams, state: GameState):
    capital = np.array(state.capital)
    credit = credit_given(params, capital, np.array(state.excluded_credit))
    harvests = params.harvest + params.input_return * credit
    return capital, credit, harvests


def preview_round(params: GameParams, state: GameState) -> dict[str, tuple[float, ...]]:
    """Each seat's credit and harvest in the coming season, before anyone decides."""
    state = _check_state(params, state)
    _, credit, harvests = _round_arrays(params, state)
    return {"credit": tuple(credit.tolist()), "harvests": tuple(harvests.tolist())}


def round_draws(state: GameState) -> dict[str, np.ndarray]:
    """The random draws of a round, fixed by the game's seed and the round number."""
    rng = np.random.default_rng([state.seed, state.round])
    n = len(state.types)
    return {"noise": rng.standard_normal(n), "uniform": rng.random(n), "caught": rng.random(n)}


def _codes(state: GameState) -> np.ndarray:
    return np.array([TYPE_CODE.get(t, TYPE_CODE[CONDITIONAL]) for t in state.types])


def _state_shares(params, state, credit, harvests, capital, draws, bots) -> np.ndarray:
    return simulated_shares(params, state.round, _codes(state), np.array(state.beliefs), np.array(state.deterrence),
                            harvests, credit, capital, np.array(state.excluded_credit),
                            np.array(state.excluded_surplus), np.array(state.stakes), draws["noise"],
                            draws["uniform"], bots)


def bot_decisions(params: GameParams, state: GameState, rng: np.random.Generator | None = None, *,
                  seats: Sequence[int] | None = None, bots: BotCalibration = BOTS) -> dict[int, float]:
    """Deliveries of simulated members for the coming round (all seats unless ``seats`` is given).

    A seat of type ``"person"`` is played as a conditional cooperator. Without ``rng`` the
    draws are the round's own (``round_draws``), as ``play_round`` uses for empty seats.
    """
    state = _check_state(params, state)
    if rng is None:
        draws = round_draws(state)
    elif isinstance(rng, np.random.Generator):
        draws = {"noise": rng.standard_normal(params.members), "uniform": rng.random(params.members)}
    else:
        raise ValueError("Simulated members need a numpy Generator (np.random.default_rng(seed)).")
    wanted = range(params.members) if seats is None else sorted({check_seat(params, s) for s in seats})
    capital, credit, harvests = _round_arrays(params, state)
    shares = _state_shares(params, state, credit, harvests, capital, draws, bots)
    return {seat: float(shares[seat] * harvests[seat]) for seat in wanted}


def play_round(params: GameParams, state: GameState, decisions: Mapping[int | str, Any], *,
               draws: Mapping[str, Any] | None = None, bots: BotCalibration = BOTS
               ) -> tuple[RoundResult, GameState]:
    """One season. ``decisions`` maps seats (0-based) to deliveries, or to
    ``{"delivery": x, "points": {seat: points}}`` when there is a punishment stage.

    Seats left out are played by simulated members (they punish by their rule too); a
    person who gives no points gives none. ``draws`` (normally left out) replaces the
    round's random draws. Nothing changes on an error.
    """
    state = _check_state(params, state)
    if not isinstance(decisions, Mapping):
        raise ValueError(f"Decisions must map seat numbers to deliveries; got {decisions!r}.")
    n = params.members
    capital, credit, harvests = _round_arrays(params, state)
    given: dict[int, float] = {}
    given_points: dict[int, dict[int, int]] = {}
    for key, value in decisions.items():
        seat = check_seat(params, key)
        if seat in given:
            raise ValueError(f"Seat {seat} decided twice.")
        cleaned = validate_decision(params, value, float(harvests[seat]), seat)
        if isinstance(cleaned, dict):
            given[seat] = cleaned["delivery"]
            given_points[seat] = cleaned.get("points", {})
        else:
            given[seat] = cleaned
            given_points[seat] = {}
    draws = round_draws(state) if draws is None else {k: np.asarray(v, dtype=float) for k, v in draws.items()}

    shares = _state_shares(params, state, credit, harvests, capital, draws, bots)
    codes = _codes(state)
    for seat, amount in given.items():
        shares[seat] = amount / harvests[seat]
    deliveries = shares * harvests
    points = np.zeros((n, n))
    if params.punishment:
        points = bot_points(params, codes, shares, bots)
        for seat, chosen in given_points.items():
            points[seat] = 0.0
            for target, amount in chosen.items():
                points[seat, target] = amount
    excluded_surplus = np.array(state.excluded_surplus)
    out = settle(params, state.round, capital, harvests, credit, deliveries, points, draws["caught"],
                 excluded_surplus, np.array(state.stakes), np.array(state.excluded_credit))
    result = RoundResult(
        round=state.round, harvests=_tuple(harvests), credit=_tuple(credit), deliveries=_tuple(deliveries),
        shares=_tuple(shares), processed=bool(out["processed"]), surplus=float(out["surplus"]),
        bonus=_tuple(out["bonus"]), equal_share=_tuple(out["equal_share"]),
        trader_sales=_tuple(out["trader_sales"]), owed=_tuple(out["owed"]), repaid=_tuple(out["repaid"]),
        unrecovered=_tuple(out["unrecovered"]), side_selling=_tuple(out["side_selling"], bool),
        caught=_tuple(out["caught"], bool), fines=_tuple(out["fines"]), penalties=_tuple(out["penalties"]),
        points=tuple(_tuple(row) for row in points), punishment_given=_tuple(out["punishment_given"]),
        punishment_received=_tuple(out["punishment_received"]), stake_payout=_tuple(out["stake_payout"]),
        payoffs=_tuple(out["payoffs"]), capital_before=float(capital), capital_after=float(out["capital"]),
        people=tuple(sorted(given)))
    new_state = _next_state(params, state, shares, points, out, bots)
    return result, new_state


def _tuple(values, kind=float) -> tuple:
    return tuple(kind(v) for v in np.asarray(values).tolist())


def _next_beliefs(bots: BotCalibration, beliefs, shares, gone=None):
    return bots.belief_memory * beliefs + (1 - bots.belief_memory) * _others_mean(shares, gone)


def _next_deterrence(params: GameParams, bots: BotCalibration, deterrence, points):
    return deterrence + bots.deterrence_per_point * points.sum(axis=-2) if params.punishment else deterrence


def _next_state(params, state, shares, points, out, bots) -> GameState:
    return GameState(
        round=state.round + 1, seed=state.seed, types=state.types, capital=float(out["capital"]),
        excluded_credit=_tuple(out["excluded_credit"], bool), excluded_surplus=_tuple(out["excluded_surplus"], bool),
        stakes=_tuple(out["stakes"]), beliefs=_tuple(_next_beliefs(bots, np.array(state.beliefs), shares,
                                                                    left_group(params, state.excluded_surplus))),
        deterrence=_tuple(_next_deterrence(params, bots, np.array(state.deterrence), points)),
        payoffs=tuple(p + q for p, q in zip(state.payoffs, out["payoffs"].tolist())),
        mean_shares=state.mean_shares + (float(shares.mean()),),
        capital_path=state.capital_path + (float(out["capital"]),))


def play_game(params: GameParams, seed: int = 0, decisions_by_round: Sequence[Mapping] | None = None,
              bots: BotCalibration = BOTS) -> tuple[list[RoundResult], GameState]:
    """Every round in turn; ``decisions_by_round`` gives people's decisions, simulated members fill the rest."""
    state = initial_state(params, seed, bots=bots)
    results = []
    for index in range(params.rounds):
        given = decisions_by_round[index] if decisions_by_round is not None and index < len(decisions_by_round) else {}
        result, state = play_round(params, state, given, bots=bots)
        results.append(result)
    return results, state


def everyone_gives_all(params: GameParams) -> GameState:
    """The game's end when every member delivers her whole harvest every round: the cooperative optimum
    when processing adds value, the benchmark a debrief compares the group with."""
    state = initial_state(params, 0, (CONDITIONAL,) * params.members)
    for _ in range(params.rounds):
        harvests = preview_round(params, state)["harvests"]
        _, state = play_round(params, state, dict(enumerate(harvests)))
    return state


def own_return(params: GameParams) -> float:
    """What one more unit delivered brings its member through the surplus, before any sanction.

    Below the trader's price, delivering for the surplus alone does not pay her: the
    free-rider problem. In the public goods game this is the MPCR; in the brand game,
    premium / group size.
    """
    return params.coop_price + params.value_added * (params.patronage_share + (1 - params.patronage_share)
                                                     / params.members)


def full_cooperation_income(params: GameParams) -> float:
    """A member's mean income per round when everyone delivers everything (see ``everyone_gives_all``)."""
    return float(np.mean(everyone_gives_all(params).payoffs)) / params.rounds

def debrief_figures(params: GameParams, results: Sequence[RoundResult], seat: int = 0) -> dict[str, Any]:
    """The numbers a debrief compares: one member's path against her group's and the published one.

    Shares are of the harvest (the endowment). The published path is Fehr & Gächter's for
    the same treatment (punishment or not); ``published_same_game`` says whether the game
    is theirs or only alike.
    """
    if not isinstance(params, GameParams):
        raise ValueError("The parameters must be GameParams.")
    if not isinstance(results, (list, tuple)) or not results or not all(isinstance(r, RoundResult) for r in results):
        raise ValueError("A debrief needs the results of at least one round.")
    seat = check_seat(params, seat)
    shares = np.array([r.shares for r in results])
    own, group = shares[:, seat], shares.mean(axis=1)
    others = np.delete(shares, seat, axis=1).mean(axis=1)
    totals = np.array([r.payoffs for r in results]).sum(axis=0)
    published = published_shares(params.punishment, len(results))
    return {
        "rounds": len(results),
        "own_total": float(totals[seat]), "others_total": float(np.delete(totals, seat).mean()),
        "own_shares": tuple(own.tolist()), "group_shares": tuple(group.tolist()),
        "own_mean_share": float(own.mean()), "group_mean_share": float(group.mean()),
        "rounds_above_others": int((own > others + 1e-9).sum()),
        "rounds_below_others": int((own < others - 1e-9).sum()),
        "full_cooperation_total": float(np.mean(everyone_gives_all(replace(params, rounds=len(results))).payoffs)),
        "published_shares": published, "published_same_game": is_fehr_gachter(params),
        "capital_start": float(params.capital), "capital_end": float(results[-1].capital_after),
    }


# ---------------------------------------------------------------------------------------
# 5. Many games at once
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Per game and round (games × rounds), or per game, round and member (× members)."""

    deliveries: np.ndarray   # games × rounds × members
    shares: np.ndarray       # deliveries as shares of the harvest
    payoffs: np.ndarray      # games × rounds × members
    capital: np.ndarray      # games × rounds: capital after each round
    processed: np.ndarray    # games × rounds
    caught: np.ndarray       # games × rounds × members
    types: np.ndarray        # games × members: codes into TYPES
    in_group: np.ndarray     # games × rounds × members: False once a member has been excluded for good

    @property
    def mean_path(self) -> np.ndarray:
        """Mean delivery per member in each round, over all games (the contribution path)."""
        return self.deliveries.mean(axis=(0, 2))

    @property
    def mean_share_path(self) -> np.ndarray:
        """Mean delivery share in each round, over every seat in every game."""
        return self.shares.mean(axis=(0, 2))

    @property
    def staying_share_path(self) -> np.ndarray:
        """Mean delivery share in each round among the members still in the group."""
        counted = self.in_group.sum(axis=(0, 2))
        return np.where(counted > 0, (self.shares * self.in_group).sum(axis=(0, 2)) / np.maximum(counted, 1), 0.0)

    @property
    def staying_path(self) -> np.ndarray:
        """Mean number of members still in the group in each round."""
        return self.in_group.sum(axis=2).mean(axis=0)

    @property
    def mean_capital_path(self) -> np.ndarray:
        return self.capital.mean(axis=0)

    @property
    def mean_payoff_path(self) -> np.ndarray:
        """A member's mean income in each round, over all members and games."""
        return self.payoffs.mean(axis=(0, 2))

    @property
    def mean_income(self) -> float:
        """A member's mean income per round, over everything simulated."""
        return float(self.payoffs.mean())

    def summary(self) -> dict[str, float]:
        return {
            "games": int(self.deliveries.shape[0]),
            "first_round_share": float(self.mean_share_path[0]),
            "last_round_share": float(self.mean_share_path[-1]),
            "mean_payoff": float(self.payoffs.sum(axis=1).mean()),
            "processing_rate": float(self.processed.mean()),
            "final_capital": float(self.capital[:, -1].mean()),
            "caught_rate": float(self.caught.mean()),
        }


def _check_batch(params: Any, n_games: Any) -> int:
    if not isinstance(params, GameParams):
        raise ValueError("The parameters must be GameParams.")
    return _whole(n_games, "The number of games", 1, 1_000_000)


def _batch_draws(params: GameParams, n_games: int, seed, bots: BotCalibration):
    rng = np.random.default_rng(seed)
    shape = (n_games, params.rounds, params.members)
    return {"types": _type_codes(rng.random((n_games, params.members)), bots),
            "noise": rng.standard_normal(shape), "uniform": rng.random(shape), "caught": rng.random(shape)}


def simulate(params: GameParams, n_games: int, seed: int | None = None, *,
             bots: BotCalibration = BOTS) -> SimulationResult:
    """Games among simulated members, all advanced a round at a time with numpy."""
    n_games = _check_batch(params, n_games)
    draws = _batch_draws(params, n_games, seed, bots)
    shape = (n_games, params.rounds, params.members)
    n = params.members
    codes = draws["types"]
    capital = np.full(n_games, float(params.capital))
    excluded_credit = np.zeros((n_games, n), dtype=bool)
    excluded_surplus = np.zeros((n_games, n), dtype=bool)
    stakes = np.zeros((n_games, n))
    start = (bots.initial_punishment if params.punishment else bots.initial) + \
        (bots.talk_initial if params.communication else 0.0)
    beliefs = np.full((n_games, n), start)
    deterrence = np.zeros((n_games, n))
    deliveries, shares_out, payoffs, caught = np.zeros(shape), np.zeros(shape), np.zeros(shape), np.zeros(shape, bool)
    capital_out, processed = np.zeros(shape[:2]), np.zeros(shape[:2], bool)
    in_group = np.ones(shape, bool)
    no_points = np.zeros((n_games, n, n))
    for t in range(params.rounds):
        gone = left_group(params, excluded_surplus)
        in_group[:, t] = ~gone
        credit = credit_given(params, capital, excluded_credit)
        harvests = params.harvest + params.input_return * credit
        shares = simulated_shares(params, t, codes, beliefs, deterrence, harvests, credit, capital, excluded_credit,
                                  excluded_surplus, stakes, draws["noise"][:, t], draws["uniform"][:, t], bots)
        delivered = shares * harvests
        points = bot_points(params, codes, shares, bots) if params.punishment else no_points
        out = settle(params, t, capital, harvests, credit, delivered, points, draws["caught"][:, t],
                     excluded_surplus, stakes, excluded_credit)
        deliveries[:, t], shares_out[:, t], payoffs[:, t] = delivered, shares, out["payoffs"]
        caught[:, t], capital_out[:, t], processed[:, t] = out["caught"], out["capital"], out["processed"]
        capital, stakes = out["capital"], out["stakes"]
        excluded_credit, excluded_surplus = out["excluded_credit"], out["excluded_surplus"]
        beliefs = _next_beliefs(bots, beliefs, shares, gone)
        deterrence = _next_deterrence(params, bots, deterrence, points)
    return SimulationResult(deliveries, shares_out, payoffs, capital_out, processed, caught, codes, in_group)


def simulate_loop(params: GameParams, n_games: int, seed: int | None = None, *,
                  bots: BotCalibration = BOTS) -> SimulationResult:
    """The same games as ``simulate`` (the same draws), one game and one round at a time through ``play_round``."""
    n_games = _check_batch(params, n_games)
    draws = _batch_draws(params, n_games, seed, bots)
    shape = (n_games, params.rounds, params.members)
    deliveries, shares, payoffs, caught = np.zeros(shape), np.zeros(shape), np.zeros(shape), np.zeros(shape, bool)
    capital, processed = np.zeros(shape[:2]), np.zeros(shape[:2], bool)
    in_group = np.ones(shape, bool)
    for game in range(n_games):
        types = [TYPES[c] for c in draws["types"][game]]
        state = initial_state(params, 0, types, bots)
        for t in range(params.rounds):
            in_group[game, t] = ~left_group(params, state.excluded_surplus)
            round_draw = {key: draws[key][game, t] for key in ("noise", "uniform", "caught")}
            result, state = play_round(params, state, {}, draws=round_draw, bots=bots)
            deliveries[game, t], shares[game, t] = result.deliveries, result.shares
            payoffs[game, t], caught[game, t] = result.payoffs, result.caught
            capital[game, t], processed[game, t] = result.capital_after, result.processed
    return SimulationResult(deliveries, shares, payoffs, capital, processed, caught, draws["types"], in_group)


def calibration_error(punishment: bool, n_games: int = 4000, seed: int = 2000,
                      bots: BotCalibration = BOTS) -> dict[str, Any]:
    """Simulated mean contribution path in Fehr & Gächter's setting against the published one."""
    params = public_goods(FEHR_GACHTER_2000["group_size"], FEHR_GACHTER_2000["endowment"],
                          FEHR_GACHTER_2000["mpcr"], 10, punishment)
    simulated = simulate(params, n_games, seed, bots=bots).mean_path
    published = np.array(published_path(punishment))
    return {"simulated": simulated, "published": published,
            "mean_absolute_error": float(np.abs(simulated - published).mean()),
            "largest_error": float(np.abs(simulated - published).max())}
