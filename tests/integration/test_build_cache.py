"""The content-addressed build cache in a JetStream Object Store bucket, on a real nats-server."""

from __future__ import annotations

import asyncio
import io
import os
import tarfile
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS

from events.subjects import BUILD_BUCKET
from hwbridge.build.design import Design
from hwbridge.build.key import cache_key
from hwbridge.cache import BuildCache, pack_dir, unpack_dir
from services.nats.server import NatsServer

KEY = cache_key(Design(b"design", "migen"), "virtual")


async def test_miss_then_hit(nc: NATS) -> None:
    cache = BuildCache(nc)
    assert await cache.get(KEY) is None
    assert await cache.meta(KEY) is None
    data = os.urandom(700_000)  # several object store chunks
    await cache.put(KEY, data, {"board_kind": "virtual", "job_id": "j1"})
    assert await cache.get(KEY) == data
    assert await cache.meta(KEY) == {"board_kind": "virtual", "job_id": "j1"}
    status = await (await nc.jetstream().object_store(BUILD_BUCKET)).status()
    assert status.bucket == BUILD_BUCKET


async def test_entries_are_shared_between_clients(nc: NATS, nats_server: NatsServer) -> None:
    other = await nats_server.connect()
    try:
        await BuildCache(nc).put(KEY, b"bitstream", {})
        assert await BuildCache(other).get(KEY) == b"bitstream"
    finally:
        await other.drain()


async def test_a_key_is_written_once(nc: NATS) -> None:
    cache = BuildCache(nc)
    await cache.put(KEY, b"first", {"job_id": "a"})
    await cache.put(KEY, b"second", {"job_id": "b"})  # same inputs, so the same content
    assert await cache.get(KEY) == b"first"
    assert await cache.meta(KEY) == {"job_id": "a"}


async def test_concurrent_first_use_creates_one_bucket(nc: NATS) -> None:
    caches = [BuildCache(nc) for _ in range(5)]
    await asyncio.gather(*(c.put(f"k{i}", b"x", {}) for i, c in enumerate(caches)))
    assert [await caches[0].get(f"k{i}") for i in range(5)] == [b"x"] * 5


async def test_empty_value(nc: NATS) -> None:
    cache = BuildCache(nc)
    await cache.put(KEY, b"", {})
    assert await cache.get(KEY) == b""


def _tree(root: Path) -> dict[str, tuple[bytes, bool]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), os.access(p, os.X_OK))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


async def test_directories_round_trip(nc: NATS, tmp_path: Path) -> None:
    # Shaped like a compiled virtual board: an executable, modules, a config.
    src = tmp_path / "src"
    (src / "obj_dir").mkdir(parents=True)
    (src / "modules").mkdir()
    (src / "obj_dir" / "Vsim").write_bytes(os.urandom(300_000))
    (src / "obj_dir" / "Vsim").chmod(0o755)
    (src / "modules" / "serial2tcp_nodelay.so").write_bytes(b"\x7fELF")
    (src / "sim_config.js").write_text("{}\n")
    cache = BuildCache(nc)
    await cache.put_dir(KEY, src, {"board_kind": "virtual"})
    dest = tmp_path / "builds" / KEY
    dest.parent.mkdir()
    assert await cache.get_dir(KEY, dest)
    assert _tree(dest) == _tree(src)
    assert _tree(dest)["obj_dir/Vsim"][1]  # still executable
    assert not await cache.get_dir("0" * 64, tmp_path / "builds" / "missing")
    assert not (tmp_path / "builds" / "missing").exists()
    # Extracting over a finished copy keeps it (another task got there first).
    assert await cache.get_dir(KEY, dest)
    assert sorted(p.name for p in dest.parent.iterdir()) == [KEY]


def test_unpack_refuses_paths_out_of_the_directory(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(tarfile.OutsideDestinationError):
        unpack_dir(buffer.getvalue(), tmp_path / "dest")
    assert not (tmp_path / "escape.txt").exists()
    assert pack_dir(tmp_path / "dest") != b""
