"""Who connects to NATS as whom: credentials for the embedded server, its children and the tools.

``fpga-cloud up`` generates one random password per NATS user once per data directory and keeps
them in ``<data dir>/nats/credentials.json`` (mode 0600), so the CLI tools can reach the running
server. Each child process gets only its own user and password, in ``FPGA_CLOUD_NATS_USER`` and
``FPGA_CLOUD_NATS_PASSWORD`` (the API also its read-only ``projections`` password), and
nats-server gets the password variables of its configuration. Against an external server
(``NATS_URL``), every process reads its credentials from those same variables.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from events.connection import (
    ADMIN_USER,
    API_USER,
    CREDENTIAL_ENVS,
    PASSWORD_ENV,
    PROJECTIONS_PASSWORD_ENV,
    PROJECTIONS_USER,
    USER_ENV,
    NatsCredentials,
    connect,
    credentials_from_env,
)
from events.settings import Settings
from events.streams import provision
from services.nats.auth import HwbridgeHost, check_password, new_password, users
from services.nats.server import NatsServer

CREDENTIALS_FILE = "credentials.json"


def credentials_path(data_dir: Path) -> Path:
    return data_dir / "nats" / CREDENTIALS_FILE


def load_or_create_passwords(path: Path, names: Iterable[str]) -> dict[str, str]:
    """The passwords in ``path``, with a new random one for each user not in it yet.

    The file (and its directory) are readable by their owner only.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    stored: dict[str, str] = {}
    if path.exists():
        path.chmod(0o600)
        loaded = json.loads(path.read_text())
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected an object of user -> password")
        stored = {str(k): str(v) for k, v in loaded.items()}
    wanted = {n: stored.get(n) or new_password() for n in names}
    for password in wanted.values():
        check_password(password)
    merged = {**stored, **wanted}
    if merged != stored:
        scratch = path.with_name(f".{path.name}.tmp")
        with contextlib.suppress(FileNotFoundError):
            scratch.unlink()
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(merged, f, indent=2, sort_keys=True)
            f.write("\n")
        scratch.replace(path)
    return wanted


def stored_credentials(data_dir: Path, user: str) -> NatsCredentials | None:
    """``user``'s credentials from the data directory of an embedded server, if there are any."""
    path = credentials_path(data_dir)
    try:
        password = json.loads(path.read_text()).get(user)
    except (OSError, ValueError, AttributeError):
        return None
    return NatsCredentials(user, str(password)) if password else None


def tool_credentials(user: str, settings: Settings | None = None) -> NatsCredentials | None:
    """Credentials for a CLI tool: ``FPGA_CLOUD_NATS_USER``/``_PASSWORD`` when set, else
    ``user``'s from the embedded server's data directory, else none."""
    settings = settings or Settings.from_env()
    return credentials_from_env(user) or stored_credentials(settings.data_dir, user)


def scrubbed_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without any NATS credential (ours, or nats-server's password variables)."""
    return {
        k: v
        for k, v in env.items()
        if k not in CREDENTIAL_ENVS and not (k.startswith("FPGA_NATS_") and k.endswith("_PASSWORD"))
    }


@dataclass
class NatsAccess:
    """The NATS server the system runs on, and the credentials each of its processes gets."""

    url: str
    server: NatsServer | None = None
    hwbridge_user: str = ""
    passwords: dict[str, str] = field(default_factory=dict, repr=False)

    def credentials(self, user: str) -> NatsCredentials:
        return NatsCredentials(user, self.passwords[user])

    def child_env(self, env: Mapping[str, str], role: str) -> dict[str, str]:
        """The environment of the ``api`` or ``hwbridge`` child: ``env`` with only its own
        credentials. Against an external server, ``env`` is passed on unchanged."""
        if self.server is None:
            return dict(env)
        out = scrubbed_env(env)
        user = API_USER if role == "api" else self.hwbridge_user
        out[USER_ENV], out[PASSWORD_ENV] = user, self.passwords[user]
        if role == "api":
            out[PROJECTIONS_PASSWORD_ENV] = self.passwords[PROJECTIONS_USER]
        return out


def embedded_host(settings: Settings) -> HwbridgeHost:
    """The single hwbridge host of ``fpga-cloud up``: it owns every board of the farm."""
    return HwbridgeHost(settings.hwbridge_host, settings.fpga_ids)


async def start_nats(settings: Settings, port: int) -> NatsAccess:
    """Start the embedded server (unless ``NATS_URL`` is set), then create the streams as admin.

    Raises:
        NatsAuthError: The external server refused the admin credentials in the environment.
    """
    if settings.nats_url is not None:
        access = NatsAccess(settings.nats_url)
        admin = credentials_from_env(ADMIN_USER)
    else:
        host = embedded_host(settings)
        names = [u.name for u in users([host])]
        passwords = load_or_create_passwords(credentials_path(settings.data_dir), names)
        server = NatsServer(
            settings.data_dir / "nats", port=port, hosts=[host], passwords=passwords
        )
        await server.start()
        access = NatsAccess(server.url, server, host.user, passwords)
        admin = access.credentials(ADMIN_USER)
    try:
        await provision_streams(access.url, admin, settings.stream_replicas, settings)
    except BaseException:
        if access.server is not None:
            await access.server.stop()
        raise
    return access


async def provision_streams(
    url: str, admin: NatsCredentials | None, replicas: int, settings: Settings | None = None
) -> None:
    """Create or update every stream and bucket, as ``admin``."""
    nc = await connect(url, admin, name="fpga-cloud streams")
    try:
        await provision(nc.jetstream(), replicas, settings)
    finally:
        await nc.close()
