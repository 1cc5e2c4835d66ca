"""``python -m hwbridge``: the board workers of this host (``fpga-cloud hwbridge`` runs this).

Configured by the environment, as ``events.settings.Settings`` reads it (``NATS_URL`` is
required), and ``FPGA_CLOUD_NATS_USER`` (default ``hwbridge-<host>``) with
``FPGA_CLOUD_NATS_PASSWORD``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from msgspec.structs import replace

from events.boards import parse_board_ids
from events.connection import (
    NatsAuthError,
    StreamsMissing,
    credentials_from_env,
    forget_credentials_env,
    hwbridge_user,
)
from events.settings import Settings
from hwbridge.inventory import InventoryError, load_inventory
from hwbridge.main import BridgeConfig, serve
from hwbridge.sandbox import SandboxError, SandboxUser
from hwbridge.sandbox.identity import service_is_root

EXIT_CONFIG = 2


def config_from_env(boards: str | None, data_dir: str | None) -> BridgeConfig:
    """Raises InventoryError or ValueError on bad configuration."""
    settings = Settings.from_env()
    if boards:
        settings = replace(settings, fpga_ids=parse_board_ids(boards))
    if data_dir:
        settings = replace(settings, data_dir=Path(data_dir))
    if not settings.nats_url:
        raise ValueError("NATS_URL is not set: point it at the service's NATS server")
    if service_is_root():
        try:
            SandboxUser.resolve(settings.sandbox_user)
        except SandboxError as exc:
            raise ValueError(f"FPGA_CLOUD_SANDBOX_USER: {exc}") from None
    return BridgeConfig(
        settings=settings,
        credentials=credentials_from_env(hwbridge_user(settings.hwbridge_host)),
        inventory=load_inventory(settings.inventory, fpga_ids=settings.fpga_ids),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fpga-cloud hwbridge", description=__doc__)
    parser.add_argument("--boards", help="board ids, e.g. 0-9 (FPGA_CLOUD_BOARDS)")
    parser.add_argument("--data-dir", help="data directory (FPGA_CLOUD_DATA_DIR)")
    parser.add_argument("--check-inventory", action="store_true",
                        help="validate the inventory and exit")  # fmt: skip
    args = parser.parse_args(argv)
    if args.check_inventory:
        try:
            settings = Settings.from_env()
            load_inventory(settings.inventory, fpga_ids=settings.fpga_ids)
        except (InventoryError, ValueError) as exc:
            print(f"fpga-cloud: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        config = config_from_env(args.boards, args.data_dir)
    except (InventoryError, ValueError) as exc:
        print(f"fpga-cloud: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    forget_credentials_env()  # read once; no simulator, programmer or build child inherits them
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency
        pass
    try:
        asyncio.run(serve(config))
    except (NatsAuthError, StreamsMissing) as exc:
        print(f"fpga-cloud: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
