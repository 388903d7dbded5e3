"""A real local backend for HTTP tests: `chalice local` against the session's stand-in."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Backend:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()

    def request(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, self.url + path, headers=headers, timeout=300, **kwargs)

    def guest(self) -> dict[str, Any]:
        resp = self.request("POST", "/auth/guest", json={})
        assert resp.status_code == 201, resp.text
        return resp.json()  # type: ignore[no-any-return]


def start_api_server(env: dict[str, str], log_path: Path, *, port: int = 0) -> tuple[subprocess.Popen[bytes], str]:
    """`python -m local_backend.api_server` (chalice local's app and gateway, TCP_NODELAY,
    a deep listen backlog) on `port` (0: a free one); its URL once it listens."""
    log = open(log_path, "wb")  # noqa: SIM115 - the child keeps it; closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "local_backend.api_server", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    deadline = time.monotonic() + 120
    while True:
        # Waiting for a line the server prints once it listens (the deadline only ends a hang).
        match = re.search(rb"listening on (http://\S+)", log_path.read_bytes())
        if match:
            return proc, match.group(1).decode()
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the API server did not start: " + log_path.read_text()[-2000:])
        time.sleep(0.1)


def stop_process(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def backend(standin: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """The local stage's API on a free loopback port, pointed at the stand-in."""
    env = dict(os.environ)
    env.update({"GUEST_RATE_LIMIT": "100000", "PYTHONUNBUFFERED": "1"})
    log_path = tmp_path_factory.mktemp("chalice-local") / "chalice-local.log"
    proc, url = start_api_server(env, log_path)
    try:
        yield Backend(url)
    finally:
        stop_process(proc)
