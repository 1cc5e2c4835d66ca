"""Waveform routes: record a window of a virtual board's user slot, and read any recording back
as FST (GTKWave, Surfer), VCD, per-cycle JSON (agents), WaveDrom JSON or an SVG diagram."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Response
from litestar.status_codes import HTTP_202_ACCEPTED

from events.types import TraceStopRequested
from projections.views import TraceView
from services.api.deps import (
    Services,
    board_or_422,
    caller_of,
    services,
    session_header,
    trace_or_404,
)
from services.api.models import TraceResponse
from services.api.openapi import errors
from services.domain import commands
from services.domain.decider import decide
from services.domain.errors import InvalidRequest, TraceNotFound, TraceNotReady
from services.traces.diagram import DiagramTooLarge, svg, wavedrom
from services.traces.formats import TooLarge, as_json, as_vcd
from services.traces.select import SelectionError, select
from services.traces.waveform import Waveform, WaveformError

TraceFormat = Literal["fst", "vcd", "json", "wavedrom", "svg"]
MEDIA_TYPES: dict[str, str] = {
    "fst": "application/octet-stream",
    "vcd": "text/plain; charset=utf-8",
    "json": "application/json",
    "wavedrom": "application/json",
    "svg": "image/svg+xml",
}


def trace_response(trace: TraceView) -> TraceResponse:
    return TraceResponse(
        trace_id=trace.trace_id, fpga_id=trace.fpga_id, status=trace.status,
        requested_at=trace.requested_at, updated_at=trace.updated_at, job_id=trace.job_id,
        sha256=trace.sha256, size=trace.size, first_cycle=trace.first_cycle,
        last_cycle=trace.last_cycle, stop_reason=trace.stop_reason, error=trace.error,
    )  # fmt: skip


def _about(trace: TraceView) -> dict[str, Any]:
    return {
        "trace_id": str(trace.trace_id),
        "fpga_id": trace.fpga_id,
        "sha256": trace.sha256,
        "first_cycle": trace.first_cycle,
        "stop_reason": trace.stop_reason,
    }


def _render(
    svc: Services, trace: TraceView, fst: bytes, fmt: str, signals: str | None, cycles: str | None
) -> bytes:
    """The recording in ``fmt`` (runs in a thread: parsing and rendering take time)."""
    assert trace.sha256 is not None
    try:
        wave: Waveform = svc.waveforms.get(trace.sha256, fst)
    except WaveformError as exc:
        raise TraceNotReady(f"Trace {trace.trace_id} cannot be read: {exc}") from None
    try:
        selection = select(wave, signals, cycles)
        title = f"FPGA {trace.fpga_id} trace {trace.trace_id}"
        match fmt:
            case "json":
                return msgspec.json.encode(as_json(wave, selection, _about(trace)))
            case "vcd":
                return as_vcd(wave, selection, title).encode()
            case "wavedrom":
                return msgspec.json.encode(wavedrom(wave, selection, title))
            case _:
                return svg(wavedrom(wave, selection, title)).encode()
    except (SelectionError, TooLarge, DiagramTooLarge) as exc:
        raise InvalidRequest(str(exc)) from None


class TracesController(Controller):
    path = "/fpga/{fpga_id:int}"
    tags = ["Traces"]

    @post(
        "/trace/start",
        status_code=HTTP_202_ACCEPTED,
        responses=errors(403, 409, 422, 503),
        summary="Start recording the design and its Wishbone bus (virtual boards; one at a time)",
    )
    async def start(self, request: Request[Any, Any, Any], fpga_id: FromPath[int]) -> TraceResponse:
        """Everything the board's design and the bus to it do from now on is recorded, until
        ``trace/stop``, a cap (cycles, bytes) or the end of the session."""
        svc = services(request)
        board_or_422(svc, fpga_id)
        owner, session = caller_of(request).owner, session_header(request)

        async def start(trace_id: uuid.UUID) -> TraceResponse:
            cmd = commands.StartTrace(
                fpga_id=fpga_id, trace_id=trace_id, owner=owner, session_id=session,
                now=datetime.now(UTC),
            )  # fmt: skip
            await svc.bus.execute(fpga_id, lambda b: decide(cmd, b))
            return trace_response(svc.runner.views.traces[trace_id])

        def started(trace_id: uuid.UUID) -> TraceResponse | None:
            trace = svc.runner.views.traces.get(trace_id)
            return None if trace is None else trace_response(trace)

        # With an Idempotency-Key, a retry gets the first answer (the recording's id is derived
        # from the key), never a second recording.
        fingerprint = f"trace/start {fpga_id} {session}"
        return await svc.idempotency.run(
            request, owner, fingerprint, HTTP_202_ACCEPTED, start, applied=started
        )

    @post(
        "/trace/stop",
        status_code=HTTP_202_ACCEPTED,
        responses=errors(403, 409, 422, 503),
        summary="End the recording in progress; it is stored once the board has closed it",
    )
    async def stop(self, request: Request[Any, Any, Any], fpga_id: FromPath[int]) -> TraceResponse:
        svc = services(request)
        board_or_422(svc, fpga_id)
        owner, session = caller_of(request).owner, session_header(request)

        async def stop(_: uuid.UUID) -> TraceResponse:
            cmd = commands.StopTrace(
                fpga_id=fpga_id, owner=owner, session_id=session, now=datetime.now(UTC)
            )
            event = await svc.bus.execute(fpga_id, lambda b: decide(cmd, b))
            assert isinstance(event, TraceStopRequested)
            return trace_response(svc.runner.views.traces[event.trace_id])

        fingerprint = f"trace/stop {fpga_id} {session}"
        return await svc.idempotency.run(request, owner, fingerprint, HTTP_202_ACCEPTED, stop)

    @get("/traces", responses=errors(422), summary="This key's recordings on the board")
    async def list_traces(
        self, request: Request[Any, Any, Any], fpga_id: FromPath[int]
    ) -> list[TraceResponse]:
        svc = services(request)
        board_or_422(svc, fpga_id)
        caller = caller_of(request)
        return [
            trace_response(t)
            for t in svc.runner.views.traces.values()
            if t.fpga_id == fpga_id and (caller.admin or t.owner == caller.owner)
        ]

    @get(
        "/traces/{trace_id:str}/info",
        responses=errors(404, 422),
        summary="State of a recording and what it holds",
    )
    async def info(
        self, request: Request[Any, Any, Any], fpga_id: FromPath[int], trace_id: FromPath[str]
    ) -> TraceResponse:
        svc = services(request)
        board_or_422(svc, fpga_id)
        return trace_response(trace_or_404(svc, fpga_id, trace_id, caller_of(request)))

    @get(
        "/traces/{trace_id:str}",
        responses=errors(404, 409, 422),
        summary="A recording: FST (default), VCD, JSON per cycle, WaveDrom JSON or SVG",
        media_type="application/octet-stream",
    )
    async def get_trace(
        self,
        request: Request[Any, Any, Any],
        fpga_id: FromPath[int],
        trace_id: FromPath[str],
        fmt: Annotated[
            TraceFormat,
            QueryParameter(
                name="format",
                description="fst (GTKWave, Surfer), vcd, json (per cycle), wavedrom, svg",
            ),
        ] = "fst",
        signals: Annotated[
            str | None,
            QueryParameter(description="comma-separated globs of signal names, e.g. user.wb_*"),
        ] = None,
        cycles: Annotated[
            str | None, QueryParameter(description="cycle range A-B (both included), A- or -B")
        ] = None,
    ) -> Response[bytes]:
        """The whole recording as the simulator wrote it (FST), or the selected ``signals``
        over the selected ``cycles`` (cycle 0: the recording's first clock edge) in another
        form."""
        svc = services(request)
        board_or_422(svc, fpga_id)
        trace = trace_or_404(svc, fpga_id, trace_id, caller_of(request))
        if trace.status == "recording":
            raise TraceNotReady(f"Trace {trace.trace_id} is still being recorded.")
        if trace.status == "failed" or trace.sha256 is None:
            raise TraceNotReady(f"Trace {trace.trace_id} was not recorded: {trace.error}")
        fst = await svc.store.get_trace(trace.sha256)
        if fst is None:
            raise TraceNotFound(f"Trace {trace.trace_id} has expired from the trace store.")
        headers = {"X-Trace-SHA256": trace.sha256}
        if fmt == "fst":
            disposition = f'attachment; filename="trace-{trace.trace_id}.fst"'
            headers["Content-Disposition"] = disposition
            return Response(fst, media_type=MEDIA_TYPES["fst"], headers=headers)
        body = await asyncio.to_thread(_render, svc, trace, fst, fmt, signals, cycles)
        return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)
