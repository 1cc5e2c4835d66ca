"""Wishbone streams whose API process died are recorded as closed by another one.

A stream's ``StreamClosed`` is appended by the API process serving it when the stream ends. A
process killed with streams open never does, so every API process answers a ping on its own
subject while it runs (:class:`Presence`), and :class:`OrphanStreams` looks, at start and then
every few seconds, at the streams the views hold open: one served by a process that no longer
answers (NATS says no one listens) is closed in the record with what is known and reason
``api_restarted``. Several replicas may do it at once: the close's message id is the stream's
(:func:`~events.types.stream_closed_msg_id`), so it is stored once.
"""

from __future__ import annotations

import contextlib
import logging

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from events.store import EventStore
from events.subjects import api_presence_subject
from events.types import StreamClosed, StreamOpened, stream_closed_msg_id
from projections.runner import ProjectionRunner
from services.api.background import Chore

log = logging.getLogger(__name__)

ORPHAN_REASON = "api_restarted"
SWEEP_INTERVAL_S = 5.0
PING_TIMEOUT_S = 1.0


class Presence:
    """Answers pings on this process's subject while it runs."""

    def __init__(self, nc: NATS, instance: str) -> None:
        self._nc = nc
        self._subject = api_presence_subject(instance)
        self._sub: Subscription | None = None

    async def start(self) -> None:
        async def pong(msg: Msg) -> None:
            await msg.respond(b"alive")

        self._sub = await self._nc.subscribe(self._subject, cb=pong)
        await self._nc.flush()

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None


async def alive(nc: NATS, instance: str) -> bool | None:
    """Whether the API process ``instance`` runs: False when nobody answers, None if unsure."""
    if not instance:
        return False  # recorded before processes were named: none of those runs any more
    try:
        await nc.request(api_presence_subject(instance), b"", timeout=PING_TIMEOUT_S)
    except NoRespondersError:
        return False
    except NatsTimeout:
        return None
    return True


class OrphanStreams:
    """Closes, in the record, the open streams of API processes that are gone."""

    def __init__(self, store: EventStore, runner: ProjectionRunner, instance: str) -> None:
        self._store = store
        self._runner = runner
        self._instance = instance
        self._chore = Chore("orphan-streams", self.sweep, SWEEP_INTERVAL_S)

    async def sweep(self) -> list[StreamOpened]:
        """Close every orphaned stream now; the ones this call closed."""
        closed: list[StreamOpened] = []
        verdicts: dict[str, bool | None] = {}
        for opened in list(self._runner.views.open_streams.values()):
            if opened.api_instance == self._instance:
                continue  # ours: the handler records its own end
            if opened.api_instance not in verdicts:
                verdicts[opened.api_instance] = await alive(self._store.nc, opened.api_instance)
            if verdicts[opened.api_instance] is not False:
                continue
            event = StreamClosed(
                fpga_id=opened.fpga_id, stream_id=opened.stream_id,
                session_id=opened.session_id, reason=ORPHAN_REASON,
            )  # fmt: skip
            await self._store.append(event, msg_id=stream_closed_msg_id(opened.stream_id))
            log.info("stream %s on FPGA %d closed: its API process is gone", opened.stream_id,
                     opened.fpga_id)  # fmt: skip
            closed.append(opened)
        return closed

    async def start(self) -> None:
        await self.sweep()
        await self._chore.start()

    async def stop(self) -> None:
        await self._chore.stop()
