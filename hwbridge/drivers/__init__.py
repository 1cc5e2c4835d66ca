"""Board drivers: one file per kind of board, all behind ``hwbridge.drivers.base.BoardDriver``."""
