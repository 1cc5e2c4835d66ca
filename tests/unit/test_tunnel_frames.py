"""The tunnel's wire format (the prototype's TCP protocol), byte for byte, and its arguments."""

from __future__ import annotations

import argparse
import struct
import uuid
from datetime import UTC, datetime

import pytest
from fpga_cloud import ApiError, ConfigError, JobFailed, JobInfo, Unreachable

from services.cli.user.output import (
    EXIT_JOB_FAILED,
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    exit_code,
    word,
)
from services.cli.user.tunnel import listen_address
from services.cli.user.tunnel_frames import (
    OP_READ,
    OP_WRITE,
    STATUS_ERROR,
    STATUS_OK,
    encode_reply,
    encode_request,
    error_reply,
    parse_header,
    parse_reply_header,
    words,
)


def test_write_request() -> None:
    frame = encode_request(OP_WRITE, 0x40, [0xDEADBEEF, 1])
    assert frame == bytes([1, 0, 0, 2, 0, 0, 0, 0x40, 0xDE, 0xAD, 0xBE, 0xEF, 0, 0, 0, 1])
    head = parse_header(frame[:8])
    assert (head.opcode, head.length, head.address) == (OP_WRITE, 2, 0x40)
    assert words(frame[8:]) == [0xDEADBEEF, 1]


def test_read_request_carries_the_count_as_its_one_word() -> None:
    frame = encode_request(OP_READ, 0x1000_0004, [512])
    assert frame == bytes([2, 0, 0, 1, 0x10, 0, 0, 4, 0, 0, 2, 0])


def test_replies() -> None:
    assert encode_reply(STATUS_OK, [7, 8]) == bytes([0, 0, 0, 2]) + struct.pack(">2I", 7, 8)
    assert encode_reply(STATUS_OK) == bytes([0, 0, 0, 0])  # a write
    assert error_reply() == bytes([STATUS_ERROR, 0, 0, 0])
    assert parse_reply_header(bytes([0, 0x01, 0x00, 0x00])) == (0, 65536)


def test_three_byte_lengths_are_big_endian() -> None:
    assert parse_header(bytes([2, 0x12, 0x34, 0x56, 0, 0, 0, 0])).length == 0x123456


def test_listen_and_word_arguments() -> None:
    assert listen_address("127.0.0.1:9000") == ("127.0.0.1", 9000)
    assert listen_address(":0") == ("127.0.0.1", 0)
    assert listen_address("0.0.0.0:7") == ("0.0.0.0", 7)
    for bad in ("localhost", "1.2.3.4:99999"):
        with pytest.raises(argparse.ArgumentTypeError):
            listen_address(bad)
    assert word("0x10") == 16 and word("42") == 42 and word("0xFFFFFFFF") == 0xFFFFFFFF
    for bad in ("-1", "0x100000000", "ten"):
        with pytest.raises(argparse.ArgumentTypeError):
            word(bad)


def test_exit_codes() -> None:
    now = datetime.now(UTC)
    info = JobInfo(
        job_id=uuid.uuid4(), fpga_id=1, type="build_and_program", status="failed",
        created_at=now, updated_at=now,
    )  # fmt: skip
    assert exit_code(JobFailed("failed", info)) == EXIT_JOB_FAILED
    assert exit_code(ConfigError("no key")) == EXIT_USAGE
    assert exit_code(ApiError("busy", code="fpga_not_idle", status=409)) == EXIT_REFUSED
    assert exit_code(ApiError("down", code="unavailable", status=503)) == EXIT_UNREACHABLE
    assert exit_code(Unreachable("no route")) == EXIT_UNREACHABLE
