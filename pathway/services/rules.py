"""Reading rule sets."""

from __future__ import annotations

from typing import Any

from pathway.db import repository as repo
from pathway.db.uow import UnitOfWork
from pathway.services.views import rule_set_view


def show_rules(uow: UnitOfWork, version: int | None = None) -> dict[str, Any]:
    return rule_set_view(repo.rule_set_row(uow.session, version))
