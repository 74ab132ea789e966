"""Alembic migrations for pathway (a package so that installed copies can find them)."""

# The newest revision. Every command compares the database with it, so it is kept here
# rather than computed by loading every migration script (a test checks that they agree).
HEAD = "0009_digests"
