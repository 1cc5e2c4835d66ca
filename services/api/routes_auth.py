"""Authentication routes: exchange a GitHub token for an API key; say who a key is."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from services.api.auth import NO_AUTH, PUBLIC_OPT, client_address
from services.api.deps import caller_of, services, strict_body
from services.api.models import ExchangeRequest, ExchangeResponse, WhoAmI
from services.api.openapi import errors
from services.auth.github import GitHubRejected, GitHubUnavailable, github_login
from services.auth.ratelimit import retry_after_header
from services.domain.errors import (
    Forbidden,
    InvalidRequest,
    RateLimited,
    Unauthorized,
    UpstreamUnavailable,
)

MAX_TOKEN = 512


class AuthController(Controller):
    path = "/auth"
    tags = ["Auth"]

    @post(
        "/github/exchange",
        status_code=HTTP_200_OK,
        summary="Exchange a GitHub token for an API key",
        opt={PUBLIC_OPT: True},
        security=NO_AUTH,
        responses=errors(401, 403, 422, 429, 502, public=True),
    )
    async def github_exchange(
        self, request: Request[Any, Any, Any], data: JSONBody[ExchangeRequest]
    ) -> ExchangeResponse:
        """Asks GitHub whose token this is (``GET /user``) and issues a key named after them."""
        svc = services(request)
        wait = svc.limiter.take(client_address(request.scope))
        if wait > 0:
            raise RateLimited("Too many key exchanges from this address.", retry_after_header(wait))
        data = await strict_body(request, ExchangeRequest)
        token = data.github_token.strip()
        if not token or len(token) > MAX_TOKEN or not token.isascii() or " " in token:
            raise InvalidRequest("github_token must be a GitHub access token.")
        try:
            login = await github_login(svc.settings.github_api_url, token)
        except GitHubRejected as exc:
            raise Unauthorized(str(exc)) from None
        except GitHubUnavailable as exc:
            raise UpstreamUnavailable(str(exc)) from None
        allowed = svc.settings.github_allowed_users
        if allowed and login.lower() not in allowed:
            raise Forbidden(f"GitHub user {login} is not allowed on this farm.")
        api_key, _view = await svc.issuer.create(
            f"github:{login}", admin=False, created_by="github-exchange", github_login=login
        )
        return ExchangeResponse(api_key=api_key, github_username=login)

    @get("/whoami", responses=errors(), summary="The API key this request authenticated with")
    async def whoami(self, request: Request[Any, Any, Any]) -> WhoAmI:
        caller = caller_of(request)
        return WhoAmI(key_id=caller.key_id, name=caller.name, admin=caller.admin)
