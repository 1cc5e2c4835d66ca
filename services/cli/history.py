"""``fpga-cloud replay`` and ``fpga-cloud audit``: read history, rebuild views, check the chain."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import urllib.request
import uuid
from datetime import datetime
from typing import Any, TextIO

import msgspec
from nats.aio.client import Client as NATS

from events.codec import event_type
from events.connection import PROJECTIONS_USER
from events.envelope import envelope_json
from events.store import EventStore
from events.subjects import all_boards_filter
from projections.digest import views_digest
from projections.runner import Views
from services.audit.query import HistoryFilter, history
from services.audit.verify import verify_chain
from services.cli.toolconnect import tool_connect

API_KEY_ENV = "FPGA_CLOUD_API_KEY"


def add_replay_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--board", type=int, help="only this fpga_id")
    p.add_argument("--type", help="only this event type, e.g. JobQueued")
    p.add_argument("--job", type=uuid.UUID, help="only events of this job")
    p.add_argument("--owner", help="only events recorded for this owner")
    p.add_argument("--since", type=datetime.fromisoformat, help="from this time (ISO 8601)")
    p.add_argument("--until", type=datetime.fromisoformat, help="before this time")
    p.add_argument("--after-seq", type=int, default=0, help="start after this sequence")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per line (export)")
    p.add_argument("--output", help="write to this file instead of standard output")
    p.add_argument(
        "--rebuild", action="store_true",
        help="rebuild every view from scratch and compare with the live API's views",
    )  # fmt: skip
    p.add_argument("--api", default="http://127.0.0.1:8000", help="live API for --rebuild")


async def _connect() -> NATS:
    """A read-only connection (``projections``; see :func:`tool_connect`)."""
    return await tool_connect(PROJECTIONS_USER, name="fpga-cloud history")


async def replay(args: argparse.Namespace) -> int:
    nc = await _connect()
    try:
        store = EventStore(nc)
        if args.rebuild:
            return await _rebuild(store, args.api)
        flt = HistoryFilter(
            fpga_id=args.board, event_type=args.type, job_id=args.job, owner=args.owner,
            since=args.since, until=args.until, after_seq=args.after_seq,
        )  # fmt: skip
        # A CLI run does nothing else meanwhile: blocking file I/O is fine here.
        out: TextIO = open(args.output, "w") if args.output else sys.stdout  # noqa: ASYNC230
        try:
            count = 0
            async for stored in history(store, flt):
                if args.jsonl:
                    out.write(envelope_json(stored.seq, stored.event).decode() + "\n")
                else:
                    e = stored.event
                    detail = msgspec.json.encode(msgspec.structs.asdict(e)).decode()
                    out.write(f"{stored.seq:>8}  {e.occurred_at.isoformat()}  fpga {e.fpga_id}"
                              f"  {event_type(e):<18} {detail}\n")  # fmt: skip
                count += 1
        finally:
            if out is not sys.stdout:
                out.close()
        print(f"{count} events", file=sys.stderr)
        return 0
    finally:
        await nc.close()


def _get_json(url: str) -> dict[str, Any]:
    """GET with the key in ``FPGA_CLOUD_API_KEY`` (the API answers 401 without one)."""
    request = urllib.request.Request(url, headers={"X-API-Key": os.environ.get(API_KEY_ENV, "")})
    with urllib.request.urlopen(request, timeout=10) as resp:
        data: dict[str, Any] = json.loads(resp.read())
        return data


async def _rebuild(store: EventStore, api: str) -> int:
    live = await asyncio.to_thread(_get_json, f"{api.rstrip('/')}/audit/views")
    target = int(live["applied_seq"])
    views = Views(range(int(live["boards"])))
    started = time.perf_counter()
    async for stored in store.read(all_boards_filter()):
        if stored.seq > target:
            break
        views.apply(stored.seq, stored.event)
    elapsed = time.perf_counter() - started
    digest = views_digest(views.boards, views.jobs)
    same = digest == live["digest"]
    verdict = "EQUAL" if same else "DIFFERENT"
    print(
        f"rebuilt {len(views.boards)} boards and {len(views.jobs)} jobs from {target} events in "
        f"{elapsed:.2f} s; live views at sequence {target}: {verdict} "
        f"(digest {digest[:16]} vs {str(live['digest'])[:16]})"
    )
    return 0 if same else 1


async def audit(args: argparse.Namespace) -> int:
    nc = await _connect()
    try:
        verdict = await verify_chain(EventStore(nc))
    finally:
        await nc.close()
    if verdict.ok:
        print(f"audit chain OK: {verdict.checked} events, head {verdict.head}")
        return 0
    print(f"audit chain BROKEN at event {verdict.first_bad_seq}: {verdict.reason} "
          f"({verdict.checked} events verified before it)")  # fmt: skip
    return 1
