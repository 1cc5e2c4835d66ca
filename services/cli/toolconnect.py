"""How the CLI tools reach NATS: which server, as whom, and a clear error when none answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from urllib.parse import urlsplit

from nats.aio.client import Client as NATS

from events.connection import connect, redact
from events.settings import Settings
from services.nats.access import tool_credentials

DEFAULT_NATS = "nats://127.0.0.1:4222"
REACH_TIMEOUT_S = 3.0


class NatsUnreachable(Exception):
    """No NATS server answers where the tool looked."""


def embedded_url(data_dir: Path) -> str | None:
    """The URL of the embedded server running on ``data_dir``, from the ports file it writes."""
    files = sorted((data_dir / "nats" / "ports").glob("*.ports"), key=lambda p: p.stat().st_mtime)
    for path in reversed(files):
        with contextlib.suppress(OSError, ValueError, KeyError, IndexError, TypeError):
            return str(json.loads(path.read_text())["nats"][0])
    return None


def tool_url(settings: Settings) -> str:
    """``NATS_URL``, else the embedded server of the data directory, else the default port."""
    return settings.nats_url or embedded_url(settings.data_dir) or DEFAULT_NATS


async def tool_connect(user: str, *, name: str, settings: Settings | None = None) -> NATS:
    """Connect a CLI tool as ``user`` (see :func:`tool_credentials`), failing fast.

    Raises:
        NatsUnreachable: nothing listens at the URL.
    """
    settings = settings or Settings.from_env()
    url = tool_url(settings)
    if not any([await _reachable(u.strip()) for u in url.split(",") if u.strip()]):
        raise NatsUnreachable(
            f"no NATS server answers at {redact(url)}: start `fpga-cloud up` (make run), "
            "or point NATS_URL (and FPGA_CLOUD_DATA_DIR) at the running system"
        )
    return await connect(url, tool_credentials(user, settings), name=name)


async def _reachable(url: str) -> bool:
    """Whether something listens at ``url`` (one server of a ``NATS_URL`` list)."""
    parts = urlsplit(url)
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(parts.hostname or "127.0.0.1", parts.port or 4222),
            REACH_TIMEOUT_S,
        )
    except (OSError, TimeoutError, ValueError):
        return False
    writer.close()
    return True
