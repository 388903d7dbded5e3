"""The app on the local stand-in, with every AWS call counted: requests per service and
DynamoDB read and write units (bench.units), per HTTP call or per stream delivery.

    with app_on_standin() as stage:
        player = stage.guest()
        used = stage.call("POST", "/players/me/stats", {"updates": {"kills": 1}}, player)
        used.dynamodb_requests, used.read_units, used.write_units

The stand-in is the one `make run` starts (moto's server on loopback, provisioned from
the data definition); the app runs in this process through `chalice.test.Client`, its
boto3 clients pointed at the stand-in, as in the route tests. Stream handlers run through
the local event runner, which reads the table's stream as Lambda would.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from bench.harness import count_requests


@dataclass
class Used:
    """What one call cost: requests per AWS service, DynamoDB units, log bytes."""

    status: int = 0
    body: Any = None
    method: str = ""
    path: str = ""
    response_bytes: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    read_units: float = 0.0
    write_units: float = 0.0
    log_bytes: int = 0
    operations: dict[str, int] = field(default_factory=dict)
    # CloudWatch metrics the app published (embedded metric format lines on stdout, which
    # Lambda sends to CloudWatch Logs): their bytes and each (namespace, name, dimensions).
    metric_bytes: int = 0
    metrics: set[tuple[str, str, str]] = field(default_factory=set)

    @property
    def dynamodb_requests(self) -> int:
        return self.requests.get("dynamodb", 0)


@dataclass
class Player:
    player_id: str
    id_token: str
    refresh_token: str
    username: str
    password: str


@dataclass
class Socket:
    """A client's open WebSocket and the connection id API Gateway gave it."""

    socket: Any
    connection_id: str
    pushed: list[str] = field(default_factory=list)

    def received(self) -> str:
        message = self.socket.recv(timeout=30)
        text = message if isinstance(message, str) else message.decode()
        self.pushed.append(text)
        return str(text)


class _CountingStream(io.TextIOBase):
    """Where the app's log lines go during the bench: counted (CloudWatch ingests them), not shown."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, text: str) -> int:
        self.count += len(text.encode())
        return len(text)


class Stage:
    def __init__(self, client: Any, app_module: Any, endpoint: str, state_dir: Path, gateway: Any = None) -> None:
        from chalicelib.observability import logger
        from chalicelib.storage import aws
        from local_backend.events import EventRunner

        self.client = client
        self.app = app_module.app
        session = boto3.session.Session(region_name="us-east-1")
        self.peek = session.client("dynamodb", endpoint_url=endpoint)
        self.services = {"dynamodb": aws.dynamodb(), "s3": aws.s3(), "cognito-idp": aws.cognito()}
        self.gateway = gateway
        if gateway is not None:
            # Pushes (`@connections` POSTs): each one a WebSocket message API Gateway bills.
            self.services["apigatewaymanagementapi"] = aws.connections_api()
        self.runner = EventRunner(
            self.app,
            dynamodb=session.client("dynamodb", endpoint_url=endpoint),
            streams=session.client("dynamodbstreams", endpoint_url=endpoint),
            state_dir=state_dir,
        )
        self.logs = _CountingStream()
        handler = logger.registered_handler
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(self.logs)

    @contextmanager
    def measure(self) -> Iterator[Used]:
        used = Used()
        logged = self.logs.count
        printed = io.StringIO()
        with ExitStack() as stack:
            stack.enter_context(redirect_stdout(printed))
            counters = {
                name: stack.enter_context(count_requests(client, peek=self.peek if name == "dynamodb" else None))
                for name, client in self.services.items()
            }
            yield used
        used.requests = {name: c.total_requests for name, c in counters.items()}
        used.read_units = counters["dynamodb"].read_units
        used.write_units = counters["dynamodb"].write_units
        used.operations = dict(counters["dynamodb"].requests)
        used.log_bytes = self.logs.count - logged
        for line in printed.getvalue().splitlines():
            try:
                emf = json.loads(line)
            except ValueError:
                emf = None
            if not isinstance(emf, dict) or "_aws" not in emf:
                print(line)  # not a metric: shown as before
                continue
            used.metric_bytes += len(line.encode()) + 1
            for directive in emf["_aws"].get("CloudWatchMetrics", []):
                dimensions = ",".join(f"{d}={emf.get(d)}" for group in directive["Dimensions"] for d in group)
                for metric in directive["Metrics"]:
                    used.metrics.add((directive["Namespace"], metric["Name"], dimensions))

    def call(self, method: str, path: str, body: Any = None, player: Player | None = None, check: bool = True) -> Used:
        headers = {"Content-Type": "application/json"}
        if player is not None:
            headers["Authorization"] = f"Bearer {player.id_token}"
        with self.measure() as used:
            resp = self.client.http.request(
                method, path, headers=headers, body=json.dumps(body) if body is not None else None
            )
        used.status = resp.status_code
        used.method, used.path, used.response_bytes = method, path.split("?")[0], len(resp.body or b"")
        try:
            used.body = json.loads(resp.body) if resp.body else None
        except ValueError:  # a page or an asset
            used.body = None
        if check and used.status >= 400:
            raise RuntimeError(f"{method} {path} answered {used.status}: {resp.body[:300]!r}")
        return used

    def deliver_streams(self) -> tuple[Used, int]:
        """Run the stream handlers on every new stream record: (what it cost, records)."""
        with self.measure() as used:
            delivered = self.runner.poll_streams()
        return used, delivered

    # the WebSocket API (a Stage started with realtime=True) -----------------------------

    def ws_connect(self, player: Player) -> tuple[Socket, Used]:
        """Open a WebSocket as the Unity client does (the ID token in the upgrade's header)."""
        from websockets.sync.client import connect

        assert self.gateway is not None, "app_on_standin(realtime=True) serves the WebSocket API"
        before = set(self.gateway.open_connections())
        with self.measure() as used:
            socket = connect(self.gateway.url, additional_headers={"Authorization": f"Bearer {player.id_token}"})
        deadline = time.monotonic() + 30
        while not (opened := set(self.gateway.open_connections()) - before):
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway did not open the connection")
            time.sleep(0.005)  # the gateway marks it open just after the handshake
        (connection_id,) = opened
        return Socket(socket, connection_id), used

    def ws_ping(self, socket: Socket) -> Used:
        """One heartbeat: the client's ping and the `pong` the handler posts back."""
        with self.measure() as used:
            socket.socket.send('{"action":"ping"}')
            while json.loads(socket.received())["type"] != "pong":
                pass
        return used

    def ws_disconnect(self, socket: Socket) -> Used:
        assert self.gateway is not None
        with self.measure() as used:
            socket.socket.close()
            if not self.gateway.wait_disconnected(socket.connection_id, 30):
                raise RuntimeError("the $disconnect handler did not run")
        return used

    def admin(self) -> Player:
        """A signed-in member of the `admins` group."""
        from tools.provision import ensure_admin_user

        username, password = "bench-admin", "Bench-admin-1"
        ensure_admin_user(self.services["cognito-idp"], os.environ["USER_POOL_ID"], username, password)
        data = self.call("POST", "/auth/login", {"username": username, "password": password}).body
        return Player(data["player_id"], data["id_token"], data["refresh_token"], username, password)

    def guest(self) -> Player:
        data = self.call("POST", "/auth/guest", {}).body
        return Player(data["player_id"], data["id_token"], data["refresh_token"], data["username"], data["password"])


@contextmanager
def app_on_standin(realtime: bool = False, metrics: bool = False) -> Iterator[Stage]:
    """A provisioned stand-in on a free port, the app pointed at it (this process only);
    with `realtime`, the local WebSocket gateway in front of the app's WebSocket handlers
    too (its `@connections` API is the app's WEBSOCKET_MANAGEMENT_URL); with `metrics`,
    the app publishes its CloudWatch metrics (Powertools' embedded metric format) as a
    deployed stage that enables them does."""
    from chalice.test import Client

    from chalicelib.api.identity import reset_identity
    from chalicelib.config import reset_settings
    from chalicelib.storage.aws import reset_clients
    from local_backend.standin import start_standin
    from tools.provision import provision

    saved = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_standin(port=0, state_dir=Path(tmp) / "standin")
        try:
            os.environ.pop("AWS_PROFILE", None)
            os.environ.update(
                {
                    "AWS_ENDPOINT_URL": server.endpoint_url,
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_REGION": "us-east-1",
                    "AWS_DEFAULT_REGION": "us-east-1",
                    "TABLE_PREFIX": "bench",
                    "AUTH_MODE": "app",
                    "APP_STAGE": "local",
                    "GUEST_RATE_LIMIT": "100000",
                    "POWERTOOLS_METRICS_DISABLED": "false" if metrics else "true",
                }
            )
            session = boto3.session.Session(region_name="us-east-1")
            outputs = provision(
                dynamodb=session.client("dynamodb", endpoint_url=server.endpoint_url),
                s3=session.client("s3", endpoint_url=server.endpoint_url),
                cognito=session.client("cognito-idp", endpoint_url=server.endpoint_url),
                prefix="bench",
                region="us-east-1",
            )
            os.environ.update(outputs["env"])
            gateway = None
            if realtime:
                from local_backend.ws_gateway import Gateway

                gateway = Gateway({})
                gateway.bind_management()
                os.environ["WEBSOCKET_MANAGEMENT_URL"] = gateway.management_url
            reset_settings()
            reset_clients()
            reset_identity()
            import app as app_module

            if gateway is not None:
                from local_backend.ws_gateway import app_handlers

                gateway.handlers = app_handlers(app_module)
                gateway.start()
            try:
                with Client(app_module.app) as client:
                    yield Stage(client, app_module, server.endpoint_url, Path(tmp), gateway)
            finally:
                if gateway is not None:
                    gateway.stop()
        finally:
            server.stop()
            os.environ.clear()
            os.environ.update(saved)
            reset_settings()
            reset_clients()
