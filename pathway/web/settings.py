"""What a site may tune, from the environment: session lifetimes, lockouts, body size."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pathway.clock import now_utc
from pathway.errors import InvalidInput
from pathway.services.sign_in import Policy

MAX_BODY_BYTES = 1_000_000
MAX_UPLOAD_BYTES = 100_000_000  # an import file: a caseload of some hundred thousand rows


def _number(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise InvalidInput(f"{name}={text!r} is not a whole number of at least 1.")
    return int(text)


@dataclass(frozen=True)
class Settings:
    policy: Policy = field(default_factory=Policy)
    max_body: int = MAX_BODY_BYTES
    max_upload: int = MAX_UPLOAD_BYTES
    clock: Callable[[], datetime] = now_utc

    @classmethod
    def from_environment(cls) -> Settings:
        """PATHWAY_SESSION_IDLE_MINUTES (30), PATHWAY_SESSION_MAX_HOURS (12), PATHWAY_LOCKOUT_FAILURES (7),
        PATHWAY_LOCKOUT_WINDOW_MINUTES (15), PATHWAY_LOCKOUT_MINUTES (5), PATHWAY_MAX_BODY_BYTES (1000000),
        PATHWAY_MAX_UPLOAD_BYTES (100000000, an import file)."""
        policy = Policy(
            idle=timedelta(minutes=_number("PATHWAY_SESSION_IDLE_MINUTES", 30)),
            absolute=timedelta(hours=_number("PATHWAY_SESSION_MAX_HOURS", 12)),
            failures=_number("PATHWAY_LOCKOUT_FAILURES", 7),
            window=timedelta(minutes=_number("PATHWAY_LOCKOUT_WINDOW_MINUTES", 15)),
            lock=timedelta(minutes=_number("PATHWAY_LOCKOUT_MINUTES", 5)),
        )
        return cls(policy=policy, max_body=_number("PATHWAY_MAX_BODY_BYTES", MAX_BODY_BYTES),
                   max_upload=_number("PATHWAY_MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES))
