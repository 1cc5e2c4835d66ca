"""Publishing to a JetStream stream and reading its acknowledgement: one typed error per refusal.

Every append of ours goes through :func:`publish_acked`: the server's answer is decoded once
(msgspec, no dict), a wrong expected sequence (JetStream error 10071) becomes
:class:`~events.errors.WrongExpectedSequence`, any other refusal an
:class:`~events.errors.EventStoreError`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
from nats.aio.client import Client as NATS

from events.errors import DuplicateInProgress, EventStoreError, WrongExpectedSequence

WRONG_LAST_SEQUENCE = 10071
#: The same, without the actual sequence (a replicated stream or an atomic batch says so).
WRONG_LAST_SEQUENCE_CONSTANT = 10164
#: Another writer's message with the same message id is being stored (replicated streams).
DUPLICATE_IN_PROGRESS = 10158
_ACTUAL_SEQ = re.compile(r"wrong last sequence:\s*(\d+)")

#: Headers of JetStream's publish checks, as the server spells them.
MSG_ID = "Nats-Msg-Id"
EXPECTED_LAST_SUBJECT_SEQ = "Nats-Expected-Last-Subject-Sequence"
EXPECTED_LAST_SUBJECT_SEQ_SUBJECT = "Nats-Expected-Last-Subject-Sequence-Subject"
EXPECTED_LAST_SEQ = "Nats-Expected-Last-Sequence"
BATCH_ID = "Nats-Batch-Id"
BATCH_SEQUENCE = "Nats-Batch-Sequence"
BATCH_COMMIT = "Nats-Batch-Commit"

#: One message of an atomic batch: subject, payload, headers (its checks).
Message = tuple[str, bytes, dict[str, str]]


class _ApiError(msgspec.Struct):
    code: int = 0
    err_code: int = 0
    description: str = ""


class _PubAck(msgspec.Struct):
    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: _ApiError | None = None


_ack_decoder = msgspec.json.Decoder(_PubAck)


@dataclass(frozen=True, slots=True)
class Appended:
    """Where a message landed; ``duplicate`` when its message id was already stored."""

    seq: int
    duplicate: bool


async def publish_acked(
    nc: NATS, subject: str, payload: bytes, headers: dict[str, str] | None, *, timeout: float
) -> Appended:
    """Publish to a stream and wait for the server's acknowledgement.

    Raises:
        WrongExpectedSequence: an expected-sequence header did not hold; nothing was written.
        EventStoreError: the server refused the message for another reason.
        nats.errors.TimeoutError: no acknowledgement within ``timeout`` seconds.
    """
    reply = await nc.request(subject, payload, timeout=timeout, headers=headers)
    return _read_ack(reply.data)


async def publish_batch(nc: NATS, messages: Sequence[Message], *, timeout: float) -> Appended:
    """Publish messages to one stream as an atomic batch: all are stored, in order, or none.

    Each message's expected-sequence headers are checked against the stream as the batch
    leaves it (earlier messages of the batch included). The returned sequence is the last
    message's.

    Raises:
        WrongExpectedSequence, EventStoreError, nats.errors.TimeoutError: as
            :func:`publish_acked`, for the whole batch.
    """
    batch = uuid.uuid4().hex
    *first, last = messages
    for n, (subject, payload, headers) in enumerate(first, 1):
        await nc.publish(
            subject, payload, headers={**headers, BATCH_ID: batch, BATCH_SEQUENCE: str(n)}
        )
    subject, payload, headers = last
    commit = {**headers, BATCH_ID: batch, BATCH_SEQUENCE: str(len(messages)), BATCH_COMMIT: "1"}
    reply = await nc.request(subject, payload, timeout=timeout, headers=commit)
    return _read_ack(reply.data)


def _read_ack(data: bytes) -> Appended:
    ack = _ack_decoder.decode(data)
    if ack.error is not None:
        if ack.error.err_code in (WRONG_LAST_SEQUENCE, WRONG_LAST_SEQUENCE_CONSTANT):
            match = _ACTUAL_SEQ.search(ack.error.description)
            actual = int(match.group(1)) if match else None
            raise WrongExpectedSequence(ack.error.description, actual)
        if ack.error.err_code == DUPLICATE_IN_PROGRESS:
            raise DuplicateInProgress(ack.error.description)
        raise EventStoreError(f"{ack.error.err_code}: {ack.error.description}")
    return Appended(seq=ack.seq, duplicate=ack.duplicate)
