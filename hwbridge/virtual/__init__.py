"""Virtual boards: the base SoC with a user's design, compiled and run with Verilator.

The build side lives in :mod:`hwbridge.build` (its back end :mod:`hwbridge.build.backends.virtual`
runs in the sandboxed build child and imports LiteX); here are what the service itself runs:
the built artifact (:mod:`.artifact`), the running simulator (:mod:`.simulator`) and the
hardened serial-to-TCP sim module's source. Importing this package does not import LiteX.
"""
