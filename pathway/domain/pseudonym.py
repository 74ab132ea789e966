"""Pseudonymising audit events for quality review.

Three kinds of identifying data leave the trail differently:

- **Patient references** become a keyed hash (HMAC-SHA256 with the site's key) of the
  patient key (``domain.patients``): the same patient gets the same pseudonym in every
  export of the site, whatever the case of the reference, and without the key nobody
  can recompute or reverse it, however few patient numbers there are.
- **Calendar dates** become day numbers: days since the episode's referral date (the
  date of its ``open`` event, day 0). This keeps every interval a reviewer needs and
  drops the dates themselves, which identify people too. Recording instants become the
  day (in the site's time zone) they were recorded on; their time of day is dropped.
- **Free text** (notes, reasons, MRI positioning, override reasons) is withheld: no
  rule can promise it holds no name or date. Guard messages are generated text, kept,
  with the dates in them rewritten as day numbers.
- **Chain hashes** are computed from identified content (the reference, the real dates),
  so they leave keyed (``keyed_hash``): nothing in a pseudonymised export can confirm a
  guessed patient reference or date without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from pathway.domain.audit import GENESIS
from pathway.domain.fields import DateField, TextField
from pathway.domain.history import CORRECTIONS
from pathway.domain.patients import patient_key
from pathway.domain.triggers import TRIGGERS

WITHHELD = "[free text withheld]"
PSEUDONYM_LENGTH = 32  # hex digits: 128 bits, no collision in any site's lifetime

ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")

# Per trigger: its date fields and its free-text fields. The open event's referral
# details are not a TriggerSpec and are listed here.
DATE_FIELDS: dict[str, tuple[str, ...]] = {"open": ("referred_on",)}
TEXT_FIELDS: dict[str, tuple[str, ...]] = {}
for _spec in TRIGGERS.values():
    if dates := tuple(f.name for f in _spec.fields if isinstance(f, DateField)):
        DATE_FIELDS[_spec.name] = dates
    if texts := tuple(f.name for f in _spec.fields if isinstance(f, TextField)):
        TEXT_FIELDS[_spec.name] = texts
# Corrections and voids: their reason is free text, a corrected date is a date, and the
# new values are rewritten as the corrected event's trigger's own fields would be.
REWRITTEN = frozenset(DATE_FIELDS) | frozenset(TEXT_FIELDS) | CORRECTIONS


def pseudonym(key: bytes, patient_ref: str) -> str:
    """The site-stable, irreversible stand-in for a patient: keyed on the patient key, so that
    references that are one patient (``MRN-1``, ``mrn-1``) get one pseudonym."""
    return hmac.new(key, patient_key(patient_ref).encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_LENGTH]


def keyed_hash(key: bytes, event_hash: str) -> str:
    """An event's chain hash as a pseudonymised export carries it: HMAC-SHA256 with the site's key.

    The chain hash itself covers the patient reference and the real dates, so anyone who
    guesses those (a few thousand MRNs, a year of referral dates) could confirm the guess
    against it. Keyed, it still links each event to the one before (equal values, equal
    keyed hashes) and whoever holds the key can match it to the database; nobody else can
    test a guess. The start of a chain (all zeros) identifies nobody and stays as it is.
    """
    if event_hash == GENESIS:
        return event_hash
    return hmac.new(key, b"pathway event hash\n" + event_hash.encode(), hashlib.sha256).hexdigest()


def day_field(name: str) -> str:
    """``planned_on`` -> ``planned_day``: a renamed field cannot be mistaken for a date."""
    return name[:-3] + "_day" if name.endswith("_on") else name + "_day"


def days_since(day0: date, text: str) -> int:
    return (date.fromisoformat(text) - day0).days


def dates_as_days(text: str, day0: date) -> str:
    """Every ISO date inside generated text, as "day N" of the episode."""
    if "-" not in text:
        return text

    def repl(match: re.Match[str]) -> str:
        try:
            return f"day {(date(int(match[1]), int(match[2]), int(match[3])) - day0).days}"
        except ValueError:
            return match[0]

    return ISO_DATE.sub(repl, text)


def pseudonymised_fields(
    trigger: str, fields: Mapping[str, Any], day0: date, patient: str, target: str | None = None
) -> dict[str, Any]:
    """An event's fields with the patient reference, dates and free text replaced.

    For a correction, ``target`` is the trigger of the event it corrects; when it is not
    known (that event lies outside the export) every text value it sets is withheld.
    """
    if trigger in CORRECTIONS:
        return _correction_fields(fields, day0, patient, target)
    out: dict[str, Any] = {}
    dates = DATE_FIELDS.get(trigger, ())
    texts = TEXT_FIELDS.get(trigger, ())
    for name, value in fields.items():
        if name == "patient_ref" and trigger == "open":
            out["patient_pseudonym"] = patient
        elif name in dates and isinstance(value, str):
            out[day_field(name)] = days_since(day0, value)
        elif name in texts and value is not None:
            out[name] = WITHHELD
        else:
            out[name] = value
    return out


def _correction_fields(fields: Mapping[str, Any], day0: date, patient: str, target: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "reason":
            out[name] = WITHHELD
        elif name == "occurred_on" and isinstance(value, str):
            out[day_field(name)] = days_since(day0, value)
        elif name == "set" and isinstance(value, Mapping):
            if target is not None:
                out[name] = pseudonymised_fields(target, value, day0, patient)
            else:
                out[name] = {k: WITHHELD if isinstance(v, str) else v for k, v in value.items()}
        else:
            out[name] = value
    return out
