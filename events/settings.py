"""The service's settings: one typed object, read from the environment by every process.

The API, the hwbridge and the command line all read :class:`Settings`; each field is one
environment variable, named next to it and documented once, here. Secrets are not settings:
NATS passwords (``events.connection.credentials_from_env``) are read once and removed from the
environment, and a client's API key is the command line's own business.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, get_type_hints

import msgspec

from events.boards import parse_board_ids

#: The largest design the service accepts in any configuration: a design is stored as one
#: chunk, one message, under nats.conf's ``max_payload`` (1 MB) with room for the headers.
MAX_DESIGN_BYTES = 1000 * 1024
#: A session's lease, and the longest a session may last, when nothing else is said (they are
#: also what events written before sessions carried their own lengths are read with).
DEFAULT_LEASE_SECONDS = 3600
DEFAULT_MAX_SESSION_SECONDS = 8 * 3600


def env(name: str) -> msgspec.Meta:
    """The environment variable a setting is read from."""
    return msgspec.Meta(extra={"env": name})


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every knob of the service."""

    # -- where things are
    nats_url: Annotated[str | None, env("NATS_URL")] = None
    """NATS server to use instead of starting the embedded one (required by a lone hwbridge)."""
    nats_port: Annotated[int, env("FPGA_CLOUD_NATS_PORT")] = 4222
    """Port of the embedded nats-server ``fpga-cloud up`` starts."""
    data_dir: Annotated[Path, env("FPGA_CLOUD_DATA_DIR")] = Path("var")
    """JetStream store, build outputs, kits and simulator runs live here."""
    host: Annotated[str, env("FPGA_CLOUD_HOST")] = "127.0.0.1"
    """Address the API listens on."""
    port: Annotated[int, env("FPGA_CLOUD_PORT")] = 8000
    """Port the API listens on."""
    fpga_ids: Annotated[tuple[int, ...], env("FPGA_CLOUD_BOARDS")] = tuple(range(10))
    """Boards of the farm, e.g. ``0-9`` or ``0,2,5-7``."""
    stream_replicas: Annotated[int, env("FPGA_CLOUD_STREAM_REPLICAS")] = 1
    """JetStream replicas per stream and bucket (3 on a NATS cluster)."""

    # -- the API's limits and policies
    max_upload_bytes: Annotated[int, env("FPGA_CLOUD_MAX_UPLOAD_BYTES")] = 256 * 1024
    """Largest accepted design file."""
    max_run_words: Annotated[int, env("FPGA_CLOUD_MAX_RUN_WORDS")] = 1024
    """Most words one ``/run`` may read or write."""
    lease_seconds: Annotated[int, env("FPGA_CLOUD_LEASE_SECONDS")] = DEFAULT_LEASE_SECONDS
    """A new session's lease; each run renews it. Decided with the submit, kept in its events."""
    max_session_seconds: Annotated[int, env("FPGA_CLOUD_MAX_SESSION_SECONDS")] = (
        DEFAULT_MAX_SESSION_SECONDS
    )
    """Longest a new session may last, renewals included; kept in its events like the lease."""
    max_boards_per_key: Annotated[int, env("FPGA_CLOUD_MAX_BOARDS_PER_KEY")] = 3
    """Boards one API key may hold (queued to reserved) at once (0 = no limit)."""
    max_waiting_per_key: Annotated[int, env("FPGA_CLOUD_MAX_WAITING_PER_KEY")] = 100
    """Jobs one API key may have waiting for any board (0 = no limit)."""
    rate_limit_per_s: Annotated[float, env("FPGA_CLOUD_RATE_LIMIT")] = 50.0
    """Requests a second per API key, on average (0 = no limit)."""
    rate_limit_burst: Annotated[int, env("FPGA_CLOUD_RATE_BURST")] = 100
    """Requests one API key may make in a burst."""
    head_timeout_s: Annotated[float, env("FPGA_CLOUD_HEAD_TIMEOUT_S")] = 10.0
    """A request's line and headers must arrive within this (else 408)."""
    body_timeout_s: Annotated[float, env("FPGA_CLOUD_BODY_TIMEOUT_S")] = 60.0
    """A request's body must arrive within this of its head (else 408)."""
    max_connections_per_address: Annotated[int, env("FPGA_CLOUD_MAX_CONNECTIONS_PER_ADDRESS")] = 256
    """Open connections one client address may hold (else 429)."""
    github_api_url: Annotated[str, env("FPGA_CLOUD_GITHUB_API_URL")] = "https://api.github.com"
    """GitHub REST API base, asked ``GET /user`` on a key exchange."""
    github_allowed_users: Annotated[tuple[str, ...], env("FPGA_CLOUD_GITHUB_USERS")] = ()
    """Comma-separated GitHub logins allowed a key (empty = any)."""

    # -- a hwbridge host
    hwbridge_host: Annotated[str, env("FPGA_CLOUD_HWBRIDGE_HOST")] = "local"
    """Which inventory host this hwbridge is (its NATS user is ``hwbridge-<host>``)."""
    inventory: Annotated[Path | None, env("FPGA_CLOUD_INVENTORY")] = None
    """Board inventory (TOML); unset: ten virtual boards on host ``local``."""
    kit_dir: Annotated[Path | None, env("FPGA_CLOUD_KIT_DIR")] = None
    """Where a host keeps its build kits (unset: ``<data_dir>/builds/kits``)."""
    openfpgaloader: Annotated[str, env("FPGA_CLOUD_OPENFPGALOADER")] = "openFPGALoader"
    """The programmer of ECP5 boards: a path, or a name on ``PATH``."""
    health_interval_s: Annotated[float, env("FPGA_CLOUD_HEALTH_INTERVAL_S")] = 600.0
    """Seconds between health probes of an idle board (0: no probes); a failing board is
    probed again ten times sooner."""
    hwbridge_metrics_port: Annotated[int, env("FPGA_CLOUD_HWBRIDGE_METRICS_PORT")] = 0
    """Port (on 127.0.0.1) of the hwbridge host's metrics in the Prometheus format (0: none)."""
    build_slots: Annotated[int, env("FPGA_CLOUD_BUILD_SLOTS")] = 0
    """Concurrent builds per hwbridge host (0 = the number of cores)."""
    build_timeout_s: Annotated[float, env("FPGA_CLOUD_BUILD_TIMEOUT_S")] = 300.0
    """Wall-clock limit of one build."""
    build_memory_mb: Annotated[int, env("FPGA_CLOUD_BUILD_MEMORY_MB")] = 2048
    """Address-space limit of each build process."""
    build_cpu_s: Annotated[int, env("FPGA_CLOUD_BUILD_CPU_S")] = 600
    """CPU-time limit of each build process."""
    build_file_mb: Annotated[int, env("FPGA_CLOUD_BUILD_FILE_MB")] = 512
    """Largest file a build process may write."""
    build_processes: Annotated[int, env("FPGA_CLOUD_BUILD_PROCESSES")] = 512
    """Processes and threads the sandbox user may have while building."""
    sandbox_user: Annotated[str, env("FPGA_CLOUD_SANDBOX_USER")] = "nobody"
    """User (name or uid) builds and simulations run as when the service runs as root."""

    # -- waveform recordings of virtual boards
    trace_max_cycles: Annotated[int, env("FPGA_CLOUD_TRACE_MAX_CYCLES")] = 1_000_000
    """Clock cycles one recording may hold; it stops there (``cycle_cap``). An idle board's
    clock runs at 100 kHz, so a window recording lasts 10 s of idle time by default."""
    trace_max_bytes: Annotated[int, env("FPGA_CLOUD_TRACE_MAX_BYTES")] = 16 * 1024 * 1024
    """Size of one recording's FST file past which it stops (``byte_cap``; checked every
    16,384 cycles, so a file may pass it by what those add)."""
    trace_bucket_bytes: Annotated[int, env("FPGA_CLOUD_TRACE_BUCKET_BYTES")] = 1024**3
    """Size limit of the trace bucket; when it is full, new recordings fail until old ones
    expire."""
    trace_max_age_s: Annotated[float, env("FPGA_CLOUD_TRACE_MAX_AGE_S")] = 7 * 24 * 3600.0
    """Age at which a stored recording expires from the trace bucket."""

    @property
    def build_slot_count(self) -> int:
        """``build_slots``, with 0 read as the number of cores."""
        return self.build_slots or os.cpu_count() or 1

    @property
    def kits_dir(self) -> Path:
        return self.kit_dir or self.data_dir / "builds" / "kits"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings the environment gives (unset or empty: the default).

        Raises:
            ValueError: a value is malformed or out of range; the message names the variable.
        """
        e = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, (variable, kind) in _VARIABLES.items():
            raw = e.get(variable, "").strip()
            if not raw:
                continue
            parse = _PARSERS.get(name) or _converter(kind)
            try:
                values[name] = parse(raw)
            except ValueError as exc:
                raise ValueError(f"{variable}={raw!r}: {exc}") from None
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """Raises ValueError for values no process could run with."""
        if not 0 < self.max_upload_bytes <= MAX_DESIGN_BYTES:
            raise ValueError(
                f"FPGA_CLOUD_MAX_UPLOAD_BYTES must be between 1 and {MAX_DESIGN_BYTES} "
                "(a design is stored as one NATS message)"
            )
        if min(self.trace_max_cycles, self.trace_max_bytes, self.trace_bucket_bytes) <= 0:
            raise ValueError(
                "FPGA_CLOUD_TRACE_MAX_CYCLES, FPGA_CLOUD_TRACE_MAX_BYTES and "
                "FPGA_CLOUD_TRACE_BUCKET_BYTES must be positive"
            )
        if self.lease_seconds <= 0 or self.max_session_seconds < self.lease_seconds:
            raise ValueError(
                "FPGA_CLOUD_LEASE_SECONDS must be positive and at most "
                "FPGA_CLOUD_MAX_SESSION_SECONDS"
            )

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Each field's environment variable."""
        return {name: variable for name, (variable, _) in _VARIABLES.items()}


_KIND_NAMES = {int: "a whole number", float: "a number"}


def _converter(kind: Any) -> Callable[[str], Any]:
    def convert(raw: str) -> Any:
        try:
            value = msgspec.convert(raw, kind, strict=False, dec_hook=_to_path)
        except msgspec.ValidationError:
            raise ValueError(f"not {_KIND_NAMES.get(kind, kind)}") from None
        if isinstance(value, int | float) and value < 0:
            raise ValueError("must not be negative")
        return value

    return convert


def _to_path(kind: type, value: Any) -> Any:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError


def _logins(raw: str) -> tuple[str, ...]:
    return tuple(u.strip().lower() for u in raw.split(",") if u.strip())


_PARSERS: dict[str, Callable[[str], Any]] = {
    "fpga_ids": parse_board_ids,
    "github_allowed_users": _logins,
}


def _variables() -> dict[str, tuple[str, Any]]:
    hints = get_type_hints(Settings, include_extras=True)
    found: dict[str, tuple[str, Any]] = {}
    for name in Settings.__struct_fields__:
        hint = hints[name]
        meta = next(m for m in hint.__metadata__ if isinstance(m, msgspec.Meta))
        assert meta.extra is not None
        found[name] = (meta.extra["env"], hint.__origin__)
    return found


_VARIABLES = _variables()
