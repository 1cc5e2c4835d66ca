"""The board inventory: the default farm, the example file, and every bad-config message."""

from __future__ import annotations

from pathlib import Path

import pytest

from events.settings import Settings
from hwbridge.inventory import (
    BoardConfig,
    Inventory,
    InventoryError,
    load_inventory,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inventory.toml"

ECP5 = """
[[boards]]
fpga_id = {fpga_id}
driver = "ecp5_evn"
serial_url = "{url}"
"""


def _load(tmp_path: Path, text: str) -> Inventory:
    path = tmp_path / "inventory.toml"
    path.write_text(text)
    return load_inventory(path)


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(InventoryError) as caught:
        _load(tmp_path, text)
    assert str(tmp_path / "inventory.toml") in str(caught.value)
    return caught.value.problems


def test_no_file_means_ten_virtual_boards_on_local() -> None:
    inventory = load_inventory(None)
    assert inventory.fpga_ids == tuple(range(10))
    assert all(b == BoardConfig(fpga_id=b.fpga_id) for b in inventory.boards)
    assert all(b.driver == "virtual" and b.host == "local" for b in inventory.boards)
    assert inventory.for_host("local") == list(inventory.boards)
    assert inventory.for_host("elsewhere") == []
    assert inventory.source is None


def test_env_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "farm.toml"
    path.write_text(ECP5.format(fpga_id=4, url="/dev/ttyUSB1"))
    inventory = load_inventory(Settings.from_env({"FPGA_CLOUD_INVENTORY": str(path)}).inventory)
    assert inventory.fpga_ids == (4,)
    assert inventory.source == path
    assert load_inventory(Settings.from_env({}).inventory).fpga_ids == tuple(range(10))
    blank = Settings.from_env({"FPGA_CLOUD_INVENTORY": "  "}).inventory
    assert load_inventory(blank).fpga_ids == tuple(range(10))


def test_example_file_parses_with_every_field() -> None:
    inventory = load_inventory(EXAMPLE)
    real = [b for b in inventory.boards if b.driver == "ecp5_evn"]
    assert len(real) == 2
    assert all(b.serial_url and b.serial_number for b in real)
    assert {b.driver for b in inventory.boards} == {"virtual", "ecp5_evn"}
    assert inventory.fpga_ids == tuple(sorted(inventory.fpga_ids))
    hosts = {b.host for b in inventory.boards}
    assert sum(len(inventory.for_host(h)) for h in hosts) == len(inventory.boards)


def test_defaults_and_all_fields(tmp_path: Path) -> None:
    inventory = _load(
        tmp_path,
        """
        [[boards]]
        fpga_id = 1
        driver = "ecp5_evn"
        serial_url = "/dev/ttyUSB1"
        baudrate = 1000000
        cable = "ft2232"
        serial_number = "FT1"
        host = "lab-a"
        in_service = false

        [[boards]]
        fpga_id = 0
        driver = "virtual"
        """,
    )
    assert inventory.boards == (
        BoardConfig(fpga_id=0),
        BoardConfig(
            fpga_id=1,
            driver="ecp5_evn",
            serial_url="/dev/ttyUSB1",
            baudrate=1_000_000,
            cable="ft2232",
            serial_number="FT1",
            host="lab-a",
            in_service=False,
        ),
    )
    assert inventory.for_host("lab-a")[0].fpga_id == 1
    assert inventory.board(0) == BoardConfig(fpga_id=0)
    assert inventory.board(7) is None


@pytest.mark.parametrize(
    ("board", "expected"),
    [
        ('driver = "virtual"', "board #1: fpga_id is missing"),
        ('fpga_id = "3"\ndriver = "virtual"', "fpga_id must be an integer, got '3'"),
        ('fpga_id = true\ndriver = "virtual"', "fpga_id must be an integer, got True"),
        ('fpga_id = 10\ndriver = "virtual"', "fpga_id 10 is out of range 0..9"),
        ('fpga_id = -1\ndriver = "virtual"', "fpga_id -1 is out of range 0..9"),
        ("fpga_id = 0", "(fpga_id 0): driver is missing"),
        ('fpga_id = 0\ndriver = "zynq"', "unknown driver 'zynq' (one of virtual, ecp5_evn)"),
        ('fpga_id = 0\ndriver = "ecp5_evn"', "serial_url is required for an ecp5_evn board"),
        (
            'fpga_id = 0\ndriver = "ecp5_evn"\nserial_url = 5',
            "serial_url must be a non-empty string, got 5",
        ),
        (
            'fpga_id = 0\ndriver = "ecp5_evn"\nserial_url = ""',
            "serial_url must be a non-empty string",
        ),
        (
            'fpga_id = 0\ndriver = "ecp5_evn"\nserial_url = "/dev/ttyUSB1"\nbaudrate = "fast"',
            "baudrate must be an integer 1200..3000000, got 'fast'",
        ),
        (
            'fpga_id = 0\ndriver = "ecp5_evn"\nserial_url = "/dev/ttyUSB1"\nbaudrate = 0',
            "baudrate must be an integer 1200..3000000, got 0",
        ),
        (
            'fpga_id = 0\ndriver = "ecp5_evn"\nserial_url = "/dev/ttyUSB1"\ncable = 1',
            "cable must be a non-empty string, got 1",
        ),
        ('fpga_id = 0\ndriver = "virtual"\nhost = ""', "host must be a non-empty string"),
        ('fpga_id = 0\ndriver = "virtual"\nin_service = "yes"', "in_service must be true or"),
        ('fpga_id = 0\ndriver = "virtual"\nserail_url = "x"', "unknown field 'serail_url'"),
        (
            'fpga_id = 0\ndriver = "virtual"\nserial_url = "/dev/ttyUSB1"',
            "serial_url applies to ecp5_evn boards only",
        ),
    ],
)
def test_bad_board(tmp_path: Path, board: str, expected: str) -> None:
    problems = _problems(tmp_path, f"[[boards]]\n{board}\n")
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_duplicates_between_boards(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        ECP5.format(fpga_id=1, url="/dev/ttyUSB1")
        + 'serial_number = "A"\n'
        + ECP5.format(fpga_id=1, url="/dev/ttyUSB1")
        + 'serial_number = "A"\n',
    )
    assert problems == [
        "board #2 (fpga_id 1): fpga_id 1 is already used by board #1 (fpga_id 1)",
        "board #2 (fpga_id 1): serial_url /dev/ttyUSB1 on host local is already "
        "board #1 (fpga_id 1)'s",
        "board #2 (fpga_id 1): serial_number A is already board #1 (fpga_id 1)'s",
    ]


def test_two_real_boards_on_one_host_need_serial_numbers(tmp_path: Path) -> None:
    text = ECP5.format(fpga_id=0, url="/dev/ttyUSB1") + ECP5.format(fpga_id=1, url="/dev/ttyUSB3")
    problems = _problems(tmp_path, text)
    assert len(problems) == 2
    assert all("needs a serial_number" in p for p in problems)
    # On different hosts each programmer sees one board: no serial number needed.
    _load(
        tmp_path,
        text.replace('serial_url = "/dev/ttyUSB3"', 'serial_url = "/dev/ttyUSB3"\nhost = "b"'),
    )


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """
        colour = "blue"
        [[boards]]
        fpga_id = 42
        driver = "zynq"
        [[boards]]
        driver = "ecp5_evn"
        """,
    )
    assert len(problems) == 5, problems
    assert problems[0] == "unknown top-level key 'colour' (only 'boards')"
    assert any(p.startswith("board #1 (fpga_id 42): fpga_id 42 is out of range") for p in problems)
    assert any(p.startswith("board #1 (fpga_id 42): unknown driver") for p in problems)
    assert any(p.startswith("board #2: fpga_id is missing") for p in problems)
    assert any(p.startswith("board #2: serial_url is required") for p in problems)
    message = str(InventoryError("f.toml", problems))
    assert message.count("\n  - ") == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "no boards"),
        ("boards = []", "no boards"),
        ("boards = 3", "no boards"),
        ("boards = [1]", "board #1: must be a table"),
        ("[[boards]\nfpga_id = 0", "not valid TOML"),
    ],
)
def test_bad_file(tmp_path: Path, text: str, expected: str) -> None:
    assert any(expected in p for p in _problems(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="cannot read the file"):
        load_inventory(tmp_path / "nope.toml")


def test_max_fpga_id_is_configurable(tmp_path: Path) -> None:
    path = tmp_path / "inventory.toml"
    path.write_text('[[boards]]\nfpga_id = 12\ndriver = "virtual"\n')
    assert load_inventory(path, fpga_ids=range(16)).fpga_ids == (12,)


def test_with_no_file_every_board_of_the_farm_is_virtual() -> None:
    inventory = load_inventory(None, fpga_ids=range(100))
    assert inventory.fpga_ids == tuple(range(100))
    assert {b.driver for b in inventory.boards} == {"virtual"}
