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
