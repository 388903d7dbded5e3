"""Run every benchmark module `bench/bench_*.py` and report its figures.

    python -m bench.run [name ...]

Each module exposes `run() -> list[Figure]`. One line per figure goes to standard
output (`<name> <value> <unit>`); all of them go to `bench/results.json`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import Figure

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"


def discover(names: list[str] | None = None) -> list[str]:
    modules = sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))
    if names:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in names}
        unknown = wanted - set(modules)
        if unknown:
            raise SystemExit(
                f"no benchmark {', '.join(sorted(unknown))}; have {modules}"
            )
        modules = [m for m in modules if m in wanted]
    return modules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    results = []
    failed = []
    for module_name in discover(args.names):
        module = importlib.import_module(f"bench.{module_name}")
        started = time.monotonic()
        try:
            figures: list[Figure] = module.run()
        except Exception as exc:
            failed.append(module_name)
            print(f"# {module_name} failed: {exc!r}", file=sys.stderr)
            continue
        for figure in figures:
            print(figure.line(), flush=True)
            results.append(
                {
                    "name": figure.name,
                    "value": figure.value,
                    "unit": figure.unit,
                    "module": module_name,
                }
            )
        print(f"# {module_name}: {time.monotonic() - started:.1f}s", file=sys.stderr)

    args.out.write_text(
        json.dumps(
            {
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "figures": results,
                "failed": failed,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
