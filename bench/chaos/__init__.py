"""Fault injection under load, with a history checker: ``python -m bench.chaos --minutes N``."""
