"""A virtual board's build: the pipeline's result as a :class:`SimArtifact`. Never imports LiteX."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from events.designs import MIGEN
from hwbridge.build.design import Design
from hwbridge.build.limits import BuildLimits, DesignBuildError
from hwbridge.build.runner import build
from hwbridge.drivers.base import LogFn
from hwbridge.sandbox import Sandbox
from hwbridge.virtual.artifact import SimArtifact
from hwbridge.virtual.constants import BOARD_KIND

__all__ = ["BuildLimits", "DesignBuildError", "SimArtifact", "build_sim"]


async def build_sim(
    source: bytes,
    out_dir: Path,
    log: LogFn,
    *,
    language: str = MIGEN,
    top: str | None = None,
    limits: BuildLimits | None = None,
    sandbox: Sandbox | None = None,
    tools_cache: Path | None = None,
    kit: Path,
    stages: dict[str, float] | None = None,
) -> SimArtifact:
    """Build a design into a virtual board (see :func:`hwbridge.build.runner.build`); ``kit``
    is the virtual boards' kit (:meth:`hwbridge.build.kits.KitStore.ensure`).

    Raises:
        DesignBuildError: If the design or the build failed, or a limit was hit.
        ValueError: If ``out_dir`` already holds a build.
    """
    design = Design(source, language, top)
    result = await build(
        design, BOARD_KIND, out_dir, log, limits=limits, sandbox=sandbox,
        tools_cache=tools_cache, kit=kit, stages=stages,
    )  # fmt: skip
    return _artifact(result, out_dir)


def _artifact(result: dict[str, Any], out_dir: Path) -> SimArtifact:
    root = Path(out_dir).resolve()
    try:
        artifact = SimArtifact.load(Path(result["path"]))
    except (KeyError, TypeError, FileNotFoundError, ValueError) as exc:
        raise DesignBuildError(f"the build reported an unusable simulator: {exc}") from None
    if not artifact.path.is_relative_to(root):
        raise DesignBuildError(f"the build reported a simulator outside {root}")
    return artifact
