"""Typed trigger fields: parsing command-line text into checked clinical values.

Every value that reaches an event passes through one of these specs, so the rules for
"what is a valid pain score" live in one place for the CLI, the Python API and tests.
Parsed values are JSON-ready (dates as ISO strings) because they are stored as event
fields and hashed into the audit chain.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

# ASCII digits only: other scripts' digits and look-alikes are refused, not converted.
_INT = re.compile(r"[+-]?[0-9]{1,9}")
_NUMBER = re.compile(r"[+-]?[0-9]{1,9}(\.[0-9]{1,9})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SPACE = " \t\r\n"  # what is trimmed from structured values (never control characters)
EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


class FieldError(ValueError):
    """A value that cannot be accepted, with a sentence saying what would be."""


def canonical_number(value: int | float | Decimal) -> int | float:
    """One spelling per value: a whole number is an int (``5.0`` and ``-0.0`` become ``5`` and ``0``),
    any other a float.

    Event fields are hashed as JSON and stored as JSON (JSONB on PostgreSQL, which has no
    negative zero and writes ``1e+16`` as an integer): a value that the database could
    spell differently from the hashed text would make a correct chain fail verification.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value}")
        return int(value) if value == value.to_integral_value() else float(value)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    return int(value) if value.is_integer() else value


def canonical_value(value: Any) -> Any:
    """``value`` (JSON-ready: dicts, lists, texts, numbers, booleans) with every number canonical."""
    if isinstance(value, dict):
        return {key: canonical_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [canonical_value(item) for item in value]
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return canonical_number(value)
    return value


def parse_date(text: str, what: str = "date") -> date:
    """Strict ISO calendar date (YYYY-MM-DD); anything else is refused, not guessed."""
    text = text.strip(_SPACE)
    if not _DATE.fullmatch(text):
        raise FieldError(f"{what} {quoted(text)} is not a date; write it as YYYY-MM-DD.")
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise FieldError(f"{what} {quoted(text)} is not a real calendar date.") from None
    if not EARLIEST <= value <= LATEST:
        raise FieldError(f"{what} {text} is not plausible (years 1900-2199); check the year.")
    return value


def check_text(text: str, what: str, max_length: int) -> str:
    """Trimmed, non-empty, bounded text without control characters (tabs and line breaks aside)."""
    for ch in text:
        if ch not in "\n\t" and unicodedata.category(ch).startswith("C"):
            raise FieldError(f"{what} contains a control or unprintable character (U+{ord(ch):04X}).")
    text = text.strip()
    if not text:
        raise FieldError(f"{what} must not be empty.")
    if len(text) > max_length:
        raise FieldError(f"{what} is {len(text)} characters long; the limit is {max_length}.")
    return text


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """" (did you mean X?)" for the closest valid name (a prefix, else difflib's), or "" when none is close."""
    word, names = word.strip().lower(), list(choices)
    starting = [n for n in names if len(word) >= 2 and n.startswith(word)]
    close = starting[:1] or difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def quoted(text: str) -> str:
    """Quote user text in a message without echoing huge or unprintable input."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    return ascii(shown) if not shown.isprintable() else repr(shown)


@dataclass(frozen=True)
class Field:
    """One named, typed field of a trigger."""

    name: str
    required: bool = True
    default: Any = None
    help: str = ""

    def parse(self, text: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def details(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def as_dict(self) -> dict[str, Any]:
        """The field as `next --json` lists it: name, type, unit or choices or range, required."""
        unit = "mm" if self.name.endswith("_mm") else None
        return {"name": self.name, **self.details(), **({"unit": unit} if unit else {}), "required": self.required,
                **({"help": self.help} if self.help else {})}  # fmt: skip

    def brief(self) -> str:
        """Compact, for a table cell: ``pain=0-10``, ``[note=text]`` (optional in brackets)."""
        d = self.details()
        kind = d["type"]
        if "choices" in d:
            shown = "|".join(d["choices"]) if kind == "choice" else ",".join(d["choices"])
        elif kind in ("integer", "number"):
            low = f">{d['min']:g}" if d.get("min_exclusive") else f"{d['min']:g}"
            shown = f"{low}-{d['max']:g}" + (" mm" if self.name.endswith("_mm") else "")
        elif kind == "boolean":
            shown = "true|false"
        else:
            shown = kind
        text = f"{self.name}={shown}"
        return text if self.required else f"[{text}]"


@dataclass(frozen=True)
class IntField(Field):
    lo: int = 0
    hi: int = 10

    def parse(self, text: str) -> int:
        text = text.strip(_SPACE)
        if not _INT.fullmatch(text):
            raise FieldError(f"{self.name} must be a whole number from {self.lo} to {self.hi}, not {quoted(text)}.")
        value = int(text)
        if not self.lo <= value <= self.hi:
            raise FieldError(f"{self.name} must be from {self.lo} to {self.hi}; {value} is out of range.")
        return value

    def describe(self) -> str:
        return f"integer {self.lo}-{self.hi}"

    def details(self) -> dict[str, Any]:
        return {"type": "integer", "min": self.lo, "max": self.hi}


@dataclass(frozen=True)
class NumberField(Field):
    lo: float = 0
    hi: float = 100
    lo_inclusive: bool = True
    max_decimals: int | None = None

    def parse(self, text: str) -> float | int:
        text = text.strip(_SPACE)
        if self.lo_inclusive:
            bound = f"from {self.lo:g} to {self.hi:g}"
        else:
            bound = f"greater than {self.lo:g} and at most {self.hi:g}"
        if not _NUMBER.fullmatch(text):
            raise FieldError(f"{self.name} must be a number {bound}, not {quoted(text)}.")
        exact = Decimal(text)
        exponent = exact.as_tuple().exponent  # an int: the text matched _NUMBER, so it is finite
        decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if self.max_decimals is not None and decimals > self.max_decimals:
            raise FieldError(f"{self.name} takes at most {self.max_decimals} decimal place(s); got {text}.")
        too_low = exact < Decimal(str(self.lo)) if self.lo_inclusive else exact <= Decimal(str(self.lo))
        if too_low or exact > Decimal(str(self.hi)):
            raise FieldError(f"{self.name} must be a number {bound}; {text} is out of range.")
        return canonical_number(exact)

    def describe(self) -> str:
        low = f"{'>=' if self.lo_inclusive else '>'} {self.lo:g}"
        places = f", {self.max_decimals} decimal" if self.max_decimals else ""
        return f"number {low}, <= {self.hi:g}{places}"

    def details(self) -> dict[str, Any]:
        return {"type": "number", "min": self.lo, "max": self.hi, **({} if self.lo_inclusive else {"min_exclusive": True}),
                **({"decimals": self.max_decimals} if self.max_decimals is not None else {})}  # fmt: skip


@dataclass(frozen=True)
class BoolField(Field):
    def parse(self, text: str) -> bool:
        lowered = text.strip(_SPACE).lower() if text.isascii() else ""
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise FieldError(f"{self.name} must be true or false, not {quoted(text)}.")

    def describe(self) -> str:
        return "true | false"

    def details(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class EnumField(Field):
    choices: tuple[str, ...] = ()

    def parse(self, text: str) -> str:
        lowered = text.strip(_SPACE).lower() if text.isascii() else ""
        if lowered not in self.choices:
            hint = did_you_mean(lowered or text, self.choices)
            raise FieldError(f"{self.name} must be one of {', '.join(self.choices)}; {quoted(text)} is not{hint}.")
        return lowered

    def describe(self) -> str:
        return " | ".join(self.choices)

    def details(self) -> dict[str, Any]:
        return {"type": "choice", "choices": list(self.choices)}


@dataclass(frozen=True)
class EnumListField(Field):
    """A comma-separated set of choices, stored in the order of ``choices``."""

    choices: tuple[str, ...] = ()

    def parse(self, text: str) -> list[str]:
        items = [part.strip(_SPACE).lower() for part in text.split(",")] if text.isascii() else [text]
        if not text.strip(_SPACE) or any(not item for item in items):
            raise FieldError(f"{self.name} takes a comma-separated list of {', '.join(self.choices)}.")
        unknown = [item for item in items if item not in self.choices]
        if unknown:
            raise FieldError(
                f"{self.name}: {', '.join(quoted(u) for u in unknown)}{did_you_mean(unknown[0], self.choices)} "
                f"not among {', '.join(self.choices)}."
            )
        if len(set(items)) != len(items):
            raise FieldError(f"{self.name} lists the same item twice.")
        return [choice for choice in self.choices if choice in items]

    def describe(self) -> str:
        return "comma-separated: " + ", ".join(self.choices)

    def details(self) -> dict[str, Any]:
        return {"type": "choices", "choices": list(self.choices)}


@dataclass(frozen=True)
class DateField(Field):
    def parse(self, text: str) -> str:
        return parse_date(text, self.name).isoformat()

    def describe(self) -> str:
        return "date YYYY-MM-DD"

    def details(self) -> dict[str, Any]:
        return {"type": "date"}


@dataclass(frozen=True)
class TextField(Field):
    max_length: int = 1000

    def parse(self, text: str) -> str:
        return check_text(text, self.name, self.max_length)

    def describe(self) -> str:
        return f"text, up to {self.max_length} characters"

    def details(self) -> dict[str, Any]:
        return {"type": "text", "max_length": self.max_length}


PAIN: dict[str, Any] = dict(lo=0, hi=10, help="numeric rating scale 0-10")
MHHS: dict[str, Any] = dict(lo=0, hi=100, max_decimals=1, help="modified Harris Hip Score 0-100")
