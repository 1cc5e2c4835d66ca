"""Service settings: one typed object read from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from events.boards import parse_board_ids
from events.streams import MAX_DESIGN_BYTES

__all__ = ["Settings", "parse_board_ids"]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every knob of the service; each field maps to one environment variable."""

    nats_url: str | None = None
    """NATS_URL: use this server instead of starting the embedded one."""
    data_dir: Path = Path("var")
    """FPGA_CLOUD_DATA_DIR: JetStream store, build outputs and simulator runs live here."""
    host: str = "127.0.0.1"
    """FPGA_CLOUD_HOST: address the API listens on."""
    port: int = 8000
    """FPGA_CLOUD_PORT: port the API listens on."""
    fpga_ids: tuple[int, ...] = tuple(range(10))
    """FPGA_CLOUD_BOARDS: boards of the farm, e.g. ``0-9``."""
    max_upload_bytes: int = 256 * 1024
    """FPGA_CLOUD_MAX_UPLOAD_BYTES: largest accepted design file."""
    max_run_words: int = 1024
    """FPGA_CLOUD_MAX_RUN_WORDS: most words one /run may read or write."""
    lease_seconds: int = 3600
    """FPGA_CLOUD_LEASE_SECONDS: session lease length shown as ``expires_at``."""
    max_session_seconds: int = 8 * 3600
    """FPGA_CLOUD_MAX_SESSION_SECONDS: longest a session may last, renewals included."""
    max_boards_per_key: int = 3
    """FPGA_CLOUD_MAX_BOARDS_PER_KEY: boards one API key may hold (queued to reserved) at once."""
    rate_limit_per_s: float = 50.0
    """FPGA_CLOUD_RATE_LIMIT: requests a second per API key, on average (0 = no limit)."""
    rate_limit_burst: int = 100
    """FPGA_CLOUD_RATE_BURST: requests one API key may make in a burst."""
    github_api_url: str = "https://api.github.com"
    """FPGA_CLOUD_GITHUB_API_URL: GitHub REST API base, asked ``GET /user`` on a key exchange."""
    github_allowed_users: tuple[str, ...] = ()
    """FPGA_CLOUD_GITHUB_USERS: comma-separated GitHub logins allowed a key (empty = any)."""
    build_timeout_s: float = 300.0
    """FPGA_CLOUD_BUILD_TIMEOUT_S: wall-clock limit of one design build."""
    build_memory_mb: int = 2048
    """FPGA_CLOUD_BUILD_MEMORY_MB: address-space limit of the build process."""
    stream_replicas: int = 1
    """FPGA_CLOUD_STREAM_REPLICAS: JetStream replicas per stream (3 on a NATS cluster)."""
    build_slots: int = 0
    """FPGA_CLOUD_BUILD_SLOTS: concurrent builds per hwbridge host (0 = number of cores)."""
    head_timeout_s: float = 10.0
    """FPGA_CLOUD_HEAD_TIMEOUT_S: a request's line and headers must arrive within this (408)."""
    body_timeout_s: float = 60.0
    """FPGA_CLOUD_BODY_TIMEOUT_S: a request's body must arrive within this of its head (408)."""
    max_connections_per_address: int = 256
    """FPGA_CLOUD_MAX_CONNECTIONS_PER_ADDRESS: open connections one client address may hold."""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        defaults = cls()
        settings = cls(
            nats_url=e.get("NATS_URL") or None,
            data_dir=Path(e.get("FPGA_CLOUD_DATA_DIR", str(defaults.data_dir))),
            host=e.get("FPGA_CLOUD_HOST", defaults.host),
            port=int(e.get("FPGA_CLOUD_PORT", defaults.port)),
            fpga_ids=parse_board_ids(e["FPGA_CLOUD_BOARDS"])
            if "FPGA_CLOUD_BOARDS" in e
            else defaults.fpga_ids,
            max_upload_bytes=int(e.get("FPGA_CLOUD_MAX_UPLOAD_BYTES", defaults.max_upload_bytes)),
            max_run_words=int(e.get("FPGA_CLOUD_MAX_RUN_WORDS", defaults.max_run_words)),
            lease_seconds=int(e.get("FPGA_CLOUD_LEASE_SECONDS", defaults.lease_seconds)),
            max_session_seconds=int(
                e.get("FPGA_CLOUD_MAX_SESSION_SECONDS", defaults.max_session_seconds)
            ),
            max_boards_per_key=int(
                e.get("FPGA_CLOUD_MAX_BOARDS_PER_KEY", defaults.max_boards_per_key)
            ),
            rate_limit_per_s=float(e.get("FPGA_CLOUD_RATE_LIMIT", defaults.rate_limit_per_s)),
            rate_limit_burst=int(e.get("FPGA_CLOUD_RATE_BURST", defaults.rate_limit_burst)),
            github_api_url=e.get("FPGA_CLOUD_GITHUB_API_URL", defaults.github_api_url),
            github_allowed_users=tuple(
                u.strip().lower()
                for u in e.get("FPGA_CLOUD_GITHUB_USERS", "").split(",")
                if u.strip()
            ),
            build_timeout_s=float(e.get("FPGA_CLOUD_BUILD_TIMEOUT_S", defaults.build_timeout_s)),
            build_memory_mb=int(e.get("FPGA_CLOUD_BUILD_MEMORY_MB", defaults.build_memory_mb)),
            build_slots=int(e.get("FPGA_CLOUD_BUILD_SLOTS", defaults.build_slots)),
            stream_replicas=int(e.get("FPGA_CLOUD_STREAM_REPLICAS", defaults.stream_replicas)),
            head_timeout_s=float(e.get("FPGA_CLOUD_HEAD_TIMEOUT_S", defaults.head_timeout_s)),
            body_timeout_s=float(e.get("FPGA_CLOUD_BODY_TIMEOUT_S", defaults.body_timeout_s)),
            max_connections_per_address=int(
                e.get(
                    "FPGA_CLOUD_MAX_CONNECTIONS_PER_ADDRESS", defaults.max_connections_per_address
                )
            ),
        )
        if not 0 < settings.max_upload_bytes <= MAX_DESIGN_BYTES:
            raise ValueError(
                f"FPGA_CLOUD_MAX_UPLOAD_BYTES must be between 1 and {MAX_DESIGN_BYTES} "
                "(a design is stored as one NATS message)"
            )
        return settings
