"""The result of an ECP5 build: the bitstream, where the window is, and what the design costs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwbridge.virtual.artifact import write_new_file

ARTIFACT_FILE = "artifact.json"


@dataclass(frozen=True)
class BitstreamArtifact:
    """A built ECP5 bitstream.

    Attributes:
        path: The ``.bit`` file (SRAM-loadable with openFPGALoader).
        window_base: Byte address of the user's window on the system bus.
        window_size: Size of the window in bytes.
        utilisation: Cells used per type, as nextpnr reports them (``TRELLIS_COMB``,
            ``TRELLIS_FF``, ``DP16KD``, ``MULT18X18D``, ...; ``LUT4`` and ``FF`` are the totals
            before packing).
        fmax_mhz: Achieved maximum frequency of the system clock after routing.
        size_bytes: Size of the ``.bit`` file.
        target_mhz: The system clock frequency the design had to meet.
        capacity: Sites available per cell type on the device (same keys as ``utilisation``).
    """

    path: Path
    window_base: int
    window_size: int
    utilisation: dict[str, int]
    fmax_mhz: float
    size_bytes: int
    target_mhz: float = 0.0
    capacity: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The artifact as JSON-able data (``path`` as given)."""
        return {
            "path": str(self.path),
            "window_base": self.window_base,
            "window_size": self.window_size,
            "utilisation": dict(self.utilisation),
            "fmax_mhz": self.fmax_mhz,
            "size_bytes": self.size_bytes,
            "target_mhz": self.target_mhz,
            "capacity": dict(self.capacity),
        }

    @classmethod
    def from_json(cls, data: Any, *, base: Path | None = None) -> BitstreamArtifact:
        """Rebuild an artifact from :meth:`to_json` data.

        Args:
            data: The decoded JSON object.
            base: Directory a relative ``path`` is relative to.

        Returns:
            The artifact.

        Raises:
            ValueError: If a field is missing or has the wrong type.
        """
        try:
            path = Path(data["path"])
            ints = {k: data[k] for k in ("window_base", "window_size", "size_bytes")}
            fmax_mhz, target_mhz = float(data["fmax_mhz"]), float(data.get("target_mhz", 0.0))
            utilisation = dict(data.get("utilisation", {}))
            capacity = dict(data.get("capacity", {}))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed bitstream artifact: {exc!r}") from None
        for name, value in [*ints.items(), *utilisation.items(), *capacity.items()]:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"malformed bitstream artifact: {name} is not an int")
        if base is not None and not path.is_absolute():
            path = base / path
        return cls(
            path=path,
            window_base=ints["window_base"],
            window_size=ints["window_size"],
            utilisation=utilisation,
            fmax_mhz=fmax_mhz,
            size_bytes=ints["size_bytes"],
            target_mhz=target_mhz,
            capacity=capacity,
        )

    def save(self, directory: Path) -> None:
        """Write ``directory/artifact.json`` (atomically), with ``path`` relative to it."""
        data = self.to_json()
        resolved = self.path.resolve()
        if resolved.is_relative_to(directory.resolve()):
            data["path"] = str(resolved.relative_to(directory.resolve()))
        tmp = directory / (ARTIFACT_FILE + ".tmp")
        write_new_file(tmp, json.dumps(data, indent=1) + "\n")
        tmp.replace(directory / ARTIFACT_FILE)

    @classmethod
    def load(cls, directory: Path) -> BitstreamArtifact:
        """Load ``directory/artifact.json`` and check the bitstream is there.

        Raises:
            FileNotFoundError: If the JSON file or the ``.bit`` file is missing.
            ValueError: If the JSON file is malformed or the bitstream's size differs.
        """
        directory = directory.resolve()
        try:
            data = json.loads((directory / ARTIFACT_FILE).read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"malformed {directory / ARTIFACT_FILE}: {exc}") from None
        artifact = cls.from_json(data, base=directory)
        if artifact.path.stat().st_size != artifact.size_bytes:
            raise ValueError(f"{artifact.path} is not the bitstream that was built (size differs)")
        return artifact
