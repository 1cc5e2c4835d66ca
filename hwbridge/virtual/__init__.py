"""Virtual boards: LiteX SoCs with a user's design, compiled and run with Verilator.

The submodules split along process boundaries: :mod:`.soc` and :mod:`.elaborate` run inside the
resource-limited build child (they import LiteX), while :mod:`.build` and :mod:`.simulator` run
in the service and only spawn processes. Importing this package does not import LiteX.
"""
