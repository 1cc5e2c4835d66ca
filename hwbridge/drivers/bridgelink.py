"""What every board driver does over its UARTBone link: probe it, and access the design window."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from hwbridge.drivers.base import DriverError
from hwbridge.metrics import UARTBONE_ERRORS
from hwbridge.uartbone import UARTBoneClient, UARTBoneError

SCRATCH_ADDRESS = 0x4  # LiteX ctrl_scratch CSR, reset value below: a cheap liveness probe
SCRATCH_RESET_VALUE = 0x12345678
#: LiteX's identifier memory: the SoC's name, one character per 32-bit word, 0-terminated.
IDENTIFIER_ADDRESS = 0x800
IDENTIFIER_WORDS = 64


async def open_checked(link: UARTBoneClient) -> None:
    """Open the link and check the base SoC answers; closes it and raises DriverError if not."""
    try:
        await asyncio.to_thread(link.open)
        scratch = await asyncio.to_thread(link.read, SCRATCH_ADDRESS, 1)
    except UARTBoneError as exc:
        UARTBONE_ERRORS.labels("open_checked").inc()
        link.close()
        raise DriverError(f"board not answering over UARTBone on {link.url}: {exc}") from None
    if scratch != [SCRATCH_RESET_VALUE]:
        link.close()
        raise DriverError(
            f"board not answering: health probe read 0x{scratch[0]:08x}, expected 0x12345678"
        )


async def window_read(link: UARTBoneClient, address: int, count: int, fixed: bool) -> list[int]:
    try:
        return await asyncio.to_thread(link.read, address, count, fixed=fixed)
    except UARTBoneError as exc:
        UARTBONE_ERRORS.labels("window_read").inc()
        raise DriverError(f"read failed: {exc}") from None


async def window_write(
    link: UARTBoneClient, address: int, words: Sequence[int], fixed: bool, confirm: bool
) -> None:
    try:
        await asyncio.to_thread(_write, link, address, words, fixed, confirm)
    except UARTBoneError as exc:
        UARTBONE_ERRORS.labels("window_write").inc()
        raise DriverError(f"write failed: {exc}") from None


def _write(
    link: UARTBoneClient, address: int, words: Sequence[int], fixed: bool, confirm: bool
) -> None:
    # UARTBone writes are posted; the bridge handles frames in order, so a read of the
    # scratch register answering proves the write reached the bus.
    link.write(address, words, fixed=fixed)
    if confirm:
        link.read(SCRATCH_ADDRESS, 1)


async def identify(link: UARTBoneClient) -> str:
    """The SoC's identification string, read over an open link. Raises DriverError."""
    try:
        words = await asyncio.to_thread(link.read, IDENTIFIER_ADDRESS, IDENTIFIER_WORDS)
    except UARTBoneError as exc:
        UARTBONE_ERRORS.labels("identify").inc()
        raise DriverError(f"identification read failed: {exc}") from None
    text = bytes(w & 0xFF for w in words).split(b"\0", 1)[0]
    if not text:
        raise DriverError("the SoC answered with an empty identification")
    return text.decode("ascii", "replace")
