"""A real local backend for HTTP tests: `chalice local` against the session's stand-in."""

from __future__ import annotations

import os
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
        return self.http.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def guest(self) -> dict[str, Any]:
        resp = self.request("POST", "/auth/guest", json={})
        assert resp.status_code == 201, resp.text
        return resp.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def backend(standin: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """`chalice local --stage local` on a free loopback port, pointed at the stand-in."""
    port = free_port()
    env = dict(os.environ)
    env.update({"GUEST_RATE_LIMIT": "100000", "PYTHONUNBUFFERED": "1"})
    chalice = Path(sys.executable).with_name("chalice")
    log_path = tmp_path_factory.mktemp("chalice-local") / "chalice-local.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(chalice), "local", "--stage", "local", "--host", "127.0.0.1", "--port", str(port), "--no-autoreload"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if requests.get(url + "/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                log.flush()
                raise RuntimeError("chalice local did not start: " + log_path.read_text()[-2000:])
            time.sleep(0.3)
        yield Backend(url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
