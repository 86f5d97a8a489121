"""A one-repetition smoke run keeps the benchmark from rotting (it asserts no timings)."""
from __future__ import annotations

import json
import math

import pytest

from bench.run import SECTIONS, main

pytestmark = [pytest.mark.browser, pytest.mark.voila]


def counts_lost_decisions(row: dict) -> bool:
    """The one kind of row whose value may be 0: decisions the workshop server lost."""
    return row["unit"] == "decisions" and "lost" in row["measure"]


def test_quick_benchmark_runs_every_section_and_writes_json(tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main(["--quick", "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    results = written["results"]
    assert written["quick"] is True and written["sections"] == list(SECTIONS)

    # Every measurement of every section gave at least one row (some give several).
    produced = {(row["section"], row["measurement"]) for row in results}
    assert produced == {(section, measure.__name__) for section, measures in SECTIONS.items() for measure in measures}
    assert len(results) >= sum(len(measures) for measures in SECTIONS.values())
    assert len({row["measure"] for row in results}) == len(results)  # no two rows alike

    for row in results:
        assert row["unit"] and row["baseline_name"]
        assert row["baseline"] > 0
        assert row["value"] > 0 or (row["value"] == 0 and counts_lost_decisions(row)), row
        assert math.isclose(row["ratio"], row["value"] / row["baseline"], rel_tol=1e-12, abs_tol=1e-12), row
        for goal in row.get("targets", ()):
            assert goal["met"] == (goal["value"] <= goal["at_most"])

    printed = capsys.readouterr().out
    assert all(row["measure"] in printed for row in results)
    lines = printed.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("measure "))
    table = lines[header:lines.index("", header)]
    assert len(table) == 1 + len(results)  # one table: the header and one line a row
