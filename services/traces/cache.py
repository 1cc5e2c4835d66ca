"""The last few recordings read back, by SHA-256: a reader asking for several forms or
selections of one trace reads and parses its file once."""

from __future__ import annotations

import threading
from collections import OrderedDict

from services.traces.waveform import Waveform, load

#: Recordings kept parsed (each holds every value change of its signals).
KEEP = 4


class WaveformCache:
    """Parsed recordings, least recently used first out; safe to use from threads."""

    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._items: OrderedDict[str, Waveform] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha256: str, fst: bytes) -> Waveform:
        """The parsed recording ``sha256`` (parsed from ``fst`` the first time).

        Raises:
            WaveformError: ``fst`` is not a readable waveform.
        """
        with self._lock:
            found = self._items.get(sha256)
            if found is not None:
                self._items.move_to_end(sha256)
                return found
        wave = load(fst)
        with self._lock:
            self._items[sha256] = wave
            while len(self._items) > self._keep:
                self._items.popitem(last=False)
        return wave
