"""``fpga-cloud mcp`` driven by a real MCP client session over stdio: list the tools, then
submit, write, read and release on a virtual board, and errors an agent can act on."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.e2e.system import EXAMPLES, REPO, System

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

BOARD = 7


def server(system: System) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FPGA_CLOUD_")}
    env |= {"FPGA_CLOUD_URL": system.base, "FPGA_CLOUD_API_KEY": system.api_key}
    return StdioServerParameters(
        command=sys.executable, args=["-m", "services.cli", "mcp"], env=env, cwd=str(REPO)
    )


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    content = result.structured_content
    assert isinstance(content, dict)
    return content


async def refusal(session: ClientSession, tool: str, **arguments: Any) -> str:
    """The tool error's own text (after the MCP library's "Error executing tool T: ")."""
    result = await session.call_tool(tool, arguments)
    assert result.is_error
    text: str = result.content[0].text  # type: ignore[union-attr]
    return text.removeprefix(f"Error executing tool {tool}: ")


async def test_agent_builds_drives_and_releases_a_board(system: System) -> None:
    async with (
        stdio_client(server(system)) as (read_stream, write_stream),
        ClientSession(read_stream, write_stream) as session,
    ):
        await session.initialize()
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert set(tools) == {
            "list_boards", "submit_design", "read", "write", "release", "job_log",
        }  # fmt: skip
        schema = tools["write"].input_schema
        assert schema["required"] == ["board", "address", "words"]
        assert schema["properties"]["words"]["items"]["maximum"] == 0xFFFF_FFFF

        boards = (await call(session, "list_boards"))["boards"]
        assert [b["fpga_id"] for b in boards] == list(range(10))
        built = await call(
            session, "submit_design", source=(EXAMPLES / "echo_regs.py").read_text(),
            language="migen", board=BOARD,
        )  # fmt: skip
        assert built["outcome"] == "reserved" and built["window_size"] == 0x1000
        assert any("[program]" in line for line in built["log_tail"])
        mine = (await call(session, "list_boards"))["boards"][BOARD]
        assert mine["held_by_you"] and mine["state"] == "reserved"

        assert (await call(session, "write", board=BOARD, address=8, words=[5, 0xFFFFFFFF]))[
            "written"
        ] == 2
        read = await call(session, "read", board=BOARD, address=8, count=2)
        assert read["words"] == [5, 0xFFFFFFFF] and read["hex"][1] == "0xffffffff"
        text = await refusal(session, "read", board=BOARD, address=0x1000)
        assert text.startswith("address_out_of_range") and "window_size" in text

        log = await call(session, "job_log", board=BOARD, job_id=built["job_id"], tail=3)
        assert len(log["lines"]) == 3
        assert (await call(session, "release", board=BOARD))["released"] is True
        text = await refusal(session, "read", board=BOARD, address=0)
        assert text.startswith("no_active_session") and "submit_design" in text


async def test_a_failing_build_comes_back_with_its_reason(system: System) -> None:
    async with (
        stdio_client(server(system)) as (read_stream, write_stream),
        ClientSession(read_stream, write_stream) as session,
    ):
        await session.initialize()
        outcome = await call(
            session, "submit_design", filename="broken.v", board=BOARD,
            source="module user_design(input clk);\n  wire x = ;\nendmodule\n",
        )  # fmt: skip
        assert outcome["outcome"] == "failed" and outcome["error"]
        assert outcome["log_tail"]
        text = await refusal(session, "submit_design", source="x\n", board=99)
        assert text.startswith("validation_error")
