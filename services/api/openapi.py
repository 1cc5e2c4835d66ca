"""What the OpenAPI schema says each route may answer besides success: the error envelope."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

from services.api.models import ErrorEnvelope, HealthResponse

_WHY = {
    401: "Missing, unknown or revoked X-API-Key (`unauthorized`)",
    403: "Not this key's session (`not_session_owner`), or not allowed (`forbidden`)",
    404: "No such job or trace for this key (`job_not_found`, `trace_not_found`) or no "
    "session (`no_active_session`)",
    409: "Not allowed in the board's or job's current state (the error code says which)",
    413: "The upload is larger than the limit (`payload_too_large`)",
    422: "Invalid input (`validation_error`, `address_out_of_range`)",
    429: "Rate limit exceeded (`rate_limited`); see Retry-After",
    502: "GitHub could not be asked (`github_unavailable`)",
    503: "The event store did not answer in time (`nats_unavailable`, with Retry-After) or the "
    "board changed too often to decide (`board_busy`); retry",
}

#: Every authenticated route may answer these.
AUTHENTICATED = (401, 429)


def errors(*codes: int, public: bool = False) -> dict[int, ResponseSpec]:
    """Response specs for ``codes`` (plus 401 and 429 unless ``public``), all in the envelope."""
    wanted = set(codes) | (set() if public else set(AUTHENTICATED))
    return {
        code: ResponseSpec(
            data_container=ErrorEnvelope, description=_WHY[code], generate_examples=False
        )
        for code in sorted(wanted)
    }


HEALTH_DEGRADED = {
    503: ResponseSpec(
        data_container=HealthResponse,
        description="NATS or JetStream is not reachable",
        generate_examples=False,
    )
}
