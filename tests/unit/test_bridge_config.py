"""The hwbridge's configuration from the environment: build limits and the sandbox."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hwbridge.__main__ import config_from_env
from hwbridge.build.limits import BuildLimits


def test_build_limits_and_sandbox_user_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("FPGA_CLOUD_INVENTORY", raising=False)
    for name, value in {
        "NATS_URL": "nats://127.0.0.1:4222",
        "FPGA_CLOUD_BUILD_TIMEOUT_S": "90",
        "FPGA_CLOUD_BUILD_MEMORY_MB": "1024",
        "FPGA_CLOUD_BUILD_CPU_S": "45",
        "FPGA_CLOUD_BUILD_FILE_MB": "64",
        "FPGA_CLOUD_BUILD_PROCESSES": "100",
        "FPGA_CLOUD_SANDBOX_USER": "4242",
    }.items():
        monkeypatch.setenv(name, value)
    config = config_from_env("0-1", str(tmp_path))
    assert config.build_limits == BuildLimits(
        timeout_s=90, memory_bytes=1024**3, cpu_seconds=45, max_file_bytes=64 * 1024**2,
        max_processes=100,
    )  # fmt: skip
    assert config.settings.sandbox_user == "4242"
    sandbox = config.sandbox()
    assert sandbox.user == "4242" and sandbox.hidden == (tmp_path.resolve(),)


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FPGA_CLOUD_INVENTORY", raising=False)
    for name in ("BUILD_TIMEOUT_S", "BUILD_MEMORY_MB", "BUILD_CPU_S", "BUILD_FILE_MB",
                 "BUILD_PROCESSES", "SANDBOX_USER"):  # fmt: skip
        monkeypatch.delenv(f"FPGA_CLOUD_{name}", raising=False)
    monkeypatch.setenv("NATS_URL", "nats://127.0.0.1:4222")
    config = config_from_env("0", str(tmp_path))
    assert config.build_limits == BuildLimits()
    assert config.settings.sandbox_user == "nobody"


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox user matters only to a root service")
def test_a_root_sandbox_user_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NATS_URL", "nats://127.0.0.1:4222")
    monkeypatch.setenv("FPGA_CLOUD_SANDBOX_USER", "root")
    with pytest.raises(ValueError, match=r"FPGA_CLOUD_SANDBOX_USER: .* is root"):
        config_from_env("0", str(tmp_path))
