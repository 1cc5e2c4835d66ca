"""Real boards: the Lattice ECP5 evaluation board (LFE5UM5G-85F), built with yowasp, loaded with
openFPGALoader.

``constants``, ``nextpnr_log``, ``toolchain``, ``artifact``, ``build`` and ``programmer`` never
import LiteX; ``soc`` and the build child ``elaborate`` do.
"""
