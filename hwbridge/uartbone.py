"""Client for LiteX's UART-to-Wishbone bridge (UARTBone) over a serial port or a TCP socket.

Request: command, length (1-255 words), big-endian *word* address (byte address >> 2), and for
writes the words, big-endian. Reads answer the words only, writes nothing; no checksum or sequence
number exists, so after a timeout the client must resynchronise before trusting a reply.
"""

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, Self

import serial

CMD_WRITE = 0x01
CMD_READ = 0x02
CMD_WRITE_FIXED = 0x03
CMD_READ_FIXED = 0x04
MAX_WORDS_PER_FRAME = 255
WORD_BYTES = 4
U32_LIMIT = 1 << 32  # addresses and data words are 32 bits
HEADER = struct.Struct(">BBI")  # command, length in words, word address

# The bridge drops a frame that is not finished 100 ms after its command byte (its WaitTimer).
BRIDGE_FRAME_TIMEOUT_S = 0.1
# Real-UART frames get half of that on the wire, leaving room for USB/host scheduling gaps.
FRAME_TIME_BUDGET_S = BRIDGE_FRAME_TIMEOUT_S / 2
UART_BITS_PER_BYTE = 10  # 8N1: start + 8 data + stop
# Quiet time after a timeout: the bridge has dropped any half frame, a late reply has come.
RESYNC_QUIET_S = BRIDGE_FRAME_TIMEOUT_S + 0.02
# Longest single blocking read: bounds deadline overshoot, costs no latency (reads return early).
POLL_S = 0.05
_DRAIN_CHUNK = 4096


def _plan(byte_address: int, count: int, fixed: bool, max_words: int) -> list[tuple[int, int, int]]:
    """Validate a transfer; return (word address, first word index, words) for each frame."""
    if not 1 <= max_words <= MAX_WORDS_PER_FRAME:
        raise ValueError(f"max_words_per_frame must be 1..{MAX_WORDS_PER_FRAME}, got {max_words}")
    if not 0 <= byte_address < U32_LIMIT:
        raise ValueError(f"byte address {byte_address:#x} does not fit in 32 bits")
    if byte_address % WORD_BYTES:
        raise ValueError(f"byte address {byte_address:#x} is not {WORD_BYTES}-byte aligned")
    if count < 1:
        raise ValueError(f"a transfer needs at least 1 word, got {count}")
    if not fixed and byte_address + WORD_BYTES * (count - 1) >= U32_LIMIT:
        raise ValueError(f"{count} words from {byte_address:#x} run past the 32-bit address space")
    word_address = byte_address // WORD_BYTES
    return [
        (word_address + (0 if fixed else start), start, min(max_words, count - start))
        for start in range(0, count, max_words)
    ]


def encode_write(
    byte_address: int,
    words: Sequence[int],
    *,
    fixed: bool = False,
    max_words_per_frame: int = MAX_WORDS_PER_FRAME,
) -> list[bytes]:
    """Encode a write as UARTBone frames.

    Args:
        byte_address: Bus byte address of the first word (4-aligned, 32 bits).
        words: 32-bit data words.
        fixed: Write every word to the same address (e.g. a FIFO) instead of incrementing.
        max_words_per_frame: Split into frames of at most this many words (1-255).

    Returns:
        The frames in order; send each one whole.

    Raises:
        ValueError: Misaligned or out-of-range address, no words, a word not a 32-bit int.
    """
    plan = _plan(byte_address, len(words), fixed, max_words_per_frame)
    for index, word in enumerate(words):
        if isinstance(word, bool) or not isinstance(word, int) or not 0 <= word < U32_LIMIT:
            raise ValueError(f"word {index} ({word!r}) is not a 32-bit unsigned integer")
    command = CMD_WRITE_FIXED if fixed else CMD_WRITE
    return [
        HEADER.pack(command, n, address) + struct.pack(f">{n}I", *words[start : start + n])
        for address, start, n in plan
    ]


def encode_read(
    byte_address: int,
    count: int,
    *,
    fixed: bool = False,
    max_words_per_frame: int = MAX_WORDS_PER_FRAME,
) -> list[tuple[bytes, int]]:
    """Encode a read of ``count`` words as UARTBone frames (other args as :func:`encode_write`).

    Returns:
        (frame, number of words the bridge answers to it) pairs, in order. ValueError if the
        address is misaligned or out of range, or count is below 1.
    """
    command = CMD_READ_FIXED if fixed else CMD_READ
    plan = _plan(byte_address, count, fixed, max_words_per_frame)
    return [(HEADER.pack(command, n, address), n) for address, _, n in plan]


def decode_words(payload: bytes) -> list[int]:
    """Decode a read reply (big-endian 32-bit words); ValueError if not whole words."""
    if len(payload) % WORD_BYTES:
        raise ValueError(f"reply of {len(payload)} bytes is not a whole number of words")
    return list(struct.unpack(f">{len(payload) // WORD_BYTES}I", payload))


class UARTBoneError(Exception):
    """The link failed or is out of step."""


class UARTBoneTimeout(UARTBoneError):
    """A reply did not arrive, or a frame could not be sent, within the timeout."""


class UARTBoneClient:
    """Blocking, thread-safe UARTBone client; run it in a worker thread from async code.

    Any pyserial URL works: ``socket://127.0.0.1:PORT`` (virtual board) or ``/dev/ttyUSB1``.

    Args:
        url: pyserial URL or device path.
        baudrate: UART baud rate (ignored by ``socket://``).
        timeout: Seconds to wait for each reply frame, and for each frame to be sent.
        max_words_per_frame: Frame size limit. By default 255 on ``socket://``; on a UART, what
            fits FRAME_TIME_BUDGET_S at ``baudrate`` (142 words at 115200 baud).
    """

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 115200,
        timeout: float = 1.0,
        max_words_per_frame: int | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        if max_words_per_frame is None:
            wire_bytes = baudrate / UART_BITS_PER_BYTE * FRAME_TIME_BUDGET_S - HEADER.size
            uart_words = min(MAX_WORDS_PER_FRAME, max(1, int(wire_bytes // WORD_BYTES)))
            socket_like = url.startswith(("socket://", "loop://"))  # no baud rate on the wire
            max_words_per_frame = MAX_WORDS_PER_FRAME if socket_like else uart_words
        _plan(0, 1, False, max_words_per_frame)  # reject a bad frame size now, not on first use
        self.max_words_per_frame = max_words_per_frame
        self.url, self.baudrate, self.timeout = url, baudrate, timeout
        self._lock = threading.Lock()
        self._serial: Any = None
        self._resync_needed = self._verify_next_reply = False

    @property
    def is_open(self) -> bool:
        """Whether the port is open (it is closed after the link fails)."""
        return self._serial is not None

    def open(self) -> None:
        """Open the port (no-op if open); raises UARTBoneError if it cannot be opened."""
        with self._lock:
            self._open_locked()

    def close(self) -> None:
        """Close the port (no-op if closed)."""
        with self._lock:
            self._close_locked()

    def reconnect(self) -> None:
        """Close and reopen the port, e.g. after the link failed or the simulator restarted."""
        with self._lock:
            self._close_locked()
            self._open_locked()

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def read(self, byte_address: int, count: int = 1, *, fixed: bool = False) -> list[int]:
        """Read ``count`` words starting at ``byte_address`` (ValueError if those are invalid).

        Raises:
            UARTBoneTimeout: A reply was short; the next request resynchronises first.
            UARTBoneError: The link failed; the port is closed until :meth:`reconnect`.
        """
        frames = encode_read(
            byte_address, count, fixed=fixed, max_words_per_frame=self.max_words_per_frame
        )
        words: list[int] = []
        with self._link() as ser:
            for frame, length in frames:
                self._prepare(ser)
                self._send(ser, frame)
                words += decode_words(self._receive(ser, WORD_BYTES * length))
        return words

    def write(self, byte_address: int, words: Sequence[int], *, fixed: bool = False) -> None:
        """Write ``words`` at ``byte_address``, posted (ValueError if those are invalid).

        Raises:
            UARTBoneTimeout: A frame could not be sent in time.
            UARTBoneError: The link failed; the port is closed until :meth:`reconnect`.
        """
        frames = encode_write(
            byte_address, words, fixed=fixed, max_words_per_frame=self.max_words_per_frame
        )
        with self._link() as ser:
            self._prepare(ser)
            for frame in frames:
                self._send(ser, frame)

    def exchange(self, frames: Sequence[bytes], reply_words: int) -> list[int]:
        """Send ``frames`` in one write, then read the ``reply_words`` words they answer.

        The bridge takes the frames one after the other with nothing in between, so a
        sequence such as *switch recording on, the transaction, switch it off, read back*
        happens in consecutive bus cycles.

        Raises:
            UARTBoneTimeout: The reply was short; the next request resynchronises first.
            UARTBoneError: The link failed; the port is closed until :meth:`reconnect`.
        """
        with self._link() as ser:
            self._prepare(ser)
            self._send(ser, b"".join(frames))
            if not reply_words:
                return []
            return decode_words(self._receive(ser, WORD_BYTES * reply_words))

    @contextlib.contextmanager
    def _link(self) -> Iterator[Any]:
        """Hold the lock and the open port; turn pyserial failures into UARTBoneError."""
        with self._lock:
            ser = self._serial
            if ser is None:
                raise UARTBoneError(f"{self.url} is not open")
            try:
                yield ser
            except (serial.SerialException, OSError) as exc:
                self._close_locked()
                # A frame may have been cut short: resynchronise after reconnecting.
                self._resync_needed = True
                raise UARTBoneError(f"link to {self.url} failed: {exc}; reconnect") from exc

    def _open_locked(self) -> None:
        if self._serial is not None:
            return
        poll = min(self.timeout, POLL_S)
        try:
            ser = serial.serial_for_url(
                self.url, baudrate=self.baudrate, timeout=poll, write_timeout=self.timeout
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise UARTBoneError(f"cannot open {self.url}: {exc}") from exc
        sock = getattr(ser, "_socket", None)
        if isinstance(sock, socket.socket):
            # pyserial leaves Nagle on; with delayed ACKs a reply then waits ~40 ms.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ser.reset_input_buffer()  # bytes buffered before we opened are not replies to us
        self._serial = ser

    def _close_locked(self) -> None:
        ser, self._serial = self._serial, None
        if ser is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                ser.close()

    def _prepare(self, ser: Any) -> None:
        """After a timeout, discard input until the link has been quiet for RESYNC_QUIET_S."""
        if not self._resync_needed:
            return
        ser.reset_input_buffer()
        give_up = time.monotonic() + self.timeout + RESYNC_QUIET_S
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < RESYNC_QUIET_S:
            if time.monotonic() > give_up:
                raise UARTBoneTimeout(f"{self.url} did not go quiet; cannot resynchronise")
            if ser.read(1):  # blocks at most POLL_S
                ser.reset_input_buffer()
                quiet_since = time.monotonic()
        self._resync_needed = False
        self._verify_next_reply = True

    def _send(self, ser: Any, frame: bytes) -> None:
        # One write per frame: a frame split over TCP segments or USB transfers can straddle
        # the bridge's frame timeout.
        try:
            written = ser.write(frame)
        except serial.SerialTimeoutException:
            written = None
        if written != len(frame):
            self._resync_needed = True  # the bridge may hold part of the frame
            raise UARTBoneTimeout(f"{self.url}: frame not sent within {self.timeout} s")

    def _receive(self, ser: Any, nbytes: int) -> bytes:
        deadline = time.monotonic() + self.timeout
        reply = bytearray()
        while len(reply) < nbytes and time.monotonic() < deadline:
            reply += ser.read(nbytes - len(reply))
        if len(reply) < nbytes:
            self._resync_needed = True
            ser.reset_input_buffer()
            raise UARTBoneTimeout(f"{self.url}: {len(reply)} of {nbytes} reply bytes in time")
        if self._verify_next_reply:
            self._verify_next_reply = False
            # The bridge answers in order, so the rest of a reply that came later than our
            # resync wait precedes this one: extra bytes after it mean the reply is the tail.
            while extra := ser.read(_DRAIN_CHUNK):
                reply += extra
        return bytes(reply[-nbytes:])
