"""The SDK on its own: a fresh virtual environment with nothing but ``pip install ./sdk`` runs
the quick start against the running system."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.system import EXAMPLES, REPO, System

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

#: What ``pip install ./sdk`` may bring: the SDK, its three dependencies and theirs.
ALLOWED = {
    "fpga-cloud-sdk", "httpx", "httpcore", "h11", "anyio", "idna", "sniffio", "certifi",
    "websockets", "msgspec", "typing-extensions", "exceptiongroup",
}  # fmt: skip


def test_quick_start_in_a_fresh_venv(system: System, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("FPGA_CLOUD_", "NATS_", "PYTHON", "VIRTUAL_ENV"))
    }  # fmt: skip
    source = tmp_path / "sdk"  # a copy: building in the checkout would leave build/ there
    shutil.copytree(REPO / "sdk", source, ignore=shutil.ignore_patterns("*.egg-info", "build"))
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    frozen = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    names = {line.split("==")[0].lower().replace("_", "-") for line in frozen.split()}
    assert names - {"pip", "setuptools"} <= ALLOWED

    env |= {"FPGA_CLOUD_URL": system.base, "FPGA_CLOUD_API_KEY": system.api_key,
            "HOME": str(tmp_path)}  # fmt: skip
    run = subprocess.run(
        [python, str(EXAMPLES / "sdk_quickstart.py")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "registers read back what was written" in run.stdout
    assert "released" in run.stdout
