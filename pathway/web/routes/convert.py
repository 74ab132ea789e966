"""Query parameters and JSON values as the command line's texts, checked by the same code."""

from __future__ import annotations

from datetime import date
from typing import Any

from pathway.domain.fields import FieldError, parse_date, quoted
from pathway.errors import InvalidInput

MAX = 2**31 - 1


def whole(text: str | None, name: str, minimum: int = 1) -> int | None:
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and minimum <= int(text) <= MAX):
        raise InvalidInput(f"{name} must be a whole number from {minimum} to {MAX}, not {quoted(text[:40])}.")
    return int(text)


def flag(text: str | None, name: str) -> bool:
    if text is None:
        return False
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise InvalidInput(f"{name} must be true or false, not {quoted(text[:40])}.")


def day(value: Any, name: str) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a date as text, YYYY-MM-DD.")
    try:
        return parse_date(value, name)
    except FieldError as exc:
        raise InvalidInput(str(exc)) from None


def text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text.")
    return value


def cli_text(value: Any, name: str) -> str:
    """A field value as `--set NAME=VALUE` would give it: true/false, numbers, comma lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, int | float | str) and not isinstance(v, bool) for v in value):
        return ",".join(map(str, value))
    raise InvalidInput(f"Field {quoted(name[:40])} must be text, a number, true/false or a list of those.")
