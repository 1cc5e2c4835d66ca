"""Percentiles for latency samples."""

from __future__ import annotations


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(samples: list[float]) -> str:
    return (
        f"p50 {percentile(samples, 50) * 1e3:.2f} ms, p99 {percentile(samples, 99) * 1e3:.2f} ms"
        f" (n={len(samples)})"
    )


def summary_s(samples: list[float]) -> str:
    return (
        f"p50 {percentile(samples, 50):.2f} s, p95 {percentile(samples, 95):.2f} s"
        f" (n={len(samples)})"
    )
