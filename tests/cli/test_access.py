"""Users and roles through the CLI: who may do what, refusals (exit 5) and the access log."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from pathway.db.models import AccessLogRow
from pathway.domain.access import ROLES, granting_roles
from tests.conftest import Pathway, dump
from tests.pathway_spec import VALID_FIELDS
from tests.walk import STEPS_BEFORE, episode_before

USERS = {"coordinator": "cora", "clinician": "dr.kim", "reviewer": "rev", "service": "cron", "admin": "adm"}


class Site:
    """A database with one user per role, and helpers to act as them."""

    def __init__(self, pathway: Pathway, engine: sa.Engine) -> None:
        self.pathway, self.engine = pathway, engine
        assert pathway("--as", "root", "db", "upgrade", "--admin", "adm").exit_code == 0
        for role, name in USERS.items():
            if role != "admin":
                pathway.ok("--as", "adm", "user", "add", name, "--role", role)

    def as_(self, user: str, *args: str) -> Any:
        return self.pathway("--as", user, *args)

    def episode_before(self, trigger: str) -> int:
        return episode_before(self.pathway, trigger, "MRN-7731", user="dr.kim")

    def log(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(AccessLogRow.__table__).order_by(AccessLogRow.id)).mappings().all()
        return [dict(r) for r in rows]


def _without_log(snapshot: dict[str, list]) -> dict[str, list]:
    return {table: rows for table, rows in snapshot.items() if table not in ("access_log", "access_log_head")}


def assert_refused(site: Site, user: str, args: list[str], action: str, episode_id: int | None = None) -> None:
    """Exit 5, a sentence on stderr, nothing changed but one refusal in the access log."""
    before, log_before = dump(site.engine), site.log()
    result = site.as_(user, *args)
    assert result.exit_code == 5, (user, args, result.output)
    assert result.stdout == "" and "Nothing was changed" in result.stderr
    assert "MRN" not in result.stderr
    assert _without_log(dump(site.engine)) == _without_log(before)
    log = site.log()
    assert len(log) == len(log_before) + 1
    entry = log[-1]
    assert (entry["actor"], entry["action"], entry["outcome"], entry["episode_id"]) == (
        user, action, "refused", episode_id,
    )  # fmt: skip
    assert "MRN" not in str(entry["detail"])


@freeze_time("2026-12-01 10:00:00")
@pytest.mark.parametrize("trigger", sorted(STEPS_BEFORE))
def test_each_trigger_is_limited_to_its_roles(site: Site, trigger: str) -> None:
    eid = site.episode_before(trigger)
    args = [
        "advance",
        str(eid),
        trigger,
        *[x for k, v in VALID_FIELDS.get(trigger, {}).items() for x in ("--set", f"{k}={v}")],
    ]
    allowed = granting_roles(f"advance.{trigger}")
    for role in ROLES:
        if role not in allowed:
            assert_refused(site, USERS[role], args, f"advance.{trigger}", eid)
    result = site.as_(USERS[allowed[0]], "--json", *args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["event"]["role"] == allowed[0]
    assert allowed[0] == ("clinician" if trigger in ("confirm_diagnosis", "refer_to_surgery", "record_surgery")
                          else "coordinator")  # fmt: skip


@freeze_time("2026-12-01 10:00:00")
def test_override_is_a_clinician_right(site: Site) -> None:
    eid = site.episode_before("order_radiographs")
    # A coordinator's --override is refused for lack of rights, whether or not a guard fails.
    assert_refused(site, "cora", ["advance", str(eid), "order_mri", "--override", "urgent"], "advance.order_mri", eid)
    assert_refused(site, "cora", ["advance", str(eid), "order_radiographs", "--override", "x"],
                   "advance.order_radiographs", eid)  # fmt: skip
    assert site.log()[-1]["detail"]["needs"] == ["advance.order_radiographs", "override"]
    assert site.as_("cora", "advance", str(eid), "order_mri").exit_code == 1  # the guard itself
    done = site.pathway.json("--as", "dr.kim", "advance", str(eid), "order_mri", "--override", "urgent")
    assert done["event"]["role"] == "clinician" and done["event"]["overridden_guards"] == ["radiographs_first"]


@freeze_time("2026-12-01 10:00:00")
def test_reading_is_open_to_every_known_user_only(site: Site) -> None:
    eid = site.episode_before("order_mri")
    reads = [["episode", "show", str(eid)], ["episode", "list"], ["episode", "history", str(eid)],
             ["next", str(eid)], ["rules", "show"], ["db", "info"]]  # fmt: skip
    for name in USERS.values():
        for args in reads:
            assert site.as_(name, *args).exit_code == 0, (name, args)
    assert_refused(site, "stranger", ["episode", "show", str(eid)], "episode.show", eid)
    assert site.log()[-1]["detail"]["reason"] == "unknown user"
    assert_refused(site, "stranger", ["episode", "list"], "episode.list")
    assert_refused(site, "stranger", ["episode", "open", "--patient", "MRN-1", "--side", "left"], "episode.open")


@freeze_time("2026-12-01 10:00:00")
def test_only_clinical_roles_open_episodes(site: Site) -> None:
    open_args = ["episode", "open", "--patient", "MRN-2", "--side", "right"]
    for role in ("reviewer", "service", "admin"):
        assert_refused(site, USERS[role], open_args, "episode.open")
    assert site.pathway.json("--as", "cora", *open_args)["id"] == 1
    assert site.pathway.json("episode", "history", "1", "--as", "rev")[0]["role"] == "coordinator"


@freeze_time("2026-12-01 10:00:00")
def test_a_disabled_user_is_refused_and_can_be_enabled_again(site: Site) -> None:
    eid = site.episode_before("order_radiographs")
    site.pathway.ok("--as", "adm", "user", "disable", "cora")
    assert_refused(site, "cora", ["advance", str(eid), "order_radiographs"], "advance.order_radiographs", eid)
    assert site.log()[-1]["detail"]["reason"] == "disabled"
    assert_refused(site, "cora", ["episode", "list"], "episode.list")
    site.pathway.ok("--as", "adm", "user", "enable", "cora")
    assert site.as_("cora", "advance", str(eid), "order_radiographs").exit_code == 0


def test_user_management_is_for_admins(site: Site) -> None:
    for role in ("coordinator", "clinician", "reviewer", "service"):
        name = USERS[role]
        assert_refused(site, name, ["user", "add", "eve", "--role", "clinician"], "user.add")
        assert_refused(site, name, ["user", "list"], "user.list")
        assert_refused(site, name, ["user", "disable", "cora"], "user.disable")
        assert_refused(site, name, ["db", "upgrade", "--admin", name], "user.add")
    users = {u["name"]: u for u in site.pathway.json("--as", "adm", "user", "list")}
    assert users["cora"]["roles"] == ["coordinator"] and users["adm"]["roles"] == ["admin"]
    assert all(u["active"] for u in users.values())


@freeze_time("2026-12-01 10:00:00")
def test_a_second_role_is_added_and_the_role_that_grants_is_recorded(site: Site) -> None:
    eid = site.episode_before("confirm_diagnosis")
    assert_refused(site, "adm", ["advance", str(eid), "confirm_diagnosis"], "advance.confirm_diagnosis", eid)
    added = site.pathway.json("--as", "adm", "user", "add", "adm", "--role", "clinician")
    assert added["roles"] == ["admin", "clinician"] and added["changed"]
    again = site.pathway.json("--as", "adm", "user", "add", "adm", "--role", "clinician")
    assert not again["changed"]
    assert site.pathway.json("--as", "adm", "advance", str(eid), "confirm_diagnosis")["event"]["role"] == "clinician"
    site.pathway.ok("--as", "adm", "user", "add", "cora", "--role", "clinician")
    step = site.pathway.json("--as", "cora", "advance", str(eid), "start_conservative")
    assert step["event"]["role"] == "coordinator"  # the least privileged role that suffices


@freeze_time("2026-12-01 10:00:00")
def test_precedence_no_episode_then_rights_then_input(site: Site) -> None:
    eid = site.episode_before("order_radiographs")
    assert site.as_("rev", "advance", "999", "order_radiographs").exit_code == 3
    assert site.as_("stranger", "episode", "show", "999").exit_code == 3
    assert_refused(site, "rev", ["advance", str(eid), "teleport", "--on", "yesterday"], "advance", eid)
    assert_refused(site, "cora", ["advance", str(eid), "refer_to_surgery", "--set", "x=1"],
                   "advance.refer_to_surgery", eid)  # fmt: skip
    assert site.as_("cora", "advance", str(eid), "teleport").exit_code == 2


def test_open_mode_until_the_first_admin_and_never_again(pathway: Pathway, engine: sa.Engine) -> None:
    info = pathway.json("db", "info")
    assert info["access"] == {"mode": "open", "users": 0, "active_users": 0}
    assert "open single-user mode" in pathway.ok("db", "info").stdout
    eid = pathway.open()
    assert pathway.json("episode", "history", str(eid))[0]["role"] is None
    refused = pathway("user", "add", "bob", "--role", "coordinator")
    assert refused.exit_code == 2 and "db upgrade --admin" in refused.stderr
    assert pathway.json("user", "list") == []
    made = pathway.json("--as", "root", "db", "upgrade", "--admin", "adm")
    assert made["admin"]["roles"] == ["admin"]
    assert pathway.json("--as", "adm", "db", "info")["access"]["mode"] == "closed"
    assert pathway("--as", "tester", "episode", "list").exit_code == 5
    pathway.ok("--as", "adm", "db", "upgrade", "--admin", "second")
    pathway.ok("--as", "adm", "user", "disable", "second")
    last = pathway("--as", "adm", "user", "disable", "adm")
    assert last.exit_code == 2 and "last active administrator" in last.stderr
    assert pathway.json("--as", "adm", "db", "info")["access"] == {"mode": "closed", "users": 2, "active_users": 1}


def test_bad_user_input_is_refused_clearly(site: Site) -> None:
    before = dump(site.engine)
    for args, words in [
        (["user", "add", "has space", "--role", "clinician"], "user name"),
        (["user", "add", "x" * 129, "--role", "clinician"], "user name"),
        (["user", "add", "eve", "--role", "surgeon"], "surgeon"),
        (["user", "disable", "nobody"], "no user nobody"),
    ]:
        result = site.as_("adm", *args)
        assert result.exit_code in (2, 3) and words in result.stderr, result.output
    assert dump(site.engine) == before


def test_a_new_user_name_that_could_pass_for_another_is_refused(site: Site) -> None:
    before = dump(site.engine)
    for name, words in [
        ("Cora", "looks the same as the existing user 'cora'"),  # case alone
        ("ｃｏｒａ", "looks the same as the existing user 'cora'"),  # full-width letters
        ("c\u043era", "mixes Cyrillic and Latin letters"),  # a Cyrillic о among Latin letters
        ("\u0430dm", "mixes Cyrillic and Latin letters"),  # the admin's name with a Cyrillic а
    ]:
        result = site.as_("adm", "user", "add", name, "--role", "admin")
        assert result.exit_code == 2 and words in result.stderr, result.output
        assert "Traceback" not in result.output
    assert dump(site.engine) == before  # nothing written, not even to the access log
    for name in ("józef.nowak", "田中さくら", "ΑΘΗΝΑ"):  # one person's name in one writing system is fine
        assert site.as_("adm", "user", "add", name, "--role", "coordinator").exit_code == 0
    assert site.as_("adm", "user", "add", "cora", "--role", "clinician").exit_code == 0  # her, one more role
