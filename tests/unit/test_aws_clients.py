"""AWS clients: built with the collector paused, the process's first build importing most
of botocore and freezing what the process holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]

# A fresh process: no client built, nothing frozen yet. Building a client calls no AWS API.
PROBE = """
import gc, json, sys

from chalicelib.storage import aws, players  # what a route's first repository loads

report = {}
if sys.argv[1] == "disabled":
    gc.disable()
report["frozen_before"] = gc.get_freeze_count()
report["session_before"] = "botocore.session" in sys.modules
aws.dynamodb()
report["session_after_first"] = "botocore.session" in sys.modules
report["enabled_after_first"] = gc.isenabled()
report["frozen_after_first"] = gc.get_freeze_count()
aws.s3()
report["enabled_after_second"] = gc.isenabled()
report["frozen_after_second"] = gc.get_freeze_count()
print(json.dumps(report))
"""


def _probe(collector: str) -> dict[str, int | bool]:
    env = {**os.environ, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, collector],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_the_first_client_freezes_what_the_process_holds_and_the_collector_runs_again() -> None:
    report = _probe("enabled")
    assert report["frozen_before"] == 0
    # botocore's session, client and config modules load inside the paused build, frozen with it.
    assert report["session_before"] is False
    assert report["session_after_first"] is True
    assert report["enabled_after_first"] is True
    # The modules and the client's service model: out of every later collection.
    assert report["frozen_after_first"] > 10_000
    # Later clients are built with the collector paused too, and freeze nothing more.
    assert report["enabled_after_second"] is True
    assert report["frozen_after_second"] == report["frozen_after_first"]


def test_a_collector_disabled_by_the_process_stays_disabled() -> None:
    report = _probe("disabled")
    assert report["enabled_after_first"] is False
    assert report["enabled_after_second"] is False
