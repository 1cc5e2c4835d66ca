"""The append/read store over JetStream: the only place events touch the wire."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from events.codec import decode_board_event, decode_log, encode, event_type
from events.errors import DesignMissing
from events.farm import BoardClaimed, FarmEvent, StoredEvent
from events.jobs import job_ended
from events.keys import KeyLifecycle, encode_key_event, key_subject
from events.objects import put_once
from events.publish import (
    EXPECTED_LAST_SEQ,
    EXPECTED_LAST_SUBJECT_SEQ,
    EXPECTED_LAST_SUBJECT_SEQ_SUBJECT,
    MSG_ID,
    Appended,
    Message,
    publish_acked,
    publish_batch,
)
from events.subjects import (
    BOARD_STREAM,
    DESIGN_BUCKET,
    LOG_STREAM,
    TRACE_BUCKET,
    board_filter,
    board_subject,
    holdings_filter,
    holdings_subject,
    log_subject,
    queue_filter,
    queue_subject,
)
from events.types import BoardEvent, LogAppended

#: The largest stream sequence a client may name (JetStream's are unsigned 64-bit; ours are
#: bounded to what every JSON and HTTP client reads as a signed one).
MAX_SEQUENCE = 2**63 - 1
#: How often a worker looks again for a design that is not stored yet.
_DESIGN_POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class RawStored:
    """One stored message as it is on the stream: what the audit chain hashes."""

    seq: int
    subject: str
    data: bytes
    time: datetime


@dataclass(frozen=True, slots=True)
class Stored:
    """One board event read back with its stream sequence."""

    seq: int
    event: BoardEvent


def placement(event: StoredEvent) -> tuple[str, str]:
    """Where an event is stored, and its aggregate's filter (its expected sequence's scope)."""
    name = event_type(event)
    if isinstance(event, BoardClaimed):
        return holdings_subject(event.owner, name), holdings_filter(event.owner)
    if isinstance(event, FarmEvent):  # the waiting list's
        return queue_subject(name), queue_filter()
    return board_subject(event.fpga_id, name), board_filter(event.fpga_id)


def dedup_id(event: StoredEvent) -> str:
    """The message id an event is stored under: ``end-<job id>`` for an event that ends a job
    (a job ends once: a second end, from another writer or from a retry after a lost
    acknowledgement, is a duplicate within the stream's duplicate window and is not stored),
    else the event's own id."""
    ended = job_ended(event)
    return f"end-{ended.job_id}" if ended is not None else event.event_id


class EventStore:
    """Appends and reads board and log events on a JetStream connection."""

    def __init__(self, nc: NATS, *, timeout: float = 5.0) -> None:
        self._nc = nc
        self._js: JetStreamContext = nc.jetstream(timeout=timeout)
        self._timeout = timeout

    @property
    def js(self) -> JetStreamContext:
        return self._js

    @property
    def nc(self) -> NATS:
        return self._nc

    @property
    def connected(self) -> bool:
        return bool(self._nc.is_connected)

    async def append(
        self, event: StoredEvent, *, expected_seq: int | None = None, msg_id: str | None = None
    ) -> Appended:
        """Append one event to its aggregate (a board: ``fpga.<id>.<Type>``; or a farm
        aggregate, see :func:`placement`).

        Args:
            event: the event.
            expected_seq: the aggregate's last stream sequence the decision was based on
                (0 = none); ``None`` appends unconditionally (only for facts no decision
                depends on).
            msg_id: de-duplication id; defaults to :func:`dedup_id`.

        Raises:
            WrongExpectedSequence: another writer appended to the aggregate first.
            EventStoreError: the server refused the append.
        """
        subject, scope = placement(event)
        headers = {MSG_ID: msg_id or dedup_id(event)}
        if expected_seq is not None:
            headers[EXPECTED_LAST_SUBJECT_SEQ] = str(expected_seq)
            headers[EXPECTED_LAST_SUBJECT_SEQ_SUBJECT] = scope
        return await self._publish(subject, encode(event), headers)

    async def append_together(self, *appends: tuple[StoredEvent, int]) -> Appended:
        """Append events to several aggregates at once: all are stored, in order, or none
        (one event: appended alone, with its aggregate's expected sequence).

        Args:
            appends: each event with the last sequence of its aggregate (a board, or a farm
                aggregate such as a key's holdings) the decision was based on.

        Raises:
            WrongExpectedSequence: another writer appended to one of the aggregates first.
            EventStoreError: the server refused the batch.
        """
        if len(appends) == 1:
            (event, expected), *_ = appends
            return await self.append(event, expected_seq=expected)
        messages: list[Message] = []
        for event, expected in appends:
            subject, scope = placement(event)
            headers = {
                MSG_ID: event.event_id,
                EXPECTED_LAST_SUBJECT_SEQ: str(expected),
                EXPECTED_LAST_SUBJECT_SEQ_SUBJECT: scope,
            }
            messages.append((subject, encode(event), headers))
        return await publish_batch(self._nc, messages, timeout=self._timeout)

    async def append_log(self, entry: LogAppended) -> Appended:
        """Append log lines of a job to the log stream (no concurrency check: logs only grow;
        de-duplicated by the entry's job and time, so a retried entry is stored once)."""
        headers = {MSG_ID: f"log-{entry.job_id.hex}-{entry.occurred_at.isoformat()}"}
        return await self._publish(log_subject(entry.fpga_id, entry.job_id), encode(entry), headers)

    async def append_key_event(self, event: KeyLifecycle) -> Appended:
        """Append one API key lifecycle event to the key stream (de-duplicated by event id)."""
        headers = {MSG_ID: event.event_id}
        return await self._publish(key_subject(event), encode_key_event(event), headers)

    async def _publish(
        self, subject: str, payload: bytes, headers: dict[str, str] | None
    ) -> Appended:
        return await publish_acked(self._nc, subject, payload, headers, timeout=self._timeout)

    async def last_seq(self, stream: str = BOARD_STREAM) -> int:
        """A stream's last sequence (0 when empty); the board stream unless named."""
        info = await self._js.stream_info(stream)
        return int(info.state.last_seq)

    async def read_board(self, fpga_id: int, *, start_seq: int = 1) -> list[Stored]:
        """Every event of one board from ``start_seq``, in order, up to now."""
        return [s async for s in self.read(board_filter(fpga_id), start_seq=start_seq)]

    async def read(self, subject_filter: str, *, start_seq: int = 1) -> AsyncIterator[Stored]:
        """Board events matching a filter from ``start_seq`` up to the moment of the call."""
        async for msg in self._drain(subject_filter, BOARD_STREAM, start_seq):
            yield Stored(stream_seq(msg), decode_board_event(msg.data))

    async def read_raw(
        self,
        subject_filter: str | tuple[str, ...],
        *,
        start_seq: int = 1,
        stream: str = BOARD_STREAM,
    ) -> AsyncGenerator[RawStored, None]:
        """Stored messages as they are (subject, bytes, time) from ``start_seq`` up to now."""
        async for msg in self._drain(subject_filter, stream, start_seq):
            meta = msg.metadata
            yield RawStored(stream_seq(msg), msg.subject, msg.data, meta.timestamp)

    async def publish_expecting(
        self, subject: str, payload: bytes, *, msg_id: str, expected_last_seq: int
    ) -> Appended:
        """Publish with a stream-wide expected last sequence (for strictly ordered logs).

        Raises:
            WrongExpectedSequence: the stream's last sequence is not ``expected_last_seq``.
        """
        headers = {MSG_ID: msg_id, EXPECTED_LAST_SEQ: str(expected_last_seq)}
        return await self._publish(subject, payload, headers)

    async def read_logs(self, fpga_id: int, job_id: uuid.UUID) -> list[LogAppended]:
        """One job's log entries, oldest first."""
        subject = log_subject(fpga_id, job_id)
        return [decode_log(msg.data) async for msg in self._drain(subject, LOG_STREAM, 1)]

    async def _drain(
        self, subject_filter: str | tuple[str, ...], stream: str, start_seq: int
    ) -> AsyncIterator[Msg]:
        """The messages a filter holds now, in order; then the consumer is removed."""
        queue: asyncio.Queue[Msg] = asyncio.Queue()

        async def on_msg(msg: Msg) -> None:
            queue.put_nowait(msg)

        sub = await self.subscribe(subject_filter, on_msg, start_seq=start_seq, stream=stream)
        try:
            for _ in range(await backlog(sub)):
                yield await asyncio.wait_for(queue.get(), timeout=self._timeout)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def subscribe(
        self,
        subject_filter: str | tuple[str, ...],
        callback: Callable[[Msg], Awaitable[None]],
        *,
        start_seq: int = 1,
        stream: str = BOARD_STREAM,
    ) -> JetStreamContext.PushSubscription:
        """An ordered, ack-free push consumer from ``start_seq``: the server resends on gaps.

        Args:
            subject_filter: one filter, or several (their messages arrive in stream order).
        """
        filters = (subject_filter,) if isinstance(subject_filter, str) else subject_filter
        config = api.ConsumerConfig(
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=max(1, start_seq),
            ack_policy=api.AckPolicy.NONE,
            inactive_threshold=300.0,
            filter_subjects=list(filters) if len(filters) > 1 else None,
        )
        return await self._js.subscribe(
            filters[0],
            cb=callback,
            stream=stream,
            config=config,
            ordered_consumer=True,
            idle_heartbeat=2.0,
            flow_control=True,
            pending_msgs_limit=1_000_000,
            pending_bytes_limit=512 * 1024**2,
        )

    async def put_design(self, sha256: str, source: bytes) -> bool:
        """Store an uploaded design under its content hash, unless it is stored already.

        The design is one chunk, written once (:func:`events.objects.put_once`): a design that
        is stored costs no write, and nothing is ever replaced or purged.

        Returns:
            True when this call stored it.
        """
        return await put_once(
            self._nc, DESIGN_BUCKET, sha256, source, chunk_size=max(1, len(source)),
            timeout=self._timeout,
        )  # fmt: skip

    async def get_design(self, sha256: str, *, wait_s: float = 0.0) -> bytes:
        """The design stored under ``sha256``, waiting up to ``wait_s`` for it to be stored.

        A submit stores its design right after its ``JobQueued``, so a worker may ask first.

        Raises:
            DesignMissing: it is not stored (in time).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        obs = await self._js.object_store(DESIGN_BUCKET)
        while True:
            try:
                result = await obs.get(sha256)
            except NotFoundError:
                if loop.time() >= deadline:
                    raise DesignMissing(f"design {sha256} is not stored") from None
                await asyncio.sleep(_DESIGN_POLL_S)
                continue
            return bytes(result.data or b"")

    async def get_trace(self, sha256: str) -> bytes | None:
        """The waveform recording stored under ``sha256``, or None (never stored, or expired
        from the trace bucket)."""
        obs = await self._js.object_store(TRACE_BUCKET)
        try:
            result = await obs.get(sha256)
        except NotFoundError:
            return None
        return bytes(result.data or b"")


def stream_seq(msg: Msg) -> int:
    """The stream sequence from a JetStream delivery's reply subject, without building metadata.

    ``$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>...`` (9 tokens) or, with a domain and
    account hash, ``$JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>.<sseq>...``.
    """
    tokens = msg.reply.split(".")
    return int(tokens[5] if len(tokens) == 9 else tokens[7])


async def backlog(sub: JetStreamContext.PushSubscription) -> int:
    """Messages the consumer held when asked: those already sent plus those still pending."""
    info = await sub.consumer_info()
    delivered = int(info.delivered.consumer_seq) if info.delivered else 0
    return delivered + int(info.num_pending or 0)
