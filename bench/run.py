"""Run every measurement, print one table, and write it as JSON.

    python -m bench.run                   # full run
    python -m bench.run --quick           # one small repetition of each (the test suite's smoke run)
    python -m bench.run --only voila      # some sections only (repeat --only for more)

Sections: ``models`` (simulated games per second against a plain loop), ``book`` (clean
build running every notebook, and a rebuild), ``voila`` (time to the first widget of
each exercise page, cold against a preheated kernel), ``sliders`` (from moving an
explorer slider to the updated chart in Chromium, against the same update in Python),
and ``workshop`` (a room of simulated phones on the workshop server).

A measurement returns one row or a list of rows; every row carries its value, the
baseline measured in the same run, and their ratio (value / baseline). Rows with targets
from the issue (``targets``) say in the last column whether this run met them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from bench import book, models, sliders, voila, workshop

SECTIONS = {
    "models": models.MEASUREMENTS,
    "book": book.MEASUREMENTS,
    "voila": voila.MEASUREMENTS,
    "sliders": sliders.MEASUREMENTS,
    "workshop": workshop.MEASUREMENTS,
}


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _targets(row: dict) -> str:
    return "; ".join(f"{t['what']} <= {_fmt(t['at_most'])} {t['unit']}: {'met' if t['met'] else 'MISSED'}"
                     for t in row.get("targets", ()))


def table(rows: list[dict]) -> str:
    header = ("measure", "value", "unit", "baseline", "ratio", "target")
    lines = [header] + [
        (r["measure"], _fmt(r["value"]), r["unit"], f"{_fmt(r['baseline'])} ({r['baseline_name']})",
         f"{r['ratio']:.2f}x" if r["ratio"] < 10 else f"{r['ratio']:.1f}x", _targets(r))
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)


def _rows(result: dict | list[dict]) -> list[dict]:
    """A measurement's result as a list of rows (it may return one row or several)."""
    return [result] if isinstance(result, dict) else list(result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small repetition of each measurement")
    parser.add_argument("--out", type=Path, default=Path("bench-results/results.json"))
    parser.add_argument("--only", choices=list(SECTIONS), action="append", help="run only these sections")
    args = parser.parse_args(argv)
    started, load_before = time.perf_counter(), os.getloadavg()
    rows = []
    for section in args.only or SECTIONS:
        for measure in SECTIONS[section]:
            section_started = time.perf_counter()
            print(f"[{section}] {measure.__name__} ...", file=sys.stderr, flush=True)
            for result in _rows(measure(args.quick)):
                rows.append({"section": section, "measurement": measure.__name__, **result})
            print(f"[{section}] {measure.__name__}: {time.perf_counter() - section_started:.0f} s",
                  file=sys.stderr, flush=True)
    seconds, load_after = time.perf_counter() - started, os.getloadavg()
    print(table(rows))
    print(f"\n{len(rows)} rows in {seconds:.0f} s; load average (1 min) {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after, on {os.cpu_count()} cores")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                            "cores": os.cpu_count(), "load_average_before": load_before,
                            "load_average_after": load_after},
                "quick": args.quick,
                "sections": args.only or list(SECTIONS),
                "seconds": seconds,
                "results": rows,
            },
            indent=2,
        )
    )
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
