"""The UARTBone client on a real tty device (a pseudo-terminal), the path a real board takes.

The far side answers reads from a register file on the pty's master end; the client opens the
slave end by its device path, exactly as it opens ``/dev/ttyUSB1`` on a board's host.
"""

from __future__ import annotations

import os
import struct
import threading
import tty
from collections.abc import Iterator

import pytest

from hwbridge.uartbone import UARTBoneClient


class TtyBridge:
    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        # Keep one slave descriptor open: with none, reads on the master fail with EIO.
        self.path = os.ttyname(self._slave)
        self.regs: dict[int, int] = {}
        self.frames: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _read(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = os.read(self.master, n - len(out))
            if not chunk:
                raise EOFError
            out += chunk
        return out

    def _serve(self) -> None:
        try:
            while True:
                cmd, length, word = struct.unpack(">BBI", self._read(6))
                if cmd == 0x01:
                    payload = self._read(4 * length)
                    self.frames.append(struct.pack(">BBI", cmd, length, word) + payload)
                    for i in range(length):
                        self.regs[word + i] = struct.unpack_from(">I", payload, 4 * i)[0]
                elif cmd == 0x02:
                    self.frames.append(struct.pack(">BBI", cmd, length, word))
                    words = [self.regs.get(word + i, 0) for i in range(length)]
                    os.write(self.master, struct.pack(f">{length}I", *words))
        except (EOFError, OSError):
            return

    def close(self) -> None:
        os.close(self.master)
        os.close(self._slave)


@pytest.fixture
def bridge() -> Iterator[TtyBridge]:
    b = TtyBridge()
    yield b
    b.close()


def test_client_on_a_tty_device_reads_and_writes(bridge: TtyBridge) -> None:
    with UARTBoneClient(bridge.path, baudrate=115200, timeout=1.0) as link:
        link.write(0x4000_0010, [0xCAFEF00D, 7])
        assert link.read(0x4000_0010, 2) == [0xCAFEF00D, 7]
    assert bridge.frames[0] == bytes.fromhex("01 02 10000004 cafef00d 00000007".replace(" ", ""))
    assert bridge.frames[1] == bytes.fromhex("02 02 10000004".replace(" ", ""))


def test_frames_on_a_uart_are_sized_to_the_baud_rate(bridge: TtyBridge) -> None:
    # At 115200 baud a frame must finish inside the bridge's 100 ms frame timeout.
    with UARTBoneClient(bridge.path, baudrate=115200, timeout=2.0) as link:
        assert link.max_words_per_frame < 255
        data = list(range(300))
        link.write(0x100, data)
        assert link.read(0x100, 300) == data
    writes = [f for f in bridge.frames if f[0] == 0x01]
    assert len(writes) > 2 and all(f[1] <= link.max_words_per_frame for f in writes)
