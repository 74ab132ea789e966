"""`pathway jobs notify`: the worklist by email, once per period to each user who opted in.

Each digest is claimed (a row in ``digests``) and logged in one transaction before it is
sent, so two runs at once send it once; a digest the mail server did not take is released
for the next run, and a claim left by a run that died is taken over after
``STALE_CLAIM``. Patient references appear only where the site allows it
(``PATHWAY_DIGEST_IDENTIFIED``); otherwise a digest holds counts and episode links.
"""

from __future__ import annotations

import html
import os
import smtplib
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from pathway.clock import site_timezone
from pathway.db.models import ContactRow, DigestRow, UserRoleRow, UserRow
from pathway.db.uow import UnitOfWork
from pathway.errors import InvalidInput, PathwayError, Unavailable
from pathway.mail import Mailer, message
from pathway.services import Actor
from pathway.services.access import authorize, log_change
from pathway.services.contacts import RECIPIENT_ROLES
from pathway.services.worklist import worklist

STALE_CLAIM = timedelta(minutes=15)
MAX_LINKS = 200  # per section; the rest are counted and left to the worklist page
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class Site:
    """What a digest needs from the site: where its pages are, and whether references may be mailed."""

    base_url: str
    identified: bool = False

    @classmethod
    def from_environment(cls) -> Site:
        url = os.environ.get("PATHWAY_BASE_URL", "").strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput(
                "Set PATHWAY_BASE_URL to the address people open pathway at (e.g. https://pathway.example.org) "
                "so that the digest can link to each patient's page."
            )
        flag = os.environ.get("PATHWAY_DIGEST_IDENTIFIED", "").strip().lower()
        if flag not in _TRUE | _FALSE:
            raise InvalidInput(f"PATHWAY_DIGEST_IDENTIFIED={flag!r}: write 1 to put patient references in digests, 0 not to.")
        return cls(url, flag in _TRUE)


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str
    digest: str

    def period(self, today: date) -> str:
        year, week, _ = today.isocalendar()
        return today.isoformat() if self.digest == "daily" else f"{year}-W{week:02d}"

    def horizon(self, today: date) -> date:
        """A daily digest holds what is due by today; a weekly one, what is due within the week."""
        return today if self.digest == "daily" else today + timedelta(days=6)


def notify(engine: sa.Engine, *, actor: Actor, now: datetime, mailer: Mailer | None, site: Site,
           dry_run: bool = False) -> dict[str, Any]:  # fmt: skip
    """Send each due digest; returns the counts. Unavailable (exit 69) when some could not be sent."""
    today = now.astimezone(site_timezone()).date()
    with UnitOfWork(engine) as uow:
        actor = authorize(uow, actor, "jobs.notify", now=now)
        recipients = _recipients(uow)
        items = list(worklist(uow, today=today, due_within=6)) if recipients else []
    counts = Counter(recipients=len(recipients), sent=0, would_send=0, already_sent=0, nothing_due=0, failed=0)
    client: smtplib.SMTP | None = None
    failure: PathwayError | None = None
    try:
        for recipient in recipients:
            theirs = [i for i in items if i["opened_at"] or date.fromisoformat(i["due_on"]) <= recipient.horizon(today)]
            period = recipient.period(today)
            if not theirs:
                counts["nothing_due"] += 1
            elif dry_run:
                counts["would_send"] += 1
            elif failure is not None:
                counts["failed"] += 1
            elif not _claim(engine, recipient, period, theirs, actor, now, site.identified):
                counts["already_sent"] += 1
            else:
                try:
                    client = client or _connect(mailer)
                    client.send_message(_digest(mailer, recipient, theirs, today, site))
                except (PathwayError, smtplib.SMTPException, OSError) as error:
                    _settle(engine, recipient, period, sent_at=None)
                    counts["failed"] += 1
                    failure = error if isinstance(error, PathwayError) else Unavailable(
                        f"The mail server {mailer.where if mailer else ''} did not take a digest "
                        f"({type(error).__name__}).")  # fmt: skip
                    client = None
                else:
                    _settle(engine, recipient, period, sent_at=now)
                    counts["sent"] += 1
    finally:
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                pass
    result = {**counts, "dry_run": dry_run}
    if failure is not None:
        raise Unavailable(f"{failure.message} {counts['failed']} digest(s) not sent, {counts['sent']} sent; "
                          "the next run sends the rest.")  # fmt: skip
    return result


def _connect(mailer: Mailer | None) -> smtplib.SMTP:
    if mailer is None:
        raise InvalidInput("No mail server is configured: set PATHWAY_SMTP_URL.")
    return mailer.connect()


def _recipients(uow: UnitOfWork) -> list[Recipient]:
    query = (
        sa.select(ContactRow.user_name, ContactRow.email, ContactRow.digest)
        .join(UserRow, UserRow.name == ContactRow.user_name)
        .where(ContactRow.digest.is_not(None), ContactRow.email.is_not(None), UserRow.disabled_at.is_(None),
               sa.exists().where(UserRoleRow.user_name == UserRow.name, UserRoleRow.role.in_(RECIPIENT_ROLES)))
        .order_by(ContactRow.user_name)
    )  # fmt: skip
    return [Recipient(name, str(email), str(digest)) for name, email, digest in uow.session.execute(query)]


def _claim(engine: sa.Engine, recipient: Recipient, period: str, items: list[dict[str, Any]], actor: Actor,
           now: datetime, identified: bool) -> bool:  # fmt: skip
    """Take this period's digest for sending, logged with what it holds; False if it is someone else's."""
    detail = {"recipient": recipient.name, "period": period, "items": len(items), "identified": identified,
              "episodes": sorted({i["episode_id"] for i in items})}  # fmt: skip
    try:
        with UnitOfWork(engine, write=True) as uow:
            uow.session.add(DigestRow(user_name=recipient.name, period=period, claimed_at=now, items=len(items)))
            uow.session.flush()
            log_change(uow.session, actor, "jobs.notify", now, detail)
            uow.commit()
            return True
    except IntegrityError:
        pass
    with UnitOfWork(engine, write=True) as uow:
        taken = uow.session.execute(
            sa.update(DigestRow)
            .where(DigestRow.user_name == recipient.name, DigestRow.period == period, DigestRow.sent_at.is_(None),
                   DigestRow.claimed_at < now - STALE_CLAIM)
            .values(claimed_at=now, items=len(items))
        ).rowcount  # type: ignore[attr-defined]  # fmt: skip
        if taken != 1:
            return False
        log_change(uow.session, actor, "jobs.notify", now, {**detail, "retried": True})
        uow.commit()
        return True


def _settle(engine: sa.Engine, recipient: Recipient, period: str, *, sent_at: datetime | None) -> None:
    """Mark the claimed digest sent, or (``sent_at`` None: the server did not take it) release it for the next run."""
    mine = (DigestRow.user_name == recipient.name, DigestRow.period == period, DigestRow.sent_at.is_(None))
    statement = sa.delete(DigestRow) if sent_at is None else sa.update(DigestRow).values(sent_at=sent_at)
    with UnitOfWork(engine, write=True) as uow:
        uow.session.execute(statement.where(*mine))
        uow.commit()


def _digest(mailer: Mailer | None, recipient: Recipient, items: list[dict[str, Any]], today: date, site: Site) -> EmailMessage:
    """The message: counts, then a link per item (with reference, side and what is due when identified)."""
    overdue = [i for i in items if i["status"] == "overdue"]
    due = [i for i in items if i["status"] != "overdue"]
    kinds = Counter(i["kind"].replace("_", " ") for i in items)
    subject = f"pathway worklist {today.isoformat()}: {len(overdue)} overdue, {len(due)} due"
    summary = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
    text = [f"{recipient.digest.capitalize()} worklist digest for {recipient.name}, {today.isoformat()}.", "",
            f"Overdue: {len(overdue)}", f"Due: {len(due)}", f"By kind: {summary}", ""]  # fmt: skip
    parts = [f"<p>{html.escape(text[0])}</p>", f"<p>Overdue: {len(overdue)}<br>Due: {len(due)}<br>"
             f"By kind: {html.escape(summary)}</p>"]  # fmt: skip
    for heading, section in (("Overdue", overdue), ("Due", due)):
        if not section:
            continue
        text.append(f"{heading}:")
        parts.append(f"<h2>{heading}</h2><ul>")
        for item in section[:MAX_LINKS]:
            link = f"{site.base_url}/episodes/{item['episode_id']}"
            label = _label(item) if site.identified else f"Episode {item['episode_id']}"
            text.append(f"  {label}: {link}")
            parts.append(f'<li><a href="{html.escape(link)}">{html.escape(label)}</a></li>')
        if len(section) > MAX_LINKS:
            more = f"and {len(section) - MAX_LINKS} more on the worklist"
            text.append(f"  {more}")
            parts.append(f"<li>{more}</li>")
        parts.append("</ul>")
        text.append("")
    footer = (f"The whole worklist: {site.base_url}/ . You receive this {recipient.digest}; "
              f"`pathway user set {recipient.name} --digest off` stops it.")  # fmt: skip
    text.append(footer)
    parts.append(f"<p>{html.escape(footer)}</p>")
    sender = mailer.sender if mailer else "pathway@localhost"
    return message(sender, recipient.email, subject, "\n".join(text) + "\n", "\n".join(parts))


def _label(item: dict[str, Any]) -> str:
    what = item["kind"].replace("_", " ")
    when = f"overdue since {item['overdue_on']}" if item["status"] == "overdue" else f"due {item['due_on']}"
    return f"{item['patient_ref']} ({item['side']}), {what}, {when}"
