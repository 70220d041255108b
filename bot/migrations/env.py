"""Alembic environment: always handed a live connection by bot.db.upgrade (sync or async engines)."""

from __future__ import annotations

from alembic import context

from services.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable via the raw alembic CLI
    raise RuntimeError("run migrations with `fathom-os db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
