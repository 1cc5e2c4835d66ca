"""Reads the streams after a fault-injection run and checks the history against them.

* every job-creating command (submit, run, release) answered 2xx is in the board stream
  exactly once (its job opened once); none answered 4xx is (the job its ``Idempotency-Key``
  would have created never opened); a cancel answered 204 ended its job as cancelled;
* per board, the history is a valid path through the board's state machine: no session opened
  over another, no run on a board that is not reserved by that session, no job ended twice;
* every job ended;
* no answer was a 500, and every 503 said when to retry;
* the live feed delivered every board event between its first and last, once, in order.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from bench.chaos.history import JOB_CREATING, NO_RETRY_AFTER, History
from events.codec import decode_stored
from events.farm import JobWaiting
from events.jobs import job_ended, job_opened
from events.store import EventStore, RawStored
from events.subjects import BOARD_STREAM_FILTERS, BOARD_SUBJECT_ROOT
from events.types import BoardEvent, RunQueued, SessionOpened
from projections.runner import Views
from services.api.idempotency import job_id_for


@dataclass
class Findings:
    """What the streams say about the history; ``problems`` empty means every check held."""

    events: int = 0
    jobs: int = 0
    lost: int = 0
    duplicated: int = 0
    refused_but_applied: int = 0
    unanswered: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if len(self.problems) < 50:
            self.problems.append(text)


async def read_history(store: EventStore) -> list[RawStored]:
    return [raw async for raw in store.read_raw(BOARD_STREAM_FILTERS)]


def check(history: History, stored: list[RawStored], fpga_ids: range) -> Findings:
    found = Findings(events=len(stored))
    opened: Counter[uuid.UUID] = Counter()
    ended: dict[uuid.UUID, list[str]] = defaultdict(list)
    views = Views(fpga_ids)
    for raw in stored:
        event = decode_stored(raw.data)
        if isinstance(event, BoardEvent):
            _check_transition(views, raw.seq, event, found)
        views.apply(raw.seq, event)
        job = job_opened(event)
        if job is not None and not isinstance(event, JobWaiting):
            opened[job.job_id] += 1
        end = job_ended(event)
        if end is not None:
            ended[end.job_id].append(f"{end.status} ({type(event).__name__} at {raw.seq})")
    found.jobs = len(opened)
    _check_commands(history, opened, ended, found)
    for job_id in opened:
        outcomes = ended.get(job_id, [])
        if len(outcomes) != 1:
            found.problem(f"job {job_id} ended {len(outcomes)} times: {outcomes}")
    _check_answers(history, found)
    for error in history.errors:
        found.problem(f"client error: {error}")
    _check_feed(history, stored, found)
    return found


def _check_transition(views: Views, seq: int, event: BoardEvent, found: Findings) -> None:
    board = views.boards.get(event.fpga_id)
    if board is None:
        found.problem(f"seq {seq}: event for unknown board {event.fpga_id}")
        return
    if isinstance(event, SessionOpened) and board.session is not None:
        found.problem(f"seq {seq}: board {event.fpga_id} opened a session over another")
    if isinstance(event, RunQueued) and (
        board.state != "reserved"
        or board.session is None
        or event.session_id not in (None, board.session.session_id)
    ):
        found.problem(
            f"seq {seq}: run on board {event.fpga_id} in state {board.state} "
            f"not reserved by its session"
        )


def _check_commands(
    history: History,
    opened: Counter[uuid.UUID],
    ended: dict[uuid.UUID, list[str]],
    found: Findings,
) -> None:
    for call in history.calls:
        if call.status is None:
            found.unanswered += 1
            continue
        if call.op in JOB_CREATING:
            if 200 <= call.status < 300:
                job = call.job_id
                times = opened.get(job, 0) if job is not None else 0
                if times == 0:
                    found.lost += 1
                    found.problem(f"{call.op} {call.idempotency_key} answered 2xx, not stored")
                elif times > 1:
                    found.duplicated += 1
                    found.problem(f"{call.op} {call.idempotency_key} stored {times} times")
            elif 400 <= call.status < 500:
                job = job_id_for(call.owner, call.idempotency_key)
                if opened.get(job, 0):
                    found.refused_but_applied += 1
                    found.problem(
                        f"{call.op} {call.idempotency_key} answered {call.status} "
                        f"({call.error_code}), yet stored"
                    )
        elif call.op == "cancel" and call.status == 204 and call.target_job is not None:
            outcomes = ended.get(call.target_job, [])
            if len(outcomes) != 1 or not outcomes[0].startswith("cancelled"):
                outcome = ended.get(call.target_job)
                found.problem(f"cancel {call.idempotency_key} answered 204; the job: {outcome}")


def _check_answers(history: History, found: Findings) -> None:
    answers = history.answers()
    if answers.get("500"):
        found.problem(f"{answers['500']} answers were 500")
    if answers.get(NO_RETRY_AFTER):
        found.problem(f"{answers[NO_RETRY_AFTER]} answers were 503 without Retry-After")


def _check_feed(history: History, stored: list[RawStored], found: Findings) -> None:
    seqs = history.feed_seqs
    if not seqs:
        found.problem("the live feed delivered nothing")
        return
    if any(b <= a for a, b in itertools.pairwise(seqs)):
        found.problem("the live feed delivered an event twice or out of order")
    delivered = set(seqs)
    first, last = seqs[0], seqs[-1]
    board_prefix = f"{BOARD_SUBJECT_ROOT}."
    missing = [
        raw.seq
        for raw in stored
        if first <= raw.seq <= last
        and raw.subject.startswith(board_prefix)
        and raw.seq not in delivered
    ]
    if missing:
        found.problem(f"the live feed skipped {len(missing)} events, first at seq {missing[0]}")
