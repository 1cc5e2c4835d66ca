"""Who gets the next free board: the farm's fairness rule, pure.

The next free board goes to the key that has waited longest among those holding the fewest
boards: keys take turns (round-robin), so a key with fifty waiting jobs does not starve a key
with one. Within a key, its jobs go in the order they came.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from projections.views import BoardView
from projections.waiting import Waiter, WaitingList


@dataclass(frozen=True, slots=True)
class Assignment:
    """One waiting job for one free board."""

    waiter: Waiter
    board: BoardView


def fair_order(waiting: WaitingList, held: Callable[[str], int]) -> list[Waiter]:
    """Every waiting job in the order it would get a board if boards came free one at a time
    (its position in line is its index + 1). ``held``: boards a key holds now."""
    return _turns(waiting.jobs, {w.owner: held(w.owner) for w in waiting.jobs}, waiting.served)


def next_assignment(
    waiting: WaitingList,
    boards: Iterable[BoardView],
    held: Callable[[str], int],
    max_boards: int,
) -> Assignment | None:
    """The first assignment to make now, or None: the free board with the lowest id that some
    waiting job can run on, and the fairest such job whose key is below ``max_boards`` (0: no
    limit). A key at its limit keeps its place and waits."""
    counts = {w.owner: held(w.owner) for w in waiting.jobs}
    eligible = [
        w for w in waiting.jobs if not max_boards or counts[w.owner] < max_boards
    ]  # fmt: skip
    if not eligible:
        return None
    order = _turns(eligible, counts, waiting.served)
    for board in sorted(boards, key=lambda b: b.fpga_id):
        if not board.assignable:
            continue
        for waiter in order:
            if waiter.job.driver in (None, board.driver):
                return Assignment(waiter, board)
    return None


def _turns(
    jobs: Sequence[Waiter], held: Mapping[str, int], served: Mapping[str, int]
) -> list[Waiter]:
    """Jobs in fair order: repeatedly the key with the fewest boards, then the one served
    longest ago (never: first), then the one whose next job came first."""
    queues: dict[str, deque[Waiter]] = {}
    for waiter in jobs:
        queues.setdefault(waiter.owner, deque()).append(waiter)
    holding = dict(held)
    last_served = dict(served)
    turn = max([*last_served.values(), *(w.seq for w in jobs), 0])
    order: list[Waiter] = []
    while queues:
        owner = min(
            queues,
            key=lambda o: (holding.get(o, 0), last_served.get(o, 0), queues[o][0].seq),
        )
        waiter = queues[owner].popleft()
        order.append(waiter)
        if not queues[owner]:
            del queues[owner]
        holding[owner] = holding.get(owner, 0) + 1
        turn += 1
        last_served[owner] = turn
    return order
