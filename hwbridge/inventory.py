"""The board inventory: which boards exist, what kind each is, and which host drives it.

Read from a TOML file (``FPGA_CLOUD_INVENTORY``), one ``[[boards]]`` table per board; see
``examples/inventory.toml`` for every field. Without a file the farm is ten virtual boards,
0-9, on host ``local``. Every problem in a file is reported at once, each naming its board, in
one :class:`InventoryError`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from events.settings import Settings

DRIVERS = ("virtual", "ecp5_evn")
DEFAULT_HOST = "local"
DEFAULT_BAUDRATE = 115_200
#: The farm's boards when nothing says otherwise (``FPGA_CLOUD_BOARDS``).
FARM = Settings().fpga_ids
#: Baud rates the base SoC's UART and the FT2232H both handle at a 60 MHz system clock.
BAUDRATE_RANGE = (1_200, 3_000_000)
#: Fields that only a real board uses: a virtual board's link is the simulator's TCP port.
HARDWARE_FIELDS = ("serial_url", "baudrate", "cable", "serial_number")
_FIELDS = ("fpga_id", "driver", "host", "in_service", *HARDWARE_FIELDS)


class InventoryError(Exception):
    """The inventory is unusable; ``problems`` lists every reason, each naming its board."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid board inventory {source}:\n{listing}")


@dataclass(frozen=True)
class BoardConfig:
    """One board.

    Attributes:
        fpga_id: The board's id in the API (0-9).
        driver: ``virtual`` (Verilator) or ``ecp5_evn`` (a Lattice ECP5 evaluation board).
        serial_url: pyserial URL of the board's UART (ecp5_evn only), e.g. ``/dev/ttyUSB1``.
        baudrate: UART rate of the bridge; the base SoC is built for it.
        cable: openFPGALoader cable (``-c``); the board's own FT2232H when None.
        serial_number: FTDI serial number (``--ftdi-serial``) telling boards on one host apart.
        host: The hwbridge host that owns the board.
        in_service: False takes the board out of the farm without deleting its entry.
    """

    fpga_id: int
    driver: str = "virtual"
    serial_url: str | None = None
    baudrate: int = DEFAULT_BAUDRATE
    cable: str | None = None
    serial_number: str | None = None
    host: str = DEFAULT_HOST
    in_service: bool = True


@dataclass(frozen=True)
class Inventory:
    """Every board of the farm, sorted by id.

    Attributes:
        boards: The boards.
        source: The file they were read from; None for the default farm.
    """

    boards: tuple[BoardConfig, ...]
    source: Path | None = None

    def for_host(self, host: str) -> list[BoardConfig]:
        """The boards owned by ``host`` (in service or not; check ``in_service``)."""
        return [b for b in self.boards if b.host == host]

    def board(self, fpga_id: int) -> BoardConfig | None:
        """The board with this id, if the farm has one."""
        return next((b for b in self.boards if b.fpga_id == fpga_id), None)

    @property
    def fpga_ids(self) -> tuple[int, ...]:
        """Ids of every board, in order."""
        return tuple(b.fpga_id for b in self.boards)


def default_inventory(fpga_ids: Sequence[int] = FARM) -> Inventory:
    """A virtual board for each of the farm's ids (ten, 0-9, unless told), on host ``local``."""
    return Inventory(tuple(BoardConfig(fpga_id=i) for i in fpga_ids))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_board(entry: Mapping[str, Any], label: str, max_fpga_id: int) -> list[str]:
    problems = [
        f"{label}: unknown field '{key}' (known: {', '.join(_FIELDS)})"
        for key in entry
        if key not in _FIELDS
    ]
    fpga_id = entry.get("fpga_id")
    if fpga_id is None:
        problems.append(f"{label}: fpga_id is missing")
    elif not _is_int(fpga_id):
        problems.append(f"{label}: fpga_id must be an integer, got {fpga_id!r}")
    elif not 0 <= fpga_id <= max_fpga_id:
        problems.append(f"{label}: fpga_id {fpga_id} is out of range 0..{max_fpga_id}")
    driver = entry.get("driver")
    if driver is None:
        problems.append(f"{label}: driver is missing (one of {', '.join(DRIVERS)})")
    elif driver not in DRIVERS:
        problems.append(f"{label}: unknown driver {driver!r} (one of {', '.join(DRIVERS)})")
    for key in ("serial_url", "cable", "serial_number", "host"):
        value = entry.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problems.append(f"{label}: {key} must be a non-empty string, got {value!r}")
    baudrate = entry.get("baudrate", DEFAULT_BAUDRATE)
    low, high = BAUDRATE_RANGE
    if not _is_int(baudrate) or not low <= baudrate <= high:
        problems.append(f"{label}: baudrate must be an integer {low}..{high}, got {baudrate!r}")
    if not isinstance(entry.get("in_service", True), bool):
        problems.append(f"{label}: in_service must be true or false, got {entry['in_service']!r}")
    if driver == "ecp5_evn" and entry.get("serial_url") is None:
        problems.append(f"{label}: serial_url is required for an ecp5_evn board")
    if driver == "virtual":
        problems += [
            f"{label}: {key} applies to ecp5_evn boards only (a virtual board has no {key})"
            for key in HARDWARE_FIELDS
            if key in entry
        ]
    return problems


def _check_farm(boards: list[tuple[str, BoardConfig]]) -> list[str]:
    """Problems between boards: the same id, port or programmer twice."""
    problems: list[str] = []
    seen: dict[object, str] = {}
    for label, board in boards:
        keys: list[tuple[object, str]] = [
            (("id", board.fpga_id), f"fpga_id {board.fpga_id} is already used by {{other}}")
        ]
        if board.serial_url is not None:
            keys.append(
                (
                    ("port", board.host, board.serial_url),
                    f"serial_url {board.serial_url} on host {board.host} is already {{other}}'s",
                )
            )
        if board.serial_number is not None:
            keys.append(
                (
                    ("sn", board.host, board.serial_number),
                    f"serial_number {board.serial_number} is already {{other}}'s",
                )
            )
        for key, message in keys:
            if key in seen:
                problems.append(f"{label}: " + message.format(other=seen[key]))
            else:
                seen[key] = label
    by_host: dict[str, list[str]] = {}
    for label, board in boards:
        if board.driver == "ecp5_evn" and board.serial_number is None:
            by_host.setdefault(board.host, []).append(label)
    for host, labels in by_host.items():
        if len([b for _, b in boards if b.host == host and b.driver == "ecp5_evn"]) > 1:
            problems += [
                f"{label}: host {host} has several ecp5_evn boards, so each needs a "
                f"serial_number, or the programmer may load the wrong board"
                for label in labels
            ]
    return problems


def parse_inventory(
    data: Mapping[str, Any], *, source: Path | None = None, max_fpga_id: int = max(FARM)
) -> Inventory:
    """Validate decoded TOML and build the inventory.

    Args:
        data: The decoded document (a ``boards`` array of tables).
        source: The file it came from (named in messages and kept in the inventory).
        max_fpga_id: Highest allowed board id.

    Returns:
        The inventory, boards sorted by id.

    Raises:
        InventoryError: Listing every problem found.
    """
    where = str(source) if source is not None else "<inventory>"
    problems = [f"unknown top-level key '{key}' (only 'boards')" for key in data if key != "boards"]
    entries = data.get("boards")
    if not isinstance(entries, list) or not entries:
        raise InventoryError(where, [*problems, "no boards: add one [[boards]] table per board"])
    parsed: list[tuple[str, BoardConfig]] = []
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            problems.append(f"board #{index}: must be a table ([[boards]]), got {entry!r}")
            continue
        fpga_id = entry.get("fpga_id")
        label = f"board #{index} (fpga_id {fpga_id})" if _is_int(fpga_id) else f"board #{index}"
        board_problems = _check_board(entry, label, max_fpga_id)
        problems += board_problems
        if not board_problems:
            fields = {k: v for k, v in entry.items() if k in _FIELDS}
            parsed.append((label, BoardConfig(**fields)))
    problems += _check_farm(parsed)
    if problems:
        raise InventoryError(where, problems)
    boards = tuple(sorted((b for _, b in parsed), key=lambda b: b.fpga_id))
    return Inventory(boards, source)


def load_inventory(path: Path | None, *, fpga_ids: Sequence[int] = FARM) -> Inventory:
    """Load the inventory file, or the default farm of virtual boards ``fpga_ids`` when ``path``
    is None (a file may name boards up to the highest of ``fpga_ids``).

    Raises:
        InventoryError: If the file cannot be read, is not TOML, or has invalid entries.
    """
    if path is None:
        return default_inventory(fpga_ids)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InventoryError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InventoryError(str(path), [f"not valid TOML: {exc}"]) from None
    return parse_inventory(data, source=Path(path), max_fpga_id=max(fpga_ids))
