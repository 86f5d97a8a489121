"""Checks shared by the exercise models: each returns the cleaned value or raises a
``ValueError`` that names the parameter, the allowed range and the value received, in
words a trainer can act on."""
from __future__ import annotations

import math
from numbers import Real
from typing import Any, Sequence

import numpy as np


def number(value: Any, what: str, low: float | None = None, high: float | None = None, *,
           low_open: bool = False, high_open: bool = False, hint: str = "") -> float:
    """``value`` as a float within the bounds (``*_open`` excludes the bound itself)."""
    if low is not None and high is not None and not (low_open or high_open):
        allowed = f"a number from {low:,g} to {high:,g}"
    elif low is not None and high is not None:
        lower = f"above {low:,g}" if low_open else f"of at least {low:,g}"
        upper = f"below {high:,g}" if high_open else f"at most {high:,g}"
        allowed = f"a number {lower} and {upper}"
    elif low is not None:
        allowed = f"a number {'above' if low_open else 'of at least'} {low:,g}"
    elif high is not None:
        allowed = f"a number {'below' if high_open else 'of at most'} {high:,g}"
    else:
        allowed = "a number"
    message = f"{what} must be {allowed}{hint}; got {value!r}."
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise ValueError(message)
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(message)
    if low is not None and (result < low or (low_open and result == low)):
        raise ValueError(message)
    if high is not None and (result > high or (high_open and result == high)):
        raise ValueError(message)
    return result


def whole(value: Any, what: str, low: int, high: int) -> int:
    message = f"{what} must be a whole number from {low:,} to {high:,}; got {value!r}."
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise ValueError(message)
    result = float(value)
    if not math.isfinite(result) or result != int(result) or not low <= result <= high:
        raise ValueError(message)
    return int(result)


def choice(value: Any, what: str, options: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{what} must be one of: {', '.join(options)}; got {value!r}.")
    return value


def flag(value: Any, what: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{what} must be True or False; got {value!r}.")
    return bool(value)


def text(value: Any, what: str, longest: int = 60) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > longest:
        raise ValueError(f"{what} must be a piece of text of 1 to {longest} characters; got {value!r}.")
    return value.strip()
