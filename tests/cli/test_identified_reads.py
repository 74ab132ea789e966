"""Reads of patients' records: each is in the access log, and reviewers and the service role see pseudonyms."""

from __future__ import annotations

import json
from typing import Any

from tests.cli.test_access import Site, assert_refused


def _open(site: Site, ref: str = "MRN-4410") -> str:
    episode = site.as_("cora", "episode", "open", "--patient", ref, "--side", "left", "--referred-on", "2026-01-05")
    assert episode.exit_code == 0, episode.output
    site.as_("cora", "advance", episode.stdout.strip(), "order_radiographs", "--on", "2026-01-06")
    return str(episode.stdout.strip())


def _reads(site: Site, episode_id: str | None = None) -> list[dict[str, Any]]:
    return [r for r in site.log() if r["outcome"] == "granted" and (r["detail"] or {}).get("read")
            and (episode_id is None or r["episode_id"] == int(episode_id))]  # fmt: skip


def test_every_read_of_a_record_is_in_the_access_log_with_who_and_how(site: Site) -> None:
    eid = _open(site)
    before = len(_reads(site))
    for user, args in (("rev", ("episode", "show", eid)), ("cora", ("episode", "history", eid)),
                       ("dr.kim", ("next", eid)), ("cron", ("worklist",)), ("rev", ("episode", "list"))):  # fmt: skip
        assert site.as_(user, *args).exit_code == 0, (user, args)
    reads = _reads(site)[before:]
    assert [(r["actor"], r["action"], r["episode_id"], r["auth"]) for r in reads] == [
        ("rev", "episode.show", int(eid), "claimed"), ("cora", "episode.history", int(eid), "claimed"),
        ("dr.kim", "next", int(eid), "claimed"), ("cron", "worklist", None, "claimed"),
        ("rev", "episode.list", None, "claimed"),
    ]  # fmt: skip
    shown = json.loads(site.as_("adm", "--json", "audit", "access", "--episode", eid).stdout)
    assert {"episode.show", "episode.history", "next"} <= {r["action"] for r in shown}
    assert "MRN-4410" not in json.dumps(site.log(), default=str)  # the log names episodes, never patients
    assert json.loads(site.as_("adm", "--json", "audit", "verify").stdout)["intact"] is True


def test_reviewers_and_the_service_role_read_pseudonyms_the_others_the_reference(site: Site) -> None:
    eid = _open(site)
    for user in ("rev", "cron"):
        for args in (("episode", "show", eid), ("episode", "history", eid), ("episode", "list"), ("worklist",),
                     ("episode", "history", eid, "--effective")):  # fmt: skip
            result = site.as_(user, "--json", *args)
            assert result.exit_code == 0 and "MRN-4410" not in result.output, (user, args)
        shown = json.loads(site.as_(user, "--json", "episode", "show", eid).stdout)
        assert shown["patient_ref"].startswith("P-") and len(shown["patient_ref"]) == 18
        history = json.loads(site.as_(user, "--json", "episode", "history", eid).stdout)
        assert history[0]["fields"]["patient_ref"] == shown["patient_ref"]  # the same pseudonym everywhere
    for user in ("cora", "dr.kim", "adm"):
        assert json.loads(site.as_(user, "--json", "episode", "show", eid).stdout)["patient_ref"] == "MRN-4410"


def test_the_pseudonym_is_the_one_a_pseudonymised_export_gives_the_patient(site: Site) -> None:
    eid = _open(site)
    shown = json.loads(site.as_("rev", "--json", "episode", "show", eid).stdout)["patient_ref"]
    export = site.as_("rev", "audit", "export", "--format", "jsonl")
    assert export.exit_code == 0, export.output
    first = json.loads(export.stdout.splitlines()[0])
    assert json.dumps(first).count(shown.removeprefix("P-")) >= 1


def test_a_reviewer_may_not_look_a_patient_up_by_reference(site: Site) -> None:
    _open(site)
    assert_refused(site, "rev", ["episode", "list", "--patient", "MRN-4410"], "episode.list")
    found = site.as_("cora", "--json", "episode", "list", "--patient", "mrn-4410")
    assert found.exit_code == 0 and json.loads(found.stdout)[0]["patient_ref"] == "MRN-4410"


def test_every_change_to_users_and_roles_is_in_the_access_log(site: Site) -> None:
    before = len(site.log())
    for args in (("user", "add", "bo", "--role", "coordinator"), ("user", "add", "bo", "--role", "reviewer"),
                 ("user", "disable", "bo"), ("user", "enable", "bo"), ("user", "revoke", "bo", "reviewer")):  # fmt: skip
        assert site.as_("adm", *args).exit_code == 0, args
    rows = site.log()[before:]
    assert [(r["actor"], r["role"], r["action"], r["outcome"], r["detail"]["user"], r["detail"]["change"])
            for r in rows] == [
        ("adm", "admin", "user.add", "granted", "bo", "added"), ("adm", "admin", "user.add", "granted", "bo", "granted"),
        ("adm", "admin", "user.disable", "granted", "bo", "disabled"),
        ("adm", "admin", "user.enable", "granted", "bo", "enabled"),
        ("adm", "admin", "user.revoke", "granted", "bo", "revoked"),
    ]  # fmt: skip
    assert site.as_("adm", "user", "disable", "bo").exit_code == 0
    assert site.as_("adm", "user", "disable", "bo").exit_code == 0  # unchanged: nothing more to log
    assert [r["detail"].get("change") for r in site.log()[before + 5:]] == ["disabled"]
    assert json.loads(site.as_("adm", "--json", "audit", "verify").stdout)["intact"] is True
