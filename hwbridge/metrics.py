"""A hwbridge host's metrics, in the Prometheus text format on a port of its own
(``FPGA_CLOUD_HWBRIDGE_METRICS_PORT``): builds and their durations, simulator starts, UARTBone
errors, health probes."""

from __future__ import annotations

from prometheus_client import Counter, Histogram, start_http_server

from events.types import BoardEvent, BuildFailed, BuildSucceeded

BUILDS = Counter(
    "fpga_hwbridge_builds", "Builds by outcome (built, cache_hit, failed).", ["outcome"]
)
BUILD_SECONDS = Histogram(
    "fpga_hwbridge_build_seconds",
    "Durations of builds that ran (cache hits not counted).",
    buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900),
)
SIMULATOR_STARTS = Counter("fpga_hwbridge_simulator_starts", "Verilator simulations started.")
UARTBONE_ERRORS = Counter("fpga_hwbridge_uartbone_errors", "UARTBone link errors.", ["operation"])
PROBES = Counter("fpga_hwbridge_probes", "Health probes by outcome.", ["outcome"])


def observe(event: BoardEvent) -> None:
    """Count what an event this host appended says (a build's outcome and duration)."""
    match event:
        case BuildSucceeded(cache_hit=True):
            BUILDS.labels("cache_hit").inc()
        case BuildSucceeded(duration_s=took):
            BUILDS.labels("built").inc()
            BUILD_SECONDS.observe(took)
        case BuildFailed():
            BUILDS.labels("failed").inc()


def serve_metrics(port: int) -> None:
    """Serve the metrics on 127.0.0.1:``port`` (a thread of this process); 0: not at all."""
    if port:
        start_http_server(port, addr="127.0.0.1")
