"""The site's clock and calendar.

Clinical dates are calendar dates in the site's time zone; stored instants are UTC.
Everything asks this module for "now" and "today" so that tests can freeze time with
freezegun and a site can set ``PATHWAY_TIMEZONE``.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pathway.domain.fields import EARLIEST, LATEST, quoted
from pathway.errors import InvalidInput


def site_timezone() -> tzinfo:
    """``PATHWAY_TIMEZONE`` (an IANA name) or, failing that, the machine's zone."""
    name = os.environ.get("PATHWAY_TIMEZONE", "").strip()
    if not name:
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"PATHWAY_TIMEZONE={name!r} is not a known time zone; "
            "use an IANA name such as Europe/London or America/New_York."
        ) from None


def now_utc() -> datetime:
    return datetime.now(UTC)


def today(tz: tzinfo | None = None) -> date:
    """Today's date in the site's time zone."""
    return now_utc().astimezone(tz or site_timezone()).date()


def parse_instant(text: str, what: str = "--now") -> datetime:
    """An ISO 8601 instant; without a zone it is read in the site's time zone."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{what} {quoted(text)} is not an ISO 8601 timestamp; use e.g. 2026-03-01T02:00:00+00:00, "
            "or 2026-03-01T02:00 for the site's time zone."
        ) from None
    if not EARLIEST.year <= value.year <= LATEST.year:  # as clinical dates; and no OverflowError near year 1 or 9999
        raise InvalidInput(
            f"{what} {quoted(text)} is not plausible (years {EARLIEST.year}-{LATEST.year}); check the year."
        )
    if value.tzinfo is None:
        value = value.replace(tzinfo=site_timezone())
    return value.astimezone(UTC)
