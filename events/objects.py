"""Write-once objects in a JetStream object store bucket: never replaced, never purged.

nats-py's ``ObjectStore.put`` replaces an object that exists and then purges its old chunks,
and purges its own chunks when a publish fails. Purging needs a permission only the ``admin``
user has, and two writers of one name both write a full copy. Our objects are named by the hash
of what they hold (a design's SHA-256, a build's cache key), so a stored object never needs
replacing: :func:`put_once` writes one only when the name is free, in the bucket's own layout
(nats-py's ``get`` reads it):

* the chunks go to a subject named after the object (``$O.<bucket>.C.<hash of the name>``);
  the first chunk is published only if that subject is empty, the later ones only right after
  the one before, so of two writers racing, the second is refused before it writes anything;
* the metadata (``$O.<bucket>.M.<name>``) is published only if there is none yet.

A writer that died between its chunks and its metadata leaves the chunks: a later writer of a
single-chunk object whose bytes are the same finishes it by writing the metadata; a multi-chunk
object of that name is not stored again (a build cache entry then misses, nothing breaks).
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from events.errors import EventStoreError, WrongExpectedSequence
from events.publish import EXPECTED_LAST_SUBJECT_SEQ, publish_acked

#: nats-py's chunk size for objects that are not stored whole.
DEFAULT_CHUNK_SIZE = 128 * 1024
_ROLLUP = {"Nats-Rollup": "sub"}


def object_stream(bucket: str) -> str:
    """The stream that holds an object store bucket."""
    return f"OBJ_{bucket}"


def meta_subject(bucket: str, name: str) -> str:
    return f"$O.{bucket}.M.{base64.urlsafe_b64encode(name.encode()).decode()}"


def chunk_subject(bucket: str, name: str) -> str:
    """Where the chunks of ``name`` go: one subject per name, so a claim on it is a claim on
    the name (nats-py uses a random one per write)."""
    return f"$O.{bucket}.C.{hashlib.sha256(name.encode()).hexdigest()}"


async def stored_info(js: JetStreamContext, bucket: str, name: str) -> api.ObjectInfo | None:
    """The metadata of ``name`` in ``bucket``, or None if there is none."""
    try:
        msg = await js.get_last_msg(object_stream(bucket), meta_subject(bucket, name))
    except NotFoundError:
        return None
    if not msg.data:
        return None
    info: api.ObjectInfo = api.ObjectInfo.from_response(json.loads(msg.data))
    return info


async def put_once(
    nc: NATS,
    bucket: str,
    name: str,
    data: bytes,
    *,
    headers: dict[str, list[str]] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    timeout: float = 5.0,
) -> bool:
    """Store ``data`` as object ``name`` unless the name is taken.

    Args:
        nc: A connection whose user may publish to the bucket's subjects (not purge).
        bucket: The bucket.
        name: The object's name: the hash of what it holds, so any stored copy is as good.
        data: The bytes.
        headers: Object headers (metadata), each with a list of values as in nats-py.
        chunk_size: Bytes per chunk; an object of one chunk is written atomically.
        timeout: Seconds to wait for each acknowledgement.

    Returns:
        True when this call stored the object, False when it was stored (or is being stored)
        by someone else; either way nothing was replaced or purged.

    Raises:
        EventStoreError: the server refused a chunk for another reason.
        nats.errors.TimeoutError: no acknowledgement in time.
    """
    js = nc.jetstream(timeout=timeout)
    if await stored_info(js, bucket, name) is not None:
        return False
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
    subject = chunk_subject(bucket, name)
    last = 0
    for chunk in chunks:
        try:
            ack = await publish_acked(
                nc, subject, chunk, {EXPECTED_LAST_SUBJECT_SEQ: str(last)}, timeout=timeout
            )
        except WrongExpectedSequence:
            if last:
                raise EventStoreError(f"another writer wrote into object {name}") from None
            return await _finish(nc, js, bucket, name, data, chunks, headers, timeout)
        last = ack.seq
    return await _publish_meta(nc, bucket, name, data, len(chunks), headers, timeout)


async def _finish(
    nc: NATS,
    js: JetStreamContext,
    bucket: str,
    name: str,
    data: bytes,
    chunks: list[bytes],
    headers: dict[str, list[str]] | None,
    timeout: float,
) -> bool:
    """Another writer holds the chunk subject: complete its object if it left one whole chunk
    with our bytes and no metadata; otherwise leave it to that writer."""
    if len(chunks) != 1 or await stored_info(js, bucket, name) is not None:
        return False
    try:
        existing = await js.get_last_msg(object_stream(bucket), chunk_subject(bucket, name))
    except NotFoundError:
        return False
    if existing.seq is None or existing.data != data:
        return False
    return await _publish_meta(nc, bucket, name, data, 1, headers, timeout)


async def _publish_meta(
    nc: NATS,
    bucket: str,
    name: str,
    data: bytes,
    chunks: int,
    headers: dict[str, list[str]] | None,
    timeout: float,
) -> bool:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode()
    info = api.ObjectInfo(
        name=name,
        bucket=bucket,
        nuid=chunk_subject(bucket, name).rsplit(".", 1)[1],
        size=len(data),
        chunks=chunks,
        digest=f"SHA-256={digest}",
        mtime=datetime.now(UTC).isoformat(),
        headers=headers,
    )
    try:
        await publish_acked(
            nc,
            meta_subject(bucket, name),
            json.dumps(info.as_dict()).encode(),
            {**_ROLLUP, EXPECTED_LAST_SUBJECT_SEQ: "0"},
            timeout=timeout,
        )
    except WrongExpectedSequence:
        return False
    return True
