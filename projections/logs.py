"""Log view fold: appends a batch of lines, bounded per job."""

from __future__ import annotations

from events.types import LogAppended
from projections.views import LogView

MAX_LOG_BYTES = 4 * 1024 * 1024
TRUNCATION_NOTICE = "[log truncated: the rest of this job's output is over the size limit]"


def apply(log: LogView, entry: LogAppended) -> LogView:
    """Append the entry's lines, prefixed with their stage; past the limit keep one notice."""
    if log.truncated:
        return log
    lines = list(log.lines)
    size = log.size
    for line in entry.lines:
        text = f"[{entry.stage}] {line}"
        if size + len(text) + 1 > MAX_LOG_BYTES:
            lines.append(TRUNCATION_NOTICE)
            return LogView(lines=lines, size=size, truncated=True)
        lines.append(text)
        size += len(text) + 1
    return LogView(lines=lines, size=size)
