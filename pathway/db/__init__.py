"""Persistence: SQLAlchemy models, engine set-up, unit of work, repository, migrations."""
