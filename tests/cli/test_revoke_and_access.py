"""`user revoke` keeps the record of the grant, and `audit access` shows the log to those who review it."""

from __future__ import annotations

import json

from tests.cli.test_access import Site, assert_refused
from tests.conftest import dump


def test_a_revoked_role_no_longer_grants_and_the_history_still_verifies(site: Site) -> None:
    assert site.as_("cora", "episode", "open", "--patient", "MRN-1", "--side", "left").exit_code == 0
    done = site.as_("adm", "--json", "user", "revoke", "cora", "coordinator")
    assert done.exit_code == 0 and json.loads(done.stdout)["roles"] == []
    refused = site.as_("cora", "episode", "open", "--patient", "MRN-2", "--side", "left")
    assert refused.exit_code == 5
    again = site.as_("adm", "--json", "user", "revoke", "cora", "coordinator")
    assert again.exit_code == 0 and json.loads(again.stdout)["changed"] is False
    verified = site.as_("adm", "--json", "audit", "verify")
    assert verified.exit_code == 0 and json.loads(verified.stdout)["intact"] is True
    with site.engine.connect() as conn:
        changes = conn.exec_driver_sql(
            "SELECT user_name, change, role FROM user_changes WHERE user_name = 'cora' ORDER BY id").all()
    assert [tuple(c) for c in changes] == [("cora", "added", "coordinator"), ("cora", "revoked", "coordinator")]


def test_only_an_admin_revokes_and_never_the_last_admin_role(site: Site) -> None:
    assert_refused(site, "cora", ["user", "revoke", "rev", "reviewer"], "user.revoke")
    before = dump(site.engine)
    last = site.as_("adm", "user", "revoke", "adm", "admin")
    assert last.exit_code == 2 and "last active administrator" in last.stderr
    assert dump(site.engine) == before


def test_audit_access_lists_the_log_with_filters_for_reviewers_and_admins(site: Site) -> None:
    episode = site.as_("cora", "episode", "open", "--patient", "MRN-9", "--side", "left").stdout.strip()
    site.as_("cron", "episode", "show", episode)  # a refusal: the service role may read, not open
    site.as_("cron", "episode", "open", "--patient", "MRN-10", "--side", "left")
    rows = json.loads(site.as_("rev", "--json", "audit", "access", "--user", "cron").stdout)
    assert rows and all(r["actor"] == "cron" for r in rows)
    assert any(r["action"] == "episode.open" and r["outcome"] == "refused" for r in rows)
    everything = site.as_("adm", "--json", "audit", "access", "--since", "2000-01-01").stdout
    assert "MRN-" not in everything  # the log names episodes by id, never by patient
    none_later = json.loads(site.as_("rev", "--json", "audit", "access", "--since", "2199-01-01").stdout)
    assert none_later == []
    site.as_("cron", "episode", "open", "--patient", "MRN-11", "--side", "left")  # a second refusal
    assert len(json.loads(site.as_("rev", "--json", "audit", "access").stdout)) >= 2
    table = site.as_("rev", "audit", "access", "--limit", "1")
    assert table.exit_code == 0 and len(table.stdout.strip().splitlines()) == 2  # heading and one row
    assert_refused(site, "cora", ["audit", "access"], "audit.access")
