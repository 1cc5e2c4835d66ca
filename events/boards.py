"""Board ids of the farm, as written on command lines and in the environment."""

from __future__ import annotations


def parse_board_ids(spec: str) -> tuple[int, ...]:
    """Parse ``"0-9"`` or ``"0,2,5-7"`` into sorted unique board ids.

    Raises:
        ValueError: the spec is malformed.
    """
    ids: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        start, end = (int(lo), int(hi)) if sep else (int(lo), int(lo))
        if start < 0 or end < start:
            raise ValueError(f"bad board range {part!r}")
        ids.update(range(start, end + 1))
    if not ids:
        raise ValueError(f"no boards in {spec!r}")
    return tuple(sorted(ids))


def format_board_ids(ids: tuple[int, ...] | list[int]) -> str:
    """The shortest spec :func:`parse_board_ids` reads back: ``(0, 1, 2, 5)`` → ``"0-2,5"``."""
    parts: list[str] = []
    run: list[int] = []
    for fpga_id in sorted(set(ids)):
        if run and fpga_id == run[-1] + 1:
            run.append(fpga_id)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [fpga_id]
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(parts)
