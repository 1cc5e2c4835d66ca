"""``python -m hwbridge``: the board workers of this host (``fpga-cloud hwbridge`` runs this).

Configured by the environment: ``NATS_URL`` (required), ``FPGA_CLOUD_NATS_USER`` (default
``hwbridge-<host>``) and ``FPGA_CLOUD_NATS_PASSWORD``, ``FPGA_CLOUD_DATA_DIR``,
``FPGA_CLOUD_INVENTORY`` (board inventory TOML; default 10 virtual boards),
``FPGA_CLOUD_HWBRIDGE_HOST`` (which inventory host this is; default ``local``),
``FPGA_CLOUD_LEASE_SECONDS``, ``FPGA_CLOUD_BUILD_TIMEOUT_S``, ``FPGA_CLOUD_BUILD_MEMORY_MB``,
``FPGA_CLOUD_BUILD_CPU_S``, ``FPGA_CLOUD_BUILD_FILE_MB``, ``FPGA_CLOUD_BUILD_PROCESSES``,
``FPGA_CLOUD_SANDBOX_USER``, ``FPGA_CLOUD_BUILD_SLOTS``, ``FPGA_CLOUD_STREAM_REPLICAS``,
``FPGA_CLOUD_KIT_DIR``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from events.boards import parse_board_ids
from events.connection import (
    NatsAuthError,
    StreamsMissing,
    credentials_from_env,
    forget_credentials_env,
    hwbridge_user,
)
from hwbridge.build.limits import BuildLimits
from hwbridge.inventory import InventoryError, inventory_from_env
from hwbridge.main import BridgeConfig, serve
from hwbridge.sandbox import DEFAULT_USER, SandboxError, SandboxUser
from hwbridge.sandbox.identity import service_is_root

EXIT_CONFIG = 2


def config_from_env(boards: str | None, data_dir: str | None) -> BridgeConfig:
    """Raises InventoryError or ValueError on bad configuration."""
    e = os.environ
    nats_url = e.get("NATS_URL")
    if not nats_url:
        raise ValueError("NATS_URL is not set: point it at the service's NATS server")
    limits = BuildLimits(
        timeout_s=float(e.get("FPGA_CLOUD_BUILD_TIMEOUT_S", "300")),
        memory_bytes=int(e.get("FPGA_CLOUD_BUILD_MEMORY_MB", "2048")) * 1024**2,
        cpu_seconds=int(e.get("FPGA_CLOUD_BUILD_CPU_S", "600")),
        max_file_bytes=int(e.get("FPGA_CLOUD_BUILD_FILE_MB", "512")) * 1024**2,
        max_processes=int(e.get("FPGA_CLOUD_BUILD_PROCESSES", "512")),
    )
    sandbox_user = e.get("FPGA_CLOUD_SANDBOX_USER", DEFAULT_USER)
    if service_is_root():
        try:
            SandboxUser.resolve(sandbox_user)
        except SandboxError as exc:
            raise ValueError(f"FPGA_CLOUD_SANDBOX_USER: {exc}") from None
    inventory = inventory_from_env()
    host = e.get("FPGA_CLOUD_HWBRIDGE_HOST", "local")
    return BridgeConfig(
        nats_url=nats_url,
        fpga_ids=parse_board_ids(boards or e.get("FPGA_CLOUD_BOARDS", "0-9")),
        data_dir=Path(data_dir or e.get("FPGA_CLOUD_DATA_DIR", "var")).resolve(),
        host=host,
        credentials=credentials_from_env(hwbridge_user(host), e),
        inventory=inventory,
        lease_seconds=int(e.get("FPGA_CLOUD_LEASE_SECONDS", "3600")),
        stream_replicas=int(e.get("FPGA_CLOUD_STREAM_REPLICAS", "1")),
        build_slots=int(e.get("FPGA_CLOUD_BUILD_SLOTS", "0")) or os.cpu_count() or 1,
        build_limits=limits,
        sandbox_user=sandbox_user,
        kit_dir=Path(e["FPGA_CLOUD_KIT_DIR"]).resolve() if e.get("FPGA_CLOUD_KIT_DIR") else None,
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
            inventory_from_env()
        except InventoryError as exc:
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
