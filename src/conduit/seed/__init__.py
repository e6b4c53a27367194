"""Bulk test data for benchmarks and demos: ``conduit seed``.

Rows are generated deterministically from a seed (`data`), written in batches with COPY on
PostgreSQL or Core ``executemany`` inserts elsewhere (`writer`), behind a progress bar.
"""
