"""Metrics in the Prometheus text format: the API's (admin key) and a hwbridge host's (own
port), read back with prometheus-client's own parser."""

from __future__ import annotations

import socket
import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families

from events.store import EventStore
from events.types import BuildSucceeded
from hwbridge import metrics as bridge_metrics
from projections.runner import ProjectionRunner
from tests.fakes import DESIGN, reservation
from tests.integration.contract import append, assert_error
from tests.keys import ADMIN, BOB


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_the_api_counts_requests_and_reads_the_views(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    assert_error(await client.get("/metrics", headers=BOB.headers), 403, "forbidden")
    await append(store, runner, reservation(2, uuid.uuid4(), uuid.uuid4()))
    submitted = await client.post("/fpga/3/submit", files={"file": ("d.py", DESIGN)})
    assert submitted.status_code == 202
    await client.get("/fpga")
    for made_up in ("BREW", "PROPFIND", "X-EVIL"):  # no series of their own
        await client.request(made_up, "/fpga")
    resp = await client.get("/metrics", headers=ADMIN.headers)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    samples = _samples(resp.text)
    submit = (("method", "POST"), ("route", "/fpga/{fpga_id}/submit"), ("status", "202"))
    listed = (("method", "GET"), ("route", "/fpga"), ("status", "200"))
    refused = (("method", "GET"), ("route", "/metrics"), ("status", "403"))
    assert samples[("fpga_http_requests_total", submit)] == 1
    assert samples[("fpga_http_requests_total", listed)] >= 1
    assert samples[("fpga_http_requests_total", refused)] == 1
    methods = {dict(labels).get("method") for name, labels in samples}
    assert not methods & {"BREW", "PROPFIND", "X-EVIL"}
    assert samples[("fpga_boards", (("state", "reserved"),))] == 1
    assert samples[("fpga_boards", (("state", "queued"),))] == 1
    assert samples[("fpga_boards_health", (("health", "good"),))] == 10
    assert samples[("fpga_jobs", (("status", "queued"),))] == 1
    assert samples[("fpga_waiting_jobs", ())] == 0
    assert samples[("fpga_append_seconds_count", ())] >= 1
    assert samples[("fpga_projection_lag_seconds_count", ())] >= 1


def test_a_hwbridge_host_serves_its_own() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bridge_metrics.serve_metrics(port)
    before = _samples(httpx.get(f"http://127.0.0.1:{port}/metrics").text)
    built = ("fpga_hwbridge_builds_total", (("outcome", "built"),))
    bridge_metrics.observe(
        BuildSucceeded(
            fpga_id=1, job_id=uuid.uuid4(), artifact="a", duration_s=1.5, window_base=0,
            window_size=4096,
        )
    )  # fmt: skip
    after = _samples(httpx.get(f"http://127.0.0.1:{port}/metrics").text)
    assert after[built] == before.get(built, 0) + 1
    assert after[("fpga_hwbridge_build_seconds_count", ())] >= 1
