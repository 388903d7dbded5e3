"""`chalice local` with an HTTP front fit for game clients.

    python -m local_backend.api_server [--host 127.0.0.1] [--port 8000] [--stage local] [--verbose]

Serves the app exactly as `chalice local --no-autoreload` does (the same stage config,
the same local API Gateway), with four differences:

- TCP_NODELAY on every connection. chalice's handler writes the headers and the body
  separately; with Nagle's algorithm on, the body then waits for the client's delayed
  ACK, about 40 ms on every request of a kept-alive connection (Unity keeps them alive).
- A listen backlog of `LISTEN_BACKLOG` (http.server's default is 5): a burst of new
  connections is queued by the kernel instead of reset.
- Once listening it prints `listening on http://HOST:PORT` (the real port, so `--port 0`
  works), and a port already taken is a clear message and exit status 3, so a caller
  never mistakes another server on that port for this one. Request lines and the app's
  INFO logs only with `--verbose`.
- At most `APP_CONCURRENCY` requests (LOCAL_API_CONCURRENCY) run the app at once; the
  others wait at the front. The stand-in serves one AWS call at a time: letting every
  connection in queued dozens of calls there, past the app's own 10 s AWS timeout, and
  a busy machine turned into 503s on every route. Waiting at the front has no such limit.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

LISTEN_BACKLOG = 1024
PORT_TAKEN_EXIT = 3
APP_CONCURRENCY = int(os.environ.get("LOCAL_API_CONCURRENCY") or 4)
_VERBS = ("GET", "PUT", "POST", "HEAD", "DELETE", "PATCH", "OPTIONS")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Admission:
    """At most `limit` requests in the app; counts those that arrived and those inside."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self.arrived = 0
        self.inside = 0
        self.most_inside = 0

    def __enter__(self) -> None:
        with self._lock:
            self.arrived += 1
        self._slots.acquire()
        with self._lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.inside -= 1
        self._slots.release()


def configure_http_front(*, verbose: bool) -> None:
    """Set the socket options and logging of chalice's local HTTP server classes."""
    from chalice.local import ChaliceRequestHandler, ThreadedHTTPServer

    ChaliceRequestHandler.disable_nagle_algorithm = True
    ThreadedHTTPServer.request_queue_size = LISTEN_BACKLOG
    if getattr(ChaliceRequestHandler, "admission", None) is None:
        admission = Admission(APP_CONCURRENCY)
        handle = ChaliceRequestHandler._generic_handle

        def admitted(self: Any) -> None:
            with admission:
                handle(self)

        ChaliceRequestHandler.admission = admission  # type: ignore[attr-defined]
        for verb in _VERBS:
            setattr(ChaliceRequestHandler, f"do_{verb}", admitted)
    if not verbose:
        ChaliceRequestHandler.log_message = _quiet  # type: ignore[method-assign,assignment]
    route_unknown_paths_to_the_app()


DEFAULT_ROUTE = "/$default"


def route_unknown_paths_to_the_app() -> None:
    """A path no route matches reaches the app on the default route, as behind the deployed
    HTTP API (the app answers 404 `not_found` in the error shape), instead of chalice
    local's REST-style 403 `{"message": "Missing Authentication Token"}`."""
    from urllib.parse import parse_qs, urlparse

    from chalice.local import MatchResult, RouteMatcher

    if getattr(RouteMatcher, "default_route", False):
        return
    match = RouteMatcher.match_route

    def match_or_default(self: Any, url: str) -> Any:
        try:
            return match(self, url)
        except ValueError:
            return MatchResult(DEFAULT_ROUTE, {}, parse_qs(urlparse(url).query, keep_blank_values=True))

    RouteMatcher.match_route = match_or_default  # type: ignore[method-assign]
    RouteMatcher.default_route = True  # type: ignore[attr-defined]


def _quiet(self: Any, format: str, *args: Any) -> None:
    pass


def make_server(project_dir: Path, stage: str, host: str, port: int, *, verbose: bool = False) -> Any:
    """chalice's LocalDevServer for the project's app and stage, already listening."""
    from chalice.cli import create_local_server
    from chalice.cli.factory import CLIFactory

    configure_http_front(verbose=verbose)
    os.environ["AWS_CHALICE_CLI_MODE"] = "true"
    factory = CLIFactory(str(project_dir), debug=False, environ=os.environ)
    return create_local_server(factory, host, port, stage)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_backend.api_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--stage", default="local")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_ROOT)
    parser.add_argument("--verbose", action="store_true", help="log every request and the app's INFO lines")
    parser.add_argument("--port-hint", default="--port", help="what to tell the user to change when the port is taken")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stdout, level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    os.chdir(args.project_dir)
    try:
        server = make_server(args.project_dir, args.stage, args.host, args.port, verbose=args.verbose)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"port {args.port} on {args.host} is already in use; choose another with {args.port_hint}",
                file=sys.stderr,
                flush=True,
            )
            return PORT_TAKEN_EXIT
        raise
    listening: socket.socket = server.server.socket
    host, port = listening.getsockname()[:2]
    # Nothing to save here: end at once rather than unwinding the app's modules.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        server.server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
