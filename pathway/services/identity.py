"""Who may see whom: reviewers and the service role read pseudonyms, never patient references.

(Looking a patient up by reference is refused to them in ``access.authorize``: it would
tell them whose pseudonym is whose.)

Quality reviewers and scheduled jobs need the pathway, not the person: every episode,
history and worklist they read names the patient by the site's pseudonym (the keyed hash
the pseudonymised exports use, so a reviewer can match a page to an export), and
coordinators, clinicians and administrators see the reference itself. Without the
site's key (``PATHWAY_PSEUDONYM_KEY`` or ``..._FILE``) the reference is withheld.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pathway.domain.access import PSEUDONYMOUS_ROLES
from pathway.errors import InvalidInput
from pathway.services import Actor

WITHHELD = "[withheld]"
T = TypeVar("T")


def pseudonymous(actor: Actor) -> bool:
    return actor.role in PSEUDONYMOUS_ROLES


def shown_to(actor: Actor, data: T) -> T:
    """``data`` as ``actor`` may see it: every ``patient_ref`` replaced by its pseudonym for reviewers."""
    if not pseudonymous(actor):
        return data
    from pathway.domain.pseudonym import pseudonym
    from pathway.exports.key import load_key

    try:
        key: bytes | None = load_key()
    except InvalidInput:
        key = None

    def masked(ref: str) -> str:
        return f"P-{pseudonym(key, ref)[:16]}" if key is not None else WITHHELD

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: masked(v) if k == "patient_ref" and isinstance(v, str) else walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    result: T = walk(data)
    return result
