"""Run every measurement, print one table, and write it as JSON.

    python -m bench.run            # full run
    python -m bench.run --quick    # one small repetition of each (the test suite's smoke run)
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

from bench import models

SECTIONS = {"models": models.MEASUREMENTS}


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def table(rows: list[dict]) -> str:
    header = ("measure", "value", "unit", "baseline", "ratio")
    lines = [header] + [
        (r["measure"], _fmt(r["value"]), r["unit"], f"{_fmt(r['baseline'])} ({r['baseline_name']})", f"{r['ratio']:.1f}x")
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)) for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small repetition of each measurement")
    parser.add_argument("--out", type=Path, default=Path("bench-results/results.json"))
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append", help="run only these sections")
    args = parser.parse_args(argv)
    rows = []
    for section in args.only or SECTIONS:
        for measure in SECTIONS[section]:
            rows.append({"section": section, **measure(args.quick)})
    print(table(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "machine": {"python": sys.version.split()[0], "platform": platform.platform()},
                "quick": args.quick,
                "results": rows,
            },
            indent=2,
        )
    )
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
