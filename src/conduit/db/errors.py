"""Database errors the driver raises in its own terms, named for what they mean to a request."""

from __future__ import annotations

import asyncpg


class SchemaChanged(RuntimeError):
    """A migration changed a table or type under a statement the connection had prepared, in
    the middle of a transaction (which PostgreSQL then aborts).

    asyncpg has already dropped what it knew of the old schema, so the same request succeeds
    when sent again: it is answered 503 with Retry-After (api/errors.py). Outside a transaction
    the statement is simply sent again, and nobody sees this.
    """


# The schema changed under a prepared statement: PostgreSQL refused it ("cached plan must not
# change result type"), or asyncpg could not decode its rows with the types it had cached.
OUTDATED_STATEMENT = (
    asyncpg.exceptions.InvalidCachedStatementError,
    asyncpg.exceptions.OutdatedSchemaCacheError,
)
