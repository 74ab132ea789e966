"""The worklist by email: `pathway user set` and `pathway jobs notify` against a real SMTP server on loopback."""

from __future__ import annotations

import email
import json
import socket
import threading
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from pathway.clock import parse_instant
from pathway.db.models import DigestRow
from pathway.mail import Mailer
from pathway.services import Actor, notify
from tests.cli.test_access import Site, assert_refused
from tests.conftest import dump

MORNING = "2026-12-03T07:00"
BASE = "https://pathway.clinic.test"


class Inbox:
    """What the mail server took: one parsed message per recipient address."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.refuse = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 Try again later"
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"

    def text(self, index: int = -1) -> str:
        part = next(p for p in self.messages[index][1].walk() if p.get_content_type() == "text/plain")
        return str(part.get_payload(decode=True).decode())

    def html(self, index: int = -1) -> str:
        part = next(p for p in self.messages[index][1].walk() if p.get_content_type() == "text/html")
        return str(part.get_payload(decode=True).decode())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def clinic(site: Site, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch) -> Site:
    """Two patients with something due (one overdue), a coordinator who opted in, the mail settings."""
    monkeypatch.setenv("PATHWAY_SMTP_URL", f"smtp://127.0.0.1:{smtp[1]}")
    monkeypatch.setenv("PATHWAY_BASE_URL", BASE + "/")
    monkeypatch.delenv("PATHWAY_DIGEST_IDENTIFIED", raising=False)
    for ref, side, referred, ordered in (("MRN-5501", "left", "2026-11-01", "2026-11-02"),
                                         ("MRN-5502", "right", "2026-11-30", "2026-12-01")):  # fmt: skip
        eid = site.as_("cora", "episode", "open", "--patient", ref, "--side", side, "--referred-on", referred)
        assert eid.exit_code == 0, eid.output
        assert site.as_("cora", "advance", eid.stdout.strip(), "order_radiographs", "--on", ordered).exit_code == 0
    assert site.as_("cron", "jobs", "flag-overdue", "--now", MORNING).exit_code == 0
    assert site.as_("cora", "user", "set", "cora", "--email", "cora@clinic.test", "--digest", "daily").exit_code == 0
    return site


def _notify(site: Site, *args: str, now: str = MORNING) -> Any:
    return site.as_("cron", "--json", "jobs", "notify", "--now", now, *args)


def test_an_opted_in_coordinator_gets_one_digest_a_day_with_counts_and_links_and_no_reference(
    clinic: Site, smtp: tuple[Inbox, int]
) -> None:
    inbox = smtp[0]
    result = _notify(clinic)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"recipients": 1, "sent": 1, "would_send": 0, "already_sent": 0,
                                         "nothing_due": 0, "failed": 0, "dry_run": False}  # fmt: skip
    [(to, mail)] = inbox.messages
    assert to == ["cora@clinic.test"] and mail["Subject"] == "pathway worklist 2026-12-03: 1 overdue, 0 due"
    assert mail["Auto-Submitted"] == "auto-generated" and mail["Date"] and mail["Message-ID"]
    text = inbox.text()
    assert "Overdue: 1" in text and f"{BASE}/episodes/1" in text and "radiograph report 1" in text
    assert "/episodes/2" not in text  # due in two weeks: not in a daily digest
    assert "MRN" not in mail.as_string()  # counts and links only unless the site allows references
    assert f'href="{BASE}/episodes/1"' in inbox.html()
    again = _notify(clinic, now="2026-12-03T13:00")  # a second run the same day sends nothing more
    assert json.loads(again.stdout)["already_sent"] == 1 and len(inbox.messages) == 1
    assert json.loads(_notify(clinic, now="2026-12-04T07:00").stdout)["sent"] == 1 and len(inbox.messages) == 2


def test_references_are_mailed_only_when_the_site_allows_it(
    clinic: Site, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATHWAY_DIGEST_IDENTIFIED", "1")
    assert _notify(clinic).exit_code == 0
    assert "MRN-5501 (left), radiograph report, overdue since" in smtp[0].text()
    monkeypatch.setenv("PATHWAY_DIGEST_IDENTIFIED", "perhaps")
    result = _notify(clinic, now="2026-12-04T07:00")
    assert result.exit_code == 2 and "PATHWAY_DIGEST_IDENTIFIED" in result.stderr and len(smtp[0].messages) == 1


def test_weekly_digests_hold_the_week_ahead_and_go_once_a_week(clinic: Site, smtp: tuple[Inbox, int]) -> None:
    assert clinic.as_("cora", "user", "set", "cora", "--digest", "weekly").exit_code == 0
    assert json.loads(_notify(clinic, now="2026-12-10T07:00").stdout)["sent"] == 1  # a Thursday
    assert "/episodes/1" in smtp[0].text() and "/episodes/2" in smtp[0].text()  # due 12-15: within the week
    assert json.loads(_notify(clinic, now="2026-12-12T07:00").stdout)["already_sent"] == 1  # same ISO week
    assert json.loads(_notify(clinic, now="2026-12-14T07:00").stdout)["sent"] == 1  # the Monday after


def test_only_active_coordinators_and_clinicians_who_opted_in_get_mail(clinic: Site, smtp: tuple[Inbox, int]) -> None:
    for name in ("rev", "dr.kim"):
        assert clinic.as_("adm", "user", "set", name, "--email", f"{name}@clinic.test", "--digest", "daily").exit_code == 0
    assert clinic.as_("adm", "user", "disable", "cora").exit_code == 0
    result = json.loads(_notify(clinic).stdout)
    assert result["recipients"] == 1 and [to for to, _ in smtp[0].messages] == [["dr.kim@clinic.test"]]
    assert clinic.as_("adm", "user", "set", "dr.kim", "--digest", "off").exit_code == 0
    assert json.loads(_notify(clinic, now="2026-12-04T07:00").stdout)["recipients"] == 0


def test_a_dry_run_counts_and_neither_sends_nor_records(clinic: Site, smtp: tuple[Inbox, int]) -> None:
    before = dump(clinic.engine)
    result = _notify(clinic, "--dry-run")
    assert result.exit_code == 0 and json.loads(result.stdout)["would_send"] == 1
    assert smtp[0].messages == [] and dump(clinic.engine) == before
    assert "Would send 1 digest(s)" in clinic.as_("cron", "jobs", "notify", "--now", MORNING, "--dry-run").stdout


def test_a_mail_server_that_is_down_or_refuses_exits_69_and_the_next_run_sends(
    clinic: Site, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATHWAY_SMTP_URL", f"smtp+starttls://pathway:hunter2@127.0.0.1:{_free_port()}")
    down = _notify(clinic)
    assert down.exit_code == 69 and json.loads(down.stdout)["error"]["exit_code"] == 69  # --json: the error as JSON
    assert "Could not reach the mail server smtp+starttls://127.0.0.1:" in down.stderr
    assert "the next run sends the rest" in down.stderr and "hunter2" not in down.output
    assert "Traceback" not in down.output
    with clinic.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(DigestRow)) == 0  # released for the next run
    monkeypatch.setenv("PATHWAY_SMTP_URL", f"smtp://127.0.0.1:{smtp[1]}")
    smtp[0].refuse = True
    refused = _notify(clinic)
    assert refused.exit_code == 69 and "did not take a digest" in refused.stderr and smtp[0].messages == []
    smtp[0].refuse = False
    assert json.loads(_notify(clinic).stdout)["sent"] == 1 and len(smtp[0].messages) == 1


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("PATHWAY_SMTP_URL", "", "Set PATHWAY_SMTP_URL"),
    ("PATHWAY_SMTP_URL", "http://mail.test", "PATHWAY_SMTP_URL must look like"),
    ("PATHWAY_SMTP_URL", "smtp://mail.test:99999", "port in PATHWAY_SMTP_URL"),
    ("PATHWAY_BASE_URL", "", "Set PATHWAY_BASE_URL"),
    ("PATHWAY_BASE_URL", "pathway.clinic.test", "Set PATHWAY_BASE_URL"),
])  # fmt: skip
def test_a_missing_or_wrong_setting_exits_2_with_what_to_set(
    clinic: Site, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    before = dump(clinic.engine)
    result = _notify(clinic)
    assert result.exit_code == 2 and says in result.stderr and "Traceback" not in result.output
    assert smtp[0].messages == [] and dump(clinic.engine) == before


def test_only_the_service_role_runs_the_job(clinic: Site) -> None:
    assert_refused(clinic, "cora", ["jobs", "notify", "--now", MORNING], "jobs.notify")


def test_two_runs_at_once_send_each_digest_once(clinic: Site, smtp: tuple[Inbox, int]) -> None:
    mailer, site = Mailer.from_environment(), notify.Site.from_environment()
    results: list[dict[str, Any]] = []

    def run() -> None:
        results.append(notify.notify(clinic.engine, actor=Actor("cron"), now=parse_instant(MORNING),
                                     mailer=mailer, site=site))  # fmt: skip

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted((r["sent"], r["already_sent"]) for r in results) == [(0, 1), (1, 0)]
    assert len(smtp[0].messages) == 1


def test_a_claim_left_by_a_run_that_died_is_taken_over_later(clinic: Site, smtp: tuple[Inbox, int]) -> None:
    with clinic.engine.begin() as conn:  # a run claimed the digest, then died before sending it
        conn.execute(sa.insert(DigestRow).values(user_name="cora", period="2026-12-03", items=1,
                                                 claimed_at=parse_instant("2026-12-03T06:59")))  # fmt: skip
    assert json.loads(_notify(clinic).stdout)["already_sent"] == 1  # it may still be sending
    assert json.loads(_notify(clinic, now="2026-12-03T07:20").stdout)["sent"] == 1 and len(smtp[0].messages) == 1


def test_each_digest_is_in_the_access_log_with_its_episodes_never_a_reference(
    clinic: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATHWAY_DIGEST_IDENTIFIED", "1")
    assert _notify(clinic).exit_code == 0
    entry = clinic.log()[-1]
    assert (entry["actor"], entry["role"], entry["action"], entry["outcome"]) == ("cron", "service", "jobs.notify",
                                                                               "granted")  # fmt: skip
    assert entry["detail"] == {"recipient": "cora", "period": "2026-12-03", "items": 1, "identified": True,
                               "episodes": [1]}  # fmt: skip
    assert "MRN" not in json.dumps(clinic.log(), default=str)
    assert json.loads(clinic.as_("adm", "--json", "audit", "verify").stdout)["intact"] is True


# `pathway user set`


def test_users_set_their_own_address_and_admins_anyone_s_each_change_logged(site: Site) -> None:
    mine = site.as_("cora", "--json", "user", "set", "cora", "--email", " cora@clinic.test ", "--digest", "weekly")
    assert mine.exit_code == 0, mine.output
    assert json.loads(mine.stdout) == {"name": "cora", "email": "cora@clinic.test", "digest": "weekly", "changed": True}
    same = site.as_("cora", "user", "set", "cora", "--digest", "weekly")
    assert same.stdout == "cora: cora@clinic.test, digest weekly (unchanged)\n"
    assert site.as_("adm", "user", "set", "dr.kim", "--email", "kim@clinic.test").exit_code == 0
    assert "A digest needs an address" in site.as_("adm", "user", "set", "cora", "--email", "").stderr
    removed = site.as_("adm", "--json", "user", "set", "cora", "--email", "", "--digest", "off")
    assert json.loads(removed.stdout) == {"name": "cora", "email": None, "digest": "off", "changed": True}
    changes = [r for r in site.log() if r["action"] == "user.set"]
    assert [(r["actor"], r["detail"]["user"], r["detail"]["digest"]) for r in changes] == [
        ("cora", "cora", "weekly"), ("adm", "dr.kim", "off"), ("adm", "cora", "off")]  # fmt: skip
    assert "clinic.test" not in json.dumps(changes, default=str)  # the log says an address was set, not which


def test_only_an_admin_sets_someone_else_s_address(site: Site) -> None:
    assert_refused(site, "cora", ["user", "set", "dr.kim", "--email", "x@clinic.test"], "user.set")


@pytest.mark.parametrize(("args", "says"), [
    (["--email", "not-an-address"], "is not an email address"),
    (["--email", "cora@clinic.test\nBcc: all@clinic.test"], "is not an email address"),
    (["--email", "cora@clinic"], "is not an email address"),
    (["--digest", "daily"], "A digest needs an address"),
    (["--digest", "hourly"], "hourly"),
    ([], "Give --email ADDRESS"),
])  # fmt: skip
def test_bad_settings_exit_2_and_change_nothing(site: Site, args: list[str], says: str) -> None:
    before = dump(site.engine)
    result = site.as_("cora", "user", "set", "cora", *args)
    assert result.exit_code == 2 and says in result.stderr and "Traceback" not in result.output
    assert dump(site.engine) == before


def test_setting_an_unknown_user_exits_3(site: Site) -> None:
    result = site.as_("adm", "user", "set", "nobody", "--email", "n@clinic.test")
    assert result.exit_code == 3 and "There is no user nobody" in result.stderr
