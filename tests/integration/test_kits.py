"""The simulator kit: built once by the service, read-only to what runs in the sandbox, keyed
by everything it depends on, and a design built on it behaves as one built from scratch."""

from __future__ import annotations

import asyncio
import contextlib
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import hwbridge.build.kits as kits_module
from hwbridge.build.backends.virtual import CORE_OBJECTS, GLUE_OBJECTS, RUNTIME_OBJECTS
from hwbridge.build.contract import USER_WINDOW_BASE
from hwbridge.build.key import toolchain_versions
from hwbridge.build.kits import KitStore, kit_key
from hwbridge.sandbox import ResourceLimits, Sandbox, clean_environment
from hwbridge.uartbone import UARTBoneClient
from hwbridge.virtual.build import SimArtifact, build_sim
from hwbridge.virtual.simulator import Simulation
from tests.buildlog import Log

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LIMITS = ResourceLimits(memory_bytes=2 * 1024**3, max_file_bytes=1024**2, max_processes=64,
                        cpu_seconds=30)  # fmt: skip


def test_the_sandbox_user_cannot_change_a_kit(sim_kit: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    sandbox = Sandbox(hidden=(sim_kit.parent,))
    sandbox.open_build_dir(work)
    probe = (
        "import sys, pathlib\n"
        "kit = pathlib.Path(sys.argv[1])\n"
        "assert (kit / 'obj' / 'sim.o').read_bytes()  # readable\n"
        "for attempt in (lambda: open(kit / 'obj' / 'sim.o', 'ab'),\n"
        "                lambda: (kit / 'obj' / 'planted.o').write_bytes(b'x'),\n"
        "                lambda: (kit / 'obj' / 'sim.o').unlink()):\n"
        "    try:\n"
        "        attempt()\n"
        "    except OSError as exc:\n"
        "        print('refused', type(exc).__name__)\n"
        "    else:\n"
        "        print('ALLOWED')\n"
    )
    argv = [sys.executable, "-c", probe, str(sim_kit)]
    command = sandbox.command(argv, cwd=work, limits=LIMITS, readable=[sim_kit])
    done = subprocess.run(
        command, env=clean_environment(work), cwd="/", capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("refused") == 3 and "ALLOWED" not in done.stdout, done.stdout
    assert sorted(p.name for p in (sim_kit / "obj").iterdir()) == sorted(
        [*CORE_OBJECTS, *RUNTIME_OBJECTS, *GLUE_OBJECTS]
    )


def test_a_new_tool_version_is_a_new_kit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    before = kit_key("virtual")
    versions = toolchain_versions("virtual")
    for tool in ("litex", "verilator", "gcc"):
        kit_key.cache_clear()
        changed = {**versions, tool: versions[tool] + "+1"}
        monkeypatch.setattr(kits_module, "toolchain_versions", lambda *_, c=changed: c)
        assert kit_key("virtual") != before, tool
        assert KitStore(tmp_path, Sandbox()).path("virtual").name != f"virtual-{before[:16]}"
    kit_key.cache_clear()


@pytest.fixture
def fresh_kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kit built here and now, as if from scratch: no part of it shared with the session's."""
    store = KitStore(tmp_path_factory.mktemp("fresh-kits"), Sandbox())
    return asyncio.run(store.ensure("virtual", Log()))


@contextlib.contextmanager
def _board(artifact: SimArtifact, run_dir: Path) -> Iterator[UARTBoneClient]:
    sim = asyncio.run(Simulation.start(artifact, run_dir, pace_hz=0))
    link = UARTBoneClient(sim.url, timeout=2.0)
    link.open()
    try:
        yield link
    finally:
        link.close()
        asyncio.run(sim.stop())


def test_a_design_on_a_cached_kit_behaves_as_one_built_from_scratch(
    sim_kit: Path, fresh_kit: Path, tmp_path: Path
) -> None:
    assert fresh_kit != sim_kit
    source = (EXAMPLES / "echo_regs.py").read_bytes()
    rng = random.Random(5)
    script = [(rng.randrange(16), [rng.getrandbits(32) for _ in range(rng.randrange(1, 8))])
              for _ in range(50)]  # fmt: skip
    transcripts = []
    for name, kit in (("cached", sim_kit), ("fresh", fresh_kit)):
        artifact = asyncio.run(build_sim(source, tmp_path / name, Log(), kit=kit))
        seen = []
        with _board(artifact, tmp_path / f"{name}-run") as link:
            for index, words in script:
                link.write(USER_WINDOW_BASE + 4 * index, words)
                seen.append(link.read(USER_WINDOW_BASE, 16))
            seen.append(link.read(0x800, 8))  # the SoC's identifier
            seen.append(link.read(0x4, 1))  # its scratch register
        transcripts.append(seen)
    assert transcripts[0] == transcripts[1]
