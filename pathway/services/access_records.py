"""The one place where the server's sign-in code writes access-log rows.

Sign-ins, sign-outs, failures, lockouts and token changes are access records. How the
actor was established (``auth``: password, oidc, token, claimed) is kept in ``detail``
until the access log has a column of its own; everything goes through ``record`` so that
moving it there is a change to this function alone. Never a password, token or patient
reference here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from pathway.db.models import AccessLogRow


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    outcome: str,
    auth: str,
    role: str | None = None,
    episode_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one access-log row to ``session`` (committed with the caller's transaction)."""
    session.add(
        AccessLogRow(
            at=at, actor=actor[:128], role=role, action=action, outcome=outcome, episode_id=episode_id,
            detail={**(detail or {}), "auth": auth},
        )  # fmt: skip
    )
