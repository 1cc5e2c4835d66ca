"""The SDK's error mapping, retry rules, SSE cursor and frame codecs, without a service."""

from __future__ import annotations

import struct

import httpx
import pytest
from fpga_cloud import (
    ERRORS,
    AddressOutOfRange,
    ApiError,
    BusError,
    FpgaNotIdle,
    FpgaNotReserved,
    NatsUnavailable,
    NotSessionOwner,
    RateLimited,
    StreamClosed,
    Unauthorized,
    Unavailable,
    ValidationError,
)
from fpga_cloud.api import Call
from fpga_cloud.designs import guess_filename, load
from fpga_cloud.errors import from_body
from fpga_cloud.retry import RetryPolicy, parse_retry_after
from fpga_cloud.sse import Cursor, Message, Parser
from fpga_cloud.transport import retry_wait
from fpga_cloud.wire import close_error, decode_reply, encode_read, encode_write, pieces

from services.domain import errors as domain


def envelope(code: str, message: str = "why") -> dict[str, object]:
    return {"detail": {"error": code, "message": message}}


def test_every_code_of_the_service_has_its_class() -> None:
    codes = {
        cls.code
        for cls in vars(domain).values()
        if isinstance(cls, type) and issubclass(cls, domain.DomainError)
    }
    internal = {"lease_not_expired"}  # decided and caught inside the service
    assert codes - internal <= set(ERRORS)


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_each_code_raises_its_class_with_code_message_status(code: str) -> None:
    exc = from_body(409, envelope(code, "the reason"))
    assert type(exc) is ERRORS[code]
    assert (exc.code, exc.message, exc.status) == (code, "the reason", 409)
    assert str(exc) == f"{code}: the reason"


def test_unknown_code_is_the_base_with_that_code() -> None:
    exc = from_body(418, envelope("teapot_full"))
    assert type(exc) is ApiError and exc.code == "teapot_full" and exc.status == 418


def test_an_answer_without_the_envelope_names_the_status() -> None:
    exc = from_body(502, "<html>bad gateway</html>")
    assert type(exc) is ApiError and exc.code == "http_502" and exc.status == 502


def test_retry_after_reaches_the_exception() -> None:
    exc = from_body(429, envelope("rate_limited"), retry_after=2.0)
    assert isinstance(exc, RateLimited) and exc.retry_after == 2.0
    assert isinstance(from_body(503, envelope("nats_unavailable")), NatsUnavailable | Unavailable)


def test_retry_after_header_forms() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_policy_waits_retry_after_or_backoff_and_gives_up() -> None:
    policy = RetryPolicy(attempts=3, max_wait=5.0, backoff=0.5)
    assert [policy.wait(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, None]
    assert policy.wait(1, retry_after=2.0) == 2.0
    assert policy.wait(1, retry_after=60.0) is None  # longer than max_wait: raise at once


def test_what_is_retried() -> None:
    policy = RetryPolicy()
    get, post = Call("GET", "/fpga"), Call("POST", "/fpga/3/submit")
    unkeyed = Call("POST", "/fpga/3/submit")
    del unkeyed.headers["Idempotency-Key"]  # a command without its key
    limited = from_body(429, envelope("rate_limited"), retry_after=1.0)
    refused = from_body(409, envelope("fpga_not_idle"))
    request = httpx.Request("POST", "http://x")
    never_sent = httpx.ConnectError("refused", request=request)
    broken = httpx.ReadError("reset", request=request)
    assert retry_wait(policy, post, 1, limited) == 1.0
    assert retry_wait(policy, post, 1, refused) is None
    assert retry_wait(policy, post, 1, never_sent) is not None
    assert retry_wait(policy, unkeyed, 1, broken) is None  # it may have happened: not twice
    assert retry_wait(policy, post, 1, broken) is not None  # its key makes a retry safe
    assert retry_wait(policy, get, 1, broken) is not None


def test_sse_parser_and_cursor_resume_without_duplicates() -> None:
    parser = Parser()
    lines = [
        ": keep-alive", "",
        "id: 7", "event: JobQueued",
        'data: {"seq":7,"type":"JobQueued","fpga_id":3,"job_id":null,'
        '"time":"2026-01-01T00:00:00+00:00","payload":{"type":"JobQueued"}}',
        "",
    ]  # fmt: skip
    messages = [m for m in map(parser.feed, lines) if m is not None]
    assert messages == [Message("JobQueued", messages[0].data, "7")]
    cursor = Cursor()
    event = cursor.take(messages[0])
    assert event is not None and event.seq == 7 and cursor.after == 7
    assert cursor.take(messages[0]) is None  # the same event again is dropped
    slow = Message("error", '{"error":"slow_consumer","resume_after":12,"message":"behind"}')
    assert cursor.take(slow) is None and cursor.after == 12
    with pytest.raises(ApiError):
        cursor.take(Message("error", '{"error":"boom","message":"no"}'))


def test_stream_frames_byte_for_byte() -> None:
    assert encode_read(0x40, 2) == bytes([2, 0, 0, 2, 0, 0, 0, 0x40])
    assert encode_read(0x10, 1, fixed=True) == bytes([0x82, 0, 0, 1, 0, 0, 0, 0x10])
    assert encode_write(8, [0x1234, 0x5678]) == bytes([1, 0, 0, 2, 0, 0, 0, 8]) + struct.pack(
        ">2I", 0x1234, 0x5678
    )
    assert decode_reply(bytes([0, 0, 0, 2]) + struct.pack(">2I", 1, 2), 0, 2) == [1, 2]
    assert decode_reply(bytes([0, 0, 0, 2]), 0, 2) == []  # a write's reply
    for status, kind in ((1, BusError), (2, ValidationError), (3, AddressOutOfRange),
                         (4, FpgaNotReserved)):  # fmt: skip
        with pytest.raises(kind):
            decode_reply(bytes([status, 0, 0, 0]), 0, 1)
    assert list(pieces(0, 5000, False)) == [(0, 0, 4096), (4 * 4096, 4096, 904)]
    assert list(pieces(0x10, 5000, True)) == [(0x10, 0, 4096), (0x10, 4096, 904)]


def test_stream_close_codes() -> None:
    assert isinstance(close_error(4403, "not_session_owner: not yours"), NotSessionOwner)
    assert isinstance(close_error(4409, "fpga_not_idle: busy"), FpgaNotIdle)
    assert isinstance(close_error(4401, "the API key was revoked"), Unauthorized)
    ended = close_error(4409, "the session ended")
    assert isinstance(ended, StreamClosed) and ended.status == 409


def test_design_sources() -> None:
    verilog = b"// crc\nmodule user_design(input clk);\nendmodule\n"
    assert guess_filename(verilog) == "design.v"
    assert guess_filename(b"from migen import *\nclass Design(Module): pass\n") == "design.py"
    assert load("class Design:\n    pass\n").filename == "design.py"
    assert load(verilog, filename="top.sv").filename == "top.sv"
    with pytest.raises(FileNotFoundError):
        load("no/such/design.py")
