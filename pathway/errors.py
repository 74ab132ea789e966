"""Errors that reach the user, each carrying the exit code the CLI contract gives it.

They live outside the domain and the adapters so that both may raise them and the
CLI maps them to exit codes in one place.
"""

from __future__ import annotations


class PathwayError(Exception):
    """Base class: a message for the user and the process exit code."""

    exit_code = 2

    def __init__(self, message: str, *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class Refused(PathwayError):
    """A clinical guard said no; a clinician may override it."""

    exit_code = 1

    def __init__(self, message: str, *, verdicts: list | None = None, overridable: bool = True) -> None:
        super().__init__(message, details=[v.message for v in verdicts or [] if not v.passed])
        self.verdicts = verdicts or []
        self.overridable = overridable  # False: an override cannot help (e.g. dates out of order)


class AlreadyDone(PathwayError):
    """The same work was done before (a file imported twice): refused, never overridable."""

    exit_code = 1


class InvalidInput(PathwayError):
    """Bad usage or input: never overridable."""

    exit_code = 2


class NotFound(PathwayError):
    exit_code = 3


class Conflict(PathwayError):
    """Someone else changed the episode between our read and our write."""

    exit_code = 4


class AccessDenied(PathwayError):
    exit_code = 5


class Unavailable(PathwayError):
    """A tool or service this command needs is missing (sysexits EX_UNAVAILABLE)."""

    exit_code = 69
