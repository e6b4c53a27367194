"""Conduit: schema-first RealWorld API."""
