"""Run the whole backend locally: the AWS stand-in, provisioning, `chalice local`, events.

    python -m local_backend.run [--host 127.0.0.1] [--port 8000]

Starts the stand-in on 127.0.0.1 (port 4566, or LOCAL_AWS_PORT) with its state in
`.local/`, provisions it from the data definition, makes sure the local admin exists,
starts `chalice local --stage local` and the local event-source runner, then prints an
admin token, a guest token and a curl line. Ctrl-C or SIGTERM stops everything and
saves the state. `.local/outputs.json` tells other local tools where things are.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import requests

from local_backend.standin import StandIn, start_standin
from tools.provision import ensure_admin_user, provision

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = PROJECT_ROOT / ".local"
REGION = "us-east-1"
DEFAULT_AWS_PORT = 4566
HEALTH_TIMEOUT_SECONDS = 90


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


def _stop_process(process: subprocess.Popen[Any] | None, name: str) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        # Its own process group: chalice's reloader and its worker go together.
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        _say(f"{name} did not stop in time; killing it")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


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
    parser.add_argument("--host", default="127.0.0.1", help="address chalice local binds (default loopback)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--state-dir", type=Path, default=Path(os.environ.get("LOCAL_STATE_DIR", STATE_DIR)),
                        help="where local data is kept (default .local/)")
    args = parser.parse_args(argv)
    state_dir: Path = args.state_dir

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

    state_dir.mkdir(parents=True, exist_ok=True)
    aws_port = int(os.environ.get("LOCAL_AWS_PORT", DEFAULT_AWS_PORT))
    try:
        standin = start_standin(port=aws_port, state_dir=state_dir)
    except OSError as exc:
        _say(f"cannot start the AWS stand-in on 127.0.0.1:{aws_port}: {exc}. Set LOCAL_AWS_PORT to another port.")
        return 1
    chalice: subprocess.Popen[Any] | None = None
    events: subprocess.Popen[Any] | None = None
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

        api_url = f"http://{args.host}:{args.port}"
        local_api = f"http://127.0.0.1:{args.port}" if not _is_loopback(args.host) else api_url
        (state_dir / "outputs.json").write_text(
            json.dumps(
                {"endpoint_url": standin.endpoint_url, "region": REGION, "api_url": local_api, **outputs},
                indent=2,
            )
            + "\n"
        )
        child_env = dict(os.environ)
        child_env.pop("AWS_PROFILE", None)
        child_env.update(outputs["env"])
        child_env.update({"AWS_ENDPOINT_URL": standin.endpoint_url, "PYTHONUNBUFFERED": "1"})
        chalice_bin = Path(sys.executable).with_name("chalice")
        chalice = subprocess.Popen(
            # No autoreload: chalice's watcher polls every file under the project (the
            # virtualenv included) and restarts whenever the stand-in saves its state.
            [str(chalice_bin), "local", "--stage", "local", "--host", args.host, "--port", str(args.port),
             "--no-autoreload"],
            cwd=PROJECT_ROOT,
            env=child_env,
            start_new_session=True,
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
            ],
            cwd=PROJECT_ROOT,
            env=child_env,
            start_new_session=True,
        )
        if not _wait_healthy(local_api, chalice, stop):
            if not stop.is_set():
                _say(f"chalice local did not answer {local_api}/health; stopping")
                code = 1
            return code
        _say()
        _say(f"Local backend ready at {api_url}")
        _say(f"AWS stand-in at {standin.endpoint_url} (state in .local/; `make wipe` forgets it)")
        _say()
        _tokens(standin, local_api, outputs, admin)
        _say("\nCtrl-C stops everything.")
        while not stop.wait(0.5):
            if chalice.poll() is not None:
                _say(f"chalice local exited with {chalice.returncode}; stopping")
                code = 1
                break
            if events is not None and events.poll() is not None:
                # Keep serving: the routes still work without schedules and streams.
                _say(f"the event runner exited with {events.returncode}; schedules and streams stop")
                events = None
        return code
    finally:
        _stop_process(chalice, "chalice local")
        _stop_process(events, "the event runner")
        standin.stop()
        _say("stopped; local state saved")


if __name__ == "__main__":
    sys.exit(main())
