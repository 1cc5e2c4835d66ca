"""Built artifacts of one board kind: on this host, and in the bucket every host shares.

An artifact is a directory named by its :func:`~hwbridge.build.key.cache_key` under
``<data_dir>/builds/<kind>/``, complete when its ``artifact.json`` is there. A build writes its
package into a scratch directory of its own (unique per attempt: a build orphaned by a crashed
worker may still be writing its own) and moves it into place in one rename, so a directory
under its key is whole or absent; the first of two builds of one key wins. Board-neutral: both
drivers keep their builds here.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from hwbridge.cache import BuildCache
from hwbridge.drivers.base import LogFn

MARKER = "artifact.json"


class ArtifactStore:
    """A board kind's artifacts on this host and, through ``cache``, on every host.

    Args:
        root: This host's directory of the kind's artifacts (created when needed).
        cache: The shared build cache, or None to keep builds on this host only.
        noun: What an artifact is called in the log (``compiled simulator``, ``bitstream``).
    """

    def __init__(self, root: Path, cache: BuildCache | None, noun: str) -> None:
        self.root = root
        self._cache = cache
        self._noun = noun

    def path(self, key: str) -> Path:
        return self.root / key

    def local(self, key: str) -> Path | None:
        """The complete artifact under ``key`` on this host, if there is one."""
        path = self.path(key)
        return path if (path / MARKER).is_file() else None

    async def fetch(self, key: str, log: LogFn) -> Path | None:
        """The artifact from this host's disk or the shared cache; None if neither has it."""
        path = self.local(key)
        if path is not None:
            await log("build", f"cache hit: {self._noun} {key[:12]} on this host")
            return path
        if self._cache is None:
            return None
        try:
            found = await self._cache.get_dir(key, self.path(key))
        except Exception as exc:  # the cache is an optimisation: never fail a build on it
            await log("build", f"build cache unavailable ({type(exc).__name__}: {exc})")
            return None
        path = self.local(key) if found else None
        if path is not None:
            await log(
                "build", f"cache hit: {self._noun} {key[:12]} from the {self._cache.bucket} bucket"
            )
        return path

    def scratch(self, job_id: uuid.UUID) -> Path:
        """A fresh directory name for one build attempt (not created)."""
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / f"tmp-{job_id.hex}-{uuid.uuid4().hex[:8]}"

    def keep(self, package: Path, key: str) -> Path:
        """Move a finished package into place under ``key``; the artifact there afterwards."""
        final = self.path(key)
        try:
            package.rename(final)
        except OSError:  # the same design finished building for another board first: keep it
            shutil.rmtree(package, ignore_errors=True)
        return final

    async def share(self, key: str, log: LogFn, meta: dict[str, str]) -> None:
        """Put the artifact under ``key`` into the shared cache (a failure only costs a rebuild
        elsewhere)."""
        if self._cache is None:
            return
        try:
            await self._cache.put_dir(key, self.path(key), meta)
        except Exception as exc:
            await log("build", f"could not store the build in the build cache: {exc}")
