"""A value chain as data, and the chart that draws it.

The stages and links below are the generic chain the book uses to place micro and small
producers; ``draw_value_chain`` turns them into a figure, with or without a collective
action organisation standing between the producers and their buyers.
"""
from __future__ import annotations

from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from widgets.charts import COLOURS, figure


@dataclass(frozen=True)
class Stage:
    name: str
    who: str
    small: bool = False  # where micro and small producers sit


STAGES = (
    Stage("Input suppliers", "seed, fertiliser,\nleather, tools"),
    Stage("Producers", "many, small,\nscattered", small=True),
    Stage("Traders", "few, better\ninformed"),
    Stage("Processors and\nlead firms", "want volume,\nsteady quality"),
    Stage("Retail and\nexport", "brands,\nsupermarkets"),
    Stage("Consumers", "at home\nand abroad"),
)
SUPPORT = ("Finance", "Business services", "Policy makers")
ORGANISATION_LINKS = (
    # (from, to, what flows): the collective organisation's horizontal and vertical roles
    ("Producers", "Input suppliers", "bulk purchase"),
    ("Producers", "Processors and\nlead firms", "joint sale, contracts"),
)

_BOX_WIDTH, _BOX_HEIGHT, _GAP = 1.7, 1.1, 0.55


def _centre(index: int) -> tuple[float, float]:
    return index * (_BOX_WIDTH + _GAP) + _BOX_WIDTH / 2, 3.0


def _box(ax, x, y, width, height, text, colour, text_colour="white", size=11):
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2), width, height,
            boxstyle="round,pad=0.05", facecolor=colour, edgecolor="none",
        )
    )
    ax.text(x, y, text, ha="center", va="center", color=text_colour, fontsize=size, weight="bold")


def _arrow(ax, start, end, colour, style="-|>", **kwargs):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=18, color=colour, lw=2, **kwargs))


def draw_value_chain(with_organisation: bool = False) -> Figure:
    """The chain from inputs to consumers; optionally the producers' own organisation."""
    with figure(13, 5.6) as (fig, ax):
        positions = {stage.name: _centre(i) for i, stage in enumerate(STAGES)}
        for stage in STAGES:
            x, y = positions[stage.name]
            colour = COLOURS[1] if stage.small else COLOURS[0]
            _box(ax, x, y, _BOX_WIDTH, _BOX_HEIGHT, stage.name, colour)
            ax.text(x, y - 0.95, stage.who, ha="center", va="top", fontsize=10, color="#333333")
        for left, right in zip(STAGES, STAGES[1:]):
            (x1, y1), (x2, y2) = positions[left.name], positions[right.name]
            _arrow(ax, (x1 + _BOX_WIDTH / 2, y1 + 0.2), (x2 - _BOX_WIDTH / 2, y2 + 0.2), COLOURS[0])
            _arrow(ax, (x2 - _BOX_WIDTH / 2, y2 - 0.2), (x1 + _BOX_WIDTH / 2, y1 - 0.2), COLOURS[2])
        ax.text(0.2, 4.35, "products →", color=COLOURS[0], fontsize=11)
        ax.text(0.2, 4.0, "← money", color=COLOURS[2], fontsize=11)

        right_edge = len(STAGES) * (_BOX_WIDTH + _GAP) - _GAP
        for i, name in enumerate(SUPPORT):
            x = right_edge * (i + 1) / (len(SUPPORT) + 1)
            _box(ax, x, 5.6, 2.3, 0.6, name, "#DDDDDD", text_colour="#333333", size=10)
        ax.text(right_edge / 2, 6.15, "supporting functions", ha="center", fontsize=10, color="#555555")

        if with_organisation:
            px, py = positions["Producers"]
            org_x, org_y = px + 1.2, 0.6
            _box(ax, org_x, org_y, 3.0, 0.8, "Cooperative or association", COLOURS[3], size=11)
            _arrow(ax, (px, py - _BOX_HEIGHT / 2 - 0.05), (org_x - 0.6, org_y + 0.45), COLOURS[3], style="<|-|>")
            for _, target, label in ORGANISATION_LINKS:
                tx, ty = positions[target]
                _arrow(
                    ax, (org_x + (0.9 if tx > px else -0.9), org_y + 0.4), (tx, ty - _BOX_HEIGHT / 2 - 1.0),
                    COLOURS[3], connectionstyle="arc3,rad=0.0",
                )
                ax.text((org_x + tx) / 2, (org_y + ty - 1.4) / 2 + 0.25, label, ha="center", fontsize=10, color=COLOURS[3])
            ax.text(
                org_x + 1.8, org_y, "and, sideways: a voice with policy makers,\nbetter deals on finance and business services",
                va="center", fontsize=10, color=COLOURS[3],
            )

        ax.set_xlim(-0.2, right_edge + 0.2)
        ax.set_ylim(-0.1, 6.4)
        ax.set_axis_off()
        title = "A value chain, with the producers' own organisation" if with_organisation else "A value chain seen from the small producer"
        ax.set_title(title)
    return fig
