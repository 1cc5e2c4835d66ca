"""The Litestar application factory: takes its clients, wires routes and error mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Litestar, Request, get
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from events.settings import Settings
from events.store import EventStore
from projections.keyring import KeyRing
from projections.runner import ProjectionRunner
from services.api.auth import API_KEY_SCHEME, PUBLIC_OPT, AuthMiddleware
from services.api.commands import CommandBus
from services.api.deps import Services
from services.api.dispatcher import Dispatcher
from services.api.errors import EXCEPTION_HANDLERS
from services.api.idempotency import Idempotency
from services.api.live import EventHub
from services.api.metrics import ApiMetrics
from services.api.pathcheck import CanonicalBoardIdMiddleware
from services.api.routes_audit import AuditController
from services.api.routes_auth import AuthController
from services.api.routes_availability import AvailabilityController
from services.api.routes_events import (
    all_events,
    all_events_ws,
    board_events,
    board_events_ws,
)
from services.api.routes_farm import FarmController
from services.api.routes_fpga import FpgaController
from services.api.routes_health import health, metrics
from services.api.routes_jobs import JobsController
from services.api.routes_session import SessionController
from services.api.routes_stream import wishbone_stream
from services.api.routes_traces import TracesController
from services.audit.notary import Notary
from services.auth.issuer import KeyIssuer
from services.auth.ratelimit import RateLimiter

#: The farm's web view: static files shipped in the package, no build step, no CDN.
UI_DIR = Path(__file__).with_name("ui")


@get("/", include_in_schema=False, opt={PUBLIC_OPT: True})
async def home() -> Redirect:
    """The web view of the farm."""
    return Redirect("/ui/")


@get("/openapi.json", include_in_schema=False, opt={PUBLIC_OPT: True})
async def openapi_json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The OpenAPI schema at the conventional path, next to the explorer at /docs."""
    schema: dict[str, Any] = request.app.openapi_schema.to_schema()
    return schema


def create_app(
    store: EventStore,
    runner: ProjectionRunner,
    settings: Settings,
    keyring: KeyRing,
    notary: Notary | None = None,
) -> Litestar:
    """Build the app around a connected store, the view and key runners and (optionally) a notary.

    Create it before starting the runner, or live subscribers miss nothing only from then on.
    """
    limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
    measured = ApiMetrics(runner)
    app = Litestar(
        route_handlers=[
            home,
            create_static_files_router(
                "/ui", [UI_DIR], html_mode=True, name="ui", opt={PUBLIC_OPT: True}
            ),
            health,
            metrics,
            openapi_json,
            all_events,
            board_events,
            all_events_ws,
            board_events_ws,
            wishbone_stream,
            AuditController,
            AuthController,
            FpgaController,
            AvailabilityController,
            FarmController,
            JobsController,
            SessionController,
            TracesController,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            measured.middleware,
            CanonicalBoardIdMiddleware(),
            AuthMiddleware(keyring, limiter),
        ],
        request_max_body_size=settings.max_upload_bytes + 64 * 1024,
        openapi_config=OpenAPIConfig(
            components=Components(
                security_schemes={
                    API_KEY_SCHEME: SecurityScheme(
                        type="apiKey", name="X-API-Key", security_scheme_in="header"
                    )
                }
            ),
            security=[{API_KEY_SCHEME: []}],
            title="FPGA Cloud",
            version="0.1.0",
            description="Rent FPGA boards over HTTP: submit a LiteX design, drive it over Wishbone",
            path="/docs",
            render_plugins=[SwaggerRenderPlugin(path="/")],
        ),
        debug=False,
    )
    bus = CommandBus(store, runner, on_append=measured.appends.observe)
    app.state.services = Services(
        store=store, runner=runner, bus=bus, settings=settings,
        hub=EventHub(store, runner), notary=notary, keyring=keyring,
        issuer=KeyIssuer(store, keyring), limiter=limiter,
        dispatcher=Dispatcher(runner, bus, max_boards=settings.max_boards_per_key),
        idempotency=Idempotency(store),
        metrics=measured,
    )  # fmt: skip
    return app
