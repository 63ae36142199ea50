"""CLI pieces for issue 10: ``backup --list`` and ``purge-expired --confirm-clock``.

Kept apart from ``app.cli`` (which is being split into a package) so they move as one file;
``app.cli`` calls them from two one-line hooks. ``backup --list --json`` prints
``{"backups": [{"name", "path", "created_at", "size", "schema"}], "folder": ...}``: a promise to
scripts.
"""

from __future__ import annotations

from typing import Any


def cmd_backup_list(ctx: Any, desk: Any) -> int:
    backups = desk.list_backups()
    rows = [
        {
            "name": b.name,
            "path": str(b.path),
            "created_at": b.created_at.isoformat() if b.created_at else None,
            "size": b.size,
            "schema": b.schema,
        }
        for b in backups
    ]

    def text() -> str:
        if not rows:
            return f"No backups are kept in {desk.home / 'backups'}."
        return "\n".join(
            f"{r['created_at'] or '(unreadable)':<34} {r['size']:>12,} bytes  {r['name']}"
            for r in rows
        )

    ctx.emit({"folder": str(desk.home / "backups"), "backups": rows}, text)
    return 0

