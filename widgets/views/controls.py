"""Controls the exercise views share, sized for a projector and a phone."""
from __future__ import annotations

import ipywidgets as w

BUTTON_LAYOUT = dict(height="3.2em", min_width="10em", width="auto", margin="0.3rem")
BUTTON_STYLE = dict(font_size="1.25rem", font_weight="bold")


def slider(description: str, value: float, low: float, high: float, step: float, fmt: str = ".2f",
           whole: bool = False) -> w.FloatSlider | w.IntSlider:
    """An explorer slider: wide label, updates the chart when released (class ``explorer-slider``)."""
    kind = w.IntSlider if whole else w.FloatSlider
    options = {} if whole else {"readout_format": fmt}
    control = kind(value=value, min=low, max=high, step=step, description=description,
                   continuous_update=False, style={"description_width": "22rem"},
                   layout=w.Layout(width="100%", max_width="52rem"), **options)
    control.add_class("explorer-slider")
    return control
