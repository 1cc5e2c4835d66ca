"""A digest of the board and job views: equal digests mean equal views. Pure."""

from __future__ import annotations

import hashlib
import uuid

import msgspec

from projections.views import BoardView, JobView

_encoder = msgspec.json.Encoder(order="sorted")


def views_digest(boards: dict[int, BoardView], jobs: dict[uuid.UUID, JobView]) -> str:
    """SHA-256 over the boards in id order and the jobs in job id order."""
    h = hashlib.sha256()
    for fpga_id in sorted(boards):
        h.update(_encoder.encode(boards[fpga_id]))
    for job in sorted(jobs.values(), key=lambda j: str(j.job_id)):
        h.update(_encoder.encode(job))
    return h.hexdigest()
