"""Rule sets as TOML files that a clinical lead can read, edit and review.

One table per rule, in catalogue order, with ``value``, ``unit`` (for rules that have
one) and ``basis``. Writing is deterministic, so exporting a version, importing that
file as a new version and exporting again gives identical bytes. Only the rules travel:
the version number, status, note and authorship belong to the database row, and TOML
comments are not kept.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable

import tomli_w

from pathway.domain.rule_checks import RuleEntry, check_rule_set
from pathway.errors import InvalidInput

HEADER = """\
# A pathway rule set: one table per rule, with
#   value  the rule's value
#   unit   the rule's unit, exactly as in the catalogue (omitted for yes/no rules and lists of choices)
#   basis  the source, paper or local policy behind the value
# Store it as a draft with `pathway rules new --from FILE --note "why"`; comments are not kept.

"""


def parse_rule_file(text: str, source: str) -> list[RuleEntry]:
    """The entries of a rule file, or InvalidInput listing every problem in it."""
    try:
        tables = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{source} is not valid TOML ({exc}); nothing was saved.") from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively, without a depth limit
        raise InvalidInput(
            f"{source} nests arrays or tables too deeply to be a rule set; nothing was saved. "
            "A rule's value is a number, a yes/no or a flat list."
        ) from None
    entries, problems = check_rule_set(tables)
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        raise InvalidInput(
            f"{source} is not a valid rule set ({count}); nothing was saved. Fix every one and try again.",
            details=problems,
        )
    return entries


def format_rule_file(entries: Iterable[RuleEntry]) -> str:
    """The TOML text of a rule set (the inverse of ``parse_rule_file``)."""
    tables = {}
    for entry in entries:
        table = {"value": entry.value}
        if entry.unit is not None:
            table["unit"] = entry.unit
        table["basis"] = entry.basis
        tables[entry.key] = table
    return HEADER + tomli_w.dumps(tables)
