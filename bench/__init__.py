"""Benchmarks of the running system: ``make bench`` (or ``python -m bench``)."""
