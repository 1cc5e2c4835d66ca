"""Audit: history queries, the hash chain's root and its verification, a digest of the views."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromQuery, QueryParameter

from events.codec import event_type
from events.store import MAX_SEQUENCE
from events.types import BOARD_EVENT_NAMES, BoardEvent
from projections.digest import views_digest
from services.api.deps import Services, board_or_422, caller_of, services
from services.api.live import redact
from services.api.openapi import errors
from services.audit.query import HistoryFilter, page
from services.audit.verify import Verdict, verify_chain
from services.auth.caller import Caller
from services.domain.errors import InvalidRequest

MAX_PAGE = 1000


class AuditEvent(msgspec.Struct):
    seq: int
    type: str
    fpga_id: int
    time: datetime
    payload: BoardEvent


class AuditPage(msgspec.Struct):
    events: list[AuditEvent]
    next_after_seq: int | None


class ChainRoot(msgspec.Struct):
    hash: str
    count: int
    time: datetime | None


class ViewsDigest(msgspec.Struct):
    applied_seq: int
    digest: str
    boards: int
    jobs: int


def _visible(svc: Services, event: BoardEvent, caller: Caller) -> BoardEvent:
    """Admins see every event whole; others see another owner's run data redacted."""
    owner = svc.hub.owner_of(event)
    if caller.admin or owner is None or owner == caller.owner:
        return event
    return redact(event)


class AuditController(Controller):
    path = "/audit"
    tags = ["Audit"]

    @get("/events", responses=errors(422), summary="Stored events, filtered and paged by sequence")
    async def events(
        self,
        request: Request[Any, Any, Any],
        fpga_id: FromQuery[int | None] = None,
        type: FromQuery[str | None] = None,
        job_id: FromQuery[uuid.UUID | None] = None,
        owner: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        after_seq: Annotated[int, QueryParameter(ge=0, le=MAX_SEQUENCE)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 100,
    ) -> AuditPage:
        """Use ``next_after_seq`` as the next request's ``after_seq`` until it is null."""
        svc = services(request)
        if fpga_id is not None:
            board_or_422(svc, fpga_id)
        if type is not None and type not in BOARD_EVENT_NAMES:
            raise InvalidRequest(f"unknown event type {type!r}.")
        if not 1 <= limit <= MAX_PAGE or not 0 <= after_seq <= MAX_SEQUENCE:
            raise InvalidRequest(
                f"limit must be 1 to {MAX_PAGE} and after_seq 0 to {MAX_SEQUENCE}."
            )
        flt = HistoryFilter(
            fpga_id=fpga_id, event_type=type, job_id=job_id, owner=owner, since=since,
            until=until, after_seq=after_seq,
        )  # fmt: skip
        found, cursor = await page(svc.store, flt, limit)
        caller = caller_of(request)
        events = [
            AuditEvent(
                s.seq, event_type(s.event), s.event.fpga_id, s.event.occurred_at,
                _visible(svc, s.event, caller),
            )
            for s in found
        ]  # fmt: skip
        return AuditPage(events=events, next_after_seq=cursor)

    @get(
        "/chain-root",
        responses=errors(),
        summary="Latest hash of the audit chain, for anchoring elsewhere",
    )
    async def chain_root(self, request: Request[Any, Any, Any]) -> ChainRoot:
        notary = services(request).notary
        if notary is None:
            raise InvalidRequest("this API instance keeps no audit chain.")
        return ChainRoot(hash=notary.head, count=notary.count, time=notary.at)

    @post(
        "/verify",
        status_code=200,
        responses=errors(),
        summary="Recompute the chain; name the first bad event",
    )
    async def verify(self, request: Request[Any, Any, Any]) -> Verdict:
        return await verify_chain(services(request).store)

    @get(
        "/views",
        responses=errors(),
        summary="Digest of the live board and job views at their applied sequence",
    )
    async def views(self, request: Request[Any, Any, Any]) -> ViewsDigest:
        v = services(request).runner.views
        return ViewsDigest(
            applied_seq=v.applied_seq, digest=views_digest(v.boards, v.jobs),
            boards=len(v.boards), jobs=len(v.jobs),
        )  # fmt: skip
