"""An uploaded design as a build takes it: bytes, language, top. LiteX-free."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Design:
    """An uploaded design.

    Attributes:
        source: The file's bytes.
        language: Its language (``events.designs.LANGUAGES``).
        top: The class or module the user named, or None for the language's default.
    """

    source: bytes
    language: str
    top: str | None = None
