"""Numbers in event fields: one spelling per value, hashed as the database gives it back.

PostgreSQL's JSONB has no negative zero and may respell a number, so an event hashed
with ``-0.0`` but stored as ``0.0`` used to fail `audit verify` though nothing was
tampered with. Every accepted number is now canonical before it is hashed and stored;
the property test types numbers every way the field syntax allows and checks that each
accepted event verifies, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathway.domain.fields import canonical_number, canonical_value
from tests.conftest import Pathway
from tests.walk import episode_before

# sign, leading zeros, whole part, and a fraction with trailing zeros: every spelling the syntax takes
NUMBERS = st.builds(
    lambda sign, zeros, whole, fraction, trailing: f"{sign}{'0' * zeros}{whole}{fraction}{'0' * trailing}",
    st.sampled_from(["", "+", "-"]), st.integers(0, 3), st.integers(0, 100),
    st.one_of(st.just(""), st.just("."), st.from_regex(r"\.[0-9]{1,8}", fullmatch=True)), st.integers(0, 3),
)  # fmt: skip
SPECIAL = st.sampled_from(["-0", "-0.0", "+0.0", "0.0", "00.0", "-00", "1.0", "1", "100.0", "-0.00", "55.5", "99.90"])
_NOTES = itertools.count(1)


def stored_fields(engine: sa.Engine, episode_id: int) -> Any:
    with engine.connect() as conn:
        return conn.scalar(sa.text("SELECT fields FROM events WHERE episode_id = :e ORDER BY seq DESC LIMIT 1"),
                           {"e": episode_id})  # fmt: skip


def verified(pathway: Pathway, episode_id: int) -> None:
    result = pathway("--json", "audit", "verify", "--episode", str(episode_id))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["intact"]


@pytest.mark.parametrize(("trigger", "name"), [("record_followup", "mhhs"), ("correct", "ifs_mm")])
def test_every_accepted_number_verifies(pathway: Pathway, engine: sa.Engine, trigger: str, name: str) -> None:
    with freeze_time("2026-12-01 10:00:00"):
        episode = episode_before(pathway, "confirm_diagnosis" if trigger == "correct" else trigger, "MRN-1")

        @settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(text=st.one_of(SPECIAL, NUMBERS))
        def check(text: str) -> None:
            if trigger == "correct":  # event 5 is the MRI report
                args = ["correct", str(episode), "5", "--set", f"{name}={text}", "--reason", f"re-keyed {next(_NOTES)}"]
            else:
                args = ["advance", str(episode), trigger, "--set", "pain=3", "--set", f"{name}={text}",
                        "--set", f"note=visit {next(_NOTES)}"]  # fmt: skip
            result = pathway(*args)
            if result.exit_code != 0:  # refused (out of range, too many decimals, the same value again)
                assert result.exit_code in (1, 2), result.output
                return
            value = stored_fields(engine, episode)
            value = json.loads(value) if isinstance(value, str) else value
            stored = value[name] if trigger != "correct" else value["set"][name]
            assert Decimal(str(stored)) == Decimal(text)  # the value typed, exactly
            assert stored == canonical_number(stored) and str(stored) != "-0.0"
            assert type(stored) is (int if Decimal(text) == Decimal(text).to_integral_value() else float)
            verified(pathway, episode)

        check()


def test_canonical_numbers_have_one_spelling() -> None:
    values = (-0.0, 0.0, 1.0, Decimal("-0.0"), Decimal("5.50"), 1e16, 55.5, 7, Decimal("0.10"))
    assert [repr(canonical_number(v)) for v in values] == ["0", "0", "1", "0", "5.5", "10000000000000000", "55.5",
                                                           "7", "0.1"]  # fmt: skip
    assert canonical_value({"a": [-0.0, True, "x", 2.0], "b": None}) == {"a": [0, True, "x", 2], "b": None}
    assert canonical_value({"a": [True, False]})["a"][0] is True
    with pytest.raises(ValueError):
        canonical_number(float("nan"))


@pytest.mark.parametrize("kind", ["advance", "correct"])
def test_an_event_hashed_with_negative_zero_before_the_fix_still_verifies(pathway: Pathway, engine: sa.Engine,
                                                                          kind: str) -> None:  # fmt: skip
    """A database written before numbers were canonical: the hash covers -0.0, PostgreSQL kept 0.0.

    The event is rebuilt here as that code wrote it; the same event with a different
    value (5.0 stored under the hash of -0.0) is still an edit.
    """
    from pathway.db.models import EpisodeRow, EventRow
    from pathway.domain.audit import chain_hash, payload_of

    events, episodes = EventRow.__table__, EpisodeRow.__table__
    with freeze_time("2026-12-01 10:00:00"):
        episode = episode_before(pathway, "record_followup", "MRN-1")
        pathway.ok("advance", str(episode), "record_followup", "--set", "pain=3", "--set", "mhhs=0")
        if kind == "correct":
            seq = pathway.json("episode", "show", str(episode))["event_count"]
            pathway.ok("correct", str(episode), str(seq), "--set", "mhhs=5", "--reason", "re-keyed")
            pathway.ok("correct", str(episode), str(seq), "--set", "mhhs=0", "--reason", "re-keyed again")

    def rewrite(stored: float) -> None:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                for name in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars():
                    conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
            else:
                conn.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER USER")
            row = dict(conn.execute(sa.select(events).where(events.c.episode_id == episode)
                                    .order_by(events.c.seq.desc()).limit(1)).mappings().one())  # fmt: skip
            fields = dict(row["fields"])
            target = fields["set"] if kind == "correct" else fields
            target["mhhs"] = -0.0
            hashed = chain_hash(row["prev_hash"], payload_of({**row, "fields": fields}))
            target["mhhs"] = stored
            conn.execute(sa.update(events).where(events.c.id == row["id"]).values(fields=fields, hash=hashed))
            conn.execute(sa.update(episodes).where(episodes.c.id == episode).values(head_hash=hashed))
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("ALTER TABLE events ENABLE TRIGGER USER")

    rewrite(0.0)
    verified(pathway, episode)
    rewrite(5.0)
    result = pathway("--json", "audit", "verify", "--episode", str(episode))
    assert result.exit_code == 1 and json.loads(result.stdout)["broken"][0]["kind"] == "edited"
