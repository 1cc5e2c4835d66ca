"""The JSON codec of stored events: round trips, subjects, schema evolution, corruption."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from events.codec import decode_board_event, decode_log, decode_stored, encode, event_type
from events.farm import BoardClaimed, FarmEvents, JobAssigned, JobWaiting, WaitingCancelled
from events.store import placement
from events.subjects import board_subject, holdings_filter, log_subject, queue_filter
from events.types import (
    BOARD_EVENT_TYPES,
    BoardDrained,
    BoardEvent,
    BoardFaulted,
    BoardHealthChecked,
    BoardRegistered,
    BoardReset,
    BoardRestored,
    BoardRetired,
    BuildFailed,
    BuildStarted,
    BuildSucceeded,
    JobCancelled,
    JobFailed,
    JobQueued,
    LogAppended,
    Programmed,
    ProgrammingFailed,
    ProgrammingStarted,
    ResetQueued,
    ResetStarted,
    RunQueued,
    RunStarted,
    SessionExpired,
    SessionOpened,
    SessionReleased,
    StreamClosed,
    StreamOpened,
    TraceFailed,
    TraceRecorded,
    TraceRequested,
    TraceStarted,
    TraceStopRequested,
    WishboneResult,
)

J = uuid.UUID("0f0e0d0c-0b0a-4908-8706-050403020100")
S = uuid.UUID("a0a1a2a3-a4a5-46a7-88a9-aaabacadaeaf")
AT = datetime(2030, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)

SAMPLES: list[BoardEvent] = [
    JobQueued(
        fpga_id=0,
        job_id=J,
        owner="key-abc",
        design_sha256="ab" * 32,
        design_size=42,
        filename="counter.py",
    ),
    BuildStarted(fpga_id=1, job_id=J, attempt=2),
    BuildSucceeded(
        fpga_id=2,
        job_id=J,
        artifact="/var/builds/x",
        duration_s=12.25,
        window_base=0x3000_0000,
        window_size=4096,
    ),
    BuildFailed(fpga_id=3, job_id=J, reason="SyntaxError: invalid syntax (line 1)"),
    ProgrammingStarted(fpga_id=4, job_id=J),
    Programmed(fpga_id=5, job_id=J),
    ProgrammingFailed(fpga_id=6, job_id=J, reason="no answer"),
    SessionOpened(fpga_id=7, job_id=J, session_id=S, owner="key-abc", expires_at=AT),
    SessionReleased(fpga_id=8, session_id=S, reset_job_id=J, owner="key-abc", by="ad0000000003"),
    SessionExpired(fpga_id=8, session_id=S, reset_job_id=J, owner="key-abc", expires_at=AT),
    RunQueued(
        fpga_id=9,
        job_id=J,
        owner="o",
        op=1,
        address=8,
        data=[0, 0xFFFF_FFFF],
        count=2,
        session_id=S,
    ),
    RunStarted(fpga_id=0, job_id=J),
    WishboneResult(fpga_id=1, job_id=J, ok=False, data=[], error="timeout", duration_us=17),
    JobCancelled(fpga_id=2, job_id=J, by="key-abc"),
    JobFailed(fpga_id=3, job_id=J, reason="interrupted"),
    ResetQueued(fpga_id=4, job_id=J, owner="ops"),
    ResetStarted(fpga_id=5, job_id=J),
    BoardReset(fpga_id=6, job_id=J),
    BoardFaulted(fpga_id=7, reason="simulator died", job_id=None),
    StreamOpened(fpga_id=2, stream_id=J, session_id=J, owner="key-abc"),
    StreamClosed(
        fpga_id=2,
        stream_id=J,
        session_id=J,
        reads=3,
        writes=2,
        words_read=9,
        words_written=4,
        errors=1,
        digest="ab" * 32,
        reason="client closed",
    ),
    TraceRequested(fpga_id=2, trace_id=J, owner="alice", session_id=J),
    TraceStarted(fpga_id=2, trace_id=J),
    TraceStopRequested(fpga_id=2, trace_id=J, by="alice"),
    TraceRecorded(
        fpga_id=2,
        trace_id=J,
        owner="alice",
        sha256="cd" * 32,
        size=1057,
        first_cycle=3012,
        last_cycle=3035,
        stop_reason="transaction",
        session_id=J,
        job_id=J,
    ),
    TraceFailed(fpga_id=2, trace_id=J, owner="alice", reason="the board did not answer"),
    BoardRegistered(
        fpga_id=4,
        driver="ecp5_evn",
        host="lab-a",
        in_service=False,
        serial_url="/dev/ttyUSB1",
        baudrate=115200,
        cable="ft2232",
        serial_number="FT1234",
    ),
    BoardHealthChecked(fpga_id=5, ok=False, duration_s=0.42, detail="no answer on the UART"),
    BoardDrained(fpga_id=6, by="ad0000000003", reason="cable swap"),
    BoardRetired(fpga_id=7, by="ad0000000003", reason="dead"),
    BoardRestored(fpga_id=7, by="ad0000000003"),
]

FARM_SAMPLES: list[FarmEvents] = [
    BoardClaimed(fpga_id=3, owner="key-abc", job_id=J, held=1),
    JobWaiting(
        job_id=J,
        owner="key-abc",
        design_sha256="cd" * 32,
        design_size=9,
        filename="d.v",
        language="verilog",
        top="user_design",
        driver="virtual",
        lease_seconds=60,
    ),
    JobAssigned(job_id=J, fpga_id=4, owner="key-abc"),
    WaitingCancelled(job_id=J, by="key-abc", reason="changed my mind"),
]


def _id(event: BoardEvent | FarmEvents) -> str:
    return type(event).__name__


def test_every_event_type_has_a_sample() -> None:
    assert {type(e) for e in SAMPLES} == set(BOARD_EVENT_TYPES)
    assert len(SAMPLES) == len(BOARD_EVENT_TYPES)


@pytest.mark.parametrize("event", SAMPLES, ids=_id)
def test_round_trip_is_exact(event: BoardEvent) -> None:
    data = encode(event)
    back = decode_board_event(data)
    assert type(back) is type(event)
    assert back == event
    assert encode(back) == data


@pytest.mark.parametrize("event", SAMPLES, ids=_id)
def test_tag_and_subject_name_the_type(event: BoardEvent) -> None:
    name = type(event).__name__
    assert event_type(event) == name
    assert json.loads(encode(event))["type"] == name
    assert board_subject(event.fpga_id, event_type(event)) == f"fpga.{event.fpga_id}.{name}"


@pytest.mark.parametrize("event", FARM_SAMPLES, ids=_id)
def test_farm_events_round_trip_and_live_on_their_aggregate(event: FarmEvents) -> None:
    data = encode(event)
    assert decode_stored(data) == event
    subject, scope = placement(event)
    assert subject.endswith(f".{type(event).__name__}") and subject.startswith("fpgafarm.")
    if isinstance(event, BoardClaimed):
        assert scope == holdings_filter("key-abc")
    else:
        assert (subject, scope) == (f"fpgafarm.queue.{type(event).__name__}", queue_filter())


def test_the_stream_decoder_reads_board_events_too() -> None:
    assert [decode_stored(encode(e)) for e in SAMPLES] == SAMPLES


def test_identity_fields_are_filled_in() -> None:
    a = RunStarted(fpga_id=1, job_id=J)
    b = RunStarted(fpga_id=1, job_id=J)
    assert a.event_id != b.event_id and len(a.event_id) == 32
    assert a.occurred_at.tzinfo is not None
    assert a.v == 1


@pytest.mark.parametrize("event", SAMPLES, ids=_id)
def test_unknown_fields_from_a_newer_writer_are_tolerated(event: BoardEvent) -> None:
    stored = json.loads(encode(event))
    stored["added_in_v2"] = {"nested": [1, 2, 3]}
    stored["v"] = 2
    back = decode_board_event(json.dumps(stored).encode())
    assert type(back) is type(event)
    assert msgspec.structs.replace(back, v=event.v) == event


def test_fields_with_defaults_may_be_missing_from_old_events() -> None:
    old = {
        "type": "RunQueued",
        "fpga_id": 3,
        "job_id": str(J),
        "owner": "o",
        "op": 2,
        "address": 0,
        "event_id": "e" * 32,
        "occurred_at": "2030-01-01T00:00:00Z",
    }
    back = decode_board_event(json.dumps(old).encode())
    assert isinstance(back, RunQueued)
    assert (back.data, back.count, back.session_id, back.v) == ([], 1, None, 1)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"{not json",
        b"[1, 2, 3]",
        b'{"type": "NoSuchEvent", "fpga_id": 1}',
        b'{"type": "RunStarted", "fpga_id": 1}',  # job_id missing
        b'{"type": "RunStarted", "fpga_id": "one", "job_id": "0f0e0d0c0b0a49088706050403020100"}',
        b'{"fpga_id": 1, "job_id": "0f0e0d0c0b0a49088706050403020100"}',  # no tag
        b"\xff\xfe\x00",
    ],
)
def test_a_corrupt_payload_raises_decode_error(payload: bytes) -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_board_event(payload)


def test_log_entries_round_trip_and_have_their_own_subject() -> None:
    entry = LogAppended(fpga_id=3, job_id=J, stage="build", lines=["a", "b ü"], occurred_at=AT)
    assert decode_log(encode(entry)) == entry
    assert log_subject(3, J) == f"fpgalog.3.{J.hex}"
    with pytest.raises(msgspec.DecodeError):
        decode_log(b'{"type": "LogAppended"}')


def test_a_log_entry_is_not_a_board_event() -> None:
    entry = LogAppended(fpga_id=3, job_id=J, stage="build", lines=["a"])
    with pytest.raises(msgspec.DecodeError):
        decode_board_event(encode(entry))


def test_every_event_type_is_documented() -> None:
    page = (Path(__file__).parents[2] / "docs" / "events.md").read_text()
    names = {t.__name__ for t in BOARD_EVENT_TYPES} | {type(e).__name__ for e in FARM_SAMPLES}
    assert sorted(n for n in names if f"| `{n}` |" not in page) == []
