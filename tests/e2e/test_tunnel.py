"""``fpga-cloud tunnel``: a client written to the prototype's TCP protocol, against a reserved
virtual board (the 2 KiB scratchpad), through the real command."""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from fpga_cloud import Client

from services.cli.user.tunnel_frames import (
    OP_READ,
    OP_WRITE,
    encode_request,
    parse_reply_header,
)
from tests.e2e.system import EXAMPLES, REPO, System

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

BOARD = 6
WORDS = 512  # the scratchpad's 2 KiB


class Peer:
    """One TCP client of the tunnel."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=30)

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("the tunnel closed the connection")
            data += chunk
        return data

    def reply(self) -> tuple[int, list[int]]:
        status, length = parse_reply_header(self._exactly(4))
        return status, list(struct.unpack(f">{length}I", self._exactly(4 * length)))

    def write(self, address: int, words: list[int]) -> tuple[int, list[int]]:
        self.sock.sendall(encode_request(OP_WRITE, address, words))
        return self.reply()

    def read(self, address: int, count: int) -> tuple[int, list[int]]:
        self.sock.sendall(encode_request(OP_READ, address, [count]))
        return self.reply()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def tunnel(system: System) -> Iterator[tuple[str, int]]:
    """A reserved scratchpad and ``fpga-cloud tunnel`` to it; released at the end."""
    with Client(system.base, system.api_key) as client:
        job = client.submit(EXAMPLES / "scratchpad.py", board=BOARD)
        job.wait(timeout=180)
        with job.session():
            env = {**os.environ, "FPGA_CLOUD_URL": system.base,
                   "FPGA_CLOUD_API_KEY": system.api_key}  # fmt: skip
            proc = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "tunnel", str(BOARD), "--json"],
                env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            try:
                assert proc.stdout is not None
                opened = json.loads(proc.stdout.readline())
                assert opened["fpga_id"] == BOARD
                host, port = opened["listen"].rsplit(":", 1)
                yield host, int(port)
            finally:
                proc.send_signal(signal.SIGINT)
                assert proc.wait(30) == 0


def test_writes_and_reads_of_1_and_512_words(tunnel: tuple[str, int]) -> None:
    peer = Peer(tunnel)
    try:
        assert peer.write(0x10, [0xCAFEBABE]) == (0, [])
        assert peer.read(0x10, 1) == (0, [0xCAFEBABE])
        pattern = [(i * 0x00010001) ^ 0x5A5A5A5A for i in range(WORDS)]
        assert peer.write(0, pattern) == (0, [])
        assert peer.read(0, WORDS) == (0, pattern)
        assert peer.read(0x7FC, 1) == (0, [pattern[-1]])
    finally:
        peer.close()


def test_garbage_is_answered_with_status_1_and_the_connection_goes_on(
    tunnel: tuple[str, int],
) -> None:
    peer = Peer(tunnel)
    try:
        peer.write(0x20, [77])
        peer.sock.sendall(encode_request(0x07, 0x20, [1, 2]))  # unknown opcode
        assert peer.reply() == (1, [])
        peer.sock.sendall(encode_request(OP_READ, 0x20, [1, 2]))  # a read carries one word
        assert peer.reply() == (1, [])
        assert peer.read(0x20, 0) == (1, [])  # zero words
        assert peer.read(0x800, 1) == (1, [])  # past the 2 KiB window
        assert peer.read(0x22, 1) == (1, [])  # not aligned
        assert peer.write(0x20, []) == (1, [])  # a write of nothing
        assert peer.read(0x20, 1) == (0, [77])  # still serving
        peer.sock.sendall(bytes([OP_WRITE, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]))  # 16 M words: no
        assert peer.reply() == (1, [])
        assert peer.sock.recv(1) == b""  # a length that cannot be skipped closes this one
    finally:
        peer.close()
    other = Peer(tunnel)
    assert other.read(0x20, 1) == (0, [77])
    other.close()


def test_a_half_sent_request_then_disconnect_breaks_nobody(tunnel: tuple[str, int]) -> None:
    steady = Peer(tunnel)
    try:
        steady.write(0x40, [1])
        for cut_at in (3, 8, 12):  # in the header, after it, inside the data
            quitter = Peer(tunnel)
            quitter.sock.sendall(encode_request(OP_WRITE, 0x40, [9, 9])[:cut_at])
            quitter.close()
            assert steady.read(0x40, 1) == (0, [1])
    finally:
        steady.close()


def test_two_clients_at_once(tunnel: tuple[str, int]) -> None:
    """Each client's requests are answered in order, with its own data, while both run."""
    failures: list[str] = []

    def work(index: int) -> None:
        peer = Peer(tunnel)
        base = 0x100 + index * 0x200  # disjoint halves of the upper scratchpad
        try:
            for round_ in range(60):
                words = [index << 24 | round_ << 8 | i for i in range(round_ % 7 + 1)]
                if peer.write(base, words) != (0, []):
                    failures.append(f"client {index}: write {round_} refused")
                got = peer.read(base, len(words))
                if got != (0, words):
                    failures.append(f"client {index}: round {round_} read {got}")
        finally:
            peer.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert failures == []
