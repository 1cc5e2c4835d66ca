"""The faults, in turn: SIGKILL the board stream's leader node, a follower, one API replica, one
hwbridge host mid-build and the other mid-run, then SIGSTOP a node for longer than an election
takes; each is brought back and the cluster let heal before the next."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from bench.chaos.history import History
from bench.cluster import HOSTS, Cluster
from events.subjects import BOARD_STREAM

#: Longer than JetStream's Raft election timeout (randomised, at most a few seconds), so the
#: paused node's groups elect new leaders while it sleeps.
PAUSE_S = 12.0
POLL_S = 0.02
CONDITION_WAIT_S = 20.0


class Faults:
    """Injects the faults on ``cluster`` one after another, ``spacing_s`` apart."""

    def __init__(
        self, cluster: Cluster, history: History, rng: random.Random, *, spacing_s: float,
        down_s: float,
    ) -> None:  # fmt: skip
        self.cluster, self.history, self.rng = cluster, history, rng
        self.spacing_s, self.down_s = spacing_s, down_s
        self.stop = threading.Event()
        self._http = httpx.Client(timeout=5.0, headers={"X-API-Key": cluster.admin_key})

    def steps(self) -> list[Callable[[], str]]:
        return [
            self.kill_leader, self.kill_follower, self.kill_api, self.kill_hwbridge_building,
            self.kill_hwbridge_running, self.pause_node,
        ]  # fmt: skip

    def run(self, rounds: int = 1) -> None:
        """Every fault in turn, ``rounds`` times (or until ``stop``)."""
        for _ in range(rounds):
            for step in self.steps():
                if self.stop.wait(self.spacing_s):
                    return
                at = time.monotonic()
                try:
                    done = step()
                except Exception as exc:  # recorded as a failed check, never hidden
                    self.history.errors.append(f"fault {step.__name__} failed: {exc!r}")
                    continue
                back = time.monotonic()
                if not self.cluster.wait_stream_healthy(BOARD_STREAM):
                    self.history.errors.append(f"the board stream did not heal after {done}")
                took, healed = back - at, time.monotonic() - back
                self.history.faults.append(f"{done} ({took:.0f} s; healed in {healed:.0f} s)")

    # --- the faults -------------------------------------------------------------------------

    def kill_leader(self) -> str:
        leader = self.cluster.stream_leader(BOARD_STREAM)
        self._down_and_up(self.cluster.nodes[leader].kill, self.cluster.nodes[leader].start)
        return f"SIGKILL nats-{leader} (board stream leader), back after {self.down_s:.0f} s"

    def kill_follower(self) -> str:
        leader = self.cluster.stream_leader(BOARD_STREAM)
        follower = self.rng.choice([i for i in range(len(self.cluster.nodes)) if i != leader])
        node = self.cluster.nodes[follower]
        self._down_and_up(node.kill, node.start)
        return f"SIGKILL nats-{follower} (follower), back after {self.down_s:.0f} s"

    def kill_api(self) -> str:
        index = self.rng.randrange(len(self.cluster.apis))
        api = self.cluster.apis[index]
        self._down_and_up(api.kill, api.start)
        self.cluster.wait_healthy(self.cluster.bases[index])
        return f"SIGKILL api-{index}, back after {self.down_s:.0f} s"

    def kill_hwbridge_building(self) -> str:
        found = self._wait_for(lambda b: b["state"] in ("building", "programming"))
        return self._kill_host(found, "mid-build")

    def kill_hwbridge_running(self) -> str:
        found = self._wait_for(lambda b: b["state"] == "reserved" and b["current_job_id"])
        if found is None:
            found = self._wait_for(lambda b: b["state"] == "reserved")
        return self._kill_host(found, "mid-run")

    def pause_node(self) -> str:
        leader = self.cluster.stream_leader(BOARD_STREAM)
        node = self.cluster.nodes[leader]
        self._down_and_up(
            lambda: node.signal_stop(), lambda: node.signal_continue(), down_s=PAUSE_S
        )
        return f"SIGSTOP nats-{leader} (board stream leader) for {PAUSE_S:.0f} s, then SIGCONT"

    # --- helpers ----------------------------------------------------------------------------

    def _down_and_up(
        self, down: Callable[[], None], up: Callable[[], None], *, down_s: float | None = None
    ) -> None:
        down()
        time.sleep(self.down_s if down_s is None else down_s)
        up()

    def _wait_for(self, condition: Callable[[dict[str, Any]], Any]) -> int | None:
        """A board (id) that meets ``condition``, polled from an API replica; None in time."""
        deadline = time.monotonic() + CONDITION_WAIT_S
        while time.monotonic() < deadline and not self.stop.is_set():
            for base in self.cluster.bases:
                try:
                    boards = self._http.get(f"{base}/fpga").json()
                except (httpx.HTTPError, ValueError):
                    continue
                for board in boards:
                    if condition(board):
                        return int(board["fpga_id"])
                break
            time.sleep(POLL_S)
        return None

    def _kill_host(self, fpga_id: int | None, when: str) -> str:
        host = next((h for h in HOSTS if fpga_id in h.fpga_ids), self.rng.choice(HOSTS))
        proc = next(p for p in self.cluster.hwbridges if p.name == host.user)
        self._down_and_up(proc.kill, proc.start)
        where = f"board {fpga_id}" if fpga_id is not None else "no board caught in the act"
        return f"SIGKILL {host.user} {when} ({where}), back after {self.down_s:.0f} s"
