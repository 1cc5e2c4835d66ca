"""API keys at the edge: every route but health and docs needs one; keys come and go as events."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest
from msgspec.structs import replace

from events.keys import KeyCreated, KeyRevoked, decode_key_event
from events.store import EventStore
from events.subjects import KEY_STREAM, all_keys_filter
from projections.keyring import KeyRing
from projections.runner import ProjectionRunner
from services.api.app import create_app
from services.nats.server import REPO_ROOT, NatsServer
from tests.integration.conftest import TEST_SETTINGS, asgi_client
from tests.integration.contract import assert_error
from tests.keys import ADMIN, ALICE, BOB
from tests.standins.github import base_url, github_standin

PUBLIC = {("/health", "get"), ("/auth/github/exchange", "post")}


async def _routes(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    schema: dict[str, Any] = (await client.get("/openapi.json")).json()
    paths: dict[str, dict[str, Any]] = schema["paths"]
    return [(p, m) for p, ops in paths.items() for m in ops if m in ("get", "post", "delete")]


def _concrete(path: str) -> str:
    return path.replace("{fpga_id}", "3").replace(
        "{job_id}", "00000000-0000-0000-0000-000000000000"
    )


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": ""}, {"X-API-Key": "not-a-key"}, {"X-API-Key": ALICE.plaintext[:-1] + "x"}],
    ids=["missing", "empty", "malformed", "wrong-secret"],
)
async def test_every_route_but_health_and_docs_needs_a_key(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    routes = await _routes(client)
    assert len(routes) >= 15
    del client.headers["X-API-Key"]  # this client's default key (alice)
    for path, method in routes:
        if (path, method) in PUBLIC:
            continue
        resp = await asyncio.wait_for(
            client.request(method.upper(), _concrete(path), headers=headers), 10
        )
        detail = assert_error(resp, 401, "unauthorized")
        assert "X-API-Key" in detail["message"]
    for path in ("/health", "/docs", "/openapi.json"):
        assert (await client.get(path, headers={"X-API-Key": ""})).status_code == 200


async def test_the_openapi_schema_declares_the_key(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    scheme = schema["components"]["securitySchemes"]["ApiKeyAuth"]
    assert scheme == {"type": "apiKey", "name": "X-API-Key", "in": "header"}
    assert schema["paths"]["/health"]["get"]["security"] == [{}]
    assert schema["paths"]["/fpga"]["get"].get("security", schema["security"]) == [
        {"ApiKeyAuth": []}
    ]


async def test_whoami_names_the_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/auth/whoami")).json() == {
        "key_id": ALICE.key_id, "name": "alice", "admin": False,
    }  # fmt: skip
    me = (await client.get("/auth/whoami", headers=ADMIN.headers)).json()
    assert me["admin"] is True


async def test_a_revoked_key_stops_working_at_once(
    client: httpx.AsyncClient, store: EventStore, keyring: KeyRing
) -> None:
    assert (await client.get("/fpga", headers=BOB.headers)).status_code == 200
    seq = (await store.append_key_event(KeyRevoked(key_id=BOB.key_id, by="test"))).seq
    await keyring.wait_for(seq)
    assert_error(await client.get("/fpga", headers=BOB.headers), 401, "unauthorized")
    assert (await client.get("/fpga")).status_code == 200  # alice is unaffected


async def test_rate_limit_is_per_key_with_retry_after(
    store: EventStore, runner: ProjectionRunner, keyring: KeyRing
) -> None:
    settings = replace(TEST_SETTINGS, rate_limit_per_s=1.0, rate_limit_burst=3)
    async with asgi_client(create_app(store, runner, settings, keyring), ALICE.headers) as c:
        assert [(await c.get("/fpga")).status_code for _ in range(3)] == [200] * 3
        limited = await c.get("/fpga")
        assert_error(limited, 429, "rate_limited")
        assert int(limited.headers["Retry-After"]) >= 1
        assert (await c.get("/fpga", headers=BOB.headers)).status_code == 200
        assert (await c.get("/health")).status_code == 200  # health is never limited


# ------------------------------------------------------------------------ GitHub exchange


def _api(
    store: EventStore, runner: ProjectionRunner, keyring: KeyRing, github: str, **changes: Any
) -> httpx.AsyncClient:
    settings = replace(TEST_SETTINGS, github_api_url=github, **changes)
    return asgi_client(create_app(store, runner, settings, keyring))


async def _exchange(c: httpx.AsyncClient, token: str) -> httpx.Response:
    return await c.post("/auth/github/exchange", json={"github_token": token})


async def test_github_exchange_issues_a_working_key(
    store: EventStore, runner: ProjectionRunner, keyring: KeyRing
) -> None:
    with github_standin({"gho_good": "octocat"}) as gh:
        async with _api(store, runner, keyring, base_url(gh)) as c:
            resp = await _exchange(c, "gho_good")
            assert resp.status_code == 200, resp.text
            body = resp.json()
            assert body["github_username"] == "octocat"
            me = await c.get("/auth/whoami", headers={"X-API-Key": body["api_key"]})
            assert me.status_code == 200
            assert me.json()["name"] == "github:octocat" and me.json()["admin"] is False
        path, headers = gh.requests[0]
        assert path == "/user" and headers["Authorization"] == "Bearer gho_good"
    created = [
        decode_key_event(r.data) async for r in store.read_raw(all_keys_filter(), stream=KEY_STREAM)
    ]
    mine = [e for e in created if isinstance(e, KeyCreated) and e.github_login == "octocat"]
    assert len(mine) == 1
    secret = body["api_key"].rsplit("_", 1)[1]
    assert secret not in str(mine[0]) and "gho_good" not in str(mine[0])


async def test_github_exchange_refusals(
    store: EventStore, runner: ProjectionRunner, keyring: KeyRing
) -> None:
    with github_standin({"gho_good": "octocat"}) as gh:
        url = base_url(gh)
        async with _api(store, runner, keyring, url) as c:
            assert_error(await _exchange(c, "gho_bad"), 401, "unauthorized")
            assert_error(await _exchange(c, ""), 422, "validation_error")
            assert_error(await _exchange(c, "two words"), 422, "validation_error")
            gh.status = 500
            assert_error(await _exchange(c, "gho_good"), 502, "github_unavailable")
            gh.status = None
        async with _api(store, runner, keyring, url, github_allowed_users=("hubot",)) as c:
            assert_error(await _exchange(c, "gho_good"), 403, "forbidden")
    # GitHub gone altogether (nothing listens there any more).
    async with _api(store, runner, keyring, url) as c:
        assert_error(await _exchange(c, "gho_good"), 502, "github_unavailable")


# ------------------------------------------------------------------------------------- CLI


def _cli(server: NatsServer, *args: str) -> subprocess.CompletedProcess[str]:
    admin = server.credentials("admin")
    env = {
        **os.environ, "NATS_URL": server.url,
        "FPGA_CLOUD_NATS_USER": admin.user, "FPGA_CLOUD_NATS_PASSWORD": admin.password,
    }  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "keys", *args],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def test_cli_creates_lists_and_revokes_keys(
    nats_server: NatsServer, client: httpx.AsyncClient, store: EventStore, keyring: KeyRing
) -> None:
    created = _cli(nats_server, "create", "ci runner", "--admin")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("fpk_")
    key_id = key.split("_")[1]
    await keyring.wait_for(await store.last_seq(KEY_STREAM))
    me = (await client.get("/auth/whoami", headers={"X-API-Key": key})).json()
    assert me == {"key_id": key_id, "name": "ci runner", "admin": True}

    listed = _cli(nats_server, "list")
    assert listed.returncode == 0 and key_id in listed.stdout and "ci runner" in listed.stdout
    secret = key.rsplit("_", 1)[1]
    salted = keyring.get(key_id)
    assert salted is not None
    for text in (listed.stdout, _cli(nats_server, "list", "--json").stdout):
        assert secret not in text and salted.digest not in text and salted.salt not in text

    rotated = _cli(nats_server, "rotate", key_id)
    assert rotated.returncode == 0, rotated.stderr
    new_key = rotated.stdout.strip()
    assert new_key.split("_")[1] == key_id and new_key != key
    await keyring.wait_for(await store.last_seq(KEY_STREAM))
    assert_error(await client.get("/fpga", headers={"X-API-Key": key}), 401, "unauthorized")
    assert (await client.get("/fpga", headers={"X-API-Key": new_key})).status_code == 200
    key = new_key

    revoked = _cli(nats_server, "revoke", key_id, "--reason", "rotated")
    assert revoked.returncode == 0, revoked.stderr
    await keyring.wait_for(await store.last_seq(KEY_STREAM))
    assert_error(await client.get("/fpga", headers={"X-API-Key": key}), 401, "unauthorized")
    assert "revoked" in _cli(nats_server, "list").stdout

    assert _cli(nats_server, "revoke", "000000000000").returncode == 1
    assert _cli(nats_server, "create", "bad;name").returncode == 2
