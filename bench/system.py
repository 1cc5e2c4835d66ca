"""Starts the whole system (``fpga-cloud up``) as a user would, on free ports, and drives it:
what the benchmarks measure, and what the end-to-end tests run against."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from events.connection import ADMIN_USER, NatsCredentials
from services.nats.access import stored_credentials

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
#: A simulator kit shared by every system started from this checkout (``FPGA_CLOUD_KIT_DIR``),
#: in the repository's ``var/kits`` like the tool cache in ``var/yowasp-cache``: a kit is the
#: same for every design, so building it once per checkout instead of once per system saves
#: minutes.
SHARED_KIT_DIR = REPO / "var" / "kits"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class System:
    """One ``fpga-cloud up`` process tree with its own data directory and ports."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.api_port = free_port()
        self.nats_port = free_port()
        self.extra_env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "up.log"
        self.api_key = ""
        """The key ``fpga-cloud up`` printed for the local user at the last start."""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.nats_port}"

    def nats_credentials(self, user: str = ADMIN_USER) -> NatsCredentials:
        """A NATS user's credentials, from the data directory as the CLI tools read them."""
        credentials = stored_credentials(self.data_dir, user)
        assert credentials is not None, f"no credentials for {user} in {self.data_dir}"
        return credentials

    def start(self, timeout: float = 60.0, *, until_key: bool = False) -> None:
        """Start ``fpga-cloud up``; return once it is healthy and has printed the local key, or
        (``until_key``) the moment the key is printed, without asking the API anything."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "FPGA_CLOUD_"))},
            "FPGA_CLOUD_DATA_DIR": str(self.data_dir),
            "FPGA_CLOUD_PORT": str(self.api_port),
            "FPGA_CLOUD_NATS_PORT": str(self.nats_port),
            "FPGA_CLOUD_KIT_DIR": str(SHARED_KIT_DIR),
            **self.extra_env,
        }
        log = self.log_path.open("ab")
        offset = log.tell()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "up"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fpga-cloud up exited: {self.log_path.read_text()[-2000:]}")
            self.api_key = self.api_key_from_log(offset)
            if until_key and self.api_key:
                return
            try:
                healthy = httpx.get(f"{self.base}/health", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                healthy = False
            if healthy and self.api_key:
                return
            time.sleep(0.1)
        raise RuntimeError(f"system not healthy in time: {self.log_path.read_text()[-2000:]}")

    def client(self, timeout: float = 30.0, key: str | None = None) -> httpx.Client:
        """An HTTP client with the local user's key (or ``key``)."""
        headers = {"X-API-Key": key or self.api_key}
        return httpx.Client(base_url=self.base, timeout=timeout, headers=headers)

    def api_key_from_log(self, offset: int) -> str:
        """The key in the ``export API_KEY=...`` line this start printed, or ''."""
        with self.log_path.open("rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        for line in text.splitlines():
            if line.strip().startswith("export API_KEY="):
                return line.split("=", 1)[1].strip()
        return ""

    def env(self) -> dict[str, str]:
        """The environment a CLI command run against this system gets."""
        return {**os.environ, "NATS_URL": self.nats_url, "FPGA_CLOUD_DATA_DIR": str(self.data_dir)}

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``fpga-cloud ARGS`` as an operator would, against this system."""
        return subprocess.run(
            [sys.executable, "-m", "services.cli", *args],
            env=self.env(), cwd=REPO, capture_output=True, text=True, timeout=60, check=check,
        )  # fmt: skip

    def create_key(self, name: str, *, admin: bool = False) -> str:
        """A new API key from ``fpga-cloud keys create``."""
        args = ["keys", "create", name, "--quiet", *(["--admin"] if admin else [])]
        return self.cli(*args).stdout.strip()

    def problems(self) -> list[str]:
        """Log lines no run should ever have: refused NATS permissions, unhandled errors."""
        if not self.log_path.exists():
            return []
        markers = ("permissions violation", "unhandled error", "Traceback")
        text = self.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if any(m in line for m in markers)]

    def stop(self, timeout: float = 30.0) -> None:
        """Ctrl-C, as a user would; everything must exit cleanly."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            self.proc = None
