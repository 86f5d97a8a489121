"""A one-repetition smoke run keeps the benchmark from rotting (it asserts no timings)."""
from __future__ import annotations

import json

from bench.run import SECTIONS, main


def test_quick_benchmark_runs_every_measurement_and_writes_json(tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main(["--quick", "--out", str(out)]) == 0
    results = json.loads(out.read_text())["results"]
    assert len(results) == sum(len(measures) for measures in SECTIONS.values())
    for row in results:
        assert row["value"] > 0 and row["baseline"] > 0
        assert row["ratio"] == row["value"] / row["baseline"]
    printed = capsys.readouterr().out
    assert all(row["measure"] in printed for row in results)
