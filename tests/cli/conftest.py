"""Fixtures for the CLI tests."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.cli.test_access import Site
from tests.conftest import Pathway


@pytest.fixture
def site(pathway: Pathway, engine: sa.Engine) -> Site:
    """A database with one user per role (see ``Site``)."""
    return Site(pathway, engine)
