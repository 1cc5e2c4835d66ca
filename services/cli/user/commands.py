"""The user commands' arguments, hooked into ``fpga-cloud``'s parser."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from services.cli.user import boards, bus, login, logs, submit, tunnel, watch
from services.cli.user.output import Handler, Output, add_json_flag, run

ParserFactory = Callable[..., argparse.ArgumentParser]
"""``add_parser`` of the ``fpga-cloud`` subcommands."""


def cmd_mcp(args: argparse.Namespace, out: Output) -> int:
    # The MCP server (and pydantic under it) is loaded only for this command.
    from services.cli.user.mcp_server import cmd_mcp as run_mcp

    return run_mcp(args, out)


#: command: (handler, argument adder or None, help)
COMMANDS: dict[str, tuple[Handler, Callable[[argparse.ArgumentParser], None] | None, str]] = {
    "login": (login.cmd_login, login.add_login_args, "check an API key and remember it"),
    "boards": (boards.cmd_boards, None, "list the boards: state, driver, owner, lease left"),
    "submit": (submit.cmd_submit, submit.add_submit_args, "upload a design to a board"),
    "read": (bus.cmd_read, bus.add_read_args, "read words from a board you hold"),
    "write": (bus.cmd_write, bus.add_write_args, "write words to a board you hold"),
    "release": (bus.cmd_release, bus.add_release_args, "give a board you hold back"),
    "logs": (logs.cmd_logs, logs.add_logs_args, "print (or follow) a job's log"),
    "watch": (watch.cmd_watch, watch.add_watch_args, "the boards, live, from the event feed"),
    "tunnel": (
        tunnel.cmd_tunnel, tunnel.add_tunnel_args,
        "serve the prototype's TCP protocol locally, relayed to a board you hold",
    ),
    "mcp": (cmd_mcp, None, "Model Context Protocol server for agents (stdio)"),
}  # fmt: skip


def add_user_commands(add_parser: ParserFactory) -> None:
    """Add every user command with ``add_parser`` (the subcommands' ``add_parser``)."""
    for name, (handler, add_args, help_text) in COMMANDS.items():
        parser = add_parser(name, help=help_text, description=help_text)
        if add_args is not None:
            add_args(parser)
        add_json_flag(parser)
        parser.set_defaults(func=run(handler))
