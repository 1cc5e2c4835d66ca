"""``fpga-cloud login``: check a key against the service and remember both for later commands.

The key is read from the terminal without echo (or from stdin when it is piped, so it never
shows in the process list) and saved with the URL in the SDK's login file, mode 0600.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from fpga_cloud import Client, Login, save_login
from fpga_cloud.config import DEFAULT_URL, ENV_URL

from services.cli.user.output import EXIT_OK, EXIT_USAGE, Output


def read_key() -> str:
    """The key, typed at a prompt (no echo) or piped in on stdin."""
    if sys.stdin.isatty():
        return getpass.getpass("API key (fpk_...): ").strip()
    return sys.stdin.readline().strip()


def cmd_login(args: argparse.Namespace, out: Output) -> int:
    url = args.url or os.environ.get(ENV_URL) or DEFAULT_URL
    key = read_key()
    if not key:
        out.say("fpga-cloud: no API key given (type it at the prompt, or pipe it on stdin)")
        return EXIT_USAGE
    with Client(url, key) as c:
        me = c.whoami()  # a wrong key or URL fails here, before anything is saved
        url = c.base_url
    path = save_login(Login(url=url, api_key=key))
    if out.json:
        out.document(
            {
                "url": url,
                "key_id": me.key_id,
                "name": me.name,
                "admin": me.admin,
                "config": str(path),
            }
        )
    else:
        role = "admin" if me.admin else "user"
        out.say(f"logged in to {url} as {me.name} (key {me.key_id}, {role}); saved in {path}")
    return EXIT_OK


def add_login_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", help=f"the service (default: ${ENV_URL}, else {DEFAULT_URL})", default=None
    )
