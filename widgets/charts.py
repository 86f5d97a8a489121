"""Charts drawn with matplotlib's object API and handed out as PNG bytes.

Views put the bytes in an ``ipywidgets.Image`` so a chart updates in place when a
slider moves, and the stored widget state still shows it in the static book.
No pyplot: no global figure state to leak between views or kernels.
"""
from __future__ import annotations

import io
from contextlib import contextmanager
from typing import Iterator

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# Large type and thick lines: charts are read off a projector at the back of a room.
STYLE = {
    "font.size": 13,
    "axes.titlesize": 15,
    "axes.labelsize": 13,
    "lines.linewidth": 2.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
# Colour-blind-safe palette (Okabe & Ito).
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


@contextmanager
def figure(width: float = 8.0, height: float = 4.5) -> Iterator[tuple[Figure, Axes]]:
    """A figure and its axes with the book's style; draw inside the ``with`` block."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
        yield fig, fig.add_subplot()


def png_bytes(fig: Figure) -> bytes:
    """Render a figure to PNG bytes (for ``ipywidgets.Image.value``)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def as_image(fig: Figure):
    """A figure as an IPython image, to show in a notebook cell without pyplot."""
    from IPython.display import Image

    return Image(png_bytes(fig))
