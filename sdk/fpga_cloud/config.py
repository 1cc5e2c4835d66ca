"""Where a client finds the service and its key, and the login file that remembers them.

Each setting is taken from the first place that has it:

1. the argument (``Client(base_url=..., api_key=...)``);
2. the environment: ``FPGA_CLOUD_URL``, ``FPGA_CLOUD_API_KEY``;
3. the login file written by ``fpga-cloud login``: ``$FPGA_CLOUD_CONFIG``, else
   ``$XDG_CONFIG_HOME/fpga-cloud/config.toml``, else ``~/.config/fpga-cloud/config.toml``;
4. for the URL only, ``http://127.0.0.1:8000`` (a local ``fpga-cloud up``).

The file's key is used only with the file's URL, so a key saved for one service is never sent
to another. The file is TOML with two strings, ``url`` and ``api_key``, and mode 0600.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from fpga_cloud.errors import ConfigError

ENV_URL = "FPGA_CLOUD_URL"
ENV_API_KEY = "FPGA_CLOUD_API_KEY"
ENV_CONFIG = "FPGA_CLOUD_CONFIG"
DEFAULT_URL = "http://127.0.0.1:8000"
FILE_MODE = 0o600
DIR_MODE = 0o700


@dataclass(frozen=True)
class Login:
    """What the login file holds."""

    url: str
    api_key: str


@dataclass(frozen=True)
class Settings:
    """A client's resolved settings."""

    url: str
    """The service's base URL, without a trailing slash."""
    api_key: str
    key_source: str
    """Where the key came from: ``argument``, ``FPGA_CLOUD_API_KEY`` or the file's path."""


def config_path() -> Path:
    """The login file's path (it need not exist)."""
    explicit = os.environ.get(ENV_CONFIG)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "fpga-cloud" / "config.toml"


def load_login(path: Path | None = None) -> Login | None:
    """The saved login, or None when there is no file.

    Raises:
        ConfigError: the file exists but is not a login file.
    """
    path = path or config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    url, key = data.get("url"), data.get("api_key")
    if not isinstance(url, str) or not isinstance(key, str) or not url or not key:
        raise ConfigError(f"{path} needs two strings, url and api_key; run fpga-cloud login")
    return Login(url=normalise_url(url), api_key=key)


def save_login(login: Login, path: Path | None = None) -> Path:
    """Write the login file (mode 0600, its folder 0700), replacing it whole; its path."""
    path = path or config_path()
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    # JSON strings are TOML basic strings: quotes, backslashes and control characters escaped.
    text = (
        "# fpga-cloud login (written by `fpga-cloud login`; keep it private)\n"
        f"url = {json.dumps(normalise_url(login.url))}\n"
        f"api_key = {json.dumps(login.api_key)}\n"
    )
    fd, tmp = tempfile.mkstemp(prefix=".config-", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def normalise_url(url: str) -> str:
    """``url`` without surrounding spaces or a trailing slash."""
    return url.strip().rstrip("/")


def resolve(base_url: str | None = None, api_key: str | None = None) -> Settings:
    """The settings a client uses, from its arguments, the environment and the login file.

    Raises:
        ConfigError: no key anywhere, or an unreadable login file.
    """
    env_url = os.environ.get(ENV_URL) or None
    env_key = os.environ.get(ENV_API_KEY) or None
    login = None
    if (api_key is None and env_key is None) or (base_url is None and env_url is None):
        login = load_login()
    url = normalise_url(base_url or env_url or (login.url if login else DEFAULT_URL))
    if api_key:
        return Settings(url, api_key, "argument")
    if env_key:
        return Settings(url, env_key, ENV_API_KEY)
    if login is not None and login.url == url:
        return Settings(url, login.api_key, str(config_path()))
    raise ConfigError(
        f"no API key for {url}: pass api_key=, set {ENV_API_KEY}, or run `fpga-cloud login`"
    )
