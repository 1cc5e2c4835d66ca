"""The result of a virtual-board build: the compiled simulator, packed with only what it needs.

A package holds ``obj_dir/Vsim``, the two sim modules it loads (``modules/*.so``), the template
``sim_config.js``, the memory initialisation files (``*.init``) and ``artifact.json`` with the
design's window: about a megabyte, where the build directory holds tens.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ARTIFACT_FILE = "artifact.json"
#: The directory a build packs its simulator into.
PACKAGE = "package"
#: The sim modules a board loads (``sim_config.js``).
SIM_MODULES = ("clocker", "serial2tcp_nodelay")
#: Files an artifact directory must hold for a simulator to start from it.
REQUIRED_FILES = ("obj_dir/Vsim", *(f"modules/{m}.so" for m in SIM_MODULES), "sim_config.js")


def write_new_file(path: Path, text: str) -> None:
    """Write ``text`` to a file created afresh at ``path``.

    Whatever is at ``path`` is removed first and the file is created exclusively, so a symlink
    a build left there cannot send the service's write elsewhere.
    """
    path.unlink(missing_ok=True)
    with path.open("x") as f:
        f.write(text)


@dataclass(frozen=True)
class SimArtifact:
    """A compiled virtual board.

    Attributes:
        path: Directory with ``obj_dir/Vsim``, ``modules/*.so``, ``*.init`` and the template
            ``sim_config.js``.
        window_base: Byte address of the user's window on the system bus.
        window_size: Size of the window in bytes.
    """

    path: Path
    window_base: int
    window_size: int

    def save(self) -> None:
        """Write ``path/artifact.json`` atomically."""
        data = {"window_base": self.window_base, "window_size": self.window_size}
        tmp = self.path / (ARTIFACT_FILE + ".tmp")
        write_new_file(tmp, json.dumps(data) + "\n")
        tmp.replace(self.path / ARTIFACT_FILE)

    @classmethod
    def pack(
        cls,
        dest: Path,
        *,
        vsim: Path,
        modules: Path,
        sim_config: Path,
        inits: Iterable[Path],
        window_base: int,
        window_size: int,
    ) -> SimArtifact:
        """Copy what the simulator needs into ``dest`` (created) and describe it there.

        Args:
            dest: The package directory.
            vsim: The compiled simulator.
            modules: Directory with the sim modules (``<name>.so``).
            sim_config: The template ``sim_config.js``.
            inits: Memory initialisation files the simulator reads from its directory.
            window_base: Byte address of the user's window.
            window_size: Its size.
        """
        (dest / "obj_dir").mkdir(parents=True)
        (dest / "modules").mkdir()
        shutil.copy2(vsim, dest / "obj_dir" / "Vsim")
        for name in SIM_MODULES:
            shutil.copy2(modules / f"{name}.so", dest / "modules" / f"{name}.so")
        shutil.copy2(sim_config, dest / "sim_config.js")
        for init in inits:
            shutil.copy2(init, dest / init.name)
        artifact = cls(dest.resolve(), window_base, window_size)
        artifact.save()
        return artifact

    @classmethod
    def load(cls, path: Path) -> SimArtifact:
        """Load a saved artifact and check that its files are all there.

        Raises:
            FileNotFoundError: If ``artifact.json`` or a file the simulator needs is missing.
            ValueError: If ``artifact.json`` is malformed.
        """
        path = Path(path).resolve()
        raw = (path / ARTIFACT_FILE).read_text()
        for name in REQUIRED_FILES:
            if not (path / name).is_file():
                raise FileNotFoundError(f"incomplete artifact {path}: no {name}")
        try:
            data = json.loads(raw)
            base, size = data["window_base"], data["window_size"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"malformed {path / ARTIFACT_FILE}: {exc}") from exc
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (base, size)):
            raise ValueError(f"malformed {path / ARTIFACT_FILE}: window fields must be ints")
        return cls(path=path, window_base=base, window_size=size)
