"""The SDK's settings: arguments, environment, and the login file ``fpga-cloud login`` writes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from fpga_cloud import ConfigError, Login, config_path, load_login, save_login
from fpga_cloud.config import resolve

URL = "http://farm.example:8000"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("FPGA_CLOUD_URL", "FPGA_CLOUD_API_KEY", "FPGA_CLOUD_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_the_file_lives_in_the_user_config_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert config_path() == tmp_path / "xdg" / "fpga-cloud" / "config.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert config_path() == tmp_path / "home" / ".config" / "fpga-cloud" / "config.toml"
    monkeypatch.setenv("FPGA_CLOUD_CONFIG", str(tmp_path / "elsewhere.toml"))
    assert config_path() == tmp_path / "elsewhere.toml"


def test_saved_private_and_read_back() -> None:
    path = save_login(Login(url=URL + "/", api_key='fpk_abc_"quoted"\\'))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_login() == Login(url=URL, api_key='fpk_abc_"quoted"\\')
    save_login(Login(url=URL, api_key="fpk_new_key"))  # replaced whole, still private
    assert load_login() == Login(url=URL, api_key="fpk_new_key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]


def test_a_broken_file_is_a_config_error() -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text("url = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_login()
    path.write_text('url = "http://x"\n')
    with pytest.raises(ConfigError, match="api_key"):
        load_login()


def test_argument_then_environment_then_file(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="fpga-cloud login"):
        resolve()
    save_login(Login(url=URL, api_key="fpk_file_key"))
    assert (resolve().url, resolve().api_key) == (URL, "fpk_file_key")
    monkeypatch.setenv("FPGA_CLOUD_API_KEY", "fpk_env_key")
    assert resolve().api_key == "fpk_env_key" and resolve().key_source == "FPGA_CLOUD_API_KEY"
    assert resolve(api_key="fpk_arg").api_key == "fpk_arg"


def test_the_files_key_goes_only_to_the_files_url(monkeypatch: pytest.MonkeyPatch) -> None:
    save_login(Login(url=URL, api_key="fpk_file_key"))
    monkeypatch.setenv("FPGA_CLOUD_URL", "http://other.example")
    with pytest.raises(ConfigError, match=r"no API key for http://other\.example"):
        resolve()
    with pytest.raises(ConfigError):
        resolve(base_url="http://127.0.0.1:9")
    assert resolve(base_url=URL + "/").api_key == "fpk_file_key"
