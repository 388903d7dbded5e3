"""The embedded AWS stand-in: moto's server, one request at a time, saved to disk.

moto on its own is not linearizable: threads racing one conditional write or transaction
can both win. The WSGI wrapper below holds one lock for the whole of every request
(including building the response body), so conditional writes and transactions behave
as DynamoDB's do. Throughput is not the point locally; correctness is.

The state of the services we use is pickled under the state folder (`.local/` when run
by the local backend) every couple of seconds when something changed (less often when
the state is big: saving holds the lock), and at shutdown, and loaded at start.
`rm -rf .local` wipes it.

Memory stays proportional to live data (see `housekeeping`): transactions no longer copy
tables, stream records older than 24 h are trimmed, expired items (Time to Live) are
deleted within `HOUSEKEEPING_INTERVAL_SECONDS`, expired Cognito tokens are forgotten.

`TransactWriteItems` honours `ClientRequestToken` as DynamoDB does: a request repeating a
token seen in the last 10 minutes with the same content gets the first answer and writes
nothing; with other content it gets `IdempotentParameterMismatchException`. botocore
fills the token in itself, so its own retries after a lost answer are safe.

moto keeps its data in process-global objects, so only one stand-in runs per process.
"""

from __future__ import annotations

import argparse
import copyreg
import hashlib
import io
import json
import logging
import os
import pickle
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from local_backend.housekeeping import HousekeepingReport, housekeep, install_moto_patches

logger = logging.getLogger(__name__)

# The moto backends the project uses; dynamodbstreams shares the dynamodb tables.
SERVICES = ("dynamodb", "dynamodbstreams", "cognitoidp", "s3")
PERSISTED_SERVICES = ("dynamodb", "cognitoidp", "s3")
STATE_FILE = "moto-state.pickle"
# DynamoDB Streams iterators expire after 15 minutes; moto keeps them forever.
MAX_SHARD_ITERATORS = 1000
SAVE_INTERVAL_SECONDS = 2.0
# Saving holds the request lock: never spend more than about a tenth of the time on it.
SAVE_DUTY_CYCLE = 0.1
HOUSEKEEPING_INTERVAL_SECONDS = 60.0
# DynamoDB's idempotency window for TransactWriteItems' ClientRequestToken.
IDEMPOTENCY_WINDOW_SECONDS = 600.0
_TRANSACT_WRITE = "DynamoDB_20120810.TransactWriteItems"
# GET on this path answers the stand-in's own counters (no AWS API uses it).
STATS_PATH = "/_standin/stats"
_JSON_CONTENT_TYPE = "application/x-amz-json-1.0"

# Operations that never change state: a request naming one does not make the state dirty.
_READ_PREFIXES = ("Get", "Query", "Scan", "Describe", "List", "BatchGet", "TransactGet")
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_active_lock = threading.Lock()
_active: StandIn | None = None


def _moto_backends() -> dict[str, Any]:
    from moto.backends import get_backend

    return {service: get_backend(service) for service in SERVICES}  # type: ignore[call-overload]


def _snapshot() -> dict[str, Any]:
    """Plain dicts of the moto backends worth keeping: {service: {account: {region: backend}}}.

    dynamodbstreams holds only shard iterators (the records live with the tables), which
    expire anyway, so it is not kept.
    """
    return {
        service: {account: dict(regions.items()) for account, regions in backend_dict.items()}
        for service, backend_dict in _moto_backends().items()
        if service in PERSISTED_SERVICES
    }


def _prune_shard_iterators() -> None:
    """moto keeps every shard iterator it ever handed out; keep only the newest ones."""
    for regions in _moto_backends()["dynamodbstreams"].values():
        for backend in regions.values():
            iterators = backend.shard_iterators
            for arn in list(iterators)[: max(0, len(iterators) - MAX_SHARD_ITERATORS)]:
                del iterators[arn]


def _rsa_key_from_dict(data: dict[str, Any]) -> Any:
    from joserfc import jwk

    return jwk.RSAKey.import_key(data)


def _dumps(state: dict[str, Any]) -> bytes:
    """Pickle moto's state; the Cognito pools' signing key goes as its JWK dict."""
    from joserfc import jwk

    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = copyreg.dispatch_table.copy()
    pickler.dispatch_table[jwk.RSAKey] = lambda key: (
        _rsa_key_from_dict,
        (key.as_dict(private=True),),
    )
    pickler.dump(state)
    return buffer.getvalue()


def _reset_services() -> None:
    for backend_dict in _moto_backends().values():
        for regions in list(backend_dict.values()):
            regions.reset()
        backend_dict.clear()


def _install(state: dict[str, Any]) -> None:
    backends = _moto_backends()
    for service, accounts in state.items():
        backend_dict = backends.get(service)
        if backend_dict is None:
            continue
        for account, regions in accounts.items():
            account_backend = backend_dict[account]  # creates and registers the account
            for region, backend in regions.items():
                account_backend[region] = backend


@dataclass
class _Answer:
    fingerprint: str
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    at: float


class _TransactionTokens:
    """TransactWriteItems answers by ClientRequestToken, for 10 minutes (under the lock)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.answers: dict[str, _Answer] = {}

    def expire(self) -> None:
        cutoff = self.clock() - IDEMPOTENCY_WINDOW_SECONDS
        # Insertion order is time order: stop at the first one still valid.
        for token in list(self.answers):
            if self.answers[token].at >= cutoff:
                break
            del self.answers[token]

    def __len__(self) -> int:
        return len(self.answers)


def _fingerprint(request: dict[str, Any]) -> str:
    content = {key: value for key, value in request.items() if key != "ClientRequestToken"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _mismatch(start_response: Callable[..., Any]) -> list[bytes]:
    body = json.dumps(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
            "message": "Request parameters do not match those of the earlier request with this ClientRequestToken",
        }
    ).encode()
    start_response("400 Bad Request", [("Content-Type", _JSON_CONTENT_TYPE), ("Content-Length", str(len(body)))])
    return [body]


class _SerializedApp:
    """WSGI wrapper: one request at a time, response body built under the lock."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.dirty = False
        self.requests = 0
        # Seconds spent serving requests (lock held) and waiting for the lock.
        self.busy_seconds = 0.0
        self.wait_seconds = 0.0
        self.tokens = _TransactionTokens(clock)
        # Set when the stand-in stops: requests still queued for the lock answer 503 at
        # once, so the final save does not wait behind them.
        self.closing = False

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO") == STATS_PATH and environ.get("REQUEST_METHOD") == "GET":
            return self._stats(start_response)
        queued = time.perf_counter()
        with self.lock:
            started = time.perf_counter()
            self.wait_seconds += started - queued
            if self.closing:
                return _unavailable(start_response)
            try:
                self.requests += 1
                if environ.get("HTTP_X_AMZ_TARGET") == _TRANSACT_WRITE:
                    return self._transact_write(environ, start_response)
                if _changes_state(environ):
                    self.dirty = True
                return self._call(environ, start_response)
            finally:
                self.busy_seconds += time.perf_counter() - started

    def _stats(self, start_response: Callable[..., Any]) -> list[bytes]:
        body = json.dumps(
            {
                "requests": self.requests,
                "busy_seconds": round(self.busy_seconds, 3),
                "wait_seconds": round(self.wait_seconds, 3),
                "remembered_tokens": len(self.tokens),
                "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "rss_kb": _rss_kb(),
            }
        ).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def _call(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return [body]

    def _transact_write(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        self.dirty = True
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        try:
            request = json.loads(raw)
            token = request.get("ClientRequestToken")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            return self._call(environ, start_response)
        self.tokens.expire()
        fingerprint = _fingerprint(request)
        earlier = self.tokens.answers.get(token)
        if earlier is not None:
            if earlier.fingerprint != fingerprint:
                return _mismatch(start_response)
            start_response(earlier.status, earlier.headers)
            return [earlier.body]
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, list(headers)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        body = self._call(environ, capture)
        # Only a transaction that was applied is remembered: a cancelled one writes
        # nothing, so its retry is evaluated again.
        if str(captured.get("status", "")).startswith("200"):
            self.tokens.answers[token] = _Answer(
                fingerprint, captured["status"], captured["headers"], body[0], self.tokens.clock()
            )
        return body


def _unavailable(start_response: Callable[..., Any]) -> list[bytes]:
    body = json.dumps({"__type": "ServiceUnavailable", "message": "the stand-in is stopping"}).encode()
    start_response(
        "503 Service Unavailable", [("Content-Type", _JSON_CONTENT_TYPE), ("Content-Length", str(len(body)))]
    )
    return [body]


def _rss_kb() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _changes_state(environ: dict[str, Any]) -> bool:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        operation = target.rsplit(".", 1)[-1]
        return not operation.startswith(_READ_PREFIXES)
    return environ.get("REQUEST_METHOD", "GET").upper() not in _READ_METHODS


class StandIn:
    """A running stand-in: `endpoint_url`, `stop()`, usable as a context manager."""

    def __init__(
        self,
        host: str,
        port: int,
        state_dir: Path | None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.clock = clock
        # What provisioning returned, when the caller provisioned (the test fixture does).
        self.outputs: dict[str, Any] = {}
        self.requested_port = port
        self.state_dir = state_dir
        self.port = 0
        self._server: Any = None
        self._app: _SerializedApp | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._stopped = False
        self.last_save_seconds = 0.0
        self.last_housekeeping: HousekeepingReport | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def state_file(self) -> Path | None:
        return self.state_dir / STATE_FILE if self.state_dir is not None else None

    # -- lifecycle -------------------------------------------------------------------

    def _start(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        class QuietRequestHandler(MotoRequestHandler):
            # Keep-alive: a boto3 client reuses its connections instead of one per call.
            protocol_version = "HTTP/1.1"
            # Headers and body go out as separate writes: without this, Nagle's algorithm
            # holds the body until the client's delayed ACK (40 ms per kept-alive request).
            disable_nagle_algorithm = True

            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                logger.debug("%s %s", self.requestline, code)

        install_moto_patches()
        _reset_services()
        self._load()
        self._app = _SerializedApp(DomainDispatcherApplication(create_backend_app), clock=self.clock)
        self._server = make_server(
            self.host,
            self.requested_port,
            self._app,
            threaded=True,
            request_handler=QuietRequestHandler,
        )
        self.port = self._server.server_port
        serve = threading.Thread(target=self._server.serve_forever, name="standin-http", daemon=True)
        serve.start()
        self._threads.append(serve)
        saver = threading.Thread(target=self._maintenance_loop, name="standin-maintenance", daemon=True)
        saver.start()
        self._threads.append(saver)

    def stop(self, *, forget: bool = True) -> None:
        """Stop serving, save the state, forget moto's data (unless the process is about
        to exit anyway: `forget=False`). Safe to call twice."""
        global _active
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        if self._app is not None:
            self._app.closing = True
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self.save(force=True)
        if forget:
            _reset_services()
        with _active_lock:
            if _active is self:
                _active = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- persistence -----------------------------------------------------------------

    def save(self, *, force: bool = False) -> bool:
        """Write the state if it changed (or `force`); True when a file was written."""
        target = self.state_file
        if target is None or self._app is None:
            return False
        with self._app.lock:
            _prune_shard_iterators()
            if not (self._app.dirty or force):
                return False
            started = time.monotonic()
            data = _dumps({"moto_version": _moto_version(), "services": _snapshot()})
            self.last_save_seconds = time.monotonic() - started
            self._app.dirty = False
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return True

    def housekeep(self, now: float | None = None) -> HousekeepingReport:
        """Apply Time to Live, trim streams and expired tokens (see `housekeeping`)."""
        if self._app is None:
            return HousekeepingReport()
        with self._app.lock:
            report = housekeep(self.clock() if now is None else now)
            self._app.tokens.expire()
            _prune_shard_iterators()
            if report.expired_items or report.stream_records or report.tokens:
                self._app.dirty = True
        self.last_housekeeping = report
        if report.expired_items:
            logger.info("time to live deleted %d items %s", report.expired_items, report.per_table)
        return report

    def _maintenance_loop(self) -> None:
        next_housekeeping = time.monotonic() + HOUSEKEEPING_INTERVAL_SECONDS
        wait = SAVE_INTERVAL_SECONDS
        while not self._stopping.wait(wait):
            try:
                if time.monotonic() >= next_housekeeping:
                    self.housekeep()
                    next_housekeeping = time.monotonic() + HOUSEKEEPING_INTERVAL_SECONDS
                self.save()
            except Exception:  # keep serving; the next round or shutdown tries again
                logger.exception("stand-in maintenance failed")
            # A big state takes long to pickle, under the lock: save less often then.
            wait = max(SAVE_INTERVAL_SECONDS, self.last_save_seconds / SAVE_DUTY_CYCLE)

    def _load(self) -> None:
        source = self.state_file
        if source is None or not source.exists():
            return
        try:
            state = pickle.loads(source.read_bytes())
            if state.get("moto_version") != _moto_version():
                logger.warning(
                    "state was saved by moto %s, running %s; loading anyway",
                    state.get("moto_version"),
                    _moto_version(),
                )
            _install(state["services"])
        except Exception:
            # An unreadable state must not block the backend: keep it aside, start empty.
            aside = source.with_name(f"{source.name}.unreadable-{int(time.time())}")
            os.replace(source, aside)
            _reset_services()
            logger.exception("could not load the stand-in state; moved it to %s", aside)


def _moto_version() -> str:
    from moto import __version__

    return str(__version__)


def start_standin(
    port: int = 0,
    state_dir: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    *,
    clock: Callable[[], float] = time.time,
) -> StandIn:
    """Start the stand-in in this process (port 0 picks a free port).

    `state_dir` None keeps nothing on disk.
    """
    global _active
    with _active_lock:
        if _active is not None:
            raise RuntimeError(
                f"a stand-in already runs in this process at {_active.endpoint_url}; moto's state is process-global"
            )
        path = Path(state_dir) if state_dir is not None else None
        standin = StandIn(host, port, path, clock=clock)
        standin._start()
        _active = standin
    return standin


def main(argv: list[str] | None = None) -> int:
    """Serve the stand-in alone until SIGINT/SIGTERM; prints the endpoint on stdout."""
    parser = argparse.ArgumentParser(prog="python -m local_backend.standin")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCAL_AWS_PORT", "4566")))
    parser.add_argument("--state-dir", default=".local")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    standin = start_standin(port=args.port, state_dir=args.state_dir, host=args.host)
    print(standin.endpoint_url, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
