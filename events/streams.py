"""Stream and bucket configuration, created idempotently at start-up by every process."""

from __future__ import annotations

from nats.js import api

from events.keys import KEY_STREAM, KEY_SUBJECT_ROOT
from events.subjects import (
    AUDIT_STREAM,
    AUDIT_SUBJECT,
    BOARD_STREAM,
    BOARD_SUBJECT_ROOT,
    DESIGN_BUCKET,
    LOG_STREAM,
    LOG_SUBJECT_ROOT,
)

# Board events are the source of truth: kept forever, never discarded.
BOARD_STREAM_CONFIG = api.StreamConfig(
    name=BOARD_STREAM,
    subjects=[f"{BOARD_SUBJECT_ROOT}.*.*"],
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

#: Largest design the service accepts in any configuration: a design is stored as one chunk,
#: one message, under nats.conf's ``max_payload`` (1 MB) with room for the headers.
MAX_DESIGN_BYTES = 1000 * 1024

DESIGN_BUCKET_CONFIG = api.ObjectStoreConfig(
    bucket=DESIGN_BUCKET,
    description="Uploaded design sources, content-addressed by SHA-256",
    storage=api.StorageType.FILE,
)
