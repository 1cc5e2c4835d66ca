"""Inputs at the edge that used to get a 500 or be read as something else: deeply nested JSON,
integers past 64 bits, other spellings of a board id or of a number. Each is a clean 422."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import websockets

from events.store import EventStore
from projections.runner import ProjectionRunner
from tests.integration.conftest import LiveApi
from tests.integration.contract import assert_error, reserve, sid
from tests.keys import ALICE

DEEP = 2000
HUGE = (str(2**64), "99999999999999999999999", "18446744073709551615")


async def _json_routes(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    """(method, path) of every operation that takes a JSON body, from the schema."""
    schema = (await client.get("/openapi.json")).json()
    routes = []
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                routes.append((method, path.replace("{fpga_id}", "3")))
    return routes


async def test_every_json_route_answers_deep_nesting_with_422(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    _, session = await reserve(store, runner, 3)
    routes = await _json_routes(client)
    assert ("post", "/fpga/3/run") in routes and ("post", "/auth/github/exchange") in routes
    bodies = [
        "[" * DEEP + "]" * DEEP,
        "{" + '"a":{' * DEEP + "1" + "}" * DEEP + "}",
        '{"op": 1, "address": 0, "data": ' + "[" * DEEP + "]" * DEEP + "}",
        '{"github_token": ' + "[" * DEEP + "]" * DEEP + "}",
    ]
    for method, path in routes:
        for body in bodies:
            r = await client.request(
                method, path, content=body,
                headers={"Content-Type": "application/json", **sid(session)},
            )  # fmt: skip
            assert_error(r, 422, "validation_error")


@pytest.mark.parametrize(
    "body",
    [
        {"op": "2", "address": 0},
        {"op": 2.0, "address": 0},
        {"op": 2, "address": "0"},
        {"op": 1, "address": 0, "data": [1e3]},
        {"op": 1, "address": 0, "data": [1000.0]},
        {"op": 1, "address": 0, "data": ["7"]},
        {"op": 2, "address": 0, "count": True},
        {"op": 2, "address": 0, "unknown": 1},
    ],
)
async def test_run_takes_json_integers_only(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner, body: dict[str, Any]
) -> None:
    _, session = await reserve(store, runner, 3)
    r = await client.post("/fpga/3/run", json=body, headers=sid(session))
    assert_error(r, 422, "validation_error")


async def test_the_key_exchange_takes_a_string_token_only(client: httpx.AsyncClient) -> None:
    for body in ({"github_token": 123}, {"github_token": ["x"]}, {"github_token": "x", "y": 1}):
        r = await client.post("/auth/github/exchange", json=body)
        assert_error(r, 422, "validation_error")


@pytest.mark.parametrize("value", HUGE)
async def test_integer_query_parameters_past_64_bits_are_422(
    client: httpx.AsyncClient, value: str
) -> None:
    for path, params, headers in (
        ("/audit/events", {"after_seq": value}, {}),
        ("/audit/events", {"limit": value}, {}),
        ("/audit/events", {"fpga_id": value}, {}),
        ("/events", {"after": value}, {}),
        ("/fpga/3/events", {"after": value}, {}),
        ("/events", {}, {"Last-Event-ID": value}),
    ):
        r = await client.get(path, params=params, headers=headers)
        assert_error(r, 422, "validation_error")


async def test_the_largest_sequence_is_still_a_sequence(client: httpx.AsyncClient) -> None:
    r = await client.get("/audit/events", params={"after_seq": str(2**63 - 1)})
    assert r.status_code == 200 and r.json() == {"events": [], "next_after_seq": None}


ALIASES = ("03", "%203", "+3", "%33", "%EF%BC%93", "%D9%A3", "-0", "3.0", "0x3", "00")


@pytest.mark.parametrize("alias", ALIASES)
async def test_board_ids_are_taken_in_their_canonical_form_only(
    client: httpx.AsyncClient, alias: str
) -> None:
    for method, suffix in (
        ("GET", ""),
        ("POST", "/submit"),
        ("POST", "/run"),
        ("POST", "/reset"),
        ("GET", "/session"),
        ("POST", "/session/release"),
        ("GET", f"/jobs/{uuid.uuid4()}"),
        ("GET", "/events"),
    ):
        r = await client.request(method, f"/fpga/{alias}{suffix}")
        assert_error(r, 422, "validation_error")
    assert (await client.get("/fpga/3")).status_code == 200
    assert (await client.get("/fpga/0")).status_code == 200


async def test_a_websocket_to_an_alias_is_closed(live_api: LiveApi) -> None:
    for path in ("/fpga/03/stream", "/fpga/%33/events/ws"):
        async with websockets.connect(live_api.ws + path, additional_headers=ALICE.headers) as ws:
            with pytest.raises(websockets.ConnectionClosed) as info:
                await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4422
