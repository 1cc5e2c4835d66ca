"""Kits: what every build on a board kind shares, built once per host and reused read-only.

A virtual board's simulator is the base SoC (the same for every design) plus the design; the
kit holds everything but the design, compiled (:func:`hwbridge.build.backends.virtual.build_kit`),
so a design's build compiles only what depends on it. A kit is built by the service itself in
the sandbox, from no user input at all, then sealed (owned by the service, read-only to the
sandbox user; a build sees it read-only) and moved into place in one rename under a key that
covers everything it depends on: the tool versions (LiteX, Verilator, the compiler) and the
files that make the base SoC and the build flow. A new version of any of them is a new kit.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import shutil
import uuid
from pathlib import Path

from hwbridge.build.backends import BACKENDS
from hwbridge.build.key import fingerprint, toolchain_versions
from hwbridge.build.limits import BuildLimits, DesignBuildError
from hwbridge.build.runner import build_kit
from hwbridge.drivers.base import LogFn
from hwbridge.sandbox import Sandbox

_log = logging.getLogger(__name__)

#: The file a complete kit holds (written last by the kit build).
MARKER = "kit.json"
#: A kit builds in well under a minute; a cold, busy machine gets more.
KIT_LIMITS = BuildLimits(timeout_s=900.0, cpu_seconds=900)


@functools.cache
def kit_key(kind: str) -> str:
    """The key of ``kind``'s kit on this host (64 hex digits)."""
    header = {
        "kind": kind,
        "version": BACKENDS[kind].version,
        "toolchain": toolchain_versions(kind),
        "flow": fingerprint(kind),
    }
    return hashlib.sha256(json.dumps(header, sort_keys=True).encode()).hexdigest()


async def _debug_log(stage: str, line: str) -> None:
    _log.debug("[%s] %s", stage, line)


class KitStore:
    """The kits of this host, under ``root`` (``<data_dir>/builds/kits``).

    Args:
        root: Where kits live; inside the data directory's ``builds`` so that a sandbox without
            a mount namespace can still reach them by name.
        sandbox: The sandbox kits are built in.
        limits: The limits of a kit's build (a compile: the builds' memory limit applies).
    """

    def __init__(self, root: Path, sandbox: Sandbox, limits: BuildLimits = KIT_LIMITS) -> None:
        self.root = root
        self._sandbox = sandbox
        self._limits = limits
        self._locks: dict[str, asyncio.Lock] = {}

    def path(self, kind: str) -> Path:
        return self.root / f"{kind}-{kit_key(kind)[:16]}"

    def ready(self, kind: str) -> bool:
        return (self.path(kind) / MARKER).is_file()

    async def ensure(self, kind: str, log: LogFn) -> Path:
        """The kit of ``kind``, built first if this host has none (one build at a time).

        Raises:
            DesignBuildError: It does not build.
        """
        final = self.path(kind)
        async with self._locks.setdefault(kind, asyncio.Lock()):
            if self.ready(kind):
                return final
            await log("build", f"building the {kind} kit (once per host and tool version)")
            scratch = self.root / f"tmp-{kind}-{uuid.uuid4().hex[:8]}"
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                await build_kit(
                    kind, scratch, _debug_log, limits=self._limits, sandbox=self._sandbox
                )
                try:
                    scratch.rename(final)
                except OSError:
                    if not self.ready(kind):  # not merely another process that finished first
                        raise DesignBuildError(f"cannot put the {kind} kit in place") from None
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            await log("build", f"the {kind} kit is ready")
        return final
