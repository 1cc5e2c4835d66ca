"""``fpga-cloud``: run the whole system or any one of its parts."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import msgspec

from events.boards import parse_board_ids
from events.connection import NatsAuthError, StreamsMissing
from events.settings import Settings
from services.cli.toolconnect import NatsUnreachable


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency; fall back if absent
        return asyncio.run(coro)
    uvloop.install()
    return asyncio.run(coro)


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    changes: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        changes["data_dir"] = Path(args.data_dir)
    if getattr(args, "boards", None):
        changes["fpga_ids"] = parse_board_ids(args.boards)
    if getattr(args, "port", None):
        changes["port"] = args.port
    if getattr(args, "host", None):
        changes["host"] = args.host
    return msgspec.structs.replace(settings, **changes)


def _need_nats(settings: Settings) -> str:
    if not settings.nats_url:
        sys.exit("NATS_URL is not set: start `fpga-cloud up`, or point NATS_URL at a server")
    return settings.nats_url


def cmd_up(args: argparse.Namespace) -> int:
    from services.cli.supervisor import run_up

    # A bad board inventory is reported before anything starts.
    check = subprocess.run([sys.executable, "-m", "hwbridge", "--check-inventory"], check=False)
    if check.returncode != 0:
        return check.returncode
    return int(_run(run_up(_settings(args))))


def cmd_api(args: argparse.Namespace) -> int:
    from services.api.server import serve

    settings = _settings(args)
    _run(serve(settings, _need_nats(settings)))
    return 0


def cmd_hwbridge(args: argparse.Namespace) -> int:
    # hwbridge is its own program (services never import it): hand the process over to it.
    argv = [sys.executable, "-m", "hwbridge"]
    if args.boards:
        argv += ["--boards", args.boards]
    if args.data_dir:
        argv += ["--data-dir", args.data_dir]
    os.execv(sys.executable, argv)


def cmd_streams(args: argparse.Namespace) -> int:
    from events.connection import ADMIN_USER
    from services.nats.access import provision_streams, tool_credentials

    settings = Settings.from_env()
    url = _need_nats(settings)
    admin = tool_credentials(ADMIN_USER, settings)
    _run(provision_streams(url, admin, settings.stream_replicas, settings))
    print(f"streams and buckets ready on {url}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from services.cli.history import replay

    return int(_run(replay(args)))


def cmd_audit(args: argparse.Namespace) -> int:
    from services.cli.history import audit

    return int(_run(audit(args)))


def cmd_keys(args: argparse.Namespace) -> int:
    from services.cli.keys import keys_command

    return int(_run(keys_command(args)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fpga-cloud", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start NATS (unless NATS_URL is set), the API and hwbridge")
    api = sub.add_parser("api", help="run the HTTP API with its projections (needs NATS_URL)")
    hw = sub.add_parser("hwbridge", help="run the board workers (needs NATS_URL)")
    for p in (up, api, hw):
        p.add_argument("--data-dir", help="data directory (default ./var, FPGA_CLOUD_DATA_DIR)")
    for p in (up, hw):
        p.add_argument("--boards", help="board ids, e.g. 0-9 (FPGA_CLOUD_BOARDS)")
    for p in (up, api):
        p.add_argument("--host", help="API listen address (FPGA_CLOUD_HOST)")
        p.add_argument("--port", type=int, help="API port (FPGA_CLOUD_PORT)")
    rp = sub.add_parser("replay", help="print or export history; --rebuild checks the views")
    from services.cli.history import add_replay_args

    add_replay_args(rp)
    rp.set_defaults(func=cmd_replay)
    au = sub.add_parser("audit", help="audit tools (NATS_URL, else the running embedded server)")
    au_sub = au.add_subparsers(dest="audit_command", required=True)
    au_sub.add_parser("verify", help="check the hash chain; name the first bad event")
    au.set_defaults(func=cmd_audit)
    ks = sub.add_parser("keys", help="create, list, rotate and revoke API keys")
    from services.cli.keys import add_keys_args

    add_keys_args(ks)
    ks.set_defaults(func=cmd_keys)
    st = sub.add_parser("streams", help="create or update the streams and buckets (NATS admin)")
    st.set_defaults(func=cmd_streams)
    from services.cli.user.commands import add_user_commands

    add_user_commands(sub.add_parser)
    up.set_defaults(func=cmd_up)
    api.set_defaults(func=cmd_api)
    hw.set_defaults(func=cmd_hwbridge)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (ValueError, NatsAuthError, StreamsMissing) as exc:
        print(f"fpga-cloud: {exc}", file=sys.stderr)
        return 2
    except NatsUnreachable as exc:
        print(f"fpga-cloud: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
