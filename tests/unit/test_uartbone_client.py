"""UARTBoneClient against a fake far side over real TCP, and the frames against LiteX's RTL."""

import random
import socket
import struct
import threading
import time
from collections.abc import Generator, Iterator
from typing import Any

import pytest
import serial

from hwbridge.uartbone import (
    RESYNC_QUIET_S,
    UARTBoneClient,
    UARTBoneError,
    UARTBoneTimeout,
    decode_words,
    encode_read,
    encode_write,
)

TIMEOUT_S = 0.3


class FakeBridge:
    """The far side of the link: parses UARTBone frames over a register file, serially like
    the real bridge, with hooks to misbehave. Command values are spelled out here on purpose,
    so the fake does not just mirror the module under test."""

    def __init__(self) -> None:
        self.regs: dict[int, int] = {}  # byte address -> word
        self.mute: set[int] = set()  # reads starting here are never answered
        self.delay: dict[int, float] = {}  # reads starting here are answered this late
        self.defer: set[int] = set()  # answered just before the next read's reply
        self.hangup: set[int] = set()  # reads starting here close the connection
        self._deferred = b""
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"socket://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(0.05)
                self._session(conn)

    def _recv_exact(self, conn: socket.socket, size: int) -> bytes | None:
        data = b""
        while len(data) < size and not self._stop.is_set():
            try:
                chunk = conn.recv(size - len(data))
            except TimeoutError:
                continue
            if not chunk:
                return None
            data += chunk
        return data if len(data) == size else None

    def _session(self, conn: socket.socket) -> None:
        while (header := self._recv_exact(conn, 6)) is not None:
            command, length, word_address = struct.unpack(">BBI", header)
            step = 0 if command in (0x03, 0x04) else 1
            addresses = [4 * (word_address + step * i) for i in range(length)]
            if command in (0x01, 0x03):
                data = self._recv_exact(conn, 4 * length)
                if data is None:
                    return
                for address, word in zip(
                    addresses, struct.unpack(f">{length}I", data), strict=True
                ):
                    self.regs[address] = word
                continue
            first = addresses[0]
            if first in self.hangup:
                return
            reply = struct.pack(f">{length}I", *(self.regs.get(a, 0) for a in addresses))
            if first in self.mute:
                continue
            if first in self.defer:
                self._deferred = reply
                continue
            time.sleep(self.delay.get(first, 0.0))
            if self._deferred:
                conn.sendall(self._deferred)
                self._deferred = b""
            conn.sendall(reply)


@pytest.fixture
def bridge() -> Iterator[FakeBridge]:
    fake = FakeBridge()
    yield fake
    fake.close()


@pytest.fixture
def client(bridge: FakeBridge) -> Iterator[UARTBoneClient]:
    with UARTBoneClient(bridge.url, timeout=TIMEOUT_S) as c:
        yield c


def test_write_then_read_round_trip(bridge: FakeBridge, client: UARTBoneClient) -> None:
    client.write(0x100, [1, 0xDEADBEEF, 0xFFFFFFFF])
    assert client.read(0x100, 3) == [1, 0xDEADBEEF, 0xFFFFFFFF]
    assert bridge.regs == {0x100: 1, 0x104: 0xDEADBEEF, 0x108: 0xFFFFFFFF}
    assert client.read(0x104) == [0xDEADBEEF]


def test_multi_frame_burst(bridge: FakeBridge, client: UARTBoneClient) -> None:
    words = [random.getrandbits(32) for _ in range(600)]
    client.write(0x10000, words)
    assert client.read(0x10000, 600) == words
    assert len(bridge.regs) == 600  # writes are posted: check only after a read came back


def test_fixed_address(bridge: FakeBridge, client: UARTBoneClient) -> None:
    client.write(0x200, [5, 6, 7], fixed=True)
    assert client.read(0x200, 300, fixed=True) == [7] * 300
    assert bridge.regs == {0x200: 7}


def test_silent_far_side_times_out_then_link_recovers(
    bridge: FakeBridge, client: UARTBoneClient
) -> None:
    bridge.mute.add(0x40)
    bridge.regs[0x10] = 0x1234
    start = time.monotonic()
    with pytest.raises(UARTBoneTimeout):
        client.read(0x40)
    assert TIMEOUT_S <= time.monotonic() - start < TIMEOUT_S + 0.2
    assert client.read(0x10) == [0x1234]
    assert client.read(0x10) == [0x1234]


def test_reply_arriving_during_resync_is_discarded(
    bridge: FakeBridge, client: UARTBoneClient
) -> None:
    bridge.delay[0x40] = TIMEOUT_S + RESYNC_QUIET_S / 2
    bridge.regs.update({0x40: 0xBAD0BAD0, 0x10: 0x1234})
    with pytest.raises(UARTBoneTimeout):
        client.read(0x40)
    assert client.read(0x10) == [0x1234]


def test_reply_arriving_after_resync_does_not_corrupt_next_read(
    bridge: FakeBridge, client: UARTBoneClient
) -> None:
    # Worst case: the stale reply lands right in front of the next reply.
    bridge.defer.add(0x40)
    bridge.regs.update({0x40: 0xBAD0BAD0, 0x44: 0xBAD1BAD1, 0x10: 0x1234, 0x14: 0x5678})
    with pytest.raises(UARTBoneTimeout):
        client.read(0x40, 2)
    assert client.read(0x10, 2) == [0x1234, 0x5678]
    assert client.read(0x14) == [0x5678]


def test_connection_closed_raises_error_and_reconnect_recovers(bridge: FakeBridge) -> None:
    client = UARTBoneClient(bridge.url, timeout=5.0)
    client.open()
    bridge.hangup.add(0x80)
    bridge.regs[0x10] = 0x1234
    start = time.monotonic()
    with pytest.raises(UARTBoneError, match="disconnected") as raised:
        client.read(0x80)
    assert not isinstance(raised.value, UARTBoneTimeout)
    # Well under the timeout; pyserial's socket close itself sleeps 0.3 s.
    assert time.monotonic() - start < 1.0
    assert not client.is_open
    with pytest.raises(UARTBoneError, match="not open"):
        client.read(0x10)
    client.reconnect()
    assert client.read(0x10) == [0x1234]
    client.close()


def test_open_refused() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(UARTBoneError, match="cannot open"):
        UARTBoneClient(f"socket://127.0.0.1:{port}").open()


def test_tcp_nodelay_is_set(client: UARTBoneClient) -> None:
    sock: socket.socket = client._serial._socket
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_context_manager_closes(bridge: FakeBridge) -> None:
    with UARTBoneClient(bridge.url) as c:
        assert c.is_open
    assert not c.is_open


def test_concurrent_callers_do_not_interleave(bridge: FakeBridge, client: UARTBoneClient) -> None:
    errors: list[BaseException] = []

    def worker(base: int) -> None:
        try:
            for i in range(50):
                words = [base + i, base + i + 1, base + i + 2]
                client.write(base * 16, words)
                assert client.read(base * 16, 3) == words
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(0x1000 * n,)) for n in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


class _RecordingPort:
    """A pyserial port that records each write call."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.writes.append(bytes(data))
        return len(data)

    def reset_input_buffer(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_uart_url_sends_each_frame_in_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    port = _RecordingPort()
    opened: dict[str, Any] = {}

    def fake_serial_for_url(url: str, **kwargs: Any) -> _RecordingPort:
        opened.update(kwargs, url=url)
        return port

    monkeypatch.setattr(serial, "serial_for_url", fake_serial_for_url)
    words = list(range(300))
    with UARTBoneClient("/dev/ttyUSB1", baudrate=115200) as c:
        # 142 words = 574 bytes, about 50 ms at 115200 baud: half the bridge's frame timeout.
        assert c.max_words_per_frame == 142
        c.write(0x1000, words)
    assert opened["url"] == "/dev/ttyUSB1"
    assert opened["baudrate"] == 115200
    assert port.writes == encode_write(0x1000, words, max_words_per_frame=142)
    assert [len(w) for w in port.writes] == [6 + 4 * 142, 6 + 4 * 142, 6 + 4 * 16]


def test_fast_uart_and_socket_use_full_frames() -> None:
    assert UARTBoneClient("/dev/ttyUSB1", baudrate=3_000_000).max_words_per_frame == 255
    assert UARTBoneClient("socket://127.0.0.1:1").max_words_per_frame == 255
    with pytest.raises(ValueError, match="max_words_per_frame"):
        UARTBoneClient("socket://127.0.0.1:1", max_words_per_frame=256)


def test_frames_drive_litex_stream2wishbone() -> None:
    """Feed our frames to LiteX's real bridge RTL in front of a Wishbone SRAM (migen sim)."""
    from litex.soc.cores.uart import Stream2Wishbone
    from litex.soc.interconnect import wishbone
    from migen import Module, run_simulation

    class Dut(Module):  # type: ignore[misc]  # migen is untyped
        def __init__(self) -> None:
            self.submodules.bridge = Stream2Wishbone(clk_freq=1e6)
            self.submodules.sram = wishbone.SRAM(64)  # 16 words
            self.comb += self.bridge.wishbone.connect(self.sram.bus)

    dut = Dut()
    request = b"".join(encode_write(0x8, [0xDEADBEEF, 0x12345678]))
    request += b"".join(frame for frame, _ in encode_read(0x8, 2))
    reply = bytearray()
    stored: list[int] = []

    def send() -> Generator[Any, Any, None]:
        for byte in request:
            yield dut.bridge.sink.valid.eq(1)
            yield dut.bridge.sink.data.eq(byte)
            yield
            while not (yield dut.bridge.sink.ready):
                yield
        yield dut.bridge.sink.valid.eq(0)

    def receive() -> Generator[Any, Any, None]:
        yield dut.bridge.source.ready.eq(1)
        for _ in range(1000):
            yield
            if (yield dut.bridge.source.valid) and (yield dut.bridge.source.ready):
                reply.append((yield dut.bridge.source.data))
            if len(reply) == 8:
                break
        stored.extend([(yield dut.sram.mem[2]), (yield dut.sram.mem[3])])

    run_simulation(dut, [send(), receive()])
    assert stored == [0xDEADBEEF, 0x12345678]  # byte 0x8 is word 2 of the SRAM
    assert decode_words(bytes(reply)) == [0xDEADBEEF, 0x12345678]
