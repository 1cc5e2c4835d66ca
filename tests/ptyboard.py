"""The board end of a real tty (a pseudo-terminal): a stand-in for a board's UART in tests.

It speaks UARTBone like the base SoC (ctrl_scratch at byte 0x4 reads 0x12345678), or stays
silent, and records every request frame.
"""

from __future__ import annotations

import os
import struct
import threading
import tty


class FarSide:
    """The board end of the UART: a pty master that never answers, or answers like the SoC."""

    def __init__(self, *, answers: bool) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self.words = {1: 0x12345678}  # word address 1 = ctrl_scratch at byte 0x4
        self.frames: list[tuple[int, int, list[int]]] = []
        self.raw: list[bytes] = []  # every request frame, byte for byte
        if answers:
            threading.Thread(target=self._serve, daemon=True).start()

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
                header = self._read(6)
                cmd, length, word = struct.unpack(">BBI", header)
                step = 0 if cmd in (0x03, 0x04) else 1  # the fixed-address variants
                if cmd in (0x01, 0x03):
                    payload = self._read(4 * length)
                    self.raw.append(header + payload)
                    data = struct.unpack(f">{length}I", payload)
                    self.frames.append((cmd, word, list(data)))
                    self.words.update({word + step * i: v for i, v in enumerate(data)})
                elif cmd in (0x02, 0x04):
                    self.raw.append(header)
                    self.frames.append((cmd, word, []))
                    words = [self.words.get(word + step * i, 0) for i in range(length)]
                    os.write(self.master, struct.pack(f">{length}I", *words))
        except (EOFError, OSError):
            return

    def close(self) -> None:
        os.close(self.master)
        os.close(self._slave)
