"""Content-addressed build cache in a JetStream Object Store bucket, shared by every host.

Entries are named by :func:`hwbridge.build.key.cache_key`, so a hit is always the build that
the same inputs would produce again. Values are opaque bytes; a build that is a directory (a
packed simulator, a bitstream with its ``artifact.json``) goes in as a gzipped tar through
:meth:`BuildCache.put_dir` and comes back out with :meth:`BuildCache.get_dir`.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import tarfile
import uuid
from pathlib import Path

from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore

from events.objects import put_once
from events.subjects import BUILD_BUCKET


def pack_dir(directory: Path) -> bytes:
    """A gzipped tar of ``directory``'s contents (paths relative to it, modes kept)."""
    buffer = io.BytesIO()
    # Level 6: within a few percent of level 9 on simulators and bitstreams, several times faster.
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        for path in sorted(directory.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(directory)), recursive=False)
    return buffer.getvalue()


def unpack_dir(data: bytes, dest: Path) -> None:
    """Extract a :func:`pack_dir` archive into ``dest`` (created).

    The ``data`` filter refuses absolute paths, ``..`` and links out of ``dest``: a cache entry
    is only as trusted as the bucket.
    """
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(dest, filter="data")


def _unpack_into_place(data: bytes, dest: Path) -> None:
    scratch = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}")
    try:
        unpack_dir(data, scratch)
        try:
            scratch.rename(dest)
        except OSError:
            if not dest.is_dir():  # not merely another task that extracted it first
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class BuildCache:
    """Build artifacts in a JetStream Object Store bucket, keyed by :func:`cache_key`.

    Args:
        nc: A NATS connection (the user may write the bucket's objects, not purge them).
        bucket: Bucket name (``events.streams.provision`` creates it with the streams).
    """

    def __init__(self, nc: NATS, *, bucket: str = BUILD_BUCKET) -> None:
        self._nc = nc
        self._js = nc.jetstream()
        self.bucket = bucket
        self._store: ObjectStore | None = None
        self._lock = asyncio.Lock()

    async def _obs(self) -> ObjectStore:
        async with self._lock:
            if self._store is None:
                self._store = await self._js.object_store(self.bucket)
            return self._store

    async def get(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or None if there are none."""
        obs = await self._obs()
        try:
            result = await obs.get(key)
        except NotFoundError:
            return None
        return bytes(result.data or b"")

    async def meta(self, key: str) -> dict[str, str] | None:
        """The metadata stored with ``key``, or None if there is no such entry."""
        obs = await self._obs()
        try:
            info = await obs.get_info(key)
        except NotFoundError:
            return None
        # Object headers are multi-valued (as in NATS' other clients); ours have one value.
        headers = info.headers or {}
        return {k: v[-1] if isinstance(v, list) else str(v) for k, v in headers.items()}

    async def put(self, key: str, data: bytes, meta: dict[str, str]) -> None:
        """Store ``data`` under ``key`` with ``meta`` (e.g. board kind, job id, duration).

        A key names its content, so storing it again changes nothing and is skipped; two hosts
        storing one key at once write one copy (:func:`events.objects.put_once`), and nothing
        needs a permission a hwbridge host lacks (purging, replacing).
        """
        await self._obs()  # the bucket exists
        headers = {str(k): [str(v)] for k, v in meta.items()}
        await put_once(self._nc, self.bucket, key, data, headers=headers)

    async def put_dir(self, key: str, directory: Path, meta: dict[str, str]) -> None:
        """Store a directory (as a gzipped tar) under ``key``."""
        data = await asyncio.to_thread(pack_dir, directory)
        await self.put(key, data, meta)

    async def get_dir(self, key: str, dest: Path) -> bool:
        """Extract the directory stored under ``key`` to ``dest``.

        ``dest`` appears complete or not at all: the archive is extracted next to it first.

        Returns:
            False if there is no such entry (``dest`` untouched), True otherwise.
        """
        data = await self.get(key)
        if data is None:
            return False
        await asyncio.to_thread(_unpack_into_place, data, dest)
        return True
