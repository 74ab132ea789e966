"""The tables: rule sets and rules, episodes (a projection) and events (the truth).

Events are append-only and hash-chained; the episode row is the current state derived
from them plus the chain head (``event_count``, ``head_hash``) that lets a verifier
notice a missing last event. ``version`` is SQLAlchemy's optimistic lock.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from pathway.db.types import JSONValue, UTCDateTime
from pathway.domain.access import ROLES
from pathway.domain.states import SIDES, STATES, TERMINAL
from pathway.domain.timers import KINDS

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


UNSCHEDULED = "scheduled_seq IS NULL OR scheduled_seq <> event_count"
PENDING = "opened_at IS NULL AND resolved_at IS NULL"
OPEN = "opened_at IS NOT NULL AND resolved_at IS NULL"
UNRESOLVED = "resolved_at IS NULL"
IMPORTED = "source_sha256 IS NOT NULL"


def _in(column: str, values: tuple[str, ...] | frozenset[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in sorted(values))})"


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class RuleSetRow(Base):
    __tablename__ = "rule_sets"
    __table_args__ = (
        sa.CheckConstraint(_in("status", ("draft", "active", "retired")), name="status"),
        # At most one active rule set: new episodes are pinned to it.
        sa.Index(
            "uq_rule_sets_one_active",
            "status",
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        ),
    )

    version: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(sa.String(128))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    activated_by: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    rules: Mapped[list[RuleRow]] = relationship(back_populates="rule_set", order_by="RuleRow.position")


class RuleRow(Base):
    __tablename__ = "rules"

    rule_set_version: Mapped[int] = mapped_column(sa.ForeignKey("rule_sets.version"), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer)
    value: Mapped[Any] = mapped_column(JSONValue)
    value_type: Mapped[str] = mapped_column(sa.String(16))
    unit: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    basis: Mapped[str] = mapped_column(sa.Text, default="")

    rule_set: Mapped[RuleSetRow] = relationship(back_populates="rules")


class EpisodeRow(Base):
    __tablename__ = "episodes"
    __table_args__ = (
        sa.CheckConstraint(_in("side", SIDES), name="side"),
        sa.CheckConstraint(_in("state", STATES), name="state"),
        # One open course of care per patient and side, patients compared by key (case-insensitively).
        sa.Index(
            "uq_episodes_open_patient_key_side",
            "patient_key",
            "side",
            unique=True,
            sqlite_where=sa.text(f"NOT ({_in('state', TERMINAL)})"),
            postgresql_where=sa.text(f"NOT ({_in('state', TERMINAL)})"),
        ),
        # Episodes whose flags lag behind their events (only those that existed before
        # flags did): the scheduled job schedules them first.
        sa.Index(
            "ix_episodes_unscheduled",
            "id",
            sqlite_where=sa.text(UNSCHEDULED),
            postgresql_where=sa.text(UNSCHEDULED),
        ),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    patient_ref: Mapped[str] = mapped_column(sa.String(64), index=True)
    # domain.patients.patient_key(patient_ref): what uniqueness and search compare. Null only
    # in the database's eyes (migration 0008 adds it to existing rows); always written.
    patient_key: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    side: Mapped[str] = mapped_column(sa.String(8))
    referred_on: Mapped[date] = mapped_column(sa.Date)
    has_hip_arthroplasty: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    state: Mapped[str] = mapped_column(sa.String(32), index=True)
    state_entered_on: Mapped[date] = mapped_column(sa.Date)
    last_event_on: Mapped[date] = mapped_column(sa.Date)
    rules_version: Mapped[int] = mapped_column(sa.ForeignKey("rule_sets.version"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_by: Mapped[str] = mapped_column(sa.String(128))
    event_count: Mapped[int] = mapped_column(sa.Integer)
    head_hash: Mapped[str] = mapped_column(sa.String(64))
    version: Mapped[int] = mapped_column(sa.Integer)
    # The event count at which this episode's flags were last brought up to date
    # (db/flags.py reconciles them in the same transaction as every event).
    scheduled_seq: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)

    # The version is the event count, set by repository.append_event; SQLAlchemy still
    # adds "WHERE version = <loaded>" to every UPDATE, so a stale write fails.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    events: Mapped[list[EventRow]] = relationship(
        back_populates="episode", order_by="EventRow.seq", lazy="raise_on_sql"
    )


class AccessLogRow(Base):
    """Who was refused for lack of rights, and who exported identified data.

    Kept apart from episode chains (a refusal changes nothing in an episode) and written
    in its own transaction, so that it survives the rollback of the refused command.
    """

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(sa.String(128))
    role: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    action: Mapped[str] = mapped_column(sa.String(64))
    outcome: Mapped[str] = mapped_column(sa.String(16))  # refused | granted
    episode_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    # How the actor was established: password | oidc | token | claimed (--as, PATHWAY_USER).
    auth: Mapped[str] = mapped_column(sa.String(16), server_default="claimed")
    # Hash-chained in id order like an episode's events; written only by db/access_log.py.
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class AccessLogHeadRow(Base):
    """The access log's chain head (one row): its row count and latest hash.

    Locked by every append, so that two writers cannot both extend the same hash and
    fork the chain, and kept so that a removed last row is noticed.
    """

    __tablename__ = "access_log_head"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(sa.BigInteger)
    hash: Mapped[str] = mapped_column(sa.String(64))


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        sa.UniqueConstraint("episode_id", "seq"),
        sa.Index("ix_events_trigger_episode_id_seq", "trigger", "episode_id", "seq"),  # for reports
        # One event per row of an imported file: a second import of the same file fails.
        sa.Index(
            "uq_events_source_sha256_source_row",
            "source_sha256",
            "source_row",
            unique=True,
            sqlite_where=sa.text(IMPORTED),
            postgresql_where=sa.text(IMPORTED),
        ),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    episode_id: Mapped[int] = mapped_column(sa.ForeignKey("episodes.id"))
    seq: Mapped[int] = mapped_column(sa.Integer)
    trigger: Mapped[str] = mapped_column(sa.String(32))
    from_state: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    to_state: Mapped[str] = mapped_column(sa.String(32))
    fields: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    occurred_on: Mapped[date] = mapped_column(sa.Date, index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(sa.String(128))
    role: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    rules_version: Mapped[int] = mapped_column(sa.Integer)
    guards: Mapped[list[dict[str, Any]]] = mapped_column(JSONValue)
    override_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    overridden_guards: Mapped[list[str]] = mapped_column(JSONValue)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))
    # How the event arrived: null when typed at a command, "import" from a file (then with
    # the file's SHA-256 and row number). Hashed only when set (audit.event_payload).
    source: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    source_sha256: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    source_row: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    # How the actor was established: password, oidc or token (signed in to the server), or
    # claimed (named at a terminal). Hashed unless "claimed", so older events keep their hashes.
    auth: Mapped[str] = mapped_column(sa.String(16), server_default=sa.text("'claimed'"), default="claimed")

    episode: Mapped[EpisodeRow] = relationship(back_populates="events")


class RevisionRow(Base):
    """How a recorded event now counts, where that differs from its record (a projection).

    One row per event that was voided (``entered_in_error``), corrected, or re-derived
    by a correction of an earlier event (``effective``, with new states or derived
    fields), holding its effective form. Rewritten with the episode row, in the same
    transaction as the correcting event; `audit verify` checks it against the replay.
    Reports read events through it (db/effective.py).
    """

    __tablename__ = "revisions"
    __table_args__ = (sa.CheckConstraint(_in("status", ("corrected", "effective", "entered_in_error")), name="status"),)

    episode_id: Mapped[int] = mapped_column(sa.ForeignKey("episodes.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    by_seq: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    from_state: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    to_state: Mapped[str] = mapped_column(sa.String(32))
    occurred_on: Mapped[date] = mapped_column(sa.Date)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONValue)


class FlagRow(Base):
    """A timer of PATHWAY.md for one episode: scheduled, then opened when due, then resolved.

    A row exists from the moment the episode's state and pinned rules call for it
    (``opened_at`` empty: a deadline waiting for its due day); the scheduled job opens it
    on its due day; the event that satisfies it, or moves the episode on, resolves it.
    ``milestone`` is the post-operative day for follow-ups and 0 for every other kind.
    """

    __tablename__ = "flags"
    __table_args__ = (
        sa.UniqueConstraint("episode_id", "kind", "anchor_on", "milestone"),
        sa.CheckConstraint(_in("kind", tuple(KINDS)), name="kind"),
        sa.CheckConstraint(_in("resolution", ("moved_on", "satisfied")), name="resolution"),
        # The job's work queue: deadlines not yet opened, by due day.
        sa.Index("ix_flags_pending", "due_on", sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING)),
        # Open flags, for the job's "open now" count.
        sa.Index("ix_flags_open", "overdue_on", sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN)),
        # The worklist: unresolved flags, most overdue first.
        sa.Index(
            "ix_flags_worklist",
            "overdue_on",
            "id",
            sqlite_where=sa.text(UNRESOLVED),
            postgresql_where=sa.text(UNRESOLVED),
        ),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    episode_id: Mapped[int] = mapped_column(sa.ForeignKey("episodes.id"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    anchor_on: Mapped[date] = mapped_column(sa.Date)
    milestone: Mapped[int] = mapped_column(sa.Integer, default=0)
    due_on: Mapped[date] = mapped_column(sa.Date)
    overdue_on: Mapped[date] = mapped_column(sa.Date)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_event_id: Mapped[int | None] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), sa.ForeignKey("events.id"), nullable=True
    )
    resolution: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)


class UserRow(Base):
    """A person or service account known to pathway. Never deleted: disabled instead.

    While this table is empty the database runs in open single-user mode; the first
    user ends that mode for good.
    """

    __tablename__ = "users"

    name: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(sa.String(128))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    disabled_by: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)

    roles: Mapped[list[UserRoleRow]] = relationship(order_by="UserRoleRow.role", lazy="selectin")


class UserRoleRow(Base):
    __tablename__ = "user_roles"
    __table_args__ = (sa.CheckConstraint(_in("role", ROLES), name="role"),)

    user_name: Mapped[str] = mapped_column(sa.ForeignKey("users.name"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    granted_by: Mapped[str] = mapped_column(sa.String(128))


class PasswordRow(Base):
    """A user's local password, as an argon2id hash (never the password itself)."""

    __tablename__ = "user_passwords"

    user_name: Mapped[str] = mapped_column(sa.ForeignKey("users.name"), primary_key=True)
    hash: Mapped[str] = mapped_column(sa.Text)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())
    set_by: Mapped[str] = mapped_column(sa.String(128))


class SessionRow(Base):
    """A signed-in browser session, held in the database so every worker and host sees it.

    ``id_hash`` is the SHA-256 of the cookie's value: a copy of this table signs nobody in.
    """

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(sa.ForeignKey("users.name"), index=True)
    auth: Mapped[str] = mapped_column(sa.String(16))  # password | oidc
    csrf: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class TokenRow(Base):
    """An API token for scripts, cron and the CLI: only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    user_name: Mapped[str] = mapped_column(sa.ForeignKey("users.name"), index=True)
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(sa.String(128))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SignInFailureRow(Base):
    """One failed sign-in, counted for the lockout (the name as typed; it need not exist)."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (sa.Index("ix_sign_in_failures_user_name_at", "user_name", "at"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    user_name: Mapped[str] = mapped_column(sa.String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class LockoutRow(Base):
    """A user locked out of signing in until ``until`` after too many failures."""

    __tablename__ = "sign_in_lockouts"

    user_name: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    until: Mapped[datetime] = mapped_column(UTCDateTime())


class OidcLoginRow(Base):
    """A single sign-on started here and not yet come back: what the callback must match.

    Keyed by the SHA-256 of the ``state`` sent to the provider; used once, then deleted.
    """

    __tablename__ = "oidc_logins"

    state_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(sa.String(128))
    verifier: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


USER_CHANGES = ("added", "granted", "revoked", "disabled", "enabled")


class UserChangeRow(Base):
    """One change to the users or their roles, kept for good (append-only).

    ``users`` and ``user_roles`` are the current state; this is its history, so that
    enabling a user does not erase the record of the disable, and `audit verify` can
    check that the current state is what the history says. Its first row also records
    for good that the database has had users: open mode never comes back.
    """

    __tablename__ = "user_changes"
    __table_args__ = (sa.CheckConstraint(_in("change", USER_CHANGES), name="change"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(sa.String(128))
    user_name: Mapped[str] = mapped_column(sa.String(128))
    change: Mapped[str] = mapped_column(sa.String(16))
    role: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)


class CheckpointRow(Base):
    """A signed checkpoint, as written by `pathway audit checkpoint` (append-only).

    Kept here for convenience only: a checkpoint counts because copies live elsewhere.
    """

    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(sa.String(128))
    statement: Mapped[str] = mapped_column(sa.Text)


DIGEST_FREQUENCIES = ("daily", "weekly")


class ContactRow(Base):
    """Where a user's worklist digest goes, and how often: set by the user or an admin."""

    __tablename__ = "user_contacts"
    __table_args__ = (sa.CheckConstraint(_in("digest", DIGEST_FREQUENCIES), name="digest"),)

    user_name: Mapped[str] = mapped_column(sa.ForeignKey("users.name"), primary_key=True)
    email: Mapped[str | None] = mapped_column(sa.String(254), nullable=True)
    digest: Mapped[str | None] = mapped_column(sa.String(8), nullable=True)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())
    set_by: Mapped[str] = mapped_column(sa.String(128))


class DigestRow(Base):
    """One digest of one period for one user: claimed before it is sent, so that two runs of
    `jobs notify` never send it twice; ``sent_at`` stays empty until the mail server took it."""

    __tablename__ = "digests"

    user_name: Mapped[str] = mapped_column(sa.ForeignKey("users.name"), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(10), primary_key=True)  # 2026-12-03, or 2026-W49
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    items: Mapped[int] = mapped_column(sa.Integer)


# Typed handles on the user tables, which Core queries join (a mapped class's __table__ is
# typed as a FromClause): the token check and the access check both read roles with the user.
USERS: sa.Table = UserRow.__table__  # type: ignore[assignment]
USER_ROLES: sa.Table = UserRoleRow.__table__  # type: ignore[assignment]
