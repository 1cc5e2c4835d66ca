"""The SDK's retry and fallback rules on the wire, against a scripted stand-in of the API."""

from __future__ import annotations

import uuid

import pytest
from fpga_cloud import Client, JobFailed, NatsUnavailable, RetryPolicy, Unreachable

from tests.standins.farm import Answer, farm

JOB = uuid.uuid4()
FAST = RetryPolicy(attempts=3, backoff=0.01, reconnect_for=1.0)


def job(status: str, stage: str, error: str | None = None) -> dict[str, object]:
    return {
        "job_id": str(JOB), "fpga_id": 1, "type": "build_and_program", "status": status,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:01Z",
        "stage": stage, "error": error,
    }  # fmt: skip


def envelope(code: str) -> dict[str, object]:
    return {"detail": {"error": code, "message": "stand-in"}}


def test_503_with_retry_after_is_retried_even_for_a_submit() -> None:
    def script(method: str, path: str, seen: int) -> Answer:
        if seen < 2:
            return 503, {"Retry-After": "0"}, envelope("nats_unavailable")
        return 202, {}, {"job_id": str(JOB), "fpga_id": 1, "status": "queued"}

    with farm(script) as f, Client(f.url, "fpk_x_y", retry=FAST) as c:
        assert c.submit(b"module m; endmodule\n", board=1).id == JOB
        assert f.count("POST", "/fpga/1/submit") == 3


def test_retries_are_bounded() -> None:
    def script(method: str, path: str, seen: int) -> Answer:
        return 503, {"Retry-After": "0"}, envelope("nats_unavailable")

    with farm(script) as f, Client(f.url, "fpk_x_y", retry=FAST) as c:
        with pytest.raises(NatsUnavailable):
            c.boards()
        assert f.count("GET", "/fpga") == 1 + FAST.attempts


def test_a_submit_whose_answer_was_lost_is_sent_again_with_its_key() -> None:
    def script(method: str, path: str, seen: int) -> Answer:
        return None  # the request arrived, the connection dropped

    with farm(script) as f, Client(f.url, "fpk_x_y", retry=FAST) as c:
        with pytest.raises(Unreachable):
            c.submit(b"module m; endmodule\n", board=1)
        # Safe to repeat: every attempt carries the same Idempotency-Key, so the service answers
        # a retry as it answered the first and never makes a second job.
        assert f.count("POST", "/fpga/1/submit") == 1 + FAST.attempts
        keys = set(f.idempotency_keys)
        assert len(keys) == 1 and None not in keys
        with pytest.raises(Unreachable):
            c.boards()
        assert f.count("GET", "/fpga") == 1 + FAST.attempts  # a read is safe to repeat
        assert f.idempotency_keys[-1] is None


def test_wait_polls_where_there_is_no_live_feed() -> None:
    stages = [("queued", "queued"), ("running", "building"), ("running", "programming"),
              ("complete", "reserved")]  # fmt: skip

    def script(method: str, path: str, seen: int) -> Answer:
        if path == "/fpga/1/events":
            return 404, {}, envelope("not_found")
        status, stage = stages[min(seen, len(stages) - 1)]
        return 200, {}, job(status, stage)

    seen: list[str | None] = []
    with farm(script) as f, Client(f.url, "fpk_x_y", retry=FAST) as c:
        info = c.job(1, JOB).wait(timeout=30, on_progress=lambda j: seen.append(j.stage))
        assert info.status == "complete"
        assert seen == ["queued", "building", "programming", "reserved"]
        assert f.count("GET", "/fpga/1/events") == 1  # tried once, then polled


def test_wait_raises_the_failure_with_its_reason() -> None:
    def script(method: str, path: str, seen: int) -> Answer:
        if path == "/fpga/1/events":
            return 404, {}, envelope("not_found")
        return 200, {}, job("failed", "failed", "design.py raised NameError")

    with farm(script) as f, Client(f.url, "fpk_x_y", retry=FAST) as c:
        with pytest.raises(JobFailed) as failed:
            c.job(1, JOB).wait(timeout=30)
        assert failed.value.job.error == "design.py raised NameError"
        assert "NameError" in str(failed.value)
