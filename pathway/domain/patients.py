"""Patient references: one spelling rule, and one way of telling two of them apart.

A reference is the site's patient identifier (MRN). Look-alikes must not pass for
different patients (``MRN-0001`` with Arabic-Indic digits or a Cyrillic ``М``), which
would defeat the one-open-episode-per-side rule: so a reference is normalised (NFKC,
outer spaces removed) and limited to ASCII letters, digits and ``-_./:``, and two
references are the same patient when they differ only in case. Messages never quote
the reference itself: it is personal data.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pathway.domain.fields import FieldError, TextField

MAX_LENGTH = 64
ALLOWED = "ASCII letters, digits and - _ . / :"
_ALLOWED = re.compile(r"[A-Za-z0-9_./:-]+")
CONFLICT = "#"  # what sets apart the key of an older episode that clashed with another (migration 0008)


class PatientRefError(FieldError):
    """A reference that cannot be accepted; the message does not quote it."""


def normalise_patient_ref(text: str) -> str:
    """``text`` as stored: NFKC, outer white space removed; refused unless 1-64 allowed characters."""
    ref = unicodedata.normalize("NFKC", text).strip()
    if not ref:
        raise PatientRefError("The patient reference must not be empty; give the site's patient identifier.")
    if len(ref) > MAX_LENGTH:
        raise PatientRefError(f"The patient reference is {len(ref)} characters long; the limit is {MAX_LENGTH}.")
    if not _ALLOWED.fullmatch(ref):
        control = next((ch for ch in ref if unicodedata.category(ch).startswith("C")), None)
        if control is not None:  # named apart: it is seldom a typing error
            raise PatientRefError(f"The patient reference contains a control or unprintable character "
                                  f"(U+{ord(control):04X}).")  # fmt: skip
        raise PatientRefError(
            f"The patient reference may hold only {ALLOWED}, 1-{MAX_LENGTH} of them (a look-alike letter or "
            "digit of another script could pass for another patient)."
        )
    return ref


def patient_key(ref: str) -> str:
    """What references are compared by: the same key is the same patient (``MRN-1`` and ``mrn-1``)."""
    return unicodedata.normalize("NFKC", ref).strip().casefold()


@dataclass(frozen=True)
class PatientRefField(TextField):
    """The patient reference as a field (``amend``, a correction of the opening event): the same rule."""

    max_length: int = MAX_LENGTH

    def parse(self, text: str) -> str:
        return normalise_patient_ref(text)
