"""Subject names: the event type is in the subject so subscribers filter without decoding."""

from __future__ import annotations

import hashlib
import uuid

BOARD_STREAM = "FPGA"
LOG_STREAM = "FPGA_LOGS"
AUDIT_STREAM = "FPGA_AUDIT"
KEY_STREAM = "FPGA_KEYS"
DESIGN_BUCKET = "fpga-designs"
BUILD_BUCKET = "fpga-builds"
#: Waveform recordings of virtual boards, content-addressed (SHA-256 of the FST file).
TRACE_BUCKET = "fpga-traces"
#: Answers to commands sent with an ``Idempotency-Key`` (a key-value bucket).
IDEMPOTENCY_BUCKET = "fpga-idempotency"

BOARD_SUBJECT_ROOT = "fpga"
#: Rules that span boards (what one key holds) are aggregates of their own, on the board
#: stream beside the boards: ``fpgafarm.<aggregate>.<Type>``.
FARM_SUBJECT_ROOT = "fpgafarm"
LOG_SUBJECT_ROOT = "fpgalog"
AUDIT_SUBJECT = "fpgaaudit.chain"
WISHBONE_SUBJECT_ROOT = "fpgawb"
API_PRESENCE_ROOT = "fpgaapi"
KEY_SUBJECT_ROOT = "fpgakey"


def board_subject(fpga_id: int, event_type: str) -> str:
    """``fpga.3.JobQueued``: one board, one event type."""
    return f"{BOARD_SUBJECT_ROOT}.{fpga_id}.{event_type}"


def board_filter(fpga_id: int) -> str:
    """Every event of one board: the consistency boundary for optimistic appends."""
    return f"{BOARD_SUBJECT_ROOT}.{fpga_id}.>"


def all_boards_filter() -> str:
    return f"{BOARD_SUBJECT_ROOT}.>"


def holdings_subject(owner: str, event_type: str) -> str:
    """``fpgafarm.key-<hash>.BoardClaimed``: the boards one API key holds, as one aggregate.

    The key id is hashed into one subject token (key ids may hold characters subjects may not).
    """
    token = hashlib.sha256(owner.encode()).hexdigest()[:32]
    return f"{FARM_SUBJECT_ROOT}.key-{token}.{event_type}"


def holdings_filter(owner: str) -> str:
    """Every event of one key's holdings: the consistency boundary of its board limit."""
    return holdings_subject(owner, "*")


#: The farm's waiting list: one aggregate for jobs submitted to any board.
QUEUE_AGGREGATE = f"{FARM_SUBJECT_ROOT}.queue"


def queue_subject(event_type: str) -> str:
    """``fpgafarm.queue.JobWaiting``: the waiting list's events."""
    return f"{QUEUE_AGGREGATE}.{event_type}"


def queue_filter() -> str:
    """Every event of the waiting list: the consistency boundary of assignments."""
    return queue_subject("*")


def all_farm_filter() -> str:
    return f"{FARM_SUBJECT_ROOT}.>"


#: Every subject of the board stream: what the audit chain links and the views fold.
BOARD_STREAM_FILTERS = (all_boards_filter(), all_farm_filter())


def log_subject(fpga_id: int, job_id: uuid.UUID) -> str:
    """``fpgalog.3.<job uuid hex>``: one job's log lines."""
    return f"{LOG_SUBJECT_ROOT}.{fpga_id}.{job_id.hex}"


def all_logs_filter() -> str:
    return f"{LOG_SUBJECT_ROOT}.>"


def board_type_filter(fpga_id: int | None, event_type: str | None) -> str:
    """Narrowest board-stream filter for an optional board and an optional event type."""
    board = "*" if fpga_id is None else str(fpga_id)
    if event_type is None:
        return f"{BOARD_SUBJECT_ROOT}.{board}.>" if fpga_id is not None else all_boards_filter()
    return f"{BOARD_SUBJECT_ROOT}.{board}.{event_type}"


def wishbone_subject(fpga_id: int) -> str:
    """Request/reply subject of a board's Wishbone stream frames (core NATS, not stored)."""
    return f"{WISHBONE_SUBJECT_ROOT}.{fpga_id}"


def api_presence_subject(instance: str) -> str:
    """Request/reply subject a running API process answers on (core NATS): it is alive."""
    return f"{API_PRESENCE_ROOT}.{instance}.alive"


def all_api_presence() -> str:
    return f"{API_PRESENCE_ROOT}.*.alive"


def key_subject(key_id: str, event_type: str) -> str:
    """``fpgakey.<key_id>.KeyCreated``: one API key's lifecycle event."""
    return f"{KEY_SUBJECT_ROOT}.{key_id}.{event_type}"


def all_keys_filter() -> str:
    return f"{KEY_SUBJECT_ROOT}.>"
