"""Simulated games per second for each exercise model, against its plain-Python loop."""
from __future__ import annotations

import time
from typing import Callable

from bench.common import row, target
from widgets import bargaining, freeriding, governance
from widgets.cases import load_case


def _rate(run: Callable[[int], object], games: int, repeats: int) -> float:
    """Games per second, best of ``repeats`` runs (the least disturbed by other work)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run(games)
        best = min(best, time.perf_counter() - start)
    return games / best


def _measure(name: str, vectorised, loop, games: int, loop_games: int, repeats: int, **extra) -> dict:
    return row(name, _rate(vectorised, games, repeats), "games/s", _rate(loop, loop_games, repeats),
               "plain-Python loop", **extra)


def freeriding_rates(quick: bool) -> dict:
    params = freeriding.GameParams(members=8, rounds=10)
    games, loop_games = (500, 20) if quick else (10_000, 300)
    measured = _measure(
        "free-riding: side-selling seasons, 8 members x 10 rounds",
        lambda n: freeriding.simulate(params, n, seed=1),
        lambda n: freeriding.simulate_loop(params, n, seed=1),
        games, loop_games, 1 if quick else 3,
    )
    measured["targets"] = [target("10,000 games", 1.0, 10_000 / measured["value"])]
    return measured


def bargaining_rates(quick: bool) -> dict:
    params = bargaining.NegotiationParams(value=5.3, spoilage=0.1, deadline_days=10)
    games, loop_games = (2_000, 200) if quick else (200_000, 5_000)
    return _measure(
        "bargaining: negotiations, published offers vs behavioural buyers",
        lambda n: bargaining.simulate(params, n, seed=1, proposer="published"),
        lambda n: bargaining.simulate_loop(params, n, seed=1, proposer="published"),
        games, loop_games, 1 if quick else 3,
    )


def governance_rates(quick: bool) -> dict:
    modhupur = load_case("modhupur")
    draw = governance.MembershipDraw(max_investment=modhupur.value("special_member_investment_max"))
    params = governance.SimulationParams(draw, governance.example_proposals()[1])
    games, loop_games = (1_000, 50) if quick else (50_000, 1_000)
    return _measure(
        "governance: votes under five rules, 21 members",
        lambda n: governance.simulate(params, n, seed=1),
        lambda n: governance.simulate_loop(params, n, seed=1),
        games, loop_games, 1 if quick else 3,
    )


MEASUREMENTS = [freeriding_rates, bargaining_rates, governance_rates]
