"""Persistence: ORM models, engine/session factory and Alembic migrations."""
