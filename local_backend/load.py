"""A bounded mixed load against the local backend: requests/s and latency per route.

    python -m local_backend.load [--players 30] [--seconds 60] [--base-url URL] [--out FILE]
    make load PLAYERS=30 SECONDS=60 [BASE_URL=http://127.0.0.1:8000]

Players arrive over the first 15 s (a quarter of a short run). Each signs in as a guest, then, until the time is up, plays a weighted
mix on one kept-alive connection: stat updates, scores, rank reads, matchmaking tickets
(create, poll, cancel), event batches, cloud saves (with their version), inbox reads and
token refreshes (sign-ins). No think time: the figures are the backend's capacity.

Without `--base-url` (or `BASE_URL`) it starts its own backend (`local_backend.run` on
free ports, state in a temporary folder, the stream and schedule runner on, the guest
sign-in limit per address lifted) and stops it at the end. A backend named by
`BASE_URL` keeps its own limits: start it with GUEST_RATE_LIMIT raised for many players. Loopback only: any other host is refused. It stops by itself after
`--seconds` (plus what the requests in flight take to answer).

Prints requests/s and p50/p95/p99 per route, the stand-in's share of the time (its own
counters), its memory at start and end (when it started the backend), and writes all of
it to `--out` (default build/load/load-<players>p-<seconds>s.json, git-ignored).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REQUEST_TIMEOUT = 60
MEMORY_SAMPLE_SECONDS = 5.0
# (action, weight): roughly what a session of play sends.
MIX = [
    ("stats", 20),
    ("score", 15),
    ("rank", 15),
    ("top", 5),
    ("ticket", 8),
    ("events", 12),
    ("save", 10),
    ("inbox", 10),
    ("refresh", 5),
]
EVENTS_PER_BATCH = 10
# Players arrive evenly over this many seconds (at most a quarter of the run).
RAMP_SECONDS = 15.0


@dataclass
class Recorder:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, route: str, seconds: float, status: str) -> None:
        with self.lock:
            self.latencies[route].append(seconds)
            self.statuses[route][status] += 1


class Player:
    def __init__(self, base_url: str, recorder: Recorder, rng: random.Random) -> None:
        self.base = base_url
        self.http = requests.Session()
        self.recorder = recorder
        self.rng = rng
        self.token = ""
        self.refresh_token = ""
        self.save_version = 0

    def call(self, method: str, route: str, path: str | None = None, **kwargs: Any) -> requests.Response | None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        started = time.perf_counter()
        try:
            response = self.http.request(
                method, self.base + (path or route), headers=headers, timeout=REQUEST_TIMEOUT, **kwargs
            )
        except requests.RequestException as exc:
            self.recorder.add(f"{method} {route}", time.perf_counter() - started, type(exc).__name__)
            return None
        self.recorder.add(f"{method} {route}", time.perf_counter() - started, str(response.status_code))
        return response

    def sign_in(self) -> bool:
        response = self.call("POST", "/auth/guest", json={})
        if response is None or response.status_code not in (200, 201):
            return False
        body = response.json()
        self.token, self.refresh_token = body["id_token"], body.get("refresh_token", "")
        return True

    def act(self, action: str) -> None:
        rng = self.rng
        if action == "stats":
            updates = {"kills": rng.randint(0, 5), "xp": rng.randint(1, 50), "high_score": rng.randint(0, 10**6)}
            self.call("POST", "/players/me/stats", json={"updates": updates})
        elif action == "score":
            self.call(
                "POST",
                "/leaderboards/{board_id}/scores",
                "/leaderboards/daily_score/scores",
                json={"score": rng.randint(0, 10**6)},
            )
        elif action == "rank":
            self.call("GET", "/leaderboards/{board_id}/me", "/leaderboards/global/me")
        elif action == "top":
            self.call("GET", "/leaderboards/{board_id}", "/leaderboards/global?limit=10")
        elif action == "ticket":
            self.ticket()
        elif action == "events":
            now = time.time()
            events = [
                {"event_id": str(uuid.uuid4()), "type": "level_start", "timestamp": now, "data": {"level": n}}
                for n in range(EVENTS_PER_BATCH)
            ]
            self.call("POST", "/events", json={"events": events})
        elif action == "save":
            self.save()
        elif action == "inbox":
            self.call("GET", "/notifications")
        elif action == "refresh" and self.refresh_token:
            response = self.call("POST", "/auth/refresh", json={"refresh_token": self.refresh_token})
            if response is not None and response.status_code == 200:
                self.token = response.json().get("id_token", self.token)

    def ticket(self) -> None:
        region = self.rng.choice(["us-east-1", "eu-west-1"])
        created = self.call("POST", "/matchmaking/tickets", json={"queue": "duel", "region": region})
        if created is None or created.status_code not in (200, 201):
            return
        ticket = created.json()
        path = f"/matchmaking/tickets/{ticket['ticket_id']}"
        polled = self.call("GET", "/matchmaking/tickets/{ticket_id}", path)
        status = polled.json().get("status") if polled is not None and polled.status_code == 200 else None
        if status in ("searching", "forming"):
            self.call("DELETE", "/matchmaking/tickets/{ticket_id}", path)

    def save(self) -> None:
        body = {
            "data": {"level": self.rng.randint(1, 50), "coins": self.rng.randint(0, 9999)},
            "expected_version": self.save_version,
        }
        response = self.call("PUT", "/saves/{slot}", "/saves/slot1", json=body)
        if response is None:
            return
        if response.status_code in (200, 201):
            self.save_version = int(response.json().get("version", self.save_version + 1))
        elif response.status_code == 409:
            current = self.call("GET", "/saves/{slot}", "/saves/slot1")
            if current is not None and current.status_code == 200:
                self.save_version = int(current.json().get("version", 0))


def _play(base_url: str, recorder: Recorder, seed: int, start: float, deadline: float) -> None:
    rng = random.Random(seed)
    # Players arrive over the ramp, not all in the same instant.
    time.sleep(max(0.0, start - time.monotonic()))
    player = Player(base_url, recorder, rng)
    actions = [name for name, _ in MIX]
    weights = [weight for _, weight in MIX]
    while time.monotonic() < deadline and not player.sign_in():
        # Refused (a backend of your own limits guest sign-ins per address): try again later.
        time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
    while time.monotonic() < deadline:
        player.act(rng.choices(actions, weights)[0])


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OwnBackend:
    """`local_backend.run` on free ports with a throw-away state folder."""

    def __init__(self) -> None:
        self.state_dir = Path(tempfile.mkdtemp(prefix="load-state-"))
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.standin_url = ""
        self.lines: list[str] = []

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TABLE_", "USER_POOL"))}
        # Every simulated player signs in from 127.0.0.1: lift the per-address guest limit.
        env.update({"PYTHONUNBUFFERED": "1", "GUEST_RATE_LIMIT": "1000000"})
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local_backend.run",
                "--port",
                "0",
                "--aws-port",
                "0",
                "--state-dir",
                str(self.state_dir),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if match := re.match(r"Local backend ready at (\S+)", line):
                self.url = match.group(1)
            if match := re.match(r"AWS stand-in at (\S+)", line):
                self.standin_url = match.group(1)
            if "Ctrl-C stops everything" in line:
                threading.Thread(target=self._drain, daemon=True).start()
                return
        raise RuntimeError("the backend did not start:\n" + "".join(self.lines[-30:]))

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def state_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.state_dir.rglob("*") if f.is_file())

    def stop(self) -> float:
        """Stop it (SIGTERM); seconds it took."""
        started = time.monotonic()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return time.monotonic() - started

    def cleanup(self) -> None:
        shutil.rmtree(self.state_dir, ignore_errors=True)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _processes(backend: OwnBackend) -> dict[str, int]:
    """The backend's processes by role: the stand-in (inside the run command), the API
    (the app, behind chalice's local gateway) and the event runner."""
    assert backend.process is not None
    pid = backend.process.pid
    roles = {"stand-in (run command)": pid}
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for child in children:
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "local_backend.api_server" in command:
            roles["API (app + local gateway)"] = int(child)
        elif "local_backend.events" in command:
            roles["event runner"] = int(child)
    return roles


def _cpu(roles: dict[str, int]) -> dict[str, float | None]:
    return {role: _cpu_seconds(pid) for role, pid in roles.items()} | {"load generator": _cpu_seconds(os.getpid())}


def _standin_stats(url: str) -> dict[str, Any] | None:
    if not url:
        return None
    try:
        return requests.get(f"{url}/_standin/stats", timeout=30).json()  # type: ignore[no-any-return]
    except (requests.RequestException, ValueError):
        return None


def _keep_alive_figures(base_url: str, count: int = 30) -> dict[str, float]:
    """p50 of GET /health over one kept-alive connection and over new connections."""
    session = requests.Session()
    kept, fresh = [], []
    for _ in range(count):
        started = time.perf_counter()
        session.get(f"{base_url}/health", timeout=REQUEST_TIMEOUT)
        kept.append(time.perf_counter() - started)
        started = time.perf_counter()
        requests.get(f"{base_url}/health", timeout=REQUEST_TIMEOUT, headers={"Connection": "close"})
        fresh.append(time.perf_counter() - started)
    return {
        "kept_alive_p50_ms": statistics.median(kept) * 1000,
        "new_connection_p50_ms": statistics.median(fresh) * 1000,
    }


def run(players: int, seconds: float, base_url: str | None, out: Path) -> dict[str, Any]:
    backend: OwnBackend | None = None
    if base_url is None:
        backend = OwnBackend()
        print("starting a local backend for the load (free ports, temporary state)...", flush=True)
        backend.start()
        base_url = backend.url
    standin_url = backend.standin_url if backend else ""
    memory: list[tuple[float, int | None]] = []
    roles = _processes(backend) if backend is not None else {}
    try:
        keep_alive = _keep_alive_figures(base_url)
        before = _standin_stats(standin_url)
        cpu_before = _cpu(roles)
        recorder = Recorder()
        started = time.monotonic()
        deadline = started + seconds
        ramp = min(RAMP_SECONDS, seconds / 4)
        threads = [
            threading.Thread(
                target=_play, args=(base_url, recorder, seed, started + ramp * seed / players, deadline), daemon=True
            )
            for seed in range(players)
        ]
        for thread in threads:
            thread.start()
        print(f"{players} players for {seconds:.0f} s against {base_url}...", flush=True)
        while alive := [thread for thread in threads if thread.is_alive()]:
            stats = _standin_stats(standin_url)
            if stats:
                memory.append((round(time.monotonic() - started, 1), stats.get("rss_kb")))
            alive[0].join(MEMORY_SAMPLE_SECONDS)
        elapsed = time.monotonic() - started
        after = _standin_stats(standin_url)
        cpu_after = _cpu(roles)
    finally:
        stop_seconds = state_bytes = None
        if backend is not None:
            state_bytes = backend.state_bytes()
            stop_seconds = backend.stop()
            state_bytes_after = backend.state_bytes()
            backend.cleanup()
    routes = {}
    total = 0
    all_latencies: list[float] = []
    for route in sorted(recorder.latencies):
        values = recorder.latencies[route]
        total += len(values)
        all_latencies.extend(values)
        routes[route] = {
            "requests": len(values),
            "per_second": len(values) / elapsed,
            "p50_ms": _percentile(values, 0.50) * 1000,
            "p95_ms": _percentile(values, 0.95) * 1000,
            "p99_ms": _percentile(values, 0.99) * 1000,
            "statuses": dict(recorder.statuses[route]),
        }
    result: dict[str, Any] = {
        "players": players,
        "seconds": round(elapsed, 1),
        "requests": total,
        "per_second": total / elapsed if elapsed else 0.0,
        "p50_ms": _percentile(all_latencies, 0.5) * 1000 if all_latencies else None,
        "p95_ms": _percentile(all_latencies, 0.95) * 1000 if all_latencies else None,
        "p99_ms": _percentile(all_latencies, 0.99) * 1000 if all_latencies else None,
        "errors": sum(
            n for r in routes.values() for status, n in r["statuses"].items() if status[:1] not in ("2", "4")
        ),
        "routes": routes,
        "keep_alive": keep_alive,
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    if before and after:
        busy = after["busy_seconds"] - before["busy_seconds"]
        waited = after["wait_seconds"] - before["wait_seconds"]
        calls = after["requests"] - before["requests"]
        request_seconds = sum(all_latencies)
        result["standin"] = {
            "calls": calls,
            "calls_per_request": calls / total if total else None,
            "busy_seconds": round(busy, 1),
            "lock_wait_seconds": round(waited, 1),
            "busy_share_of_wall_time": busy / elapsed,
            "share_of_request_time": (busy + waited) / request_seconds if request_seconds else None,
            "rss_mb_start": (before.get("rss_kb") or 0) / 1024,
            "rss_mb_end": (after.get("rss_kb") or 0) / 1024,
            "rss_mb_peak": after.get("max_rss_kb", 0) / 1024,
            "rss_mb_samples": [(t, (kb or 0) / 1024) for t, kb in memory],
        }
    cpu = {
        role: round(cpu_after[role] - first, 1)  # type: ignore[operator]
        for role, first in cpu_before.items()
        if first is not None and cpu_after.get(role) is not None
    }
    result["cpu_seconds"] = cpu
    result["cpu_ms_per_request"] = {role: 1000 * seconds / total for role, seconds in cpu.items()} if total else {}
    if backend is not None:
        result["state_folder_bytes"] = {"before_stop": state_bytes, "after_stop": state_bytes_after}
        result["stop_seconds"] = stop_seconds
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    _print(result, out)
    return result


def _print(result: dict[str, Any], out: Path) -> None:
    print()
    print(f"{'route':44} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  statuses")
    for route, r in result["routes"].items():
        statuses = " ".join(f"{k}:{v}" for k, v in sorted(r["statuses"].items()))
        print(
            f"{route:44} {r['requests']:8d} {r['per_second']:7.1f} {r['p50_ms']:8.0f} {r['p95_ms']:8.0f} "
            f"{r['p99_ms']:8.0f}  {statuses}"
        )
    print(
        f"{'all':44} {result['requests']:8d} {result['per_second']:7.1f} {result['p50_ms'] or 0:8.0f} "
        f"{result['p95_ms'] or 0:8.0f} {result['p99_ms'] or 0:8.0f}  errors (5xx, connection): {result['errors']}"
    )
    ka = result["keep_alive"]
    print(
        f"GET /health p50: {ka['kept_alive_p50_ms']:.1f} ms kept alive, {ka['new_connection_p50_ms']:.1f} ms "
        "on new connections"
    )
    standin = result.get("standin")
    if standin:
        print(
            f"stand-in: {standin['calls']} calls ({standin['calls_per_request']:.1f} per request), busy "
            f"{standin['busy_share_of_wall_time']:.0%} of the run, {standin['share_of_request_time']:.0%} of the "
            f"requests' time in it or waiting for it; memory {standin['rss_mb_start']:.0f} MB -> "
            f"{standin['rss_mb_end']:.0f} MB (peak {standin['rss_mb_peak']:.0f} MB)"
        )
    if result.get("cpu_ms_per_request"):
        shares = ", ".join(f"{role} {ms:.0f}" for role, ms in result["cpu_ms_per_request"].items())
        print(f"CPU ms per request (independent of the machine's load): {shares}")
    if "state_folder_bytes" in result:
        print(
            f"state folder {result['state_folder_bytes']['after_stop'] / 1e6:.1f} MB; the backend stopped "
            f"{result['stop_seconds']:.1f} s after SIGTERM"
        )
    load = result["load_average"]
    print(f"machine load average {load[0]:.1f} on {result['cpus']} CPUs; results in {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_backend.load", description=__doc__.split("\n")[0])
    parser.add_argument("--players", type=int, default=int(os.environ.get("PLAYERS") or 30))
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SECONDS_TO_RUN") or 60))
    parser.add_argument("--base-url", default=os.environ.get("BASE_URL") or None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if not 1 <= args.players <= 1000 or not 1 <= args.seconds <= 3 * 3600:
        parser.error("players must be 1..1000 and seconds 1..10800")
    if args.base_url is not None and not _is_loopback(args.base_url):
        parser.error(f"{args.base_url} is not on this machine: the load only runs against loopback")
    out = args.out or PROJECT_ROOT / "build" / "load" / f"load-{args.players}p-{int(args.seconds)}s.json"
    run(args.players, args.seconds, args.base_url.rstrip("/") if args.base_url else None, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
