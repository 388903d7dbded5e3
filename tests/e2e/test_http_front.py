"""The local API's HTTP front: a burst of new connections is absorbed, kept-alive
connections are not held back by Nagle's algorithm, a taken port is refused clearly."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from typing import Any

import pytest

from local_backend import api_server
from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

BURST = 100


def _split(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        0,
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head


def test_a_burst_of_new_connections_is_absorbed_without_a_reset(backend: Any) -> None:
    host, port = _split(backend.url)
    sockets: list[socket.socket] = []
    resets = refused = 0
    statuses: list[bytes] = []
    try:
        # All connections first, none served yet: the kernel queues them in the backlog.
        for _ in range(BURST):
            sock = socket.create_connection((host, port), timeout=60)
            sockets.append(sock)
        for sock in sockets:
            sock.sendall(f"GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        for sock in sockets:
            try:
                head = _read_response(sock)
            except ConnectionResetError:
                resets += 1
                continue
            if not head:
                refused += 1
            else:
                statuses.append(head.split(b"\r\n", 1)[0])
    finally:
        for sock in sockets:
            sock.close()
    assert (resets, refused) == (0, 0)
    assert statuses == [b"HTTP/1.1 200 OK"] * BURST


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs iproute2's ss")
def test_the_listen_backlog_holds_a_burst(backend: Any) -> None:
    _, port = _split(backend.url)
    listing = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True)
    # For a listening socket, ss's Send-Q column is the backlog.
    backlogs = [int(line.split()[2]) for line in listing.stdout.splitlines() if line.strip()]
    assert backlogs and min(backlogs) >= BURST, listing.stdout


def test_every_connection_of_the_api_has_nagle_off() -> None:
    """chalice writes headers and body separately: with Nagle on, the body of a response on
    a kept-alive connection waits for the client's delayed ACK."""
    from chalice.local import ChaliceRequestHandler

    api_server.configure_http_front(verbose=False)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        connection, _ = listener.accept()
        with client, connection:
            assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
            handler = ChaliceRequestHandler.__new__(ChaliceRequestHandler)
            handler.connection = handler.request = connection
            handler.setup()
            assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            handler.finish()


def test_a_taken_port_is_refused_naming_the_flag() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "local_backend.api_server", "--port", str(port), "--port-hint", "PORT="],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == api_server.PORT_TAKEN_EXIT, result.stdout + result.stderr
    assert f"port {port}" in result.stderr and "PORT=" in result.stderr
    assert "listening on" not in result.stdout


def test_at_most_a_few_requests_run_the_app_at_once() -> None:
    """Requests beyond the limit wait at the front instead of queueing AWS calls on the
    one-at-a-time stand-in past the app's timeout."""
    import threading

    from chalice import Chalice
    from chalice.config import Config
    from chalice.local import LocalDevServer

    api_server.configure_http_front(verbose=False)
    from chalice.local import ChaliceRequestHandler

    admission = ChaliceRequestHandler.admission
    app = Chalice("admission")
    release = threading.Event()

    @app.route("/block")
    def block() -> dict[str, bool]:
        release.wait(120)
        return {"ok": True}

    server = LocalDevServer(app, Config(), "127.0.0.1", 0)
    serving = threading.Thread(target=server.server.serve_forever, daemon=True)
    serving.start()
    port = server.server.socket.getsockname()[1]
    arrived_before = admission.arrived
    clients = admission.limit + 6
    answers: list[int] = []

    def call() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
            sock.sendall(b"GET /block HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answers.append(int(_read_response(sock).split(b" ")[1]))

    threads = [threading.Thread(target=call) for _ in range(clients)]
    try:
        for thread in threads:
            thread.start()
        # Wait on a condition (the deadline only ends a hang): all arrived, the limit inside.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (
            admission.arrived - arrived_before == clients and admission.inside == admission.limit
        ):
            time.sleep(0.05)
        assert admission.arrived - arrived_before == clients
        assert admission.inside == admission.most_inside == admission.limit
    finally:
        release.set()
        for thread in threads:
            thread.join(120)
        server.server.shutdown()
        server.server.server_close()
    assert answers == [200] * clients


def test_unrouted_requests_get_the_error_shape_as_deployed(backend: Any) -> None:
    """A path without a route reaches the app, as on the deployed HTTP API's default route:
    404 `not_found` in the error shape (chalice local alone answers API Gateway REST's 403
    `Missing Authentication Token`); a declared path with another method is a 405 with Allow."""
    import json
    import urllib.error
    import urllib.request

    def call(method: str, path: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        request = urllib.request.Request(backend.url + path, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.status, json.loads(resp.read()), dict(resp.headers)
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read()), dict(err.headers)

    for path in ("/no/such/path", "/players/me/nothing?x=1", "/"):
        status, body, _ = call("GET", path)
        assert status == 404, (path, body)
        assert body == {"error": "no route for this method and path", "code": "not_found"}
    status, body, headers = call("DELETE", "/health")
    assert status == 405 and body["code"] == "method_not_allowed" and headers["Allow"] == "GET"
    status, body, _ = call("GET", "/health")
    assert status == 200 and body["status"] == "ok"
