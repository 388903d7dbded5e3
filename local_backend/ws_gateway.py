"""A local stand-in for API Gateway's WebSocket API, on loopback.

    python -m local_backend.ws_gateway [--host 127.0.0.1] [--port 8001] [--management-port 0]

`chalice local` serves the REST API only. This gateway speaks the WebSocket protocol to
clients (the `websockets` library), calls the app's own `$connect`, `$default` and
`$disconnect` handlers with API Gateway's event shape, and answers the `@connections`
management API (POST to send, GET to describe, DELETE to close) on a second port, which
the app reaches through boto3's `apigatewaymanagementapi` client as it does when
deployed (`WEBSOCKET_MANAGEMENT_URL`). Like API Gateway:

- a `$connect` handler that answers a status other than 2xx refuses the upgrade with that
  status and body;
- a connection idle (nothing received from the client) for `--idle-timeout` seconds is
  closed (API Gateway: 10 minutes), and none lives longer than two hours;
- posting to a connection that is not open answers 410 `GoneException`.

Messages posted while a `$connect` handler is still running are delivered once the
connection opens (API Gateway would refuse them).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STAGE = "api"  # Chalice's WebSocket stage name
API_ID = "local"
IDLE_TIMEOUT_SECONDS = 600.0
MAX_CONNECTION_SECONDS = 7200.0
MAX_FRAME_BYTES = 128 * 1024  # API Gateway's message size limit
DEFAULT_PORT = 8001

Handler = Callable[[dict[str, Any], Any], Any]
log = logging.getLogger("ws_gateway")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _request_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def new_connection_id() -> str:
    """An id shaped like API Gateway's: 12 random bytes, base64 (e.g. `L0SM9cOFvHcCIhw=`)."""
    return base64.b64encode(secrets.token_bytes(10)).decode()


@dataclass
class _Conn:
    connection_id: str
    source_ip: str
    user_agent: str
    connected_at: int
    last_active_at: int
    socket: ServerConnection | None = None
    open: bool = False
    closed: bool = False
    pending: list[str | bytes] = field(default_factory=list)


class LambdaContext:
    """The bits of a Lambda context object the app might read."""

    function_name = "local-websocket"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:local-websocket"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class Gateway:
    """The WebSocket front and the `@connections` API, each on its own loopback port."""

    def __init__(
        self,
        handlers: dict[str, Handler],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        management_port: int = 0,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
    ) -> None:
        self.handlers = handlers
        self.host = host
        self.port = port
        self.management_port = management_port
        self.idle_timeout = idle_timeout
        self._conns: dict[str, _Conn] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._http: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._disconnected: dict[str, threading.Event] = {}

    # -- addresses ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Where clients connect: ws://host:port/api."""
        return f"ws://{self.host}:{self.port}/{STAGE}"

    @property
    def management_url(self) -> str:
        """The `@connections` endpoint (the app's WEBSOCKET_MANAGEMENT_URL)."""
        return f"http://127.0.0.1:{self.management_port}/{STAGE}"

    def _disconnect_event(self, connection_id: str) -> threading.Event:
        with self._lock:
            event = self._disconnected.get(connection_id)
            if event is None:
                if len(self._disconnected) > 10_000:
                    self._disconnected.clear()
                event = self._disconnected[connection_id] = threading.Event()
            return event

    def wait_disconnected(self, connection_id: str, timeout: float) -> bool:
        """Whether the connection's `$disconnect` handler has run (within `timeout`)."""
        return self._disconnect_event(connection_id).wait(timeout)

    def open_connections(self) -> list[str]:
        with self._lock:
            return [c.connection_id for c in self._conns.values() if c.open and not c.closed]

    # -- lifecycle ----------------------------------------------------------------------

    def bind_management(self) -> None:
        """Listen for the `@connections` API (before the app starts: it needs the URL)."""
        gateway = self

        class ManagementHandler(_ManagementHandler):
            pass

        ManagementHandler.gateway = gateway
        self._http = ThreadingHTTPServer(("127.0.0.1", self.management_port), ManagementHandler)
        self._http.daemon_threads = True
        self.management_port = self._http.server_address[1]

    def start(self) -> None:
        """Bind both ports and serve from background threads; returns once listening."""
        if self._http is None:
            self.bind_management()
        assert self._http is not None
        http_thread = threading.Thread(target=self._http.serve_forever, name="ws-management", daemon=True)
        http_thread.start()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        ws_thread = threading.Thread(target=run, name="ws-gateway", daemon=True)
        ws_thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        self._threads = [http_thread, ws_thread]

    async def _listen(self) -> None:
        self._server = await serve(
            self._session,
            self.host,
            self.port,
            process_request=self._process_request,
            ping_interval=None,  # API Gateway sends no pings: clients keep themselves alive
            max_size=MAX_FRAME_BYTES,
        )
        sock = next(iter(self._server.sockets))
        self.port = sock.getsockname()[1]

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        loop, server = self._loop, self._server
        if loop is not None and server is not None:

            async def close() -> None:
                server.close()
                await server.wait_closed()

            try:
                asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=5)
            except Exception:
                pass
            loop.call_soon_threadsafe(loop.stop)
        for thread in self._threads:
            thread.join(timeout=5)

    # -- invoking the app ---------------------------------------------------------------

    def _context(self, conn: _Conn, route: str, event_type: str) -> dict[str, Any]:
        now = _now_ms()
        return {
            "routeKey": route,
            "eventType": event_type,
            "extendedRequestId": str(uuid.uuid4()),
            "requestTime": _request_time(now),
            "messageDirection": "IN",
            "stage": STAGE,
            "connectedAt": conn.connected_at,
            "requestTimeEpoch": now,
            "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
            "requestId": str(uuid.uuid4()),
            "domainName": f"{self.host}:{self.port}",
            "connectionId": conn.connection_id,
            "apiId": API_ID,
        }

    def _invoke(self, route: str, event: dict[str, Any]) -> dict[str, Any]:
        handler = self.handlers.get(route)
        if handler is None:
            return {"statusCode": 200}
        try:
            result = handler(event, LambdaContext())
        except Exception:
            log.exception("the %s handler failed", route)
            return {"statusCode": 500, "body": json.dumps({"message": "Internal server error"})}
        return result if isinstance(result, dict) else {"statusCode": 200}

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        remote = connection.remote_address
        now = _now_ms()
        conn = _Conn(
            connection_id=new_connection_id(),
            source_ip=str(remote[0]) if remote else "127.0.0.1",
            user_agent=request.headers.get("User-Agent", ""),
            connected_at=now,
            last_active_at=now,
        )
        with self._lock:
            self._conns[conn.connection_id] = conn
        setattr(connection, "gateway_id", conn.connection_id)  # noqa: B010
        query = dict(parse_qsl(urlsplit(request.path).query, keep_blank_values=True))
        headers = dict(request.headers.raw_items())
        event = {
            "headers": headers,
            "multiValueHeaders": {k: request.headers.get_all(k) for k in headers},
            "requestContext": self._context(conn, "$connect", "CONNECT"),
            "isBase64Encoded": False,
        }
        if query:
            event["queryStringParameters"] = query
            event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
        result = await asyncio.to_thread(self._invoke, "$connect", event)
        status = int(result.get("statusCode") or 200)
        if 200 <= status < 300:
            return None
        with self._lock:
            conn.closed = True
            self._conns.pop(conn.connection_id, None)
        response = connection.respond(HTTPStatus(status), str(result.get("body") or ""))
        content_type = (result.get("headers") or {}).get("Content-Type")
        if content_type:
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = content_type
        return response

    async def _session(self, socket: ServerConnection) -> None:
        connection_id = str(getattr(socket, "gateway_id", ""))
        with self._lock:
            conn = self._conns.get(connection_id)
            if conn is None:
                return
            conn.socket = socket
            conn.open = True
            pending, conn.pending = conn.pending, []
        code, reason = 1000, ""
        try:
            for data in pending:
                await socket.send(data)
            deadline = time.monotonic() + MAX_CONNECTION_SECONDS
            while True:
                wait = min(self.idle_timeout, deadline - time.monotonic())
                if wait <= 0:
                    await socket.close(1001, "Going away")
                    break
                try:
                    message = await asyncio.wait_for(socket.recv(), timeout=wait)
                except TimeoutError:
                    await socket.close(1001, "Going away")
                    break
                conn.last_active_at = _now_ms()
                body = message if isinstance(message, str) else message.decode("utf-8", "replace")
                event = {
                    "requestContext": {
                        **self._context(conn, "$default", "MESSAGE"),
                        "messageId": base64.b64encode(secrets.token_bytes(6)).decode(),
                    },
                    "body": body,
                    "isBase64Encoded": False,
                }
                await asyncio.to_thread(self._invoke, "$default", event)
        except ConnectionClosed as closed:
            if closed.rcvd is not None:
                code, reason = closed.rcvd.code, closed.rcvd.reason
            else:
                code, reason = 1006, ""
        finally:
            with self._lock:
                conn.closed = True
                self._conns.pop(connection_id, None)
            context = self._context(conn, "$disconnect", "DISCONNECT")
            context.update(disconnectStatusCode=code, disconnectReason=reason)
            await asyncio.to_thread(self._invoke, "$disconnect", {"requestContext": context, "isBase64Encoded": False})
            self._disconnect_event(connection_id).set()

    # -- the @connections API -----------------------------------------------------------

    def post(self, connection_id: str, data: bytes) -> bool:
        """Send to a connection; False when it is not open (gone)."""
        try:
            payload: str | bytes = data.decode("utf-8")
        except UnicodeDecodeError:
            payload = data
        with self._lock:
            conn = self._conns.get(connection_id)
            if conn is None or conn.closed:
                return False
            if not conn.open:
                conn.pending.append(payload)
                return True
            socket = conn.socket
        assert socket is not None and self._loop is not None
        try:
            asyncio.run_coroutine_threadsafe(socket.send(payload), self._loop).result(timeout=10)
        except (ConnectionClosed, TimeoutError, RuntimeError):
            return False
        return True

    def describe(self, connection_id: str) -> dict[str, Any] | None:
        with self._lock:
            conn = self._conns.get(connection_id)
            if conn is None or conn.closed:
                return None
            return {
                "ConnectedAt": datetime.fromtimestamp(conn.connected_at / 1000, UTC).isoformat(),
                "LastActiveAt": datetime.fromtimestamp(conn.last_active_at / 1000, UTC).isoformat(),
                "Identity": {"SourceIp": conn.source_ip, "UserAgent": conn.user_agent},
            }

    def close(self, connection_id: str) -> bool:
        with self._lock:
            conn = self._conns.get(connection_id)
            if conn is None or conn.closed or conn.socket is None:
                return False
            socket = conn.socket
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(socket.close(1000, ""), self._loop)
        return True


class _ManagementHandler(BaseHTTPRequestHandler):
    gateway: Gateway
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("management: " + format, *args)

    def _connection_id(self) -> str | None:
        path = urlsplit(self.path).path
        marker = "/@connections/"
        if marker not in path:
            return None
        return unquote(path.split(marker, 1)[1])

    def _answer(self, status: int, body: dict[str, Any] | None = None, error_type: str | None = None) -> None:
        payload = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.end_headers()
        self.wfile.write(payload)

    def _gone(self) -> None:
        self._answer(410, {"message": None, "__type": "GoneException"}, "GoneException")

    def _unknown(self) -> None:
        self._answer(404, {"message": "Not Found"}, "NotFoundException")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        connection_id = self._connection_id()
        if connection_id is None:
            return self._unknown()
        if len(data) > MAX_FRAME_BYTES:
            return self._answer(413, {"message": "Message too long"}, "PayloadTooLargeException")
        if self.gateway.post(connection_id, data):
            return self._answer(200)
        return self._gone()

    def do_GET(self) -> None:
        connection_id = self._connection_id()
        if connection_id is None:
            return self._unknown()
        info = self.gateway.describe(connection_id)
        return self._answer(200, info) if info is not None else self._gone()

    def do_DELETE(self) -> None:
        connection_id = self._connection_id()
        if connection_id is None:
            return self._unknown()
        return self._answer(204) if self.gateway.close(connection_id) else self._gone()


def app_handlers(app_module: Any) -> dict[str, Handler]:
    """The app's WebSocket handlers by route key, as Lambda would call them."""
    handlers: dict[str, Handler] = {}
    for route, config in app_module.app.websocket_handlers.items():
        function_name = config.handler_string.rsplit(".", 1)[1]
        handlers[route] = getattr(app_module, function_name)
    return handlers


WS_PORT_HINT = "make run WS_PORT=<port> (or --ws-port <port>)"


def start_process(
    *, host: str, port: int, env: dict[str, str], verbose: bool = False, timeout: float = 90.0
) -> tuple[Any, str, str] | None:
    """Run the gateway as a child process (its own session): (process, ws URL, management URL),
    or None when it did not come up (the process has then exited or been stopped)."""
    import subprocess

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local_backend.ws_gateway",
            "--host",
            host,
            "--port",
            str(port),
            *(["--verbose"] if verbose else []),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    urls: dict[str, str] = {}
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if not done.is_set():
                lines.append(line)
                for key in ("management", "websocket"):
                    if line.startswith(f"{key} on "):
                        urls[key] = line.split(" on ", 1)[1].strip()
                if len(urls) == 2 or line.startswith("cannot listen"):
                    done.set()
            elif verbose:
                sys.stdout.write(line)
        done.set()

    threading.Thread(target=read, daemon=True).start()
    done.wait(timeout)
    if len(urls) != 2:
        sys.stdout.write("".join(lines))
        if process.poll() is None:
            process.terminate()
        return None
    return process, urls["websocket"], urls["management"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_backend.ws_gateway", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--management-port", type=int, default=0, help="the @connections API's port (0: any free)")
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT_SECONDS)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    gateway = Gateway(
        {}, host=args.host, port=args.port, management_port=args.management_port, idle_timeout=args.idle_timeout
    )
    gateway.bind_management()
    # The app pushes through this gateway, in this process too (pongs, pushes on connect).
    os.environ["WEBSOCKET_MANAGEMENT_URL"] = gateway.management_url
    sys.path.insert(0, str(PROJECT_ROOT))
    import app as app_module

    gateway.handlers = app_handlers(app_module)
    try:
        gateway.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", flush=True)
        return 3
    print(f"management on {gateway.management_url}", flush=True)
    print(f"websocket on {gateway.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    gateway.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
