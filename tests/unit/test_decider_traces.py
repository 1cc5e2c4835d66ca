"""The board decider on waveform commands: traced runs, window recordings, real boards."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from msgspec.structs import replace

from events.types import RunQueued, TraceRequested, TraceStopRequested
from services.domain.commands import Run, StartTrace, StopTrace
from services.domain.decider import decide
from services.domain.errors import (
    NotSessionOwner,
    TraceInProgress,
    TraceNotRecording,
    TraceUnavailable,
)
from tests.unit.test_decider import BOARDS, FPGA, SESSION

TRACE = uuid.UUID("44444444-4444-4444-4444-444444444444")
RESERVED = BOARDS["reserved"]
ECP5 = replace(RESERVED, driver="ecp5_evn")
RECORDING = replace(RESERVED, recording=TRACE)


def _traced_run(owner: str = "alice") -> Run:
    return Run(
        fpga_id=FPGA, job_id=uuid.uuid4(), owner=owner, session_id=str(SESSION.session_id),
        op=2, address=0, data=[], count=1, trace_id=uuid.uuid4(),
    )  # fmt: skip


def _start(owner: str = "alice") -> StartTrace:
    return StartTrace(fpga_id=FPGA, trace_id=TRACE, owner=owner, session_id=str(SESSION.session_id))


def _stop(owner: str = "alice") -> StopTrace:
    return StopTrace(fpga_id=FPGA, owner=owner, session_id=str(SESSION.session_id))


def test_a_traced_run_on_a_virtual_board_carries_its_trace() -> None:
    cmd = _traced_run()
    event = decide(cmd, RESERVED)
    assert isinstance(event, RunQueued) and event.trace_id == cmd.trace_id


def test_a_window_starts_and_stops_on_a_virtual_board() -> None:
    started = decide(_start(), RESERVED)
    assert isinstance(started, TraceRequested)
    assert (started.trace_id, started.owner, started.session_id) == (
        TRACE, "alice", SESSION.session_id,
    )  # fmt: skip
    stopped = decide(_stop(), RECORDING)
    assert isinstance(stopped, TraceStopRequested)
    assert (stopped.trace_id, stopped.by) == (TRACE, "alice")


@pytest.mark.parametrize("owner", ["alice", "mallory"])
@pytest.mark.parametrize("command", [_traced_run, _start])
def test_a_real_board_answers_trace_unavailable(
    command: Callable[[str], Run | StartTrace], owner: str
) -> None:
    # Whoever asks, reserved or not: the board's kind is public.
    with pytest.raises(TraceUnavailable) as info:
        decide(command(owner), ECP5)
    assert info.value.status_code == 409 and info.value.code == "trace_unavailable"
    assert "virtual board" in info.value.message


def test_a_real_board_runs_untraced_transactions() -> None:
    cmd = replace(_traced_run(), trace_id=None)
    assert isinstance(decide(cmd, ECP5), RunQueued)


@pytest.mark.parametrize("command", [_traced_run, _start])
def test_one_recording_at_a_time(command: Callable[[str], Run | StartTrace]) -> None:
    with pytest.raises(TraceInProgress) as info:
        decide(command("alice"), RECORDING)
    assert info.value.status_code == 409 and info.value.code == "trace_in_progress"


def test_nothing_to_stop_or_its_end_already_asked_for() -> None:
    for board in (RESERVED, replace(RECORDING, recording_stopping=True)):
        with pytest.raises(TraceNotRecording) as info:
            decide(_stop(), board)
        assert info.value.code == "trace_not_recording"


def test_only_the_session_owner_records() -> None:
    with pytest.raises(NotSessionOwner):
        decide(_start("mallory"), RESERVED)
    with pytest.raises(NotSessionOwner):
        decide(_stop("mallory"), RECORDING)
