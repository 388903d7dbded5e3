"""Prints, before pytest's closing line, how long each test layer took.

A layer is the folder under tests/ (unit, integration, e2e). For each: the tests run,
their summed time (setup, call and teardown, session fixtures included where they were
first used) and the wall-clock span from its first test's start to its last test's end
(layers overlap when tests run on several workers). `make test` passes the lint's time
in LINT_SECONDS. Figures only: nothing here passes or fails a run.
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

import pytest

_summed: dict[str, float] = defaultdict(float)
_tests: dict[str, int] = defaultdict(int)
_span: dict[str, list[float]] = {}


def _layer(nodeid: str) -> str:
    parts = nodeid.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "tests" else "other"


@pytest.hookimpl
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    layer = _layer(report.nodeid)
    _summed[layer] += report.duration
    if report.when == "call":
        _tests[layer] += 1
    start, stop = getattr(report, "start", None), getattr(report, "stop", None)
    if start is not None and stop is not None:
        first, last = _span.get(layer, [start, stop])
        _span[layer] = [min(first, start), max(last, stop)]


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any) -> None:
    if hasattr(terminalreporter.config, "workerinput") or not _summed:
        return
    write = terminalreporter.write_line
    terminalreporter.write_sep("-", "time per test layer")
    lint = os.environ.get("LINT_SECONDS")
    if lint:
        write(f"{'lint (ruff, mypy)':20} {'':>6}        {float(lint):8.1f} s")
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT") or getattr(
        terminalreporter.config.option, "numprocesses", None
    )
    for layer in sorted(
        _summed,
        key=lambda name: ("unit", "integration", "e2e").index(name) if name in ("unit", "integration", "e2e") else 9,
    ):
        span = _span.get(layer)
        wall = f"{span[1] - span[0]:8.1f} s wall" if span else ""
        write(f"{layer:20} {_tests[layer]:6d} tests {_summed[layer]:8.1f} s summed {wall}")
    if workers:
        write(f"(on {workers} workers; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    else:
        write(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
