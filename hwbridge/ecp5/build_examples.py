"""Build every example design into an ECP5 bitstream and print what each costs.

``python -m hwbridge.ecp5.build_examples [--out DIR] [--yowasp-cache DIR] [DESIGN ...]``

Without designs it builds every design in ``examples/`` (``.py``, ``.v``, ``.sv``), each in the
language its name and content say. For each: wall-clock build time, LUT4 and FF use
(nextpnr's totals before packing), the system clock's achieved frequency against its 60 MHz
target, and the size of the ``.bit`` file. Exits non-zero if any build fails.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import time
from pathlib import Path

from events.designs import detect_language
from hwbridge.ecp5.build import BuildLimits, DesignBuildError, build_bitstream

REPO = Path(__file__).resolve().parents[2]
HEADER = f"{'design':<16}{'build s':>9}{'LUT4':>8}{'FF':>7}{'DP16KD':>8}{'MULT18':>8}"
HEADER += f"{'fmax MHz':>10}{'bit bytes':>11}"


async def _quiet(stage: str, line: str) -> None:
    return None


async def build_one(name: str, source: bytes, out: Path, cache: Path) -> str:
    """Build one design; return its row of the table (or the failure)."""
    started = time.monotonic()
    language = detect_language(name, source)
    if language is None:
        return f"{name:<16}FAILED: not a design"
    try:
        art = await build_bitstream(
            source, out, _quiet, limits=BuildLimits(timeout_s=1800), cache_dir=cache,
            language=language,
        )  # fmt: skip
    except DesignBuildError as exc:
        return f"{name:<16}FAILED ({exc.kind}): {exc.reason}"
    took = time.monotonic() - started
    use = art.utilisation
    return (
        f"{name:<16}{took:>9.1f}{use.get('LUT4', 0):>8}{use.get('FF', 0):>7}"
        f"{use.get('DP16KD', 0):>8}{use.get('MULT18X18D', 0):>8}{art.fmax_mhz:>10.2f}"
        f"{art.size_bytes:>11}"
    )


async def main_async(designs: list[Path], out: Path, cache: Path) -> int:
    """Build ``designs`` one after another (a build uses both cores) and print the table."""
    print(HEADER, flush=True)
    failed = 0
    for design in designs:
        shutil.rmtree(out / design.stem, ignore_errors=True)  # a build needs a fresh directory
        row = await build_one(design.name, design.read_bytes(), out / design.stem, cache)
        failed += "FAILED" in row
        print(row, flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m hwbridge.ecp5.build_examples")
    parser.add_argument("designs", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=REPO / "var" / "ecp5-examples")
    parser.add_argument("--yowasp-cache", type=Path, default=REPO / "var" / "yowasp-cache")
    args = parser.parse_args(argv)
    designs = args.designs or sorted(
        p for p in (REPO / "examples").iterdir() if detect_language(p.name, p.read_bytes())
    )
    if not designs:
        print("no designs to build", file=sys.stderr)
        return 2
    return asyncio.run(main_async(designs, args.out.resolve(), args.yowasp_cache.resolve()))


if __name__ == "__main__":
    sys.exit(main())
