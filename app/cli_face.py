"""Face commands of the CLI: ``import``, ``identify``, ``bench``."""

from __future__ import annotations

from typing import Any


def register(parsers: Any) -> None:
    """Add the face subcommands to the CLI parser."""
