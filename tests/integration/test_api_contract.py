import asyncio, uuid
from events.store import EventStore
from events.types import JobQueued

async def test_probe(store: EventStore) -> None:
    for i in range(3):
        await store.append(JobQueued(fpga_id=i, job_id=uuid.uuid4(), owner="a", design_sha256="0", design_size=1))
    got = []
    async def cb(msg):
        got.append((msg.reply, msg.metadata.sequence))
    sub = await store.subscribe("fpga.1.>", cb)
    await asyncio.sleep(0.3)
    print(got)
