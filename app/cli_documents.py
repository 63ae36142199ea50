"""Document commands of the CLI: ``documents``, ``verify-document``, ``policy``."""

from __future__ import annotations

from typing import Any


def register(parsers: Any) -> None:
    """Add the document subcommands to the CLI parser."""
