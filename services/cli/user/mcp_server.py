"""``fpga-cloud mcp``: a Model Context Protocol server (stdio) that lets an agent rent a board,
build a design on it, drive it over Wishbone and give it back.

The key and the service come from ``FPGA_CLOUD_API_KEY`` and ``FPGA_CLOUD_URL`` (else the
``fpga-cloud login`` file). Every refusal comes back as a tool error whose text names the
error code and what to do next.
"""

from __future__ import annotations

import argparse
from typing import Annotated, Any

from fpga_cloud import (
    AddressOutOfRange,
    AsyncClient,
    BoardLimitReached,
    ConfigError,
    FpgaCloudError,
    FpgaNotIdle,
    JobFailed,
    JobNotFound,
    NoActiveSession,
    NoIdleBoard,
    NotSessionOwner,
    RateLimited,
    SessionExpired,
    Unreachable,
    WaitTimeout,
)
from fpga_cloud.config import resolve
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from services.cli.user.output import EXIT_OK, EXIT_USAGE, Output

LOG_TAIL = 40
#: The file name each language is uploaded under when the agent gives no file name.
LANGUAGE_FILES = {
    "migen": "design.py",
    "amaranth": "design.py",
    "verilog": "design.v",
    "systemverilog": "design.sv",
}
INSTRUCTIONS = (
    "Rent FPGA boards of an fpga-cloud farm. list_boards shows them; submit_design builds a "
    "design (Migen or Amaranth Python, or Verilog) on an idle board and reserves it for you; "
    "read and write are Wishbone accesses at byte offsets inside the design's window "
    "(4-byte aligned, below window_size); release gives the board back: always release "
    "boards you no longer need."
)

Board = Annotated[int, Field(ge=0, description="Board number (fpga_id) from list_boards.")]
Address = Annotated[
    int,
    Field(ge=0, le=0xFFFF_FFFF, description="Byte offset in the design's window, 4-byte aligned."),
]


def hint(exc: FpgaCloudError, board: int | None = None) -> str:
    """The tool error text: the code, the service's message, and what the agent can do."""
    where = f"board {board}" if board is not None else "the board"
    advice = {
        FpgaNotIdle: "pick a board whose state is idle from list_boards, or omit board",
        NoIdleBoard: "every board is busy; call list_boards later and try again",
        BoardLimitReached: "release a board you hold (release) before submitting another",
        NoActiveSession: f"{where} holds no session; submit_design to it first",
        NotSessionOwner: f"{where} is reserved by another key; use a board you reserved",
        SessionExpired: f"the lease on {where} ran out; submit_design again",
        AddressOutOfRange: "use a byte offset below the design's window_size, 4-byte aligned",
        JobNotFound: "check the board and job_id (a job is visible to its owner only)",
        RateLimited: "too many requests; wait a second and retry",
        Unreachable: "the fpga-cloud service is not answering; check FPGA_CLOUD_URL",
    }
    for kind, text in advice.items():
        if isinstance(exc, kind):
            return f"{exc.code}: {exc.message.rstrip('.')}. What to do: {text}."
    return f"{exc.code}: {exc.message}"


def build_server(client: AsyncClient) -> MCPServer:
    """The MCP server with its tools, all on ``client``."""
    server: MCPServer = MCPServer("fpga-cloud", instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool()
    async def list_boards() -> dict[str, Any]:
        """List every board: state (idle boards take designs), driver, and whether you hold
        it with how many seconds of lease are left."""
        try:
            me = await client.whoami()
            boards = await client.boards()
        except FpgaCloudError as exc:
            raise ToolError(hint(exc)) from None
        rows = []
        for b in boards:
            s = b.session
            rows.append({
                "fpga_id": b.fpga_id, "state": b.state, "driver": b.driver,
                "in_service": b.in_service, "held_by_you": bool(s and s.owner == me.key_id),
                "lease_seconds_left": round(s.seconds_left()) if s else None,
            })  # fmt: skip
        return {"boards": rows}

    @server.tool()
    async def submit_design(
        source: Annotated[str, Field(min_length=1, description="The design's full source text.")],
        filename: Annotated[
            str | None,
            Field(description="File name whose extension picks the language: .py, .v, .sv."),
        ] = None,
        language: Annotated[
            str | None,
            Field(
                description="migen, amaranth, verilog or systemverilog (when no filename).",
                pattern="^(migen|amaranth|verilog|systemverilog)$",
            ),
        ] = None,
        board: Annotated[
            int | None, Field(ge=0, description="Board to use; omit for any idle board.")
        ] = None,
        top: Annotated[
            str | None, Field(description="Class or module to build, if not the default.")
        ] = None,
        timeout_s: Annotated[
            float, Field(gt=0, le=1800, description="Seconds to wait for the build.")
        ] = 600.0,
    ) -> dict[str, Any]:
        """Build a design on a board and wait until the board is reserved for you (or the
        build fails). Returns the outcome, the board, the design's window_size in bytes and
        the last lines of the build log."""
        name = filename or (LANGUAGE_FILES[language] if language else None)
        try:
            job = await client.submit(source.encode(), board, top, filename=name)
        except FpgaCloudError as exc:
            raise ToolError(hint(exc, board)) from None
        outcome: dict[str, Any] = {"fpga_id": job.board, "job_id": str(job.id)}
        try:
            info = await job.wait(timeout_s)
            session = await job.session(keep=True)
            outcome |= {
                "outcome": "reserved", "session_id": str(session.id),
                "expires_at": session.expires_at.isoformat(), "window_size": info.window_size,
                "language": info.language, "error": None,
            }  # fmt: skip
        except JobFailed as failed:
            outcome |= {"outcome": failed.job.status, "error": failed.job.error}
        except WaitTimeout:
            outcome |= {"outcome": "timeout", "error": "the build goes on; call job_log later"}
        except FpgaCloudError as exc:
            raise ToolError(hint(exc, job.board)) from None
        outcome["log_tail"] = await _tail(client, job.board, str(job.id), LOG_TAIL)
        return outcome

    @server.tool()
    async def read(
        board: Board,
        address: Address,
        count: Annotated[int, Field(ge=1, le=1024, description="Words to read.")] = 1,
    ) -> dict[str, Any]:
        """Read 32-bit words from a board you reserved."""
        try:
            words = await (await client.session(board, keep=True)).read(address, count)
        except FpgaCloudError as exc:
            raise ToolError(hint(exc, board)) from None
        return {"fpga_id": board, "address": address, "words": words,
                "hex": [f"0x{w:08x}" for w in words]}  # fmt: skip

    @server.tool()
    async def write(
        board: Board,
        address: Address,
        words: Annotated[
            list[Annotated[int, Field(ge=0, le=0xFFFF_FFFF)]],
            Field(min_length=1, max_length=1024, description="32-bit words to write in order."),
        ],
    ) -> dict[str, Any]:
        """Write 32-bit words to a board you reserved, from ``address`` on."""
        try:
            await (await client.session(board, keep=True)).write(address, words)
        except FpgaCloudError as exc:
            raise ToolError(hint(exc, board)) from None
        return {"fpga_id": board, "address": address, "written": len(words)}

    @server.tool()
    async def release(board: Board) -> dict[str, Any]:
        """Give a board you reserved back; it is reset and becomes idle for others."""
        try:
            reset = await (await client.session(board, keep=True)).release()
            await reset.wait(60)
        except FpgaCloudError as exc:
            raise ToolError(hint(exc, board)) from None
        return {"fpga_id": board, "released": True, "reset_job_id": str(reset.id)}

    @server.tool()
    async def job_log(
        board: Board,
        job_id: Annotated[str, Field(description="The job_id submit_design returned.")],
        tail: Annotated[int | None, Field(ge=1, description="Only the last N lines.")] = None,
    ) -> dict[str, Any]:
        """Fetch a job's log (every build stage's output), whole or its last lines."""
        try:
            lines = await _tail(client, board, job_id, tail)
        except ValueError:
            raise ToolError(f"job_not_found: {job_id!r} is not a job id") from None
        except FpgaCloudError as exc:
            raise ToolError(hint(exc, board)) from None
        return {"fpga_id": board, "job_id": job_id, "lines": lines}

    return server


async def _tail(
    client: AsyncClient, board: int | None, job_id: str, count: int | None
) -> list[str]:
    lines = [line async for line in client.job(board, job_id).logs()]
    return lines[-count:] if count else lines


def cmd_mcp(args: argparse.Namespace, out: Output) -> int:
    try:
        resolve()
    except ConfigError as exc:
        out.say(f"fpga-cloud mcp: {exc.message}")
        return EXIT_USAGE
    build_server(AsyncClient()).run("stdio")  # stdout carries the protocol; logs go to stderr
    return EXIT_OK
