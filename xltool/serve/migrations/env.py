"""Alembic environment: the connection comes from xltool.serve.portal.Portal.migrate (SQLite in batch mode)."""

from alembic import context

from xltool.serve.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
