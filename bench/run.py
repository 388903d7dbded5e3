"""Run every benchmark module `bench/bench_*.py` and report its figures.

    python -m bench.run [name ...]

Each module exposes `run() -> list[Figure]` and runs in its own process, so its figures
are the same alone and in the full run. One line per figure goes to standard output
(`<name> <value> <unit>`); all of them go to `bench/results.json`. `BENCH_QUICK=1`
(`make bench QUICK=1`) runs every module at small sizes.

Modules run side by side, one per CPU (`--jobs`, `BENCH_JOBS`): their figures are counts,
which another process running beside them cannot change. Cold start is timed by the
clock, so it runs alone, after the others. Each module's lines are printed together when it
ends; `bench/results.json` keeps module order.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import Figure

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"
# Timed by the clock: nothing else runs beside them.
ALONE = {"bench_cold_start"}
# Started first, so the shorter modules fill the other CPUs meanwhile.
LONGEST = ("bench_leaderboards",)


def discover(names: list[str] | None = None) -> list[str]:
    modules = sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))
    if names:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in names}
        unknown = wanted - set(modules)
        if unknown:
            raise SystemExit(f"no benchmark {', '.join(sorted(unknown))}; have {modules}")
        modules = [m for m in modules if m in wanted]
    return modules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--jobs",
        type=int,
        default=int(os.environ.get("BENCH_JOBS") or os.cpu_count() or 1),
        help="modules run side by side (default: one per CPU)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        return _child(args.child, args.out)

    modules = discover(args.names)
    beside = sorted((m for m in modules if m not in ALONE), key=lambda m: m not in LONGEST)
    jobs = max(1, args.jobs)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = dict(zip(beside, pool.map(_run_module, beside), strict=True))
    outcomes.update({m: _run_module(m) for m in modules if m in ALONE})

    results = []
    failed = []
    for module_name in modules:
        returncode, figures, seconds = outcomes[module_name]
        if returncode != 0:
            failed.append(module_name)
            print(f"# {module_name} failed (exit {returncode})", file=sys.stderr)
        for figure in figures:
            results.append({**figure, "module": module_name})
        print(f"# {module_name}: {seconds:.1f}s", file=sys.stderr)

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


def _run_module(module_name: str) -> tuple[int, list[dict[str, Any]], float]:
    """One module in a fresh process: nothing one registers or patches (stat listeners, moto
    limits) can change another's figures. Its lines are printed when it ends."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        done = subprocess.run(
            [sys.executable, "-m", "bench.run", "--child", module_name, "--out", str(out)],
            stdout=subprocess.PIPE,
            text=True,
            check=False,
        )
        figures = json.loads(out.read_text()) if out.exists() else []
    sys.stdout.write(done.stdout)
    sys.stdout.flush()
    return done.returncode, figures, time.monotonic() - started


def _child(module_name: str, out: Path) -> int:
    """Run one module in this process: print its lines, write its figures to `out`."""
    # The app draws counter shards from `random`: seeded, a module's figures are the same
    # from run to run.
    random.seed(module_name)
    module = importlib.import_module(f"bench.{module_name}")
    try:
        figures: list[Figure] = module.run()
    except Exception as exc:
        print(f"# {module_name} failed: {exc!r}", file=sys.stderr)
        return 1
    for figure in figures:
        print(figure.line(), flush=True)
    out.write_text(json.dumps([{"name": f.name, "value": f.value, "unit": f.unit} for f in figures]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
