"""Bargaining exercises on screen: two what-if explorers and a negotiation to play alone.

- ``explorer``: growers selling alone or through their association; sliders for spoilage,
  storage, buyers, commission, dealing costs and bargaining power.
- ``lead_firm_explorer``: a cluster subcontracted by one lead firm or several, services
  embedded in the price, and who pays for training and trade fairs.
- ``Negotiation``: the learner speaks for the association against a computer buyer, one
  offer a day, while the fruit rots.

Every number comes from ``widgets.bargaining``; this module only draws and words it.
"""
from __future__ import annotations

import html
from dataclasses import replace
from typing import Mapping

import ipywidgets as w
import numpy as np

from widgets import bargaining as model
from widgets.charts import COLOURS, figure, png_bytes
from widgets.views.controls import BUTTON_LAYOUT, BUTTON_STYLE, slider as _slider

GREY = "#999999"
# Big type and big targets: these run on projectors and on phones.
CSS = """
<style>
.explorer-slider { width: 100%; max-width: 46rem; }
.explorer-slider .widget-label, .explorer-slider .widget-readout,
.explorer-toggle, .explorer-toggle .widget-label { font-size: 1.1rem; }
.explorer-summary, .negotiation-status, .negotiation-result, .negotiation-message,
.negotiation-history { font-size: 1.15rem; line-height: 1.45; }
.negotiation-offer input { font-size: 1.5rem; height: 2.8rem; }
.negotiation-offer .widget-label { font-size: 1.2rem; }
.negotiation-message, .explorer-message { color: #B00020; }
.negotiation-history table { border-collapse: collapse; }
.negotiation-history td, .negotiation-history th { padding: 0.2rem 0.8rem; text-align: left; }
</style>
"""


def _style() -> w.HTML:
    return w.HTML(CSS)



def _money(value: float) -> str:
    return f"{value:,.2f}"


def _check_marks(marks: Mapping[str, float] | None) -> dict[str, float]:
    if marks is None:
        return {}
    if not isinstance(marks, Mapping):
        raise ValueError(f"Marks must map a label to a price, e.g. {{'local market': 2.6}}; got {marks!r}.")
    return {str(label): model._number(price, f"The marked price {label!r}", 0) for label, price in marks.items()}


def _draw_marks(ax, marks: Mapping[str, float], top: float, right_edge: float) -> None:
    for i, (label, price) in enumerate(marks.items()):
        colour = COLOURS[(3 + i) % len(COLOURS)]
        ax.axvline(price, color=colour, linestyle="--", linewidth=2)
        near_right = price > 0.7 * right_edge  # keep the label inside the axes
        text = f"{label} \n{_money(price)} " if near_right else f" {label}\n {_money(price)}"
        ax.text(price, top, text, color=colour, fontsize=11, va="bottom", ha="right" if near_right else "left")


# ---------------------------------------------------------------------------------------
# Selling alone or together
# ---------------------------------------------------------------------------------------

BINDING_TEXT = {
    "bargaining": "patience and bargaining power set the price; no outside option binds.",
    "local market": "the local market sets the price: bargaining alone would give less, so only the option to walk away counts.",
    "competing buyer": "the runner-up buyer's bid sets the price: competition, not patience, decides.",
    "no buyer": "no buyer beats the local market once its dealing costs are paid, so the fruit goes to the local market.",
}
CHANNEL_NAMES = {model.ALONE: "Selling alone", model.TOGETHER: "Through the association"}


def market_chart(deals: tuple[model.Deal, ...], buyer_value: float, marks: Mapping[str, float] | None = None,
                 currency: str = "taka", unit_name: str = "unit") -> bytes:
    """Stacked bars: where a unit's value goes for each way of selling, with price ticks and marks."""
    marks = _check_marks(marks)
    with figure(9.5, 5.0) as (fig, ax):
        parts = (("growers_net", "growers keep", COLOURS[2]), ("commission", "association's commission", COLOURS[1]),
                 ("dealing_cost", "buyer's dealing cost", GREY), ("buyer_margin", "buyer's margin", COLOURS[0]))
        rows = list(reversed(deals))  # the first deal on top
        for y, deal in enumerate(rows):
            left = 0.0
            for attribute, label, colour in parts:
                width = getattr(deal, attribute)
                ax.barh(y, width, left=left, color=colour, height=0.55, label=label if y == 0 else None,
                        hatch=None if deal.traded else "//", edgecolor="white")
                if width >= 0.06 * buyer_value:
                    ax.text(left + width / 2, y, _money(width), ha="center", va="center", color="white",
                            fontsize=12, weight="bold")
                left += width
            ax.plot([deal.price, deal.price], [y - 0.36, y + 0.36], color="black", linewidth=3)
            ax.text(deal.price, y + 0.34, f"price {_money(deal.price)}", ha="center", va="bottom", fontsize=11)
        right_edge = max([buyer_value, *marks.values()]) * 1.08
        _draw_marks(ax, marks, len(rows) - 0.35, right_edge)
        ax.set_yticks(range(len(rows)), [CHANNEL_NAMES[d.channel] for d in rows])
        ax.set_xlim(0, right_edge)
        ax.set_ylim(-0.6, len(rows) + 0.2)
        ax.set_xlabel(f"{currency} per {unit_name}")
        ax.set_title(f"Where a {unit_name}'s value goes")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False, fontsize=10)
    return png_bytes(fig)


def market_summary_html(alone: model.Deal, together: model.Deal, commission: float, currency: str = "taka",
                        unit_name: str = "unit") -> str:
    rows = []
    for deal in (alone, together):
        kept = f"growers keep {_money(deal.growers_net)}"
        if deal.channel == model.TOGETHER and deal.traded:
            kept += f" after the {commission:.0%} commission"
        rows.append(
            f"<li><b>{CHANNEL_NAMES[deal.channel]}:</b> price {_money(deal.price)} {currency} a {unit_name}; "
            f"{kept}; the buyer keeps {_money(deal.buyer_margin)}. Here {BINDING_TEXT[deal.binding]}</li>"
        )
    note = ""
    if together.growers_net < alone.growers_net:
        note = ("<p><b>Members would get more selling alone:</b> the commission costs them more "
                "than the association adds to the price.</p>")
    return f"<ul>{''.join(rows)}</ul>{note}"


class MarketExplorer(w.VBox):
    """Sliders over ``MarketParams`` and a chart of both ways of selling, updated in place."""

    def __init__(self, local_price: float, processor_price: float, commission: float, *,
                 marks: Mapping[str, float] | None = None, spoilage: float = 0.1, storage: float = 0.5,
                 buyers: int = 3, middlemen: int = 1, dealing_cost: float = 0.3, members: int = 20,
                 bargaining_power: float = 0.5, waiting_cost: float = 0.01, contract: bool = False,
                 currency: str = "taka", unit_name: str = "unit"):
        # Validates everything the book passes in before any widget is built.
        self.base = model.MarketParams(
            local_price=local_price, buyer_value=processor_price, commission=commission, buyers=buyers,
            middlemen=middlemen, dealing_cost=dealing_cost, members=members, spoilage=spoilage, storage=storage,
            waiting_cost=waiting_cost, bargaining_power=bargaining_power, contract=contract)
        self.marks = _check_marks(marks)
        self.currency, self.unit_name = currency, unit_name
        top_cost = max(1.0, 2 * dealing_cost, 0.5 * processor_price)
        self.spoilage = _slider("Fruit lost per day while waiting", spoilage, 0, 0.5, 0.01, ".0%")
        self.storage = _slider("Spoilage the association's storage avoids", storage, 0, 1, 0.05, ".0%")
        self.buyers = _slider("Buyers the association can reach", buyers, 1, max(10, buyers), 1, whole=True)
        self.middlemen = _slider("Middlemen a lone grower meets", middlemen, 1, max(5, middlemen), 1, whole=True)
        self.commission = _slider("Association's commission", commission, 0, max(0.5, commission), 0.01, ".0%")
        self.dealing_cost = _slider(f"Buyer's cost of dealing with one grower ({currency} a {unit_name})",
                                    dealing_cost, 0, top_cost, 0.01)
        self.members = _slider("Growers selling together", members, 1, max(100, members), 1, whole=True)
        self.bargaining_power = _slider("Sellers' bargaining power", bargaining_power, 0, 1, 0.05)
        self.sliders = {
            "spoilage": self.spoilage, "storage": self.storage, "buyers": self.buyers,
            "middlemen": self.middlemen, "commission": self.commission, "dealing_cost": self.dealing_cost,
            "members": self.members, "bargaining_power": self.bargaining_power,
        }
        self.contract = w.Checkbox(value=contract, description="Association agrees the price before harvest (contract)",
                                   indent=False, layout=w.Layout(width="auto"))
        self.single_buyer = w.Checkbox(value=False, description="Only one buyer, and it names the price",
                                       indent=False, layout=w.Layout(width="auto"))
        for toggle in (self.contract, self.single_buyer):
            toggle.add_class("explorer-toggle")
        self.image = w.Image(format="png", layout=w.Layout(width="100%", max_width="950px"))
        self.summary = w.HTML()
        self.summary.add_class("explorer-summary")
        self.message = w.HTML()
        self.message.add_class("explorer-message")
        for control in [*self.sliders.values(), self.contract, self.single_buyer]:
            control.observe(self._update, names="value")
        super().__init__([_style(), *self.sliders.values(), self.contract, self.single_buyer,
                          self.image, self.summary, self.message])
        self.add_class("market-explorer")
        self._update()

    def params(self) -> model.MarketParams:
        """The parameters the controls show now."""
        values = {name: slider.value for name, slider in self.sliders.items()}
        if self.single_buyer.value:  # one broker who names the price, as when a single NGO buys it all
            values.update(buyers=1, middlemen=1, bargaining_power=0.0)
        return replace(self.base, contract=self.contract.value, **values)

    def _update(self, _change=None) -> None:
        for name in ("buyers", "middlemen", "bargaining_power"):
            self.sliders[name].disabled = self.single_buyer.value
        try:
            params = self.params()
            self.deals = model.compare_channels(params)
        except ValueError as error:
            self.message.value = html.escape(str(error))
            return
        self.message.value = ""
        self.image.value = market_chart(self.deals, params.buyer_value, self.marks, self.currency, self.unit_name)
        self.summary.value = market_summary_html(*self.deals, params.commission, self.currency, self.unit_name)


def explorer(local_price: float, processor_price: float, commission: float, **options) -> MarketExplorer:
    """What-if explorer for growers selling alone or through their association.

    ``local_price``: what growers get on the local market; ``processor_price``: the most a
    keen buyer (a processor) pays; ``commission``: the association's cut as a fraction
    (0.1 for ten percent). ``marks`` draws reference lines at real prices, e.g.
    ``{"local market": 2.6, "processor contract": 5.3}``. Other options set where the
    sliders start (see ``MarketExplorer``).
    """
    return MarketExplorer(local_price, processor_price, commission, **options)


# ---------------------------------------------------------------------------------------
# A lead firm and its cluster
# ---------------------------------------------------------------------------------------

# Illustrative figures (per pair of shoes) for trying the explorer; the case gives none.
EXAMPLE_SERVICES = (
    model.Service("materials", 60, 80),
    model.Service("machinery", 15, 25),
    model.Service("skills training", 5, 12),
    model.Service("quality control", 4, 10),
)
EXAMPLE_PROGRAMMES = {"worker training": 60_000.0, "quality and design training": 40_000.0, "trade fairs": 30_000.0}


def subcontract_chart(plain: model.Subcontract, bundled: model.Subcontract, lead_firm_value: float,
                      currency: str = "taka", unit_name: str = "pair") -> bytes:
    """Stacked bars of the lead firm's value per unit: cluster's costs and margin, services, lead firm's margin."""
    with figure(9.5, 4.6) as (fig, ax):
        parts = (("cluster_costs", "cluster's own costs", GREY), ("cluster_margin", "cluster's margin", COLOURS[2]),
                 ("services_cost", "services from the lead firm", COLOURS[1]),
                 ("lead_firm_margin", "lead firm's margin", COLOURS[0]))
        rows = ((1, "Plain subcontract", plain), (0, "With embedded services", bundled))
        for y, _, deal in rows:
            left = 0.0
            for attribute, label, colour in parts:
                width = getattr(deal, attribute) if deal.traded else 0.0
                ax.barh(y, width, left=left, color=colour, height=0.55, label=label if y == 0 else None,
                        edgecolor="white")
                if width >= 0.07 * lead_firm_value:
                    ax.text(left + width / 2, y, f"{width:,.0f}", ha="center", va="center", color="white",
                            fontsize=12, weight="bold")
                left += width
            if deal.traded:
                ax.plot([deal.cash_price] * 2, [y - 0.36, y + 0.36], color="black", linewidth=3)
                ax.text(deal.cash_price, y + 0.34, f"cash price {deal.cash_price:,.0f}", ha="center", va="bottom",
                        fontsize=11)
            else:
                ax.text(0.02 * lead_firm_value, y, "no deal: the cluster does better elsewhere", va="center")
        ax.set_yticks([y for y, _, _ in rows], [name for _, name, _ in rows])
        ax.set_xlim(0, lead_firm_value * 1.05 or 1)
        ax.set_ylim(-0.6, 1.75)
        ax.set_xlabel(f"{currency} per {unit_name}")
        ax.set_title(f"What a {unit_name} is worth to the lead firm, and who gets it")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False, fontsize=10)
    return png_bytes(fig)


def costs_chart(splits: tuple[model.CostShare, ...], currency: str = "taka") -> bytes:
    """Who pays for each programme: the lead firm and the project."""
    with figure(9.5, 3.6) as (fig, ax):
        for y, split in enumerate(reversed(splits)):
            ax.barh(y, split.lead_firm_pays, color=COLOURS[0], height=0.55, label="lead firm" if y == 0 else None)
            ax.barh(y, split.project_pays, left=split.lead_firm_pays, color=COLOURS[4], height=0.55,
                    label="project" if y == 0 else None)
            if split.cost:
                ax.text(split.lead_firm_pays / 2, y, f"{split.lead_firm_pays / split.cost:.0%}", ha="center",
                        va="center", color="white", fontsize=12, weight="bold")
        ax.set_yticks(range(len(splits)), [s.programme for s in reversed(splits)])
        ax.set_xlabel(currency)
        ax.set_title("Who pays for training and trade fairs")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, frameon=False, fontsize=10)
    return png_bytes(fig)


SUBCONTRACT_BINDING = {
    "bargaining": "bargaining power sets the split; the cluster's other options do not bind.",
    "local sales": "the cluster's local sales set its margin.",
    "another lead firm": "another lead firm's bid sets the cluster's margin: its outside option binds.",
    "no deal": "the cluster does better elsewhere, so there is no subcontract.",
}


class LeadFirmExplorer(w.VBox):
    """One lead firm or several, services embedded in the price, and shared programme costs."""

    def __init__(self, lead_firm_value: float = 600, cluster_cost: float = 450, local_margin: float = 20, *,
                 services: tuple[model.Service, ...] = EXAMPLE_SERVICES,
                 programme_costs: Mapping[str, float] | None = None,
                 cost_shares: Mapping[str, float] | None = None,
                 lead_firms: int = 1, bargaining_power: float = 0.5,
                 training_programme: str | None = None, training_saving: float = 10.0,
                 transferable: float = 0.5, units: float = 5000, currency: str = "taka", unit_name: str = "pair"):
        self.base = model.LeadFirmParams(lead_firm_value=lead_firm_value, cluster_cost=cluster_cost,
                                         local_margin=local_margin, services=tuple(services),
                                         lead_firms=lead_firms, bargaining_power=bargaining_power)
        self.programme_costs = dict(programme_costs or EXAMPLE_PROGRAMMES)
        shares = dict(cost_shares or {name: 0.5 for name in self.programme_costs})
        model.share_costs(self.programme_costs, shares)  # checks names and values before building widgets
        self.training_programme = training_programme or next(iter(self.programme_costs))
        if self.training_programme not in self.programme_costs:
            raise ValueError(f"The training programme must be one of {sorted(self.programme_costs)}; "
                             f"got {self.training_programme!r}.")
        self.training_saving = model._number(training_saving, "The saving from training per unit", 0, cluster_cost)
        self.units = model._number(units, "The number of units ordered", 0)
        self.currency, self.unit_name = currency, unit_name

        self.lead_firms = _slider("Lead firms that would subcontract the cluster", lead_firms, 1, max(5, lead_firms),
                                  1, whole=True)
        self.bargaining_power = _slider("Cluster's bargaining power", bargaining_power, 0, 1, 0.05)
        self.transferable = _slider("Training the cluster can use for other buyers", transferable, 0, 1, 0.05, ".0%")
        self.shares = {name: _slider(f"Lead firm's share: {name}", share, 0, 1, 0.05, ".0%")
                       for name, share in shares.items()}
        self.sliders = {"lead_firms": self.lead_firms, "bargaining_power": self.bargaining_power,
                        "transferable": self.transferable, **{f"share: {k}": v for k, v in self.shares.items()}}
        self.service_boxes = {}
        for service in self.base.services:
            box = w.Checkbox(value=True, description=f"Lead firm supplies {service.name}", indent=False,
                             layout=w.Layout(width="auto"))
            box.add_class("explorer-toggle")
            self.service_boxes[service.name] = box
        self.image = w.Image(format="png", layout=w.Layout(width="100%", max_width="950px"))
        self.costs_image = w.Image(format="png", layout=w.Layout(width="100%", max_width="950px"))
        self.summary = w.HTML()
        self.summary.add_class("explorer-summary")
        self.message = w.HTML()
        self.message.add_class("explorer-message")
        for control in [*self.sliders.values(), *self.service_boxes.values()]:
            control.observe(self._update, names="value")
        super().__init__([_style(), self.lead_firms, self.bargaining_power, *self.service_boxes.values(),
                          self.image, *self.shares.values(), self.transferable, self.costs_image,
                          self.summary, self.message])
        self.add_class("lead-firm-explorer")
        self._update()

    def params(self) -> model.LeadFirmParams:
        chosen = tuple(s for s in self.base.services if self.service_boxes[s.name].value)
        return replace(self.base, services=chosen, lead_firms=self.lead_firms.value,
                       bargaining_power=self.bargaining_power.value)

    def _update(self, _change=None) -> None:
        try:
            params = self.params()
            plain = model.subcontract(replace(params, services=()))
            bundled = model.subcontract(params)
            shares = {name: slider.value for name, slider in self.shares.items()}
            splits = model.share_costs(self.programme_costs, shares)
            training = model.training_return(
                params, saving_per_unit=self.training_saving, transferable=self.transferable.value,
                units=self.units, programme_cost=self.programme_costs[self.training_programme],
                lead_firm_share=shares[self.training_programme])
        except ValueError as error:
            self.message.value = html.escape(str(error))
            return
        self.message.value = ""
        self.plain, self.bundled, self.splits, self.training = plain, bundled, splits, training
        self.image.value = subcontract_chart(plain, bundled, params.lead_firm_value, self.currency, self.unit_name)
        self.costs_image.value = costs_chart(splits, self.currency)
        self.summary.value = self._summary_html(bundled, training)

    def _summary_html(self, deal: model.Subcontract, training: model.TrainingReturn) -> str:
        c, u = self.currency, self.unit_name
        if deal.traded:
            lines = [f"With the services embedded, the lead firm pays {deal.cash_price:,.0f} {c} a {u} in cash plus "
                     f"services worth {deal.services_value:,.0f} to the cluster (they cost it {deal.services_cost:,.0f}). "
                     f"The cluster earns {deal.cluster_margin:,.0f} a {u}, the lead firm {deal.lead_firm_margin:,.0f}. "
                     f"Here {SUBCONTRACT_BINDING[deal.binding]}"]
        else:
            lines = [f"No subcontract: {SUBCONTRACT_BINDING['no deal']}"]
        verdict = "pays for itself" if training.worthwhile else "does not pay"
        lines.append(
            f"Training that saves {self.training_saving:,.0f} {c} a {u} over {self.units:,.0f} {u}s: the lead firm keeps "
            f"{training.lead_firm_gain:,.0f} of the gain and pays {training.lead_firm_outlay:,.0f} of the cost of "
            f"{self.training_programme}, so for the lead firm it {verdict}. It would pay up to "
            f"{training.break_even_share:.0%} of that cost; the cluster gains {training.cluster_gain:,.0f}.")
        return "".join(f"<p>{html.escape(line)}</p>" for line in lines)


def lead_firm_explorer(lead_firm_value: float = 600, cluster_cost: float = 450, local_margin: float = 20,
                       **options) -> LeadFirmExplorer:
    """What-if explorer for a cluster working for one lead firm or several.

    Money figures are per unit (a pair); the defaults are illustrative. Pass the case's
    cost shares as ``cost_shares={"worker training": 0.6, ...}`` with matching
    ``programme_costs``.
    """
    return LeadFirmExplorer(lead_firm_value, cluster_cost, local_margin, **options)


# ---------------------------------------------------------------------------------------
# Negotiating day by day against a computer buyer
# ---------------------------------------------------------------------------------------

class Negotiation(w.VBox):
    """The learner names prices for the association; a computer buyer answers and counters.

    Each rejected offer costs a day, and a day's spoilage of the growers' fruit. The buyer
    follows Rubinstein's strategy; with ``responder="behavioural"`` it also turns down
    offers that leave it little, as people do in ultimatum games.
    """

    def __init__(self, params: model.NegotiationParams, *, responder: str = "equilibrium",
                 leniency: float = model.PUBLISHED_LENIENCY, seed: int | None = None,
                 currency: str = "taka", unit_name: str = "unit"):
        if not isinstance(params, model.NegotiationParams):
            raise ValueError("Negotiation needs NegotiationParams.")
        self.params = params
        self.responder = model._choice(responder, "The buyer's style", model.RESPONDER_STYLES)
        self.leniency = model._number(leniency, "Leniency", 0)
        self.rng = np.random.default_rng(seed)
        self.currency, self.unit_name = currency, unit_name

        self.status = w.HTML()
        self.status.add_class("negotiation-status")
        self.fruit = w.FloatProgress(value=1.0, min=0.0, max=1.0, description="Fruit still sound",
                                     style={"description_width": "10rem", "bar_color": COLOURS[2]},
                                     layout=w.Layout(width="100%", max_width="36rem", height="2rem"))
        self.fruit.add_class("negotiation-fruit")
        self.offer = w.FloatText(value=round(params.value / 2, 2), description=f"Your price ({currency})",
                                 style={"description_width": "9rem"},
                                 layout=w.Layout(width="100%", max_width="24rem", height="3rem"))
        self.offer.add_class("negotiation-offer")
        self.propose = self._button("Propose", "primary", "negotiation-propose")
        self.accept = self._button("Accept", "success", "negotiation-accept")
        self.reject = self._button("Reject", "danger", "negotiation-reject")
        self.restart = self._button("Play again", "", "negotiation-restart")
        self.message = w.HTML()
        self.message.add_class("negotiation-message")
        self.history_view = w.HTML()
        self.history_view.add_class("negotiation-history")
        self.result = w.HTML()
        self.result.add_class("negotiation-result")
        self.propose_row = w.HBox([self.offer, self.propose], layout=w.Layout(flex_flow="row wrap"))
        self.answer_row = w.HBox([self.accept, self.reject], layout=w.Layout(flex_flow="row wrap"))

        self.propose.on_click(lambda _: self._move(self.offer.value))
        self.accept.on_click(lambda _: self._move(model.ACCEPT))
        self.reject.on_click(lambda _: self._move(model.REJECT))
        self.restart.on_click(lambda _: self.new_game())
        super().__init__([_style(), self.status, self.fruit, self.propose_row, self.answer_row, self.message,
                          self.history_view, self.result, self.restart])
        self.add_class("negotiation")
        self.new_game()

    @staticmethod
    def _button(label: str, style: str, css_class: str) -> w.Button:
        button = w.Button(description=label, button_style=style, layout=w.Layout(**BUTTON_LAYOUT), style=BUTTON_STYLE)
        button.add_class(css_class)
        return button

    def new_game(self) -> None:
        self.state = model.initial_state(self.params)
        self.events: list[str] = []
        self.message.value = ""
        self._let_buyer_move()
        self._refresh()

    def _move(self, decision) -> None:
        """The learner's move; a bad one shows a message and changes nothing."""
        if self.state.phase == model.OVER or self.state.turn != model.ASSOCIATION:
            self.message.value = "It is not your move now."
            return
        try:
            result, state = model.play_round(self.params, self.state, {model.ASSOCIATION: decision})
        except ValueError as error:
            self.message.value = html.escape(str(error))
            return
        self.message.value = ""
        self.state = state
        self._narrate(result)
        self._let_buyer_move()
        self._refresh()

    def _let_buyer_move(self) -> None:
        while self.state.phase != model.OVER and self.state.turn == model.BUYER:
            decision = model.bot_decision(self.params, self.state, self.rng, responder=self.responder,
                                          leniency=self.leniency)
            result, self.state = model.play_round(self.params, self.state, {model.BUYER: decision})
            self._narrate(result)

    def _narrate(self, result: model.MoveResult) -> None:
        c, u = self.currency, self.unit_name
        who = "You" if result.role == model.ASSOCIATION else "The buyer"
        if result.move == "offer":
            self.events.append(f"Day {result.day + 1}: {who} offered {_money(result.price)} {c} a {u}.")
        elif result.move == model.ACCEPT:
            self.events.append(f"Day {result.day + 1}: {who} accepted {_money(result.price)}.")
        else:
            self.events.append(f"Day {result.day + 1}: {who} rejected {_money(result.price)}; a day passes and "
                               f"{self.params.spoilage:.0%} of the fruit left rots.")

    def _refresh(self) -> None:
        params, state = self.params, self.state
        c, u = self.currency, self.unit_name
        sound = model.sound_fraction(params, min(state.day, params.deadline_days))
        self.fruit.value = sound
        over = state.phase == model.OVER
        my_proposal = not over and state.phase == model.PROPOSE and state.turn == model.ASSOCIATION
        my_answer = not over and state.phase == model.RESPOND and state.turn == model.ASSOCIATION
        self.propose_row.layout.display = "" if my_proposal else "none"
        self.answer_row.layout.display = "" if my_answer else "none"
        self.restart.layout.display = "" if over else "none"
        if over:
            self.status.value = f"<b>Over after {state.day + (state.outcome == model.AGREEMENT)} day(s).</b>"
        else:
            worth = model.value_left(params, state.day)
            lead = (f"<b>Day {state.day + 1} of {params.deadline_days}.</b> {sound:.0%} of your fruit is still sound: "
                    f"at most {_money(worth)} {c} for each {u} you started with.")
            task = ("Name your price." if my_proposal else
                    f"The buyer offers <b>{_money(state.offer)} {c}</b> a {u}. Accept or reject?")
            self.status.value = f"{lead}<br>{task}"
        self.history_view.value = "<br>".join(html.escape(event) for event in self.events[-8:])
        self.result.value = self._debrief() if over else ""

    def _debrief(self) -> str:
        params = self.params
        c, u = self.currency, self.unit_name
        end = model.outcome(params, self.state)
        theory = model.predicted_outcome(params)
        halved = model.predicted_outcome(replace(params, spoilage=params.spoilage / 2))
        first = "you name" if params.first_proposer == model.ASSOCIATION else "the buyer names"
        if end.agreed:
            head = (f"<p><b>Agreement on day {end.day + 1} at {_money(end.price)} {c} a {u}</b> "
                    f"({end.price_share:.0%} of the value). After the rot, your growers get "
                    f"{_money(end.association_payoff)} for each {u} they started with; the buyer keeps "
                    f"{_money(end.buyer_payoff)}.</p>")
        else:
            head = ("<p><b>No agreement: the fruit is past selling.</b> Your growers get nothing from this "
                    "buyer, and neither does the buyer.</p>")
        compare = ""
        if end.agreed:
            gap = end.association_payoff - theory.price
            if abs(gap) < 0.005:
                compare = " You got just that."
            else:
                direction = "more" if gap > 0 else "less"
                compare = f" You got {_money(abs(gap))} {direction} than that per {u}"
                compare += f", and {end.fruit_lost:.0%} of the fruit rotted while you talked." if end.day else "."
        theory_text = (
            f"<p><b>Rubinstein's prediction:</b> with {params.spoilage:.0%} of the fruit rotting each day and the "
            f"buyer losing {params.buyer_waiting_cost:.0%} a day, and {first} the first price, the growers get "
            f"{theory.association_share:.0%} of the value, {_money(theory.price)} {c} a {u}, agreed at once on day 1."
            f"{compare}</p><p>The side that loses more by waiting gets less.")
        if params.spoilage > 0:
            theory_text += (f" Storage or transport that halved the spoilage would raise the predicted price "
                            f"to {_money(halved.price)} {c}.")
        return head + theory_text + "</p>"
