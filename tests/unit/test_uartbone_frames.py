"""Byte-exact tests of the UARTBone frame codec, and a cross-check against LiteX's CommUART."""

from typing import Any

import pytest

from hwbridge.uartbone import (
    CMD_READ,
    CMD_READ_FIXED,
    CMD_WRITE,
    CMD_WRITE_FIXED,
    MAX_WORDS_PER_FRAME,
    decode_words,
    encode_read,
    encode_write,
)


def test_wire_constants() -> None:
    assert (CMD_WRITE, CMD_READ, CMD_WRITE_FIXED, CMD_READ_FIXED) == (1, 2, 3, 4)
    assert MAX_WORDS_PER_FRAME == 255


# Vectors worked out by hand: cmd, length, word address (byte >> 2) big-endian, data big-endian.
def test_read_one_word() -> None:
    assert encode_read(0x4, 1) == [(b"\x02\x01\x00\x00\x00\x01", 1)]


def test_write_one_word() -> None:
    assert encode_write(0x40000000, [0x2A]) == [b"\x01\x01\x10\x00\x00\x00\x00\x00\x00\x2a"]


def test_write_burst_is_big_endian() -> None:
    frame = b"\x01\x02\x00\x00\x00\x04" + b"\xde\xad\xbe\xef" + b"\x01\x02\x03\x04"
    assert encode_write(0x10, [0xDEADBEEF, 0x01020304]) == [frame]


def test_read_at_top_of_address_space() -> None:
    assert encode_read(0xFFFFFFFC, 1) == [(b"\x02\x01\x3f\xff\xff\xff", 1)]


def test_fixed_variants_use_fixed_commands() -> None:
    assert encode_read(0x8, 3, fixed=True) == [(b"\x04\x03\x00\x00\x00\x02", 3)]
    assert encode_write(0x8, [1, 2], fixed=True) == [
        b"\x03\x02\x00\x00\x00\x02" + b"\x00\x00\x00\x01" + b"\x00\x00\x00\x02"
    ]


def test_600_word_read_splits_255_255_90_with_advancing_address() -> None:
    # Byte 0x1000 is word 0x400; frames start at words 0x400, 0x4ff, 0x5fe.
    assert encode_read(0x1000, 600) == [
        (b"\x02\xff\x00\x00\x04\x00", 255),
        (b"\x02\xff\x00\x00\x04\xff", 255),
        (b"\x02\x5a\x00\x00\x05\xfe", 90),
    ]


def test_600_word_fixed_read_keeps_address() -> None:
    assert encode_read(0x1000, 600, fixed=True) == [
        (b"\x04\xff\x00\x00\x04\x00", 255),
        (b"\x04\xff\x00\x00\x04\x00", 255),
        (b"\x04\x5a\x00\x00\x04\x00", 90),
    ]


def test_600_word_write_splits_data_with_frames() -> None:
    words = list(range(600))
    frames = encode_write(0x1000, words)
    assert [len(f) for f in frames] == [6 + 4 * 255, 6 + 4 * 255, 6 + 4 * 90]
    assert [f[:6] for f in frames] == [
        b"\x01\xff\x00\x00\x04\x00",
        b"\x01\xff\x00\x00\x04\xff",
        b"\x01\x5a\x00\x00\x05\xfe",
    ]
    assert b"".join(f[6:] for f in frames) == b"".join(w.to_bytes(4, "big") for w in words)
    assert frames[1][6:10] == b"\x00\x00\x00\xff"  # word 255 opens the second frame


def test_600_word_fixed_write_keeps_address() -> None:
    frames = encode_write(0x20, [7] * 600, fixed=True)
    assert [f[:6] for f in frames] == [
        b"\x03\xff\x00\x00\x00\x08",
        b"\x03\xff\x00\x00\x00\x08",
        b"\x03\x5a\x00\x00\x00\x08",
    ]


def test_exactly_255_words_is_one_frame() -> None:
    assert len(encode_read(0, 255)) == 1
    assert len(encode_read(0, 256)) == 2


def test_smaller_frame_limit() -> None:
    assert [n for _, n in encode_read(0, 20, max_words_per_frame=8)] == [8, 8, 4]


def test_decode_words() -> None:
    assert decode_words(b"\x12\x34\x56\x78\x00\x00\x00\x01") == [0x12345678, 1]
    assert decode_words(b"") == []


def test_decode_rejects_partial_word() -> None:
    with pytest.raises(ValueError, match="whole number of words"):
        decode_words(b"\x00\x00\x01")


@pytest.mark.parametrize(
    ("address", "message"),
    [
        (0x2, "aligned"),
        (0x7, "aligned"),
        (-4, "32 bits"),
        (1 << 32, "32 bits"),
    ],
)
def test_bad_addresses(address: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_read(address, 1)
    with pytest.raises(ValueError, match=message):
        encode_write(address, [0])


def test_incrementing_transfer_must_not_wrap_the_address_space() -> None:
    with pytest.raises(ValueError, match="past the 32-bit address space"):
        encode_read(0xFFFFFFFC, 2)
    with pytest.raises(ValueError, match="past the 32-bit address space"):
        encode_write(0xFFFFFFF8, [1, 2, 3])
    assert len(encode_read(0xFFFFFFFC, 2, fixed=True)) == 1


@pytest.mark.parametrize("count", [0, -1])
def test_count_must_be_positive(count: int) -> None:
    with pytest.raises(ValueError, match="at least 1 word"):
        encode_read(0, count)


def test_empty_write_rejected() -> None:
    with pytest.raises(ValueError, match="at least 1 word"):
        encode_write(0, [])


@pytest.mark.parametrize("word", [-1, 1 << 32, True, 1.0, "1"])
def test_bad_words(word: Any) -> None:
    with pytest.raises(ValueError, match=r"word 1 \(.*\) is not a 32-bit unsigned integer"):
        encode_write(0, [0, word])


@pytest.mark.parametrize("limit", [0, 256])
def test_frame_limit_validated(limit: int) -> None:
    with pytest.raises(ValueError, match="max_words_per_frame"):
        encode_read(0, 1, max_words_per_frame=limit)


# Cross-check against LiteX's own client: capture what CommUART writes for the same calls.


class _CapturePort:
    """Stands in for CommUART's pyserial port: records writes, answers reads with zeros."""

    def __init__(self) -> None:
        self.sent = bytearray()

    def write(self, data: Any) -> int:
        self.sent += bytes(data)
        return len(data)

    def read(self, size: int) -> bytes:
        return bytes(size)

    def inWaiting(self) -> int:  # pyserial's legacy name, which CommUART calls
        return 0


@pytest.fixture
def litex_comm(monkeypatch: pytest.MonkeyPatch) -> Any:
    from litex.tools.remote import comm_uart

    port = _CapturePort()
    monkeypatch.setattr(comm_uart.serial, "serial_for_url", lambda *a, **k: port)
    comm = comm_uart.CommUART("loop://")
    assert comm.port is port
    return comm


@pytest.mark.parametrize("count", [1, 2, 17, 255])
@pytest.mark.parametrize("burst", ["incr", "fixed"])
@pytest.mark.parametrize("address", [0x0, 0x4, 0x800, 0x40000000, 0xF0001234 & ~3])
def test_read_frames_match_litex(litex_comm: Any, address: int, count: int, burst: str) -> None:
    litex_comm.read(address, count, burst=burst)
    ours = encode_read(address, count, fixed=burst == "fixed")
    assert bytes(litex_comm.port.sent) == b"".join(frame for frame, _ in ours)


def test_single_read_matches_litex(litex_comm: Any) -> None:
    litex_comm.read(0x4)  # length=None: LiteX's single-word form
    assert bytes(litex_comm.port.sent) == encode_read(0x4, 1)[0][0]


@pytest.mark.parametrize("count", [1, 3, 8, 20, 600])
@pytest.mark.parametrize("address", [0x0, 0x100, 0x40000000])
def test_write_frames_match_litex(litex_comm: Any, address: int, count: int) -> None:
    words = [(0x01010101 * i + 0x89ABCDEF) & 0xFFFFFFFF for i in range(count)]
    litex_comm.write(address, words)
    # CommUART posts writes in frames of 8 words; the same limit gives the same bytes.
    ours = encode_write(address, words, max_words_per_frame=8)
    assert bytes(litex_comm.port.sent) == b"".join(ours)


@pytest.mark.parametrize("count", [1, 8])
def test_fixed_write_frames_match_litex(litex_comm: Any, count: int) -> None:
    # Only up to one 8-word frame: past that CommUART advances the address of later frames
    # even for burst="fixed", which a FIFO port would not expect; ours keeps it fixed.
    words = list(range(1, count + 1))
    litex_comm.write(0x2000, words, burst="fixed")
    ours = encode_write(0x2000, words, fixed=True, max_words_per_frame=8)
    assert bytes(litex_comm.port.sent) == b"".join(ours)
