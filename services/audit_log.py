"""Audit trail of every change made from Slack (who, when, before, after)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.db import Database
from services.models import AuditLog


def record(
    session: AsyncSession,
    actor: str,
    action: str,
    entity: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add to the caller's transaction, so the change and its record commit together."""
    session.add(AuditLog(actor=actor, action=action, entity=entity, before=before, after=after))


async def history(db: Database, entity: str | None = None, limit: int = 50) -> list[AuditLog]:
    async with db.session() as s:
        stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
        if entity:
            stmt = stmt.where(AuditLog.entity == entity)
        return list((await s.scalars(stmt)).all())
