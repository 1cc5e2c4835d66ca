"""An ECP5 board's build: the pipeline's result as a :class:`BitstreamArtifact`.

The untrusted design runs only in the elaborate phase, under the caller's limits; the board
phase (Yosys, nextpnr-ecp5, ecppack) gets the WebAssembly tools' address space and a
persistent, writable cache of their compiled code (the first run of each tool compiles its
WebAssembly, ~35-70 s; later runs load the cache), which the elaborate phase cannot see where
the platform gives the sandbox a mount namespace. Never imports LiteX.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from events.designs import MIGEN
from hwbridge.build.design import Design
from hwbridge.build.limits import BuildLimits, DesignBuildError
from hwbridge.build.runner import build
from hwbridge.drivers.base import LogFn
from hwbridge.ecp5.artifact import BitstreamArtifact
from hwbridge.ecp5.constants import BOARD_KIND, DEFAULT_BAUDRATE
from hwbridge.sandbox import Sandbox

__all__ = ["BitstreamArtifact", "BuildLimits", "DesignBuildError", "build_bitstream"]


async def build_bitstream(
    source: bytes,
    out_dir: Path,
    log: LogFn,
    *,
    limits: BuildLimits,
    cache_dir: Path,
    language: str = MIGEN,
    top: str | None = None,
    baudrate: int = DEFAULT_BAUDRATE,
    sandbox: Sandbox | None = None,
    stages: dict[str, float] | None = None,
) -> BitstreamArtifact:
    """Build a design into a bitstream for the ECP5 evaluation board.

    Args:
        source: The design's file.
        out_dir: Fresh directory for this build alone (any path works, ``/tmp`` included).
        log: Awaited with ``(stage, line)``; stages ``build``, ``elaborate``, ``yosys``,
            ``nextpnr`` and ``ecppack``.
        limits: Resource limits; the address-space limit applies to the user's code.
        cache_dir: Persistent YoWASP cache of compiled tools, e.g. ``<data_dir>/yowasp-cache``.
        language: The design's language.
        top: The top class or module, or None for the language's default.
        baudrate: UART rate of the bridge in the gateware.
        sandbox: The sandbox to build in; default: the default :class:`Sandbox`.
        stages: Filled with the seconds each stage took.

    Raises:
        DesignBuildError: If the design or the build failed (``kind`` ``design``,
            ``elaborate``, ``compile``, ``fit``, ``timing``, ``timeout``, ``limit`` or
            ``internal``).
        ValueError: If ``out_dir`` already holds a build.
    """
    result = await build(
        Design(source, language, top), BOARD_KIND, out_dir, log, limits=limits,
        sandbox=sandbox, tools_cache=cache_dir, options=[f"--baudrate={int(baudrate)}"],
        stages=stages,
    )  # fmt: skip
    return _artifact(result, out_dir)


def _artifact(result: dict[str, Any], out_dir: Path) -> BitstreamArtifact:
    root = Path(out_dir).resolve()
    try:
        artifact = BitstreamArtifact.from_json(result)
    except ValueError as exc:
        raise DesignBuildError(f"build reported a malformed result: {exc}") from None
    path = artifact.path.resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise DesignBuildError(f"build reported a bitstream that is not a file in {root}")
    artifact = dataclasses.replace(artifact, path=path)
    artifact.save(root)
    return artifact
