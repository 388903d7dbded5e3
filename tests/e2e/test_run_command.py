"""`make run`'s command: serves /health, prints tokens that work, stops cleanly, keeps data."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import ROOT, free_port

pytestmark = pytest.mark.e2e


def start(state_dir: Path, port: int, aws_port: int) -> tuple[subprocess.Popen[str], list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TABLE_", "USER_POOL", "STREAM_ARN"))}
    env.update({"LOCAL_AWS_PORT": str(aws_port), "PYTHONUNBUFFERED": "1"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "local_backend.run", "--port", str(port), "--state-dir", str(state_dir)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    deadline = time.time() + 120
    assert proc.stdout is not None
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if "Ctrl-C stops everything" in line:
            return proc, lines
    proc.kill()
    raise AssertionError("run command did not get ready:\n" + "\n".join(lines[-40:]))


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_run_command_serves_prints_working_tokens_and_keeps_data(tmp_path):
    port, aws_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    proc, lines = start(tmp_path, port, aws_port)
    try:
        text = "\n".join(lines)
        admin_token = lines[lines.index(next(x for x in lines if x.startswith("Admin "))) + 1]
        guest_line = next(x for x in lines if x.startswith("Guest "))
        guest_id = guest_line.split()[1]
        guest_token = lines[lines.index(guest_line) + 1]
        curl = next(x for x in lines if x.strip().startswith("curl "))
        assert guest_token in curl and f"{url}/players/me" in curl
        assert re.search(r"127\.0\.0\.1", text)

        assert requests.get(url + "/health", timeout=10).status_code == 200
        assert f"Console: {url}/console" in text
        assert requests.get(url + "/console", timeout=10).headers["Content-Type"].startswith("text/html")
        me = requests.get(url + "/players/me", headers={"Authorization": f"Bearer {guest_token}"}, timeout=10)
        assert me.status_code == 200 and me.json()["player_id"] == guest_id
        admin = requests.get(f"{url}/admin/players/{guest_id}", headers={"Authorization": f"Bearer {admin_token}"},
                             timeout=10)
        assert admin.status_code == 200
        requests.post(url + "/players/me/stats", json={"updates": {"kills": 4}},
                      headers={"Authorization": f"Bearer {guest_token}"}, timeout=10)
    finally:
        assert stop(proc) == 0

    # A restart on the same state keeps the player and their stats; the old token still works.
    proc, _ = start(tmp_path, port, aws_port)
    try:
        stats = requests.get(url + "/players/me/stats", headers={"Authorization": f"Bearer {guest_token}"}, timeout=10)
        assert stats.status_code == 200
        assert stats.json()["stats"]["kills"] == 4
    finally:
        assert stop(proc) == 0
