"""Sending mail over SMTP, configured by one URL (``PATHWAY_SMTP_URL``).

``smtp://host:25`` is plain (for a relay on the same host or network), ``smtp+starttls://
host:587`` upgrades with STARTTLS and refuses to go on without it, ``smtps://host:465``
is TLS from the start. A user and password in the URL sign in (percent-encode special
characters). The password never appears in a message: `Mailer.where` names host and port.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from pathway.errors import InvalidInput, Unavailable

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Mailer:
    scheme: str
    host: str
    port: int
    user: str | None = None
    password: str | None = None
    sender: str = "pathway@localhost"

    @property
    def where(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @classmethod
    def from_url(cls, url: str, sender: str | None = None) -> Mailer:
        parts = urlsplit(url.strip())
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise InvalidInput(
                "PATHWAY_SMTP_URL must look like smtp://host:25, smtp+starttls://user:password@host:587 "
                "or smtps://user:password@host:465."
            )
        try:
            port = parts.port or SCHEMES[parts.scheme]
        except ValueError:
            raise InvalidInput("The port in PATHWAY_SMTP_URL is not a number from 1 to 65535.") from None
        return cls(parts.scheme, parts.hostname, port, unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None, sender or f"pathway@{parts.hostname}")  # fmt: skip

    @classmethod
    def from_environment(cls) -> Mailer:
        url = os.environ.get("PATHWAY_SMTP_URL", "").strip()
        if not url:
            raise InvalidInput(
                "Set PATHWAY_SMTP_URL to your mail server (e.g. smtp+starttls://pathway:secret@mail.example.org:587) "
                "so that `jobs notify` can send the digests; PATHWAY_SMTP_FROM sets the sender."
            )
        return cls.from_url(url, os.environ.get("PATHWAY_SMTP_FROM", "").strip() or None)

    def connect(self) -> smtplib.SMTP:
        """A signed-in connection, or Unavailable naming the server (never the password)."""
        try:
            if self.scheme == "smtps":
                client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT_SECONDS,
                                                        context=ssl.create_default_context())  # fmt: skip
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS)
                if self.scheme == "smtp+starttls":
                    client.starttls(context=ssl.create_default_context())
            if self.user:
                client.login(self.user, self.password or "")
            return client
        except smtplib.SMTPAuthenticationError:
            raise Unavailable(f"The mail server {self.where} refused the user and password in PATHWAY_SMTP_URL.") from None
        except (OSError, smtplib.SMTPException) as error:
            reason = type(error).__name__ if isinstance(error, smtplib.SMTPException) else (error.strerror or str(error))
            raise Unavailable(f"Could not reach the mail server {self.where} ({reason}); check PATHWAY_SMTP_URL.") from None


def message(sender: str, to: str, subject: str, text: str, html: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    mail["Date"], mail["Message-ID"] = formatdate(usegmt=True), make_msgid(domain=sender.rpartition("@")[2])
    mail["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to a robot
    mail.set_content(text)
    mail.add_alternative(html, subtype="html")
    return mail
