"""Free-riding exercises on screen: two what-if explorers and a game to play alone.

- ``explorer``: the side-selling game of a cooperative that lends inputs (or the plain
  public goods game); sliders for group size, patronage bonus, monitoring, the fine and
  the trader's price, toggles for treatments; a chart of simulated deliveries and the
  cooperative's capital season by season.
- ``brand_explorer``: a collective brand whose premium rests on every member's hidden
  quality effort; group size, detection, exclusion, premium and pooled capital.
- ``SoloPlay``: the learner is one member among simulated members, round by round.

Every number comes from ``widgets.freeriding``; this module only draws and words it.
Stable CSS classes: ``explorer-slider``, ``explorer-toggle``, ``explorer-summary``;
``solo-contribution``, ``solo-submit``, ``solo-result``, ``solo-message``, ``solo-debrief``,
``solo-restart``.
"""
from __future__ import annotations

import html
from dataclasses import replace

import ipywidgets as w
import numpy as np

from widgets import freeriding as model
from widgets.charts import COLOURS, figure, png_bytes
from widgets.views.controls import BUTTON_LAYOUT, BUTTON_STYLE, slider as _slider

BLUE, ORANGE, GREEN, VERMILLION, PURPLE = COLOURS[:5]
GREY = "#777777"
SIDE_SELLING, PUBLIC_GOODS, BRAND = "side-selling", "public goods", "brand"
GAMES = (SIDE_SELLING, PUBLIC_GOODS, BRAND)
ILLUSTRATIVE = ("Illustrative figures: the case describes the cooperative's credit and processing, "
                "not its prices or members' harvests.")
EXPLORER_GAMES = 1000   # simulated games behind each explorer chart: smooth lines, quick to redraw
CSS = """
<style>
.explorer-slider { width: 100%; max-width: 46rem; }
.explorer-slider .widget-label, .explorer-slider .widget-readout,
.explorer-toggle, .explorer-toggle .widget-label { font-size: 1.1rem; }
.explorer-summary, .solo-result, .solo-message, .solo-debrief, .solo-status { font-size: 1.15rem; line-height: 1.45; }
.solo-contribution input { font-size: 1.6rem; height: 3rem; }
.solo-contribution .widget-label { font-size: 1.2rem; }
.solo-message { color: #B00020; }
</style>
"""


def _style() -> w.HTML:
    return w.HTML(CSS)



def _toggle(description: str, value: bool = False) -> w.Checkbox:
    box = w.Checkbox(value=value, description=description, indent=False,
                     layout=w.Layout(width="auto", margin="0.2rem 1.5rem 0.2rem 0"))
    box.add_class("explorer-toggle")
    return box


def _image() -> w.Image:
    return w.Image(format="png", layout=w.Layout(width="100%", max_width="860px", height="auto"))


def _message(css_class: str) -> w.HTML:
    box = w.HTML("")
    box.add_class(css_class)
    return box


def _error(exc: Exception) -> str:
    return f"<b>Not changed:</b> {html.escape(str(exc))}"


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _number(value: float) -> str:
    return f"{value:,.1f}" if abs(value - round(value)) > 0.05 else f"{value:,.0f}"


# ---------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------

def path_chart(shares, capital=None, published=None, title: str = "", share_label: str = "Delivered to the cooperative",
               capital_label: str = "Cooperative's capital (right axis)", income=None,
               income_label: str = "A member's mean income (right axis)", money_label: str = "Money",
               share_axis: str = "% of the harvest", round_axis: str = "Season (round)") -> bytes:
    """Mean delivery share per season; the capital and a member's mean income on a second axis; a published path."""
    rounds = np.arange(1, len(shares) + 1)
    with figure(9.0, 4.6) as (fig, ax):
        ax.plot(rounds, 100 * np.asarray(shares), color=BLUE, marker="o", label=share_label)
        if published is not None:
            ax.plot(rounds, 100 * np.asarray(published), color=GREY, linestyle="--", marker="s",
                    label="Published experiment (Fehr & Gächter 2000)")
        ax.set_ylim(0, 105)
        ax.set_xticks(rounds)
        ax.set_xlabel(round_axis)
        ax.set_ylabel(share_axis)
        handles, labels = ax.get_legend_handles_labels()
        money = [series for series in (capital, income) if series is not None]
        if money:
            right = ax.twinx()
            if capital is not None:
                right.plot(rounds, capital, color=ORANGE, label=capital_label)
            if income is not None:
                right.plot(rounds, income, color=GREEN, linestyle="-.", label=income_label)
            top = max(float(np.max(series)) for series in money)
            right.set_ylim(min(0.0, *(float(np.min(series)) for series in money)), max(1.0, top * 1.15))
            right.set_ylabel(money_label)
            right.spines["right"].set_visible(True)
            more_handles, more_labels = right.get_legend_handles_labels()
            handles, labels = handles + more_handles, labels + more_labels
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False,
                  fontsize=11)
        if title:
            ax.set_title(title)
    return png_bytes(fig)


def solo_chart(own, group, published=None, unit: str = "of your harvest") -> bytes:
    """The learner's share against the group's mean (and the published pattern), round by round."""
    rounds = np.arange(1, len(own) + 1)
    with figure(9.0, 4.4) as (fig, ax):
        if published is not None:
            horizon = np.arange(1, len(published) + 1)
            ax.plot(horizon, 100 * np.asarray(published), color=GREY, linestyle="--", marker="s",
                    label="Published experiment (Fehr & Gächter 2000)")
        if len(own):
            ax.plot(rounds, 100 * np.asarray(own), color=VERMILLION, marker="o", label="You")
            ax.plot(rounds, 100 * np.asarray(group), color=BLUE, marker="o", label="Group mean")
        ax.set_ylim(0, 105)
        ax.set_xlim(0.5, max(len(own), 0 if published is None else len(published), 1) + 0.5)
        ax.set_xlabel("Round")
        ax.set_ylabel(f"% {unit}")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False, fontsize=11)
    return png_bytes(fig)


def _published_shares(params: model.GameParams) -> tuple[float, ...] | None:
    """Fehr & Gächter's path as shares, when ``params`` is their game; otherwise nothing to compare."""
    return model.published_shares(params.punishment, params.rounds) if model.is_fehr_gachter(params) else None


# ---------------------------------------------------------------------------------------
# The what-if explorer
# ---------------------------------------------------------------------------------------

class Explorer(w.VBox):
    """Sliders over the side-selling game (or the public goods game) and its simulated seasons."""

    def __init__(self, game: str = SIDE_SELLING, *, members: int = 8, rounds: int = 10,
                 base: model.GameParams | None = None, n_games: int = EXPLORER_GAMES, seed: int = 0):
        self.game = model._choice(game, "The game", (SIDE_SELLING, PUBLIC_GOODS))
        self.n_games = model._whole(n_games, "The number of simulated games", 10, 100_000)
        self.seed = seed
        if base is None:
            base = model.GameParams(members=members, rounds=rounds, capital=3.0 * members) \
                if game == SIDE_SELLING else model.public_goods(members, 20, 0.4, rounds)
        if not isinstance(base, model.GameParams):
            raise ValueError("The base parameters must be GameParams.")
        self.base = base
        self.group_size = _slider("Group size (members)", base.members, 2, 30, 1, whole=True)
        self.patronage = _slider("Patronage bonus share of the surplus", base.patronage_share, 0, 1, 0.05)
        self.monitoring = _slider("Monitoring probability", base.monitoring, 0, 1, 0.05)
        self.sanction = _slider("Fine per unit side-sold", base.fine, 0, 2, 0.05)
        self.trader_price = _slider("Trader's cash price per unit", base.trader_price, 0.5, 2, 0.05)
        mpcr = base.value_added / base.members if game == PUBLIC_GOODS else 0.4
        self.mpcr = _slider("Return per token to each member (MPCR)", mpcr, 0.05, 1, 0.05)
        self.sanction_kind = w.Dropdown(options=[(model.SANCTION_LABELS[s].capitalize(), s) for s in model.SANCTIONS],
                                        value=base.sanction, description="A caught side-seller gets",
                                        style={"description_width": "20rem"},
                                        layout=w.Layout(width="100%", max_width="52rem"))
        self.sanction_kind.add_class("explorer-slider")
        self.communication = _toggle("Members talk before deciding", base.communication)
        self.punishment = _toggle("Members can punish each other", base.punishment)
        self.contract = _toggle("Delivery contract (80% minimum, penalty at the trader's price)",
                                base.contract_minimum > 0)
        self.sliders = [self.group_size, self.mpcr] if game == PUBLIC_GOODS else \
            [self.group_size, self.patronage, self.monitoring, self.sanction, self.trader_price]
        toggles = [self.communication, self.punishment] if game == PUBLIC_GOODS else \
            [self.communication, self.punishment, self.contract]
        self.toggles = toggles
        self.image = _image()
        self.summary = _message("explorer-summary")
        self.message = _message("solo-message")
        self.result: model.SimulationResult | None = None
        controls = self.sliders + ([] if game == PUBLIC_GOODS else [self.sanction_kind])
        for control in controls + toggles:
            control.observe(self._update, names="value")
        note = [] if game == PUBLIC_GOODS else [w.HTML(f"<i>{ILLUSTRATIVE}</i>")]
        super().__init__([_style(), *note, *controls, w.HBox(toggles, layout=w.Layout(flex_flow="row wrap")),
                          self.message, self.image, self.summary])
        self._update()

    def params(self) -> model.GameParams:
        """The parameters the controls describe."""
        n = self.group_size.value
        if self.game == PUBLIC_GOODS:
            return replace(self.base, members=n, value_added=self.mpcr.value * n,
                           communication=self.communication.value, punishment=self.punishment.value)
        scale = n / self.base.members  # the cooperative's capital grows with its membership
        return replace(self.base, members=n, capital=self.base.capital * scale,
                       threshold=self.base.threshold * scale,
                       patronage_share=self.patronage.value, monitoring=self.monitoring.value,
                       sanction=self.sanction_kind.value, fine=self.sanction.value,
                       trader_price=self.trader_price.value, communication=self.communication.value,
                       punishment=self.punishment.value,
                       contract_minimum=0.8 if self.contract.value else 0.0,
                       contract_penalty=self.trader_price.value if self.contract.value else 0.0)

    def _update(self, _change=None) -> None:
        try:
            params = self.params()
            self.result = model.simulate(params, self.n_games, self.seed)
        except ValueError as exc:
            self.message.value = _error(exc)
            return
        self.message.value = ""
        shares, income = self.result.mean_share_path, self.result.mean_payoff_path
        if self.game == PUBLIC_GOODS:
            published = _published_shares(params)
            self.image.value = path_chart(shares, published=published, share_label="Contributed to the group account",
                                          income=income, income_label="A member's mean earnings (right axis)",
                                          money_label="Tokens", share_axis="% of the endowment", round_axis="Round",
                                          title="Simulated groups: mean contribution each round")
        else:
            self.image.value = path_chart(shares, self.result.mean_capital_path, income=income,
                                          money_label="Money (trader's price = 1)",
                                          title="Simulated cooperatives: deliveries, capital and income")
        self.summary.value = self._summary(params, shares)

    def _summary(self, params: model.GameParams, shares: np.ndarray) -> str:
        first, last = shares[0], shares[-1]
        trend = "fall" if last < first - 0.02 else ("rise" if last > first + 0.02 else "hold")
        income, best = self.result.mean_income, model.full_cooperation_income(params)
        if self.game == PUBLIC_GOODS:
            return (f"Members put {_pct(first)} of their tokens into the group account in the first round and "
                    f"{_pct(last)} in the last: contributions {trend}. A member earns {_number(income)} tokens a "
                    f"round on average, against {_number(best)} if everyone gave everything.")
        capital = self.result.mean_capital_path
        if capital[-1] < params.capital - 0.05:
            money = f"shrinks from {_number(params.capital)} to {_number(capital[-1])}"
        elif capital[-1] > params.capital + 0.05:
            money = f"grows from {_number(params.capital)} to {_number(capital[-1])}"
        else:
            money = f"stays at {_number(params.capital)}"
        return (f"Members deliver {_pct(first)} of their harvest in the first season and {_pct(last)} in the last "
                f"(deliveries {trend}); a member earns {_number(income)} a season on average "
                f"({_number(best)} if everyone delivered everything), and the cooperative's capital {money}.")


def explorer(game: str = SIDE_SELLING, **options) -> Explorer:
    """A what-if explorer for trainers: ``game`` is "side-selling" or "public goods"."""
    return Explorer(game, **options)


# ---------------------------------------------------------------------------------------
# The brand explorer
# ---------------------------------------------------------------------------------------

NOT_EXCLUDED, NEXT_ROUND, FOR_GOOD = "not excluded", "next round", "for good"
EXCLUSION_CHOICES = [
    ("Nothing: she is only named", NOT_EXCLUDED),
    ("She loses next round's premium and her pooled stake", NEXT_ROUND),
    ("She is out of the brand for good (and loses her stake)", FOR_GOOD),
]


class BrandExplorer(w.VBox):
    """Quality effort under a collective brand: who shirks, and what deters it."""

    def __init__(self, group_size: int = 8, detection: float = 0.3, exclusion: bool = True, premium: float = 2.0,
                 pooled_share: float = 0.0, *, for_good: bool = True, rounds: int = 10,
                 n_games: int = EXPLORER_GAMES, seed: int = 0):
        model.brand_game(group_size, 10, premium, detection, exclusion, pooled_share, rounds,
                         for_good=for_good)  # checks the inputs
        self.rounds, self.seed = rounds, seed
        self.n_games = model._whole(n_games, "The number of simulated games", 10, 100_000)
        self.group_size = _slider("Group size (members)", group_size, 2, 30, 1, whole=True)
        self.detection = _slider("Chance a shirker is detected", detection, 0, 1, 0.05)
        self.premium = _slider("Brand premium per unit of average effort", premium, 0.5, 10, 0.1)
        self.pooled = _slider("Share of the premium pooled as capital", pooled_share, 0, 1, 0.05)
        self.exclusion = w.Dropdown(options=EXCLUSION_CHOICES,
                                    value=(FOR_GOOD if for_good else NEXT_ROUND) if exclusion else NOT_EXCLUDED,
                                    description="A detected shirker", style={"description_width": "22rem"},
                                    layout=w.Layout(width="100%", max_width="52rem"))
        self.exclusion.add_class("explorer-slider")
        self.sliders = [self.group_size, self.detection, self.premium, self.pooled]
        self.image = _image()
        self.summary = _message("explorer-summary")
        self.message = _message("solo-message")
        self.result: model.SimulationResult | None = None
        for control in self.sliders + [self.exclusion]:
            control.observe(self._update, names="value")
        super().__init__([_style(), *self.sliders, self.exclusion, self.message, self.image, self.summary])
        self._update()

    def params(self) -> model.GameParams:
        """The parameters the controls describe."""
        return model.brand_game(self.group_size.value, 10, self.premium.value, self.detection.value,
                                self.exclusion.value != NOT_EXCLUDED, self.pooled.value, self.rounds,
                                for_good=self.exclusion.value == FOR_GOOD)

    def _update(self, _change=None) -> None:
        try:
            params = self.params()
            self.result = model.simulate(params, self.n_games, self.seed)
            unwatched = model.simulate(replace(params, monitoring=0.0), self.n_games, self.seed)
        except ValueError as exc:
            self.message.value = _error(exc)
            return
        self.message.value = ""
        shares, baseline = self.result.staying_share_path, unwatched.mean_share_path
        staying = self.result.staying_path if params.sanction_for_good else None
        self.image.value = brand_chart(shares, baseline, staying)
        own_return = model.own_return(params)
        lines = [f"Mean quality effort is {_pct(shares.mean())} of full with these rules, against "
                 f"{_pct(baseline.mean())} if nobody checks"]
        if staying is not None:
            lines.append(f"{_number(staying[-1])} of {params.members} members are still in the brand in the last round")
        lines.append(f"each unit of a member's effort returns her {own_return:.2f} of premium for a cost of 1, so "
                     f"{'shirking pays her unless she is caught' if own_return < 1 else 'effort pays on its own'}.")
        self.summary.value = "; ".join(lines)


def brand_chart(effort, baseline, staying=None) -> bytes:
    """Quality effort per round with these rules and with nobody checking; members still in on a second axis."""
    rounds = np.arange(1, len(effort) + 1)
    with figure(9.0, 4.6) as (fig, ax):
        ax.plot(rounds, 100 * np.asarray(effort), color=GREEN, marker="o", label="With these rules")
        ax.plot(rounds, 100 * np.asarray(baseline), color=GREY, linestyle="--", marker="s",
                label="Nobody checks quality")
        ax.set_ylim(0, 105)
        ax.set_xticks(rounds)
        ax.set_xlabel("Round")
        ax.set_ylabel("Quality effort, % of full")
        ax.set_title("Simulated members' quality effort")
        handles, labels = ax.get_legend_handles_labels()
        if staying is not None:
            right = ax.twinx()
            right.plot(rounds, staying, color=PURPLE, linestyle="-.", label="Members still in the brand (right axis)")
            right.set_ylim(0, max(1.0, float(np.max(staying))) * 1.15)
            right.set_ylabel("Members")
            right.spines["right"].set_visible(True)
            more_handles, more_labels = right.get_legend_handles_labels()
            handles, labels = handles + more_handles, labels + more_labels
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False,
                  fontsize=11)
    return png_bytes(fig)


def brand_explorer(group_size: int = 8, detection: float = 0.3, exclusion: bool = True, premium: float = 2.0,
                   for_good: bool = True, **options) -> BrandExplorer:
    """A what-if explorer for the collective brand (Delicias Criollas).

    It opens on exclusion for good, the rule that deters at these numbers; the menu shows
    how little a one-round exclusion does.
    """
    return BrandExplorer(group_size, detection, exclusion, premium, for_good=for_good, **options)


# ---------------------------------------------------------------------------------------
# Solo play
# ---------------------------------------------------------------------------------------

WORDS = {
    PUBLIC_GOODS: {"act": "put into the group account", "did": "contributed", "thing": "tokens",
                   "label": "Your contribution", "unit": "of your endowment"},
    BRAND: {"act": "put into quality", "did": "put into quality", "thing": "units of effort",
            "label": "Your quality effort", "unit": "of full effort"},
    SIDE_SELLING: {"act": "deliver to the cooperative", "did": "delivered", "thing": "bags",
                   "label": "Your delivery", "unit": "of your harvest"},
}


class SoloPlay(w.VBox):
    """The learner is seat 0 among simulated members, one round at a time."""

    def __init__(self, game: str = PUBLIC_GOODS, params: model.GameParams | None = None, *, seed: int = 0,
                 punishment: bool = False):
        self.game = model._choice(game, "The game", GAMES)
        if params is None:
            params = {PUBLIC_GOODS: lambda: model.public_goods(punishment=punishment),
                      BRAND: lambda: model.brand_game(4, 10, 2.0, 0.3, True, 0.0, 10, punishment=punishment),
                      SIDE_SELLING: lambda: model.GameParams(punishment=punishment)}[game]()
        if not isinstance(params, model.GameParams):
            raise ValueError("The parameters must be GameParams.")
        self.params = params
        self.seed = model._whole(seed, "The seed", 0, 2**63 - 1)
        self.seat = 0
        self.words = WORDS[game]
        self.contribution = w.Text(value="", description=self.words["label"], placeholder="a number",
                                   style={"description_width": "12rem"},
                                   layout=w.Layout(width="100%", max_width="32rem"))
        self.contribution.add_class("solo-contribution")
        self.submit_button = w.Button(description="Submit", button_style="primary", icon="check",
                                      layout=w.Layout(**BUTTON_LAYOUT), style=BUTTON_STYLE)
        self.submit_button.add_class("solo-submit")
        self.submit_button.on_click(lambda _: self.submit())
        self.restart_button = w.Button(description="Play again", icon="refresh", layout=w.Layout(**BUTTON_LAYOUT),
                                       style=BUTTON_STYLE)
        self.restart_button.add_class("solo-restart")
        self.restart_button.on_click(lambda _: self.restart())
        self.status = _message("solo-status")
        self.result = _message("solo-result")
        self.message = _message("solo-message")
        self.debrief = _message("solo-debrief")
        self.image = _image()
        entry = w.HBox([self.contribution, self.submit_button],
                       layout=w.Layout(flex_flow="row wrap", align_items="center"))  # wraps on a phone
        super().__init__([_style(), self.status, entry, self.message,
                          self.result, self.image, self.debrief, self.restart_button])
        self.restart()

    @property
    def over(self) -> bool:
        return self.state.round >= self.params.rounds

    def restart(self, seed: int | None = None) -> None:
        """A new game; by default the next seed, so the simulated members change."""
        if seed is not None:
            self.seed = model._whole(seed, "The seed", 0, 2**63 - 1)
        types = (model.PERSON,) + model.draw_types(self.params.members - 1, np.random.default_rng(self.seed))
        self.state = model.initial_state(self.params, self.seed, types)
        self.results: list[model.RoundResult] = []
        self.contribution.value = ""
        self.message.value = self.result.value = self.debrief.value = ""
        self.seed += 1
        self._show()

    def submit(self, value=None) -> None:
        """Play the learner's decision (the text box's, unless ``value`` is given) for this round."""
        raw = self.contribution.value if value is None else value
        try:
            if self.over:
                raise ValueError("The game is over: press 'Play again' for a new one.")
            if isinstance(raw, str) and not raw.strip():
                raise ValueError(f"Type how many {self.words['thing']} you {self.words['act']}, "
                                 f"from 0 to {_number(self._harvest())}.")
            result, state = model.play_round(self.params, self.state, {self.seat: raw})
        except ValueError as exc:
            self.message.value = _error(exc)
            return
        self.message.value = ""
        self.results.append(result)
        self.state = state
        self.result.value = self._round_text(result)
        self._show()

    def _harvest(self) -> float:
        return model.preview_round(self.params, self.state)["harvests"][self.seat]

    def _round_text(self, r: model.RoundResult) -> str:
        you, others = r.deliveries[self.seat], np.delete(np.array(r.deliveries), self.seat)
        parts = [f"Round {r.round + 1}: you {self.words['did']} {_number(you)}; "
                 f"the others {_number(others.mean())} on average (from {_number(others.min())} to "
                 f"{_number(others.max())})."]
        if self.game == SIDE_SELLING:
            parts.append(f"Loan repaid {_number(r.repaid[self.seat])}; surplus "
                         f"{'shared' if r.processed else 'lost: too little to process'}.")
        if r.caught[self.seat]:
            parts.append(f"<b>You were caught short of the standard: {self._consequence(r)}.</b>")
        if r.punishment_received[self.seat]:
            parts.append(f"Punishment points against you cost you {_number(r.punishment_received[self.seat])}.")
        parts.append(f"<b>Your payoff this round: {_number(r.payoffs[self.seat])}</b>; "
                     f"total so far {_number(self.state.payoffs[self.seat])}.")
        return " ".join(parts)

    def _consequence(self, r: model.RoundResult) -> str:
        sanction = self.params.sanction
        if sanction == model.FINE:
            return f"a fine of {_number(r.fines[self.seat])}" if r.fines[self.seat] else "you are named, nothing more"
        if r.round + 1 >= self.params.rounds:  # nothing left to lose but a pooled stake
            return ("this was the last round, so you lose only your pooled stake, if you had one"
                    if sanction == model.EXCLUSION else "this was the last round, so it costs you nothing")
        if self.game == BRAND:  # no credit in the brand game: only the premium and the pooled stake
            when = "for the rest of the game" if self.params.sanction_for_good else "next round"
            return f"no share of the premium {when}, and you lose your pooled stake"
        labels = model.FOR_GOOD_LABELS if self.params.sanction_for_good else model.SANCTION_LABELS
        return "you get " + labels[sanction]

    def _exclusion_note(self) -> str:
        """What the learner is shut out of this round, if anything."""
        if self.state.excluded_surplus[self.seat]:
            return (" <b>You are out of the group for good:</b> you get no share of what the group earns."
                    if self.params.sanction_for_good else
                    " <b>You were caught last round:</b> this round you get no share of what the group earns.")
        if self.state.excluded_credit[self.seat]:
            return " <b>You were caught side-selling:</b> the cooperative lends you nothing " + \
                ("any more." if self.params.sanction_for_good else "this season.")
        return ""

    def _show(self) -> None:
        own = [r.shares[self.seat] for r in self.results]
        group = [r.mean_share for r in self.results]
        self.image.value = solo_chart(own, group, _published_shares(self.params), self.words["unit"])
        if self.over:
            self.status.value = "<b>The game is over.</b>"
            self.submit_button.disabled = self.contribution.disabled = True
            self.debrief.value = self._debrief()
            return
        self.submit_button.disabled = self.contribution.disabled = False
        harvest = self._harvest()
        extra = ""
        if self.game == SIDE_SELLING:
            credit = model.preview_round(self.params, self.state)["credit"][self.seat]
            extra = (f" The cooperative lent you inputs worth {_number(credit)}; it takes that back from what it owes "
                     f"you. The trader pays {self.params.trader_price:g} a bag in cash now.")
        if self.params.punishment:
            extra += " After each round, the others may spend points to punish low contributors."
        extra += self._exclusion_note()
        self.status.value = (f"<b>Round {self.state.round + 1} of {self.params.rounds}.</b> You have "
                             f"{_number(harvest)} {self.words['thing']}: how many do you "
                             f"{self.words['act']}?{extra}")

    def _debrief(self) -> str:
        d = model.debrief_figures(self.params, self.results, self.seat)
        own, group, published = d["own_shares"], d["group_shares"], d["published_shares"]
        act, unit = self.words["act"], self.words["unit"]
        treatment = "with punishment" if self.params.punishment else "without punishment"
        source = (f"In Fehr & Gächter's experiment, in this very game {treatment}," if d["published_same_game"] else
                  f"In Fehr & Gächter's laboratory public goods game {treatment},")
        gap = group[-1] - published[-1]
        ending = "close to" if abs(gap) <= 0.05 else ("above" if gap > 0 else "below")
        lines = [
            f"You earned <b>{_number(d['own_total'])}</b>; the others averaged {_number(d['others_total'])}.",
            f"You chose to {act} {_pct(own[0])} {unit} in round 1 and {_pct(own[-1])} in round {d['rounds']} "
            f"({_pct(d['own_mean_share'])} on average): more than the others' average in "
            f"{d['rounds_above_others']} rounds and less in {d['rounds_below_others']}.",
            f"Your group's share {_trend(group)}, from {_pct(group[0])} to {_pct(group[-1])}. {source} people gave "
            f"{_pct(published[0])} of their tokens in the first period and {_pct(published[-1])} by period "
            f"{d['rounds']}: your group ended {ending} that.",
            f"Had everyone given everything every round, each would have earned about "
            f"{_number(d['full_cooperation_total'])}: the gap is what free-riding cost the group.",
            "In experiments, about half the players are conditional cooperators who give if others give, but a "
            "little less; with a third who free ride, giving ebbs round after round (Fischbacher, Gächter & Fehr "
            "2001). When members can punish, contributions climb instead (Fehr & Gächter 2000).",
        ]
        if self.game == SIDE_SELLING:
            lines.append(f"The cooperative's capital went from {_number(d['capital_start'])} to "
                         f"{_number(d['capital_end'])}: unrepaid loans shrink next season's credit for everyone.")
        if self.game == BRAND:
            lines.append("Smaller groups, a real chance of being caught and excluded, and premiums pooled as capital "
                         "that a shirker forfeits all make quality effort pay (Bonroy et al. 2019).")
        return "<ul>" + "".join(f"<li>{line}</li>" for line in lines) + "</ul>"


def _trend(path) -> str:
    return "fell" if path[-1] < path[0] - 0.02 else "rose" if path[-1] > path[0] + 0.02 else "held steady"
