"""The ``fpga-cloud`` command line: ``up`` (the whole system), the API and hwbridge processes,
keys, history, audit and stream administration."""
