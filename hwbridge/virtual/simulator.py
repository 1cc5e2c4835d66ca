"""Run a compiled virtual board: one Verilator process per instance, reachable over TCP.

Each instance gets its own working directory (its own ``sim_config.js`` with its own port; the
compiled binary, the sim modules and the memory init files are shared by symlink), runs in its
own session so it can be stopped as a group, and logs to ``run_dir/sim.log``. A running
simulator spins one core: stop every instance you start.

The simulator executes the user's RTL (which can call ``$system`` or ``$fopen``), so it runs in
the sandbox (:class:`hwbridge.sandbox.Sandbox`) as the sandbox user, with memory, file-size and
process-count limits but no CPU-time limit (it runs for as long as the session), in its own pid
and mount namespaces: it sees the service's data directory only as its own working directory
(writable only in ``traces/``, where it writes its waveform recordings) and the build it runs
(read-only). It keeps the
host's network namespace: its UART is a TCP listen socket on 127.0.0.1 that the service connects
to, and loopback inside a network namespace of its own would be out of the service's reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import weakref
from pathlib import Path

from hwbridge.sandbox import ResourceLimits, Sandbox, SandboxError, clean_environment
from hwbridge.virtual.artifact import SimArtifact
from hwbridge.virtual.constants import BUSY_CYCLES, QUIET_CYCLES, SYS_CLK_FREQ
from hwbridge.virtual.recordings import TRACE_DIR, TraceCaps

SIM_MODULE = "serial2tcp_nodelay"
LOG_FILE = "sim.log"
#: Limits of a running simulator: no CPU-time limit, it runs as long as its session.
SIM_LIMITS = ResourceLimits(
    memory_bytes=2 * 1024**3, max_file_bytes=256 * 1024**2, max_processes=512, cpu_seconds=None
)
#: Vsim exits with this code when its serial module cannot bind the port.
_RC_PORT_IN_USE = 255
_PORT_ATTEMPTS = 5
_POLL_S = 0.01


class SimulationError(Exception):
    """The simulator failed to start."""


def _free_port() -> int:
    # The port can be taken again before Vsim binds it; start() retries on rc 255 for that.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _reap_group(proc: subprocess.Popen[bytes]) -> None:
    """Last-resort cleanup when a Simulation is garbage-collected or the interpreter exits."""
    if proc.poll() is None:
        _kill_group(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=1)


def prepare_run_dir(artifact: SimArtifact, run_dir: Path, port: int, pace_hz: int = 0) -> None:
    """Populate an instance's working directory.

    Args:
        artifact: The compiled board.
        run_dir: The instance's directory (created if missing).
        port: TCP port written into this instance's ``sim_config.js``.
        pace_hz: Clock cycles per second of real time the simulation is held to while its
            UART is idle (0: as fast as it can, always).
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o755)  # the sandboxed simulator enters it, and writes only its trace there
    links = [artifact.path / "modules", *sorted(artifact.path.glob("*.init"))]
    for target in links:
        link = run_dir / target.name
        if link.is_symlink() or link.is_file():
            link.unlink()
        link.symlink_to(target)
    config = json.loads((artifact.path / "sim_config.js").read_text())
    modules = [m for m in config if isinstance(m, dict) and m.get("module") == SIM_MODULE]
    if not modules:
        raise SimulationError(f"{artifact.path}/sim_config.js has no {SIM_MODULE} module")
    for module in modules:
        args = module.setdefault("args", {})
        args.update(port=port, pace_hz=pace_hz, busy_cycles=BUSY_CYCLES, quiet_cycles=QUIET_CYCLES)
    tmp = run_dir / "sim_config.js.tmp"
    tmp.write_text(json.dumps(config, indent=2))
    tmp.replace(run_dir / "sim_config.js")


class Simulation:
    """A running virtual board.

    Attributes:
        port: TCP port on 127.0.0.1 where the board's UARTBone bridge listens.
        run_dir: The instance's working directory.
        log_path: The simulator's log file.
    """

    def __init__(self, proc: subprocess.Popen[bytes], port: int, run_dir: Path) -> None:
        self._proc = proc
        self.port = port
        self.run_dir = run_dir
        self.log_path = run_dir / LOG_FILE
        self._finalizer = weakref.finalize(self, _reap_group, proc)

    @classmethod
    async def start(
        cls,
        artifact: SimArtifact,
        run_dir: Path,
        *,
        port: int | None = None,
        sandbox: Sandbox | None = None,
        limits: ResourceLimits = SIM_LIMITS,
        pace_hz: int = SYS_CLK_FREQ,
        trace_caps: TraceCaps | None = None,
    ) -> Simulation:
        """Launch a simulator and wait until its TCP port accepts connections.

        Args:
            artifact: The compiled board.
            run_dir: Working directory of this instance; never share it between instances.
            port: Fixed port, or None to pick a free one (retried if it is taken meanwhile).
            sandbox: The sandbox to run it in; default: the default :class:`Sandbox`.
            limits: Its resource limits.
            pace_hz: Its pace while idle (see :func:`prepare_run_dir`); 0 runs it flat out.
            trace_caps: The caps of its waveform recordings (default: no caps).

        Returns:
            The running simulation.

        Raises:
            SimulationError: If the simulator exits or does not listen within ~10 s.
        """
        run_dir = _resolve(run_dir)
        attempts = 1 if port is not None else _PORT_ATTEMPTS
        for attempt in range(attempts):
            chosen = port if port is not None else _free_port()
            prepare_run_dir(artifact, run_dir, chosen, pace_hz)
            log_offset = _log_size(run_dir)
            proc = _launch(artifact, run_dir, sandbox or Sandbox(), limits, trace_caps)
            try:
                rc = await _wait_listening(proc, chosen, run_dir / LOG_FILE, log_offset)
            except BaseException:
                _reap_group(proc)
                raise
            if rc is None:
                return cls(proc, chosen, run_dir)
            if rc != _RC_PORT_IN_USE or attempt == attempts - 1:
                raise SimulationError(
                    f"simulator exited with code {rc} on port {chosen}: {_log_tail(run_dir)}"
                )
        raise AssertionError("unreachable")

    @property
    def url(self) -> str:
        """pyserial URL of the board, ``socket://127.0.0.1:PORT``."""
        return f"socket://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """Process id of the simulator (also its process-group id)."""
        return self._proc.pid

    def alive(self) -> bool:
        """Whether the simulator process is still running."""
        return self._proc.poll() is None

    async def stop(self, grace_s: float = 2.0) -> None:
        """Terminate the simulator's process group; SIGKILL after ``grace_s``. Idempotent.

        Args:
            grace_s: Seconds to wait after SIGTERM before SIGKILL.
        """
        if self._proc.poll() is None:
            _kill_group(self._proc.pid, signal.SIGTERM)
            if not await _wait_exit(self._proc, grace_s):
                _kill_group(self._proc.pid, signal.SIGKILL)
                await _wait_exit(self._proc, None)
        self._finalizer.detach()


def _resolve(path: Path) -> Path:
    return Path(path).resolve()


async def _wait_exit(proc: subprocess.Popen[bytes], timeout_s: float | None) -> bool:
    """Poll until ``proc`` exits (and is reaped); False if ``timeout_s`` passed first."""
    # Popen rather than asyncio's subprocess: a Simulation outlives event loops in tests and
    # alive() must answer synchronously; a 10 ms poll for a few seconds at most is cheap.
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        await asyncio.sleep(_POLL_S)


def _launch(
    artifact: SimArtifact,
    run_dir: Path,
    sandbox: Sandbox,
    limits: ResourceLimits,
    trace_caps: TraceCaps | None,
) -> subprocess.Popen[bytes]:
    vsim = str(artifact.path / "obj_dir" / "Vsim")
    stdbuf = shutil.which("stdbuf")
    # Vsim block-buffers stdout when it is a file; stdbuf makes the log readable live.
    argv = [stdbuf, "-oL", "-eL", vsim] if stdbuf else [vsim]
    argv += (trace_caps or TraceCaps()).plusargs()
    traces = run_dir / TRACE_DIR
    try:
        # The run directory stays the service's; the simulator may write its recordings only.
        (run_dir / "sim.vcd").unlink(missing_ok=True)  # what earlier simulators left
        shutil.rmtree(traces, ignore_errors=True)
        sandbox.share(traces)
        command = sandbox.command(
            argv, cwd=run_dir, limits=limits, keep_network=True, readable=[artifact.path]
        )
    except (OSError, SandboxError) as exc:
        raise SimulationError(f"cannot start the simulator in its sandbox: {exc}") from None
    with (run_dir / LOG_FILE).open("ab") as log:
        return subprocess.Popen(
            command,
            cwd="/",
            env=clean_environment(run_dir),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _log_size(run_dir: Path) -> int:
    try:
        return (run_dir / LOG_FILE).stat().st_size
    except FileNotFoundError:
        return 0


def _bound(log_path: Path, offset: int, port: int) -> bool:
    """Whether this launch's log says the serial module bound ``port``."""
    try:
        with log_path.open("rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return False
    return f"listening on 127.0.0.1:{port}" in text


async def _wait_listening(
    proc: subprocess.Popen[bytes], port: int, log_path: Path, offset: int, timeout_s: float = 10.0
) -> int | None:
    """Wait until our simulator has bound ``port`` and the port accepts a connection.

    The bind is read from the simulator's log first: a connection alone could reach another
    process that took the port between picking and binding it. The probe connection counts as
    a client of the serial module; it sends nothing, and the module lets the next client
    replace it without delay.

    Returns:
        None once listening, or the simulator's exit code if it exited first.

    Raises:
        SimulationError: On timeout (the process is killed).
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rc = proc.poll()
        if rc is not None:
            return rc
        if not _bound(log_path, offset, port):
            await asyncio.sleep(_POLL_S)
            continue
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(_POLL_S)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return None
    _reap_group(proc)
    raise SimulationError(f"simulator did not listen on 127.0.0.1:{port} within {timeout_s:g} s")


def _log_tail(run_dir: Path, lines: int = 5) -> str:
    try:
        text = (run_dir / LOG_FILE).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return " | ".join(line for line in text.splitlines()[-lines:] if line.strip())
