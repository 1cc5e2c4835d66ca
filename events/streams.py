"""Every stream and bucket of the service: its configuration, who waits for it, and the one
function that creates them.

Only the ``admin`` NATS user may create, change or delete streams and buckets: ``fpga-cloud up``
(and ``fpga-cloud streams`` in a deployment) call :func:`provision`; the API and hwbridge only
wait for what they use (:data:`API_STREAMS`, :data:`HWBRIDGE_STREAMS`).
"""

from __future__ import annotations

from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, NotFoundError

from events.objects import object_stream
from events.settings import Settings
from events.subjects import (
    AUDIT_STREAM,
    AUDIT_SUBJECT,
    BOARD_STREAM,
    BOARD_SUBJECT_ROOT,
    BUILD_BUCKET,
    DESIGN_BUCKET,
    FARM_SUBJECT_ROOT,
    IDEMPOTENCY_BUCKET,
    KEY_STREAM,
    KEY_SUBJECT_ROOT,
    LOG_STREAM,
    LOG_SUBJECT_ROOT,
    TRACE_BUCKET,
)

# Board events are the source of truth: kept forever, never discarded. The farm's aggregates
# (what each key holds) live beside them, so that one atomic batch can append to a board and
# to an aggregate, each with its expected sequence.
BOARD_STREAM_CONFIG = api.StreamConfig(
    name=BOARD_STREAM,
    subjects=[f"{BOARD_SUBJECT_ROOT}.*.*", f"{FARM_SUBJECT_ROOT}.*.*"],
    allow_atomic=True,
    storage=api.StorageType.FILE,
    retention=api.RetentionPolicy.LIMITS,
    discard=api.DiscardPolicy.NEW,
    max_msg_size=64 * 1024,
    duplicate_window=120.0,
    allow_direct=True,
)

# Logs are high volume: their own stream with their own limits, oldest discarded first.
LOG_STREAM_CONFIG = api.StreamConfig(
    name=LOG_STREAM,
    subjects=[f"{LOG_SUBJECT_ROOT}.*.*"],
    storage=api.StorageType.FILE,
    retention=api.RetentionPolicy.LIMITS,
    discard=api.DiscardPolicy.OLD,
    max_bytes=2 * 1024**3,
    max_age=30 * 24 * 3600.0,
    max_msg_size=256 * 1024,
    duplicate_window=120.0,
    allow_direct=True,
)

# One chain link per board event, in the same order: link N covers board event N.
AUDIT_STREAM_CONFIG = api.StreamConfig(
    name=AUDIT_STREAM,
    subjects=[AUDIT_SUBJECT],
    storage=api.StorageType.FILE,
    retention=api.RetentionPolicy.LIMITS,
    discard=api.DiscardPolicy.NEW,
    duplicate_window=120.0,
    allow_direct=True,
)

# API key lifecycle (salted hashes only): kept forever; read by the API's key registry.
KEY_STREAM_CONFIG = api.StreamConfig(
    name=KEY_STREAM,
    subjects=[f"{KEY_SUBJECT_ROOT}.*.*"],
    storage=api.StorageType.FILE,
    retention=api.RetentionPolicy.LIMITS,
    discard=api.DiscardPolicy.NEW,
    max_msg_size=8 * 1024,
    duplicate_window=120.0,
    allow_direct=True,
)

STREAM_CONFIGS = (BOARD_STREAM_CONFIG, LOG_STREAM_CONFIG, AUDIT_STREAM_CONFIG, KEY_STREAM_CONFIG)

DESIGN_BUCKET_CONFIG = api.ObjectStoreConfig(
    bucket=DESIGN_BUCKET,
    description="Uploaded design sources, content-addressed by SHA-256",
    storage=api.StorageType.FILE,
)

#: Built artifacts shared by every hwbridge host, content-addressed by build key.
BUILD_BUCKET_CONFIG = api.ObjectStoreConfig(
    bucket=BUILD_BUCKET,
    description="fpga-cloud build cache (content-addressed)",
    storage=api.StorageType.FILE,
)

BUCKET_CONFIGS = (DESIGN_BUCKET_CONFIG, BUILD_BUCKET_CONFIG)

#: How long the answer to a command with an ``Idempotency-Key`` is kept (a retry within this
#: gets the same answer).
IDEMPOTENCY_TTL_S = 24 * 3600.0
IDEMPOTENCY_BUCKET_CONFIG = api.KeyValueConfig(
    bucket=IDEMPOTENCY_BUCKET,
    description="Answers to commands sent with an Idempotency-Key, per API key",
    history=1,
    ttl=IDEMPOTENCY_TTL_S,
    storage=api.StorageType.FILE,
)


def kv_stream(bucket: str) -> str:
    """The stream that holds a key-value bucket."""
    return f"KV_{bucket}"


def trace_bucket_config(settings: Settings) -> api.ObjectStoreConfig:
    """Waveform recordings, content-addressed by SHA-256: a bucket of their own with a size
    limit (new recordings fail when it is full) and an age limit (they expire)."""
    return api.ObjectStoreConfig(
        bucket=TRACE_BUCKET,
        description="fpga-cloud waveform recordings (content-addressed)",
        storage=api.StorageType.FILE,
        max_bytes=settings.trace_bucket_bytes,
        ttl=settings.trace_max_age_s,
    )


#: What the API needs before it serves.
API_STREAMS = (
    BOARD_STREAM, LOG_STREAM, AUDIT_STREAM, KEY_STREAM, object_stream(DESIGN_BUCKET),
    object_stream(TRACE_BUCKET), kv_stream(IDEMPOTENCY_BUCKET),
)  # fmt: skip
#: What a hwbridge host needs before its workers start.
HWBRIDGE_STREAMS = (
    BOARD_STREAM,
    LOG_STREAM,
    object_stream(DESIGN_BUCKET),
    object_stream(BUILD_BUCKET),
    object_stream(TRACE_BUCKET),
)


async def provision(
    js: JetStreamContext, replicas: int = 1, settings: Settings | None = None
) -> None:
    """Create or update every stream and bucket (admin credentials); safe to repeat.

    Args:
        js: A JetStream context on an ``admin`` connection.
        replicas: Copies of each stream in a NATS cluster (3 in production, 1 alone).
        settings: Where the trace bucket's limits come from (default: the defaults).
    """
    for base in STREAM_CONFIGS:
        config = base.evolve(num_replicas=replicas)
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)
    for bucket in (*BUCKET_CONFIGS, trace_bucket_config(settings or Settings())):
        assert bucket.bucket is not None
        try:
            await js.object_store(bucket.bucket)
        except NotFoundError:
            await js.create_object_store(bucket.bucket, config=bucket.evolve(replicas=replicas))
    try:
        await js.key_value(IDEMPOTENCY_BUCKET)
    except NotFoundError:
        await js.create_key_value(IDEMPOTENCY_BUCKET_CONFIG.evolve(replicas=replicas))
