"""The UARTBone client on a real tty device (a pseudo-terminal), the path a real board takes.

The far side answers from a register file on the pty's master end; the client opens the slave
end by its device path, exactly as it opens ``/dev/ttyUSB1`` on a board's host.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hwbridge.uartbone import UARTBoneClient
from tests.ptyboard import FarSide


@pytest.fixture
def bridge() -> Iterator[FarSide]:
    far = FarSide(answers=True)
    yield far
    far.close()


def test_client_on_a_tty_device_reads_and_writes(bridge: FarSide) -> None:
    with UARTBoneClient(bridge.path, baudrate=115200, timeout=1.0) as link:
        link.write(0x4000_0010, [0xCAFEF00D, 7])
        assert link.read(0x4000_0010, 2) == [0xCAFEF00D, 7]
    assert bridge.raw[0] == bytes.fromhex("01 02 10000004 cafef00d 00000007".replace(" ", ""))
    assert bridge.raw[1] == bytes.fromhex("02 02 10000004".replace(" ", ""))


def test_frames_on_a_uart_are_sized_to_the_baud_rate(bridge: FarSide) -> None:
    # At 115200 baud a frame must finish inside the bridge's 100 ms frame timeout.
    with UARTBoneClient(bridge.path, baudrate=115200, timeout=2.0) as link:
        assert link.max_words_per_frame < 255
        data = list(range(300))
        link.write(0x100, data)
        assert link.read(0x100, 300) == data
    writes = [f for f in bridge.raw if f[0] == 0x01]
    assert len(writes) > 2 and all(f[1] <= link.max_words_per_frame for f in writes)
