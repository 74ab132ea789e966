"""Use cases: each function runs one command's work inside a unit of work.

They take plain values and return plain, JSON-ready data; the CLI only parses and
renders, so a Python user can call these directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pathway.errors import Conflict

if TYPE_CHECKING:
    from pathway.db.models import EpisodeRow

CHANGED_MEANWHILE = (
    "Episode {id} was changed by someone else while this command ran; nothing was saved. "
    "Check `pathway episode show {id}` and run the command again if it still applies."
)


@dataclass(frozen=True)
class Actor:
    """Who is acting, and in which role (None in open single-user mode)."""

    name: str
    role: str | None = None
    auth: str = "claimed"  # how the name was established: password | oidc | token | claimed
    # The roles held, when the sign-in check has just read them with the user (a token):
    # access checks then need not read them again. None: read them.
    held: tuple[str, ...] | None = None


def check_version(episode: EpisodeRow, expect_version: int | None) -> None:
    """Exit 4 unless the episode is still at the version the caller looked at."""
    if expect_version is not None and episode.version != expect_version:
        raise Conflict(
            f"Episode {episode.id} is at version {episode.version}, not {expect_version}: someone changed it "
            f"since you looked. Review it with `pathway episode show {episode.id}` and try again."
        )
