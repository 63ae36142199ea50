"""CLI pieces for issue 10: ``backup --list`` (and the clock confirmation flag of
``purge-expired``, registered with the vault commands).

``backup --list --json`` prints
``{"folder": ..., "backups": [{"name", "path", "created_at", "size", "schema"}]}``: a promise to
scripts, so the keys only ever grow.
"""

from __future__ import annotations

from typing import TypedDict

from app.cli.context import Context
from app.desk import Desk


class BackupRow(TypedDict):
    name: str
    path: str
    created_at: str | None
    size: int
    schema: int | None


def cmd_backup_list(ctx: Context, desk: Desk) -> int:
    """The backups kept in ``<home>/backups``, oldest first, as the retention settings keep them."""
    rows: list[BackupRow] = [
        {
            "name": b.name,
            "path": str(b.path),
            "created_at": b.created_at.isoformat() if b.created_at else None,
            "size": b.size,
            "schema": b.schema,
        }
        for b in desk.list_backups()
    ]
    folder = desk.home / "backups"

    def text() -> str:
        if not rows:
            return f"No backups are kept in {folder}."
        return "\n".join(
            f"{r['created_at'] or '(unreadable)':<34} {r['size']:>12,} bytes  {r['name']}"
            for r in rows
        )

    ctx.emit({"folder": str(folder), "backups": rows}, text)
    return 0
