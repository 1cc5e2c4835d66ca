"""Credentials of the embedded server: stored once, private, and handed out one per process."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from events.connection import (
    NatsCredentials,
    credentials_from_env,
    forget_credentials_env,
    projections_credentials_from_env,
)
from events.settings import Settings
from services.nats.access import (
    NatsAccess,
    credentials_path,
    load_or_create_passwords,
    stored_credentials,
    tool_credentials,
)
from services.nats.auth import check_password


def test_passwords_are_generated_once_and_kept_private(tmp_path: Path) -> None:
    path = credentials_path(tmp_path)
    first = load_or_create_passwords(path, ["admin", "api"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_or_create_passwords(path, ["admin", "api"]) == first
    more = load_or_create_passwords(path, ["admin", "api", "hwbridge-lab"])
    assert {k: more[k] for k in first} == first
    check_password(more["hwbridge-lab"])
    assert json.loads(path.read_text()) == more
    path.chmod(0o644)
    load_or_create_passwords(path, ["admin"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_each_child_gets_only_its_own_credentials() -> None:
    passwords = {
        "admin": "A" * 20,
        "api": "B" * 20,
        "projections": "C" * 20,
        "hwbridge-x": "D" * 20,
    }
    access = NatsAccess("nats://h:1", server=object(), hwbridge_user="hwbridge-x",  # type: ignore[arg-type]
                        passwords=passwords)  # fmt: skip
    inherited = {
        "PATH": "/bin",
        "FPGA_NATS_ADMIN_PASSWORD": "leak",
        "FPGA_CLOUD_NATS_USER": "admin",
        "FPGA_CLOUD_NATS_PASSWORD": "leak",
        "FPGA_CLOUD_NATS_PROJECTIONS_PASSWORD": "leak",
    }
    api = access.child_env(inherited, "api")
    assert api == {
        "PATH": "/bin",
        "FPGA_CLOUD_NATS_USER": "api",
        "FPGA_CLOUD_NATS_PASSWORD": "B" * 20,
        "FPGA_CLOUD_NATS_PROJECTIONS_PASSWORD": "C" * 20,
    }
    hw = access.child_env(inherited, "hwbridge")
    assert hw == {"PATH": "/bin", "FPGA_CLOUD_NATS_USER": "hwbridge-x",
                  "FPGA_CLOUD_NATS_PASSWORD": "D" * 20}  # fmt: skip
    assert "A" * 20 not in repr(access)


def test_credentials_from_the_environment() -> None:
    env = {"FPGA_CLOUD_NATS_PASSWORD": "p" * 20, "FPGA_CLOUD_NATS_PROJECTIONS_PASSWORD": "q" * 20}
    assert credentials_from_env("api", env) == NatsCredentials("api", "p" * 20)
    assert projections_credentials_from_env(env) == NatsCredentials("projections", "q" * 20)
    env["FPGA_CLOUD_NATS_USER"] = "hwbridge-b"
    assert credentials_from_env("api", env) == NatsCredentials("hwbridge-b", "p" * 20)
    forget_credentials_env(env)
    assert env == {}
    assert credentials_from_env("api", env) is None  # an open server
    assert "p" * 20 not in repr(NatsCredentials("api", "p" * 20))


def test_tools_use_the_environment_then_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("FPGA_CLOUD_NATS_USER", "FPGA_CLOUD_NATS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(data_dir=tmp_path)
    assert tool_credentials("projections", settings) is None
    stored = load_or_create_passwords(credentials_path(tmp_path), ["admin", "projections"])
    assert tool_credentials("projections", settings) == NatsCredentials(
        "projections", stored["projections"]
    )
    assert stored_credentials(tmp_path, "nobody") is None
    monkeypatch.setenv("FPGA_CLOUD_NATS_PASSWORD", "x" * 20)
    assert tool_credentials("projections", settings) == NatsCredentials("projections", "x" * 20)
