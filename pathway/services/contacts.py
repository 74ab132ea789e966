"""`pathway user set`: where a user's worklist digest goes and how often.

A user sets their own; an admin may set anyone's. Every change goes to the access log
in its transaction (who set what), like the other changes to users.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from pathway.db.models import DIGEST_FREQUENCIES, ContactRow, UserRow
from pathway.db.uow import UnitOfWork
from pathway.errors import InvalidInput, NotFound
from pathway.services import Actor
from pathway.services.access import OPEN, access_mode, authorize, log_change
from pathway.services.users import check_user_name

# Deliberately plain: one @, a dot in the domain, no spaces or control characters (no header injection).
_ADDRESS = re.compile(r"[^@\s\x00-\x1f\x7f\"<>,;]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
OFF = "off"
RECIPIENT_ROLES = ("coordinator", "clinician")  # who works the worklist, and so gets it by email


def check_address(address: str) -> str:
    address = address.strip()
    if len(address) > 254 or not _ADDRESS.fullmatch(address):
        raise InvalidInput(f"{address[:60]!r} is not an email address; write it as name@example.org.")
    return address


def contact_view(name: str, row: ContactRow | None) -> dict[str, Any]:
    return {"name": name, "email": row.email if row else None, "digest": (row.digest if row else None) or OFF}


def _rights(uow: UnitOfWork, name: str, actor: Actor, now: datetime) -> Actor:
    if access_mode(uow.session) == OPEN:
        raise InvalidInput("No users exist yet: create the first admin with `pathway db upgrade --admin NAME`.")
    return authorize(uow, actor, "db.info" if actor.name == name else "user.set", now=now)  # oneself: any known user


def get_contact(uow: UnitOfWork, *, name: str, actor: Actor, now: datetime) -> dict[str, Any]:
    """``name``'s address and digest, for themself or an admin, and whether the job would send them one
    (``receives``: active, and a coordinator or clinician)."""
    name = check_user_name(name)
    _rights(uow, name, actor, now)
    user = uow.session.get(UserRow, name)
    if user is None:
        raise NotFound(f"There is no user {name}; `pathway user list` shows the users.")
    receives = user.disabled_at is None and any(r.role in RECIPIENT_ROLES for r in user.roles)
    return {**contact_view(name, uow.session.get(ContactRow, name)), "receives": receives}


def list_contacts(uow: UnitOfWork, *, actor: Actor, now: datetime) -> dict[str, dict[str, Any]]:
    """Every user's address and digest, by name, for the administrators' list of users."""
    authorize(uow, actor, "user.list", now=now)
    return {row.user_name: contact_view(row.user_name, row) for row in uow.session.scalars(sa.select(ContactRow))}


def set_contact(
    uow: UnitOfWork, *, name: str, email: str | None, digest: str | None, actor: Actor, now: datetime
) -> dict[str, Any]:
    """Set ``name``'s address (``""`` removes it) and digest frequency (daily, weekly or off)."""
    name = check_user_name(name)
    actor = _rights(uow, name, actor, now)
    if email is None and digest is None:
        raise InvalidInput("Give --email ADDRESS, --digest daily|weekly|off, or both.")
    if digest is not None and digest not in (*DIGEST_FREQUENCIES, OFF):
        raise InvalidInput(f"--digest is one of {', '.join((*DIGEST_FREQUENCIES, OFF))}, not {digest!r}.")
    user = uow.session.get(UserRow, name)
    if user is None:
        raise NotFound(f"There is no user {name}; `pathway user list` shows the users.")
    row = uow.session.get(ContactRow, name)
    address = (check_address(email) if email.strip() else None) if email is not None else (row.email if row else None)
    frequency = (None if digest == OFF else digest) if digest is not None else (row.digest if row else None)
    if frequency is not None and address is None:
        raise InvalidInput(f"A digest needs an address: add --email ADDRESS for {name}.")
    if row is None:
        row = ContactRow(user_name=name, set_at=now, set_by=actor.name)
        uow.session.add(row)
    changed = (row.email, row.digest) != (address, frequency)
    if changed:
        row.email, row.digest, row.set_at, row.set_by = address, frequency, now, actor.name
        log_change(uow.session, actor, "user.set", now, {"user": name, "email_set": address is not None,
                                                         "digest": frequency or OFF})  # fmt: skip
    uow.commit()
    return {**contact_view(name, row), "changed": changed}
