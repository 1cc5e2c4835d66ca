"""What exists on the server before any process runs, who creates it, and who waits for it.

Only the ``admin`` NATS user may create, change or delete streams and buckets: ``fpga-cloud up``
(and ``fpga-cloud streams`` in a deployment) calls :func:`provision`; the API and hwbridge only
wait for what they use (:data:`API_STREAMS`, :data:`HWBRIDGE_STREAMS`).
"""

from __future__ import annotations

from nats.js.api import ObjectStoreConfig, StorageType
from nats.js.errors import BucketNotFoundError

from events.keys import KEY_STREAM
from events.objects import object_stream
from events.store import EventStore
from events.subjects import AUDIT_STREAM, BOARD_STREAM, DESIGN_BUCKET, LOG_STREAM

#: Bucket of built artifacts shared by every hwbridge host (next to ``fpga-designs``).
BUILD_BUCKET = "fpga-builds"

BUILD_BUCKET_CONFIG = ObjectStoreConfig(
    bucket=BUILD_BUCKET,
    description="fpga-cloud build cache (content-addressed)",
    storage=StorageType.FILE,
)


API_STREAMS = (BOARD_STREAM, LOG_STREAM, AUDIT_STREAM, KEY_STREAM, object_stream(DESIGN_BUCKET))
HWBRIDGE_STREAMS = (
    BOARD_STREAM,
    LOG_STREAM,
    object_stream(DESIGN_BUCKET),
    object_stream(BUILD_BUCKET),
)


async def provision(store: EventStore, replicas: int = 1) -> None:
    """Create or update every stream and bucket (admin credentials).

    Args:
        store: A store on an ``admin`` connection.
        replicas: Copies of each stream in a NATS cluster (3 in production, 1 alone).
    """
    await store.ensure_streams(replicas)
    try:
        await store.js.object_store(BUILD_BUCKET)
    except BucketNotFoundError:
        await store.js.create_object_store(
            BUILD_BUCKET, config=BUILD_BUCKET_CONFIG.evolve(replicas=replicas)
        )
