"""Alembic migrations for pathway (a package so that installed copies can find them)."""
