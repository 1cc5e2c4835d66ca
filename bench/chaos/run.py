"""One fault-injection run: the cluster, the load clients and the faults at once, then the
checks, as a report of counts."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.chaos.checker import Findings, check, read_history
from bench.chaos.faults import Faults
from bench.chaos.history import History
from bench.chaos.load import LoadClient, follow_feed
from bench.cluster import HOSTS, VARIABLES, Cluster
from bench.system import EXAMPLES, REPO
from events.connection import ADMIN_USER, PASSWORD_ENV, USER_ENV
from events.store import EventStore, RawStored
from services.cli.history import API_KEY_ENV

#: Designs the clients submit; each is built once before the load, so every submit is cached.
DESIGNS = ("echo_regs.py", "counter.py")
SETTLE_S = 180.0
SPACING_S = 5.0
DOWN_S = 5.0


@dataclass
class Report:
    seed: int
    seconds: float = 0.0
    history: History = field(default_factory=History)
    findings: Findings = field(default_factory=Findings)
    views_equal: list[str] = field(default_factory=list)
    audit: str = ""

    @property
    def ok(self) -> bool:
        return not self.findings.problems

    def format(self) -> str:
        h, f = self.history, self.findings
        answered = sum(1 for c in h.calls if c.status is not None)
        lines = [
            f"chaos run, seed {self.seed}: {self.seconds:.0f} s of load, {len(h.faults)} faults",
            *(f"  fault: {fault}" for fault in h.faults),
            f"  operations: {len(h.calls)} commands ({dict(sorted(h.by_op().items()))}), "
            f"{h.streams.frames} stream frames ({h.streams.broken} streams broken off)",
            f"  answered: {answered}, unanswered after retries: {f.unanswered}; attempts by "
            f"answer: {dict(sorted(h.answers().items()))}",
            f"  stream: {f.events} events, {f.jobs} jobs; lost: {f.lost}, duplicated: "
            f"{f.duplicated}, refused yet stored: {f.refused_but_applied}",
            f"  reads (GET a board or a job): {dict(sorted(h.reads.items()))}",
            f"  live feed: {len(h.feed_seqs)} events",
            *(f"  views: {line}" for line in self.views_equal),
            f"  audit: {self.audit}",
            *(f"  PROBLEM: {p}" for p in f.problems),
            "  verdict: " + ("every check held" if self.ok else "FAILED"),
        ]
        return "\n".join(lines)


def run_chaos(data_dir: Path, *, seconds: float, seed: int, clients: int = 5) -> Report:
    """Start the cluster, load it for ``seconds`` (at least until every fault was injected and
    healed), let it settle, check, stop."""
    report = Report(seed)
    rng = random.Random(seed)
    cluster = Cluster(data_dir)
    try:
        cluster.start()
        _progress(f"cluster up in {data_dir}")
        designs = [(name, (EXAMPLES / name).read_bytes()) for name in DESIGNS]
        users = [cluster.create_key(f"chaos-{i}") for i in range(clients)]
        _warm(cluster, users[0], designs)
        history = report.history
        faults = Faults(cluster, history, random.Random(rng.random()), spacing_s=SPACING_S,
                        down_s=DOWN_S)  # fmt: skip
        injecting = threading.Thread(target=faults.run, name="faults")
        started = time.monotonic()
        _progress(f"load from {clients} clients; faults every {SPACING_S:.0f} s")
        injecting.start()
        try:
            asyncio.run(_load(cluster, users, designs, history, rng, started + seconds, injecting))
        finally:
            faults.stop.set()
            injecting.join()
        report.seconds = time.monotonic() - started
        _progress("load done; waiting for every board to be idle")
        _settle(cluster, report.findings)
        _progress("reading the streams and checking")
        stored = asyncio.run(_read(cluster))
        report.findings = _merge(check(history, stored, range(10)), report.findings)
        report.views_equal = [
            _cli(cluster, "replay", "--rebuild", "--api", b) for b in cluster.bases
        ]
        report.audit = _cli(cluster, "audit", "verify")
        for line in report.views_equal:
            if ": EQUAL" not in line:
                report.findings.problem(f"views: {line}")
        if not report.audit.startswith("audit chain OK"):
            report.findings.problem(f"audit: {report.audit}")
    finally:
        cluster.stop()
    return report


def _progress(text: str) -> None:
    print(f"[chaos] {text}", file=sys.stderr, flush=True)


def _warm(cluster: Cluster, key: str, designs: list[tuple[str, bytes]]) -> None:
    """Build every design once (on a board of each host), so the load's submits are cached."""
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=cluster.bases[0], headers=headers, timeout=60) as http:
        for name, source in designs:
            for host in HOSTS:
                board = host.fpga_ids[0]
                answer = http.post(f"/fpga/{board}/submit", files={"file": (name, source)})
                answer.raise_for_status()
                view = _wait(http, board, {"reserved", "error"})
                session = view["session"]["session_id"]
                released = http.post(f"/fpga/{board}/session/release",
                                     headers={"X-Session-ID": session})  # fmt: skip
                released.raise_for_status()
                _wait(http, board, {"idle"})


def _wait(http: httpx.Client, board: int, states: set[str], timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view: dict[str, Any] = http.get(f"/fpga/{board}").json()
        if view["state"] in states:
            return view
        time.sleep(0.1)
    raise RuntimeError(f"board {board} not in {states} in {timeout} s")


async def _load(
    cluster: Cluster,
    keys: list[str],
    designs: list[tuple[str, bytes]],
    history: History,
    rng: random.Random,
    until: float,
    injecting: threading.Thread,
) -> None:
    """The clients, until ``until`` and the faults are done; the live feed meanwhile."""
    boards = [host.fpga_ids for host in HOSTS]
    clients = []
    async with httpx.AsyncClient(base_url=cluster.bases[0], timeout=10) as http:
        for i, key in enumerate(keys):
            who = (await http.get("/auth/whoami", headers={"X-API-Key": key})).json()
            mine = [b[i % len(b)] for b in boards]  # one board on each host
            clients.append(
                LoadClient(
                    f"c{i}",
                    key,
                    who["key_id"],
                    mine,
                    cluster.bases,
                    designs,
                    history,
                    random.Random(rng.random()),
                )
            )
    feed = asyncio.create_task(follow_feed(cluster.bases[-1], cluster.admin_key, history))

    async def drive(client: LoadClient) -> None:
        while time.monotonic() < until or injecting.is_alive():
            await client.run(time.monotonic() + 1)
        await client.finish()

    try:
        await asyncio.gather(*(drive(c) for c in clients))
        await asyncio.sleep(2.0)  # the last events reach the feed
    finally:
        feed.cancel()
        await asyncio.gather(feed, return_exceptions=True)
        await asyncio.gather(*(c.close() for c in clients))


def _settle(cluster: Cluster, findings: Findings) -> None:
    """Every board back to idle, with no session, on both replicas, in bounded time."""
    deadline = time.monotonic() + SETTLE_S
    headers = {"X-API-Key": cluster.admin_key}
    busy: list[str] = []
    while time.monotonic() < deadline:
        busy = []
        for base in cluster.bases:
            try:
                boards = httpx.get(f"{base}/fpga", headers=headers, timeout=5).json()
            except (httpx.HTTPError, ValueError) as exc:
                busy.append(f"{base}: {exc}")
                continue
            busy += [
                f"{base} board {b['fpga_id']}: {b['state']}"
                for b in boards
                if b["state"] != "idle" or b["session"] is not None
            ]
        if not busy:
            return
        time.sleep(0.5)
    findings.problem(f"not idle {SETTLE_S:.0f} s after the faults: {busy}")


async def _read(cluster: Cluster) -> list[RawStored]:
    nc = await cluster.admin_connection()
    try:
        return await read_history(EventStore(nc))
    finally:
        await nc.close()


def _merge(checked: Findings, earlier: Findings) -> Findings:
    checked.problems = earlier.problems + checked.problems
    return checked


def _cli(cluster: Cluster, *args: str) -> str:
    """``fpga-cloud ARGS`` as an operator runs it against the cluster (admin); its last line."""
    env = {
        **os.environ,
        VARIABLES["nats_url"]: cluster.nats_url,
        USER_ENV: ADMIN_USER,
        PASSWORD_ENV: cluster.passwords[ADMIN_USER],
        API_KEY_ENV: cluster.admin_key,
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", *args], env=env, cwd=REPO, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[-1] if lines else f"exit {done.returncode}"
