"""Run the whole backend locally: the AWS stand-in, provisioning, `chalice local`, events.

    python -m local_backend.run [--host 127.0.0.1] [--port 8000] [--aws-port 4566]
                                [--ws-port 8001] [--state-dir .local] [--verbose]
    make run [PORT=8000] [AWS_PORT=4566] [WS_PORT=8001] [HOST=127.0.0.1] [STATE_DIR=.local] [VERBOSE=1]

Starts the stand-in on 127.0.0.1 (port 4566, or LOCAL_AWS_PORT) with its state in
`.local/` (or LOCAL_STATE_DIR), provisions it from the data definition, makes sure the
local admin exists, starts the WebSocket gateway (`local_backend.ws_gateway`, its URL
in the banner), the local stage's API (`local_backend.api_server`: chalice
local's gateway with a better HTTP front) and the local event-source runner, then prints
an admin token, a guest token and a curl line. Either port taken: a clear refusal naming
what moves it, before anything starts. Ctrl-C or SIGTERM stops everything within seconds
and saves the state. `<state folder>/outputs.json` tells other local tools where things are.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import boto3
import requests

from local_backend import ws_gateway
from local_backend.api_server import PORT_TAKEN_EXIT
from local_backend.standin import StandIn, start_standin
from tools.provision import ensure_admin_user, provision

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = PROJECT_ROOT / ".local"
REGION = "us-east-1"
DEFAULT_PORT = 8000
DEFAULT_AWS_PORT = 4566
HEALTH_TIMEOUT_SECONDS = 90
# Children get this long after SIGTERM; the whole stop stays within about 5 seconds.
CHILD_STOP_SECONDS = 3.0
API_PORT_HINT = "make run PORT=<port> (or --port <port>)"
AWS_PORT_HINT = "make run AWS_PORT=<port> (or --aws-port <port>, or LOCAL_AWS_PORT=<port>)"

# Extra lines for the ready banner, after the API and stand-in lines. A feature with its
# own local URL (a WebSocket endpoint, the admin console) adds a function here that
# returns its lines from the banner's context (see `banner_lines`).
BANNER_EXTRAS: list[Callable[[dict[str, Any]], list[str]]] = []


def _say(message: str = "") -> None:
    print(message, flush=True)


def _local_stage_env() -> dict[str, str]:
    config = json.loads((PROJECT_ROOT / ".chalice" / "config.json").read_text())
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"]["local"].get("environment_variables", {}))
    return env


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _port_taken(host: str, port: int) -> bool:
    """Whether something listens on host:port (a bind test: nothing is sent to it)."""
    if port == 0:
        return False
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def _refuse_port(what: str, host: str, port: int, hint: str) -> int:
    _say(f"Cannot start: {what} port {port} on {host} is already in use (another backend?).")
    _say(f"Choose another port: {hint}.")
    return 2


def _stop_processes(processes: list[tuple[subprocess.Popen[Any] | None, str]]) -> None:
    """SIGTERM to each (its own process group), then at most CHILD_STOP_SECONDS in all."""
    running = [(p, name) for p, name in processes if p is not None and p.poll() is None]
    for process, _ in running:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + CHILD_STOP_SECONDS
    for process, name in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _say(f"{name} did not stop in time; killing it")
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


def _echo(stream: IO[str], seen: list[str], verbose: bool) -> None:
    """Pass a child's output through (all of it with --verbose, else what is not routine)."""
    for line in stream:
        seen.append(line)
        if verbose or not line.startswith("listening on "):
            sys.stdout.write(line)
            sys.stdout.flush()


def _wait_listening(process: subprocess.Popen[str], seen: list[str], stop: threading.Event) -> str | None:
    """The API's URL once *our* server listens; None if it exited or we are stopping."""
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    while not stop.is_set() and time.monotonic() < deadline:
        for line in list(seen):
            match = re.match(r"listening on (http://\S+)", line)
            if match:
                return match.group(1)
        if process.poll() is not None:
            return None
        stop.wait(0.1)
    return None


def _wait_healthy(url: str, process: subprocess.Popen[Any], stop: threading.Event) -> bool:
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    while not stop.is_set() and time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        stop.wait(0.3)
    return False


def banner_lines(context: dict[str, Any]) -> list[str]:
    """The ready banner: where the API, the stand-in and the data are, then any extras."""
    lines = [
        f"Local backend ready at {context['api_url']}",
        f"AWS stand-in at {context['endpoint_url']}",
        f"State folder: {context['state_dir']} (`make wipe` forgets the default .local/)",
    ]
    for extra in BANNER_EXTRAS:
        lines.extend(extra(context))
    return lines


def _tokens(standin: StandIn, api_url: str, outputs: dict[str, Any], admin: tuple[str, str]) -> None:
    cognito = boto3.client("cognito-idp", endpoint_url=standin.endpoint_url, region_name=REGION)
    admin_token = cognito.initiate_auth(
        ClientId=outputs["USER_POOL_CLIENT_ID"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": admin[0], "PASSWORD": admin[1]},
    )["AuthenticationResult"]["IdToken"]
    _say(f"Admin '{admin[0]}' ID token (group admins):\n{admin_token}\n")
    response = requests.post(f"{api_url}/auth/guest", json={}, timeout=30)
    if response.status_code not in (200, 201):
        _say(f"POST /auth/guest answered {response.status_code}: {response.text[:500]}")
        return
    guest = response.json()
    _say(f"Guest {guest.get('player_id')} ID token:\n{guest['id_token']}\n")
    _say("Try:")
    _say(f'  curl -H "Authorization: Bearer {guest["id_token"]}" {api_url}/players/me')
    _say(f"Console: {api_url}/console (sign in as '{admin[0]}')")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_backend.run", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address the API binds (default loopback)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the API's port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--aws-port",
        type=int,
        default=int(os.environ.get("LOCAL_AWS_PORT", DEFAULT_AWS_PORT)),
        help=f"the AWS stand-in's port on 127.0.0.1 (default LOCAL_AWS_PORT or {DEFAULT_AWS_PORT})",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("LOCAL_STATE_DIR", STATE_DIR)),
        help="where local data is kept (default LOCAL_STATE_DIR or .local/)",
    )
    parser.add_argument(
        "--ws-port",
        type=int,
        default=None,
        help="the WebSocket gateway's port (default: the API's port + 1, so 8001; any free one with --port 0)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request and the AWS SDK's INFO lines")
    args = parser.parse_args(argv)
    state_dir: Path = args.state_dir.resolve()
    aws_port: int = args.aws_port
    ws_port: int = args.ws_port if args.ws_port is not None else (args.port + 1 if args.port else 0)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    if not _is_loopback(args.host):
        _say(
            f"WARNING: serving the API on {args.host}, beyond this machine. The local stand-in "
            "signs tokens with moto's published test key, so anyone who can reach the API can "
            "mint tokens it accepts, admin ones included. Use this only on a network you trust, "
            "with no real data. (The AWS stand-in itself stays on 127.0.0.1, so presigned S3 "
            "URLs work from this machine only.)"
        )

    # Both ports first: nothing starts, and nothing talks to whatever holds them.
    if _port_taken(args.host, args.port):
        return _refuse_port("the API", args.host, args.port, API_PORT_HINT)
    if _port_taken("127.0.0.1", aws_port):
        return _refuse_port("the AWS stand-in", "127.0.0.1", aws_port, AWS_PORT_HINT)
    if _port_taken(args.host, ws_port):
        return _refuse_port("the WebSocket gateway", args.host, ws_port, ws_gateway.WS_PORT_HINT)

    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        standin = start_standin(port=aws_port, state_dir=state_dir)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return _refuse_port("the AWS stand-in", "127.0.0.1", aws_port, AWS_PORT_HINT)
        _say(f"cannot start the AWS stand-in on 127.0.0.1:{aws_port}: {exc}")
        return 1
    chalice: subprocess.Popen[str] | None = None
    events: subprocess.Popen[Any] | None = None
    gateway: subprocess.Popen[Any] | None = None
    code = 0
    try:
        stage_env = _local_stage_env()
        prefix = stage_env.get("TABLE_PREFIX", "game-local")
        admin = (
            stage_env.get("LOCAL_ADMIN_USERNAME", "admin"),
            stage_env.get("LOCAL_ADMIN_PASSWORD", "Admin-local-1"),
        )
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
            }
        )
        session = boto3.session.Session(region_name=REGION)
        clients = {s: session.client(s, endpoint_url=standin.endpoint_url) for s in ("dynamodb", "s3", "cognito-idp")}
        outputs = provision(
            dynamodb=clients["dynamodb"],
            s3=clients["s3"],
            cognito=clients["cognito-idp"],
            prefix=prefix,
            region=REGION,
            report=lambda line: _say(f"  {line}"),
        )
        ensure_admin_user(clients["cognito-idp"], outputs["USER_POOL_ID"], admin[0], admin[1])
        overlap = set(outputs["env"]) & set(stage_env)
        if overlap:
            _say(
                f"WARNING: the local stage's config sets {sorted(overlap)}; chalice local will use those, not the stand-in's"
            )

        child_env = dict(os.environ)
        child_env.pop("AWS_PROFILE", None)
        child_env.update(outputs["env"])
        child_env.update({"AWS_ENDPOINT_URL": standin.endpoint_url, "PYTHONUNBUFFERED": "1"})
        verbose = ["--verbose"] if args.verbose else []
        # The WebSocket gateway first: the app pushes to its @connections URL.
        started = ws_gateway.start_process(host=args.host, port=ws_port, env=child_env, verbose=args.verbose)
        if started is None:
            _say("the WebSocket gateway did not start; stopping")
            return 1
        gateway, ws_url, management_url = started
        child_env["WEBSOCKET_MANAGEMENT_URL"] = management_url
        BANNER_EXTRAS.append(
            lambda _context: [f"WebSocket API at {ws_url} (token in the Authorization header or ?token=)"]
        )
        # No autoreload (as `chalice local --no-autoreload`): chalice's watcher polls every
        # file under the project (the virtualenv included) and restarts on every state save.
        chalice = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local_backend.api_server",
                "--stage",
                "local",
                "--host",
                args.host,
                "--port",
                str(args.port),
                "--port-hint",
                API_PORT_HINT,
                *verbose,
            ],
            cwd=PROJECT_ROOT,
            env=child_env,
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        seen: list[str] = []
        assert chalice.stdout is not None
        threading.Thread(target=_echo, args=(chalice.stdout, seen, args.verbose), daemon=True).start()
        listening = _wait_listening(chalice, seen, stop)
        if listening is None:
            if not stop.is_set():
                if chalice.poll() == PORT_TAKEN_EXIT:
                    return _refuse_port("the API", args.host, args.port, API_PORT_HINT)
                _say("the local API did not start; stopping")
                code = 1
            return code
        port = int(listening.rsplit(":", 1)[1])
        api_url = f"http://{args.host}:{port}"
        local_api = f"http://127.0.0.1:{port}" if not _is_loopback(args.host) else api_url
        (state_dir / "outputs.json").write_text(
            json.dumps(
                {
                    "endpoint_url": standin.endpoint_url,
                    "region": REGION,
                    "api_url": local_api,
                    "websocket_url": ws_url,
                    **outputs,
                },
                indent=2,
            )
            + "\n"
        )
        events = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local_backend.events",
                "--app-dir",
                str(PROJECT_ROOT),
                "--state-dir",
                str(state_dir),
                *verbose,
            ],
            cwd=PROJECT_ROOT,
            env=child_env,
            start_new_session=True,
        )
        if not _wait_healthy(local_api, chalice, stop):
            if not stop.is_set():
                _say(f"the local API did not answer {local_api}/health; stopping")
                code = 1
            return code
        _say()
        context = {"api_url": api_url, "endpoint_url": standin.endpoint_url, "state_dir": state_dir, "outputs": outputs}
        for line in banner_lines(context):
            _say(line)
        _say()
        _tokens(standin, local_api, outputs, admin)
        _say("\nCtrl-C stops everything.")
        while not stop.wait(0.5):
            if chalice.poll() is not None:
                _say(f"the local API exited with {chalice.returncode}; stopping")
                code = 1
                break
            if events is not None and events.poll() is not None:
                # Keep serving: the routes still work without schedules and streams.
                _say(f"the event runner exited with {events.returncode}; schedules and streams stop")
                events = None
        return code
    finally:
        _stop_processes([(chalice, "the local API"), (events, "the event runner"), (gateway, "the WebSocket gateway")])
        # The process ends next: no need to take moto's objects apart one by one.
        standin.stop(forget=False)
        _say(f"stopped; local state saved in {state_dir}")


if __name__ == "__main__":
    exit_code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything is stopped and saved: skip tearing down the interpreter's objects one by
    # one, which for a big local state kept a core busy for a minute after "stopped".
    os._exit(exit_code)
