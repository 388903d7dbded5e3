"""`make run`'s command: serves /health, prints tokens that work, stops cleanly, keeps data,
refuses a taken port without talking to whatever holds it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TABLE_", "USER_POOL", "STREAM_ARN"))}
    env.pop("LOCAL_AWS_PORT", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _command(state_dir: Path, port: int, aws_port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "local_backend.run",
        "--port",
        str(port),
        "--aws-port",
        str(aws_port),
        # Any free port: the default (the API's + 1) may be held by anything on a busy machine.
        "--ws-port",
        "0",
        "--state-dir",
        str(state_dir),
    ]


def start(state_dir: Path, port: int = 0, aws_port: int = 0) -> tuple[subprocess.Popen[str], list[str]]:
    """The run command until its "Ctrl-C" line; port 0 lets it pick free ports."""
    proc = subprocess.Popen(
        _command(state_dir, port, aws_port),
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
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


def _url(lines: list[str]) -> str:
    ready = next(x for x in lines if x.startswith("Local backend ready at "))
    return ready.removeprefix("Local backend ready at ").strip()


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> tuple[int, str]:
    """Signal the run command; its exit status and the rest of its output."""
    proc.send_signal(sig)
    try:
        rest, _ = proc.communicate(timeout=60)
        return proc.returncode, rest
    finally:
        if proc.poll() is None:
            proc.kill()


def test_run_command_serves_prints_working_tokens_and_keeps_data(tmp_path):
    proc, lines = start(tmp_path)
    url = _url(lines)
    port = int(url.rsplit(":", 1)[1])
    try:
        text = "\n".join(lines)
        # The real state folder, and quiet: no SDK or request log lines.
        assert f"State folder: {tmp_path.resolve()} " in text
        assert "Found credentials" not in text and "INFO" not in text and '"GET /health' not in text
        admin_token = lines[lines.index(next(x for x in lines if x.startswith("Admin "))) + 1]
        guest_line = next(x for x in lines if x.startswith("Guest "))
        guest_id = guest_line.split()[1]
        guest_token = lines[lines.index(guest_line) + 1]
        curl = next(x for x in lines if x.strip().startswith("curl "))
        assert guest_token in curl and f"{url}/players/me" in curl
        assert re.search(r"127\.0\.0\.1", text)

        assert requests.get(url + "/health", timeout=300).status_code == 200
        assert f"Console: {url}/console" in text
        assert requests.get(url + "/console", timeout=300).headers["Content-Type"].startswith("text/html")
        me = requests.get(url + "/players/me", headers={"Authorization": f"Bearer {guest_token}"}, timeout=300)
        assert me.status_code == 200 and me.json()["player_id"] == guest_id
        admin = requests.get(
            f"{url}/admin/players/{guest_id}", headers={"Authorization": f"Bearer {admin_token}"}, timeout=300
        )
        assert admin.status_code == 200
        requests.post(
            url + "/players/me/stats",
            json={"updates": {"kills": 4}},
            headers={"Authorization": f"Bearer {guest_token}"},
            timeout=300,
        )
    finally:
        code, rest = stop(proc)
        assert code == 0 and f"stopped; local state saved in {tmp_path.resolve()}" in rest, rest

    # A restart on the same state keeps the player and their stats; the old token still works.
    proc, _ = start(tmp_path, port)
    try:
        stats = requests.get(url + "/players/me/stats", headers={"Authorization": f"Bearer {guest_token}"}, timeout=300)
        assert stats.status_code == 200
        assert stats.json()["stats"]["kills"] == 4
    finally:
        started = time.monotonic()
        code, rest = stop(proc, signal.SIGTERM)
        # A figure, not a threshold: the machine's load is not the test's business.
        print(f"run command stopped {time.monotonic() - started:.1f}s after SIGTERM")
        assert code == 0 and "local state saved" in rest, rest
    assert (tmp_path / "moto-state.pickle").exists()


@pytest.mark.parametrize("which", ["api", "aws"])
def test_a_taken_port_is_refused_and_nothing_talks_to_its_holder(tmp_path, which):
    with socket.create_server(("127.0.0.1", 0)) as holder:
        holder.setblocking(False)
        taken = holder.getsockname()[1]
        port, aws_port = (taken, 0) if which == "api" else (0, taken)
        result = subprocess.run(
            _command(tmp_path, port, aws_port), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120
        )
        # Nobody connected to the holder: no health check, no guest created there.
        with pytest.raises(BlockingIOError):
            holder.accept()
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert f"port {taken} on 127.0.0.1 is already in use" in out
    assert ("make run PORT=" if which == "api" else "make run AWS_PORT=") in out
    assert "Local backend ready" not in out and "Guest" not in out
    assert not (tmp_path / "outputs.json").exists()
