"""GitHub identity: who a GitHub token belongs to, asked of GitHub's ``GET /user``."""

from __future__ import annotations

import re

import httpx
import msgspec

TIMEOUT_S = 10.0
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")


class GitHubRejected(Exception):
    """GitHub did not accept the token."""


class GitHubUnavailable(Exception):
    """GitHub could not be asked, or answered nonsense."""


class _User(msgspec.Struct):
    login: str


async def github_login(api_url: str, token: str, *, timeout: float = TIMEOUT_S) -> str:
    """The login of the GitHub account ``token`` belongs to.

    Raises:
        GitHubRejected: GitHub answered 401 or 403 (bad, expired or under-scoped token).
        GitHubUnavailable: no answer, an unexpected status or an unreadable body.
    """
    url = api_url.rstrip("/") + "/user"
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "fpga-cloud",
    }
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise GitHubUnavailable(f"GitHub did not answer: {type(exc).__name__}") from None
    if response.status_code in (401, 403):
        raise GitHubRejected(f"GitHub refused the token ({response.status_code}).")
    if response.status_code != 200:
        raise GitHubUnavailable(f"GitHub answered {response.status_code}.")
    try:
        login = msgspec.json.decode(response.content, type=_User).login
    except msgspec.DecodeError:
        raise GitHubUnavailable("GitHub's answer had no login.") from None
    if not _LOGIN.match(login):
        raise GitHubUnavailable("GitHub's answer had an invalid login.")
    return login
