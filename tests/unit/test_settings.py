"""Service settings: board id specs and the environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from events.boards import format_board_ids, parse_board_ids
from events.settings import Settings


@pytest.mark.parametrize(
    ("spec", "ids"),
    [
        ("0-9", tuple(range(10))),
        ("0,2,5-7", (0, 2, 5, 6, 7)),
        ("3", (3,)),
        (" 7 , 1 ", (1, 7)),
        ("5-7,6,0-1", (0, 1, 5, 6, 7)),
        ("4-4", (4,)),
        ("2,,3,", (2, 3)),
        ("10-12", (10, 11, 12)),
    ],
)
def test_parse_board_ids(spec: str, ids: tuple[int, ...]) -> None:
    assert parse_board_ids(spec) == ids
    assert parse_board_ids(format_board_ids(ids)) == ids


def test_format_board_ids_is_short() -> None:
    assert format_board_ids(tuple(range(100))) == "0-99"
    assert format_board_ids((0, 2, 5, 6, 7)) == "0,2,5-7"


@pytest.mark.parametrize("spec", ["", " ", ",", "a", "1-", "-1", "5-3", "0-x", "1-2-3", "1.5"])
def test_bad_board_specs_raise_value_error(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_board_ids(spec)


def test_from_an_empty_environment_gives_the_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.fpga_ids == tuple(range(10))
    assert settings.nats_url is None
    assert settings.port == 8000


def test_from_env_reads_every_variable() -> None:
    settings = Settings.from_env(
        {
            "NATS_URL": "nats://10.0.0.1:4222",
            "FPGA_CLOUD_DATA_DIR": "/srv/fpga",
            "FPGA_CLOUD_HOST": "0.0.0.0",
            "FPGA_CLOUD_PORT": "9000",
            "FPGA_CLOUD_BOARDS": "0,2,5-7",
            "FPGA_CLOUD_MAX_UPLOAD_BYTES": "1024",
            "FPGA_CLOUD_MAX_RUN_WORDS": "16",
            "FPGA_CLOUD_LEASE_SECONDS": "60",
        }
    )
    assert settings.nats_url == "nats://10.0.0.1:4222"
    assert settings.data_dir == Path("/srv/fpga")
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert settings.fpga_ids == (0, 2, 5, 6, 7)
    assert settings.max_upload_bytes == 1024
    assert settings.max_run_words == 16
    assert settings.lease_seconds == 60


def test_an_empty_nats_url_means_the_embedded_server() -> None:
    assert Settings.from_env({"NATS_URL": ""}).nats_url is None


@pytest.mark.parametrize(
    "env",
    [
        {"FPGA_CLOUD_PORT": "eighty"},
        {"FPGA_CLOUD_BOARDS": "9-0"},
        {"FPGA_CLOUD_MAX_UPLOAD_BYTES": "1k"},
    ],
)
def test_bad_values_raise_value_error(env: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        Settings.from_env(env)


def test_from_env_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FPGA_CLOUD_BOARDS", "1-2")
    monkeypatch.setenv("FPGA_CLOUD_PORT", "8123")
    settings = Settings.from_env()
    assert settings.fpga_ids == (1, 2)
    assert settings.port == 8123


def test_every_process_reads_the_same_settings() -> None:
    """The hwbridge's knobs are fields of the one object, read the same way."""
    settings = Settings.from_env(
        {
            "FPGA_CLOUD_HWBRIDGE_HOST": "b",
            "FPGA_CLOUD_INVENTORY": "/etc/fpga/inventory.toml",
            "FPGA_CLOUD_KIT_DIR": "/srv/kits",
            "FPGA_CLOUD_BUILD_SLOTS": "3",
            "FPGA_CLOUD_BUILD_CPU_S": "30",
            "FPGA_CLOUD_SANDBOX_USER": "4242",
            "FPGA_CLOUD_NATS_PORT": "4333",
        }
    )
    assert (settings.hwbridge_host, settings.build_slot_count, settings.build_cpu_s) == ("b", 3, 30)
    assert settings.inventory == Path("/etc/fpga/inventory.toml")
    assert settings.kits_dir == Path("/srv/kits")
    assert (settings.sandbox_user, settings.nats_port) == ("4242", 4333)
    assert Settings().kits_dir == Path("var/builds/kits")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FPGA_CLOUD_PORT": "eighty"}, "FPGA_CLOUD_PORT='eighty': not a whole number"),
        ({"FPGA_CLOUD_BUILD_SLOTS": "-1"}, "FPGA_CLOUD_BUILD_SLOTS='-1': must not be negative"),
        ({"FPGA_CLOUD_RATE_LIMIT": "fast"}, "FPGA_CLOUD_RATE_LIMIT='fast': not a number"),
        ({"FPGA_CLOUD_LEASE_SECONDS": "0"}, "FPGA_CLOUD_LEASE_SECONDS must be positive"),
        (
            {"FPGA_CLOUD_LEASE_SECONDS": "7200", "FPGA_CLOUD_MAX_SESSION_SECONDS": "3600"},
            "at most FPGA_CLOUD_MAX_SESSION_SECONDS",
        ),
    ],
)
def test_errors_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Settings.from_env(env)


def test_the_docs_document_every_setting() -> None:
    page = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    missing = [v for v in Settings.variables().values() if f"`{v}`" not in page]
    assert missing == []
