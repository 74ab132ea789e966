"""The one place where the server's sign-in code writes access-log rows.

Sign-ins, sign-outs, failures, lockouts and token changes are access records, appended
to the hash-chained access log (``pathway.db.access_log``) with how the actor was
established (``auth``: password, oidc, token, claimed). Never a password, token or
patient reference here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from pathway.db import access_log


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
    """Append one access-log row (committed with the caller's transaction)."""
    access_log.append(session.connection(), at=at, actor=actor[:128], role=role, action=action, outcome=outcome,
                      episode_id=episode_id, detail=detail or {}, auth=auth)  # fmt: skip
