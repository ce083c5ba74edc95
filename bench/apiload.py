"""The settings API server under load (issue 2): idle RSS, and GET / PATCH latency
p50/p99 and requests per second over the Unix socket with 1 and 16 concurrent clients.

Clients are forked processes (not threads of this process, which would share one GIL
with each other), each on one keep-alive HTTP/1.1 connection (and once, GET with a new
connection per request, as Bottlerocket's apiclient makes them), released together by
an event. The server is the real `kindling apiserver --root <demo copy>`.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.janitor import Janitor
from bench.report import Budget, Row
from bench.stats import Summary, percentile
from bench.target import Kindling

__all__ = ["IDLE_BUDGET_MB", "apiserver_rows"]

SECTION = "Settings API server (issue 2)"
IDLE_BUDGET_MB = 35.0
SOCKET = "run/kindling/api.sock"


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=30)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


@dataclass
class _Server:
    proc: subprocess.Popen[bytes]
    socket_path: str

    def rss_mb(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) of the server process, in MB."""
        fields: dict[str, float] = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(rest.split()[0]) / 1024
        return fields["VmRSS"], fields["VmHWM"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _start(k: Kindling, root: Path, janitor: Janitor) -> _Server:
    proc = subprocess.Popen(
        k.argv("apiserver", "--root", str(root)),
        env=k.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = _Server(proc, str(root / SOCKET))
    janitor.push(f"stop apiserver {proc.pid}", server.stop)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"apiserver exited {proc.returncode} before listening")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.connect(server.socket_path)
            return server
        except OSError:
            time.sleep(0.005)
    raise RuntimeError("apiserver did not listen within 15 s")


def _worker(path: str, method: str, count: int, wid: int, go: Any, out: Any, reconnect: bool = False) -> None:
    conn = _UnixHTTP(path)
    conn.connect()
    body = None
    target = "/settings"
    if method == "PATCH":
        target = f"/settings?tx=bench-{wid}"
    lat: list[float] = []
    go.wait()
    for i in range(count):
        if method == "PATCH":
            body = json.dumps({"motd": f"bench {wid} {i}"}).encode()
        t0 = time.perf_counter()
        if reconnect:  # as Bottlerocket's apiclient does: one connection per request
            conn.close()
            conn = _UnixHTTP(path)
        conn.request(method, target, body=body, headers={"Content-Type": "application/json"} if body else {})
        resp = conn.getresponse()
        resp.read()
        lat.append((time.perf_counter() - t0) * 1000)
        if resp.status >= 400:
            out.send(("error", resp.status))
            return
    out.send(("ok", lat, time.perf_counter()))
    conn.close()


def _load(
    path: str, method: str, clients: int, per_client: int, reconnect: bool = False
) -> tuple[list[float], float]:
    """Latencies (ms) of every request and the requests/s of the whole round."""
    ctx = mp.get_context("fork")
    go = ctx.Event()
    pipes = []
    procs = []
    for wid in range(clients):
        recv, send = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_worker, args=(path, method, per_client, wid, go, send, reconnect), daemon=True)
        p.start()
        pipes.append(recv)
        procs.append(p)
    time.sleep(0.05)  # every worker connected and waiting
    start = time.perf_counter()
    go.set()
    lat: list[float] = []
    end = start
    try:
        for recv in pipes:
            msg = recv.recv()
            if msg[0] != "ok":
                raise RuntimeError(f"{method} answered HTTP {msg[1]}")
            lat.extend(msg[1])
            end = max(end, msg[2])
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
    return lat, len(lat) / (end - start)


# requests per round (split over the clients): PATCH writes the datastore (an fsync
# each), so it gets fewer to keep the section near half a minute on 2 cores
REQUESTS = {"GET": 240, "PATCH": 64}


def apiserver_rows(k: Kindling, janitor: Janitor, runs: int, warmup: int) -> list[Row]:
    if not k.has("apiserver"):
        return [Row(SECTION, "`kindling apiserver`", "MB", None)]
    root = k.demo_copy(janitor, "api")
    idle: list[float] = []
    for i in range(warmup + runs):
        server = _start(k, root, janitor)
        time.sleep(0.5)
        rss, _ = server.rss_mb()
        if i >= warmup:
            idle.append(rss)
        if i < warmup + runs - 1:
            server.stop()
    idle_row = "apiserver idle RSS (VmRSS 0.5 s after listening)"
    rows = [Row(SECTION, idle_row, "MB", Summary.of(idle), Budget("<=", IDLE_BUDGET_MB, "MB"))]
    for method, clients, reconnect in (("GET", 1, False), ("GET", 16, False), ("GET", 1, True), ("PATCH", 1, False),
                                       ("PATCH", 16, False)):  # fmt: skip
        per = max(1, REQUESTS[method] // clients)
        p50: list[float] = []
        p99: list[float] = []
        rate: list[float] = []
        for i in range(warmup + runs):
            lat, rps = _load(server.socket_path, method, clients, per, reconnect)
            if i >= warmup:
                p50.append(percentile(lat, 50))
                p99.append(percentile(lat, 99))
                rate.append(rps)
        what = f"{method} /settings, {clients} client{'s' if clients > 1 else ''} x {per} requests"
        if reconnect:
            what += ", new connection each"
        rows += [
            Row(SECTION, f"{what}: p50 latency", "ms", Summary.of(p50)),
            Row(SECTION, f"{what}: p99 latency", "ms", Summary.of(p99)),
            Row(SECTION, f"{what}: throughput", "req/s", Summary.of(rate)),
        ]
    rss, hwm = server.rss_mb()
    rows.append(Row(SECTION, "apiserver RSS after the load rounds (VmRSS; VmHWM in note)", "MB",
                    Summary.of([rss]), note=f"VmHWM {hwm:.1f} MB"))
    server.stop()
    return rows
