"""Health: NATS connection and JetStream reachability."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get

from services.api.auth import NO_AUTH, PUBLIC_OPT
from services.api.deps import caller_of, services
from services.api.metrics import CONTENT_TYPE
from services.api.models import HealthResponse
from services.api.openapi import HEALTH_DEGRADED, errors
from services.domain.errors import Forbidden


@get(
    "/health",
    tags=["Health"],
    summary="Service health: NATS and JetStream",
    opt={PUBLIC_OPT: True},
    security=NO_AUTH,
    responses=HEALTH_DEGRADED,
)
async def health(request: Request[Any, Any, Any]) -> Response[HealthResponse]:
    svc = services(request)
    nats_ok = svc.store.connected
    js_ok = False
    if nats_ok:
        try:
            await asyncio.wait_for(svc.store.last_seq(), timeout=1.0)
            js_ok = True
        except Exception:
            js_ok = False
    ok = nats_ok and js_ok
    body = HealthResponse(status="ok" if ok else "degraded", nats=nats_ok, jetstream=js_ok)
    return Response(body, status_code=200 if ok else 503)


@get(
    "/metrics",
    tags=["Health"],
    media_type=CONTENT_TYPE,
    responses=errors(403),
    summary="Metrics in the Prometheus text format (admin key)",
)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Requests, appends, projection lag, builds and programming, boards, jobs, the line."""
    if not caller_of(request).admin:
        raise Forbidden("metrics are for admin keys.")
    return Response(services(request).metrics.text(), media_type=CONTENT_TYPE)
