"""The episode page, its step forms, opening an episode, corrections and voids, over a real server."""

from __future__ import annotations

import re

import httpx
import sqlalchemy as sa

from tests.walk import episode_before
from tests.web.conftest import Site
from tests.web.pages import browser, csrf_of, post


def _history(site: Site, eid: int) -> list[dict[str, object]]:
    return list(site.pathway.json("--as", "amira", "episode", "history", str(eid)))


def _in_care(site: Site, patient: str = "MRN-EP-1") -> int:
    """An episode in conservative care after one injection and its response (surgery still refused)."""
    eid = episode_before(site.pathway, "record_injection_response", patient, user="cleo")
    site.pathway.ok("--as", "cleo", "advance", str(eid), "record_injection_response", "--on", "2026-02-20",
                    "--set", "pain_before=8", "--set", "pain_after=2", "--set", "relief=temporary")  # fmt: skip
    return eid


def _step(client: httpx.Client, eid: int, trigger: str, **fields: str) -> httpx.Response:
    page = client.get(f"/episodes/{eid}")
    version = re.search(r'name="expect_version" value="(\d+)"', page.text)
    assert version
    return client.post(f"/episodes/{eid}/advance", data={"csrf_token": csrf_of(page.text), "trigger": trigger,
                                                         "expect_version": version.group(1), **fields})  # fmt: skip


def test_the_page_shows_where_the_patient_stands_and_what_may_come_next(site: Site) -> None:
    eid = _in_care(site)
    site.pathway.ok("--as", "cron", "jobs", "flag-overdue")
    with browser(site) as client:
        page = client.get(f"/episodes/{eid}").text
    assert "<strong>conservative care</strong> for" in page and "MRN-EP-1" in page
    assert "IFS 11 mm, QFS 9 mm" in page and "pain 8 → 2, relief temporary" in page
    assert 'class="pathway-map"' in page and 'class="state current"' in page and 'class="edge taken"' in page
    assert "Path taken: referred → radiographs ordered" in page
    refused = page[page.index('id="step-refer_to_surgery"'):]
    refused = refused[: refused.index("</section>")]
    assert "not now" in refused and "no reassessment is recorded" in refused
    assert "override_reason" not in refused  # a coordinator has no override box
    reassess = page[page.index('id="step-reassess"'):]
    reassess = reassess[: reassess.index("</section>")]
    assert 'type="radio" name="outcome" value="persistent" required' in reassess
    assert 'name="pain" value="" type="number" inputmode="numeric" min="0" max="10" step="1" required' in reassess
    assert 'min="0" max="100" step="0.1"' in reassess  # mHHS, one decimal
    assert "reassessment" in page[page.index("Open flags"):]


def test_a_clinician_sees_the_override_box_and_an_override_needs_a_reason(site: Site) -> None:
    eid = _in_care(site, "MRN-EP-2")
    before = _history(site, eid)
    with browser(site, "clinician") as client:
        page = client.get(f"/episodes/{eid}").text
        refused = page[page.index('id="step-refer_to_surgery"'):]
        assert 'name="override_reason"' in refused[: refused.index("</section>")]
        blank = _step(client, eid, "refer_to_surgery", override="1", override_reason="  ")
        assert blank.status_code == 400 and "Say why the pathway rule is overridden" in blank.text
        assert _history(site, eid) == before
        done = _step(client, eid, "refer_to_surgery", override="1", override_reason="MDT agreed")
        assert done.status_code == 303 and done.headers["location"] == f"/episodes/{eid}?done=refer_to_surgery#timeline"
    assert _history(site, eid)[-1]["override_reason"] == "MDT agreed"


def test_a_step_through_its_form_then_the_new_state_after_the_redirect(site: Site) -> None:
    eid = _in_care(site, "MRN-EP-3")
    with browser(site) as client:
        done = _step(client, eid, "record_followup", pain="4", mhhs="61.5", note="walks 2 km", occurred_on="2026-03-01")
        assert done.status_code == 303
        page = client.get(done.headers["location"]).text
    assert "Recorded: record followup" in page
    last = _history(site, eid)[-1]
    assert last["trigger"] == "record_followup" and last["fields"] == {"pain": 4, "mhhs": 61.5, "note": "walks 2 km"}
    assert last["occurred_on"] == "2026-03-01" and last["auth"] == "password"


def test_a_bad_value_is_shown_next_to_its_field_what_was_typed_is_kept_and_nothing_changes(site: Site) -> None:
    eid = _in_care(site, "MRN-EP-4")
    before = _history(site, eid)
    with browser(site, "clinician") as client:
        bad = _step(client, eid, "reassess", outcome="persistent", pain="11", mhhs="58")
        assert bad.status_code == 400
        assert re.search(r'id="reassess-pain-error">Pain must be', bad.text)
        assert 'aria-invalid="true"' in bad.text and 'name="mhhs" value="58"' in bad.text
        assert '<details class="step-form" open>' in bad.text
        refused = _step(client, eid, "refer_to_surgery")
        assert refused.status_code == 422 and "refused by the pathway rules" in refused.text
        future = _step(client, eid, "record_followup", pain="3", occurred_on="2099-01-01")
        assert future.status_code == 400 and 'id="record_followup-occurred_on-error"' in future.text
        stale = client.post(f"/episodes/{eid}/advance", data={
            "csrf_token": csrf_of(client.get(f"/episodes/{eid}").text), "trigger": "record_followup", "pain": "3",
            "expect_version": "1"})  # fmt: skip
        assert stale.status_code == 409 and "Someone else recorded a step" in stale.text
    assert _history(site, eid) == before


def test_forged_or_missing_csrf_and_roles_without_the_right_change_nothing(site: Site) -> None:
    eid = _in_care(site, "MRN-EP-5")
    before = _history(site, eid)
    with browser(site) as client:
        forged = client.post(f"/episodes/{eid}/advance", data={"csrf_token": "forged", "trigger": "record_followup",
                                                               "pain": "3"})  # fmt: skip
        assert forged.status_code == 403
        missing = client.post(f"/episodes/{eid}/advance", data={"trigger": "record_followup", "pain": "3"})
        assert missing.status_code == 403
    with browser(site, "reviewer") as client:
        assert client.get(f"/episodes/{eid}").status_code == 200
        assert 'action="/episodes/' not in client.get(f"/episodes/{eid}").text  # no step forms to offer
        page = client.get(f"/episodes/{eid}").text
        refused = client.post(f"/episodes/{eid}/advance", data={"csrf_token": csrf_of(page), "trigger":
                              "record_followup", "pain": "3"})  # fmt: skip
        assert refused.status_code == 403 and "may not" in refused.text
    assert _history(site, eid) == before
    with httpx.Client(base_url=site.url, timeout=60) as anonymous:
        assert anonymous.post(f"/episodes/{eid}/advance", data={"trigger": "x"}).status_code == 303


def test_hostile_text_is_escaped_and_an_unknown_episode_is_a_404_page(site: Site) -> None:
    eid = _in_care(site, "MRN-EP-6")
    with browser(site) as client:
        assert _step(client, eid, "record_followup", pain="3", note="<script>alert(1)</script>").status_code == 303
        page = client.get(f"/episodes/{eid}").text
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        long = _step(client, eid, "record_followup", pain="3", note="x" * 1001)
        assert long.status_code == 400 and "1000" in long.text
        for path in ("/episodes/999999", "/episodes/abc", "/episodes/99999999999999"):
            missing = client.get(path)
            assert missing.status_code == 404 and "<h1>" in missing.text, path
        unknown = _step(client, eid, "teleport")
        assert unknown.status_code == 400


def test_opening_an_episode_and_the_duplicate_explained(site: Site) -> None:
    with browser(site) as client:
        done = post(client, "/episodes/new", "/episodes/new", {"patient_ref": "MRN-NEW-1", "side": "left",
                                                               "referred_on": "2026-03-02"})  # fmt: skip
        assert done.status_code == 303 and "MRN-NEW-1" not in done.headers["location"]
        eid = int(done.headers["location"].split("/")[2].split("?")[0])
        again = post(client, "/episodes/new", "/episodes/new", {"patient_ref": "mrn-new-1", "side": "left"})
        assert again.status_code == 400 and f'href="/episodes/{eid}"' in again.text
        assert 'id="patient_ref-error"' in again.text and "already has an open episode" in again.text
        no_side = post(client, "/episodes/new", "/episodes/new", {"patient_ref": "MRN-NEW-2"})
        assert no_side.status_code == 400 and 'id="side-error"' in no_side.text
    listed = site.pathway.json("--as", "amira", "episode", "list")
    assert [e["patient_ref"] for e in listed] == ["MRN-NEW-1"]


def test_a_value_corrected_and_an_event_voided_from_the_timeline(site: Site) -> None:
    eid = _in_care(site, "MRN-EP-7")
    with browser(site) as client:
        page = client.get(f"/episodes/{eid}").text
        assert f'href="/episodes/{eid}/events/9/correct"' in page and f'href="/episodes/{eid}/events/9/void"' in page
        form = client.get(f"/episodes/{eid}/events/9/correct")
        assert form.status_code == 200 and 'name="pain_after" value="2"' in form.text
        no_reason = post(client, f"/episodes/{eid}/events/9/correct", f"/episodes/{eid}/events/9/correct",
                         {"pain_before": "8", "pain_after": "3", "relief": "temporary"})  # fmt: skip
        assert no_reason.status_code == 400 and 'id="change-reason-error"' in no_reason.text
        fixed = post(client, f"/episodes/{eid}/events/9/correct", f"/episodes/{eid}/events/9/correct",
                     {"pain_before": "8", "pain_after": "3", "relief": "temporary", "reason": "sheet says 3",
                      "occurred_on": "2026-02-20"})  # fmt: skip
        assert fixed.status_code == 303
        page = client.get(f"/episodes/{eid}").text
        assert "corrects <a href=\"#event-9\">event 9</a>" in page and "pain after = 3" in page
        undone = post(client, f"/episodes/{eid}/events/10/void", f"/episodes/{eid}/events/10/void",
                      {"reason": "the first figure was right"})  # voiding the correction undoes it  # fmt: skip
        assert undone.status_code == 303
        voided = post(client, f"/episodes/{eid}/events/9/void", f"/episodes/{eid}/events/9/void",
                      {"reason": "recorded on the wrong episode"})  # fmt: skip
        assert voided.status_code == 303
        page = client.get(f"/episodes/{eid}").text
        assert "<strong>injection done</strong>" in page and "marks <a href=\"#event-9\">event 9</a>" in page
    statuses = {e["seq"]: e["status"] for e in _history(site, eid)}
    assert statuses[9] == "entered in error by 12" and statuses[10] == "entered in error by 11"


def test_the_episode_page_costs_the_same_queries_for_200_events_as_for_9(site: Site) -> None:
    few, many = _in_care(site, "MRN-Q-1"), _in_care(site, "MRN-Q-2")
    for n in range(191):
        site.pathway.ok("--as", "kim", "advance", str(many), "record_followup", "--on", "2026-03-01",
                        "--set", f"pain={n % 10}", "--set", f"note=visit {n}")  # fmt: skip
    counted: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        counted.append(statement)

    with browser(site) as client:
        client.get(f"/episodes/{few}")
        counts = []
        for eid in (few, many):
            counted.clear()
            sa.event.listen(site.engine, "before_cursor_execute", note)
            try:
                assert client.get(f"/episodes/{eid}").status_code == 200
            finally:
                sa.event.remove(site.engine, "before_cursor_execute", note)
            counts.append(len(counted))
    assert counts[0] == counts[1]


def test_a_reviewer_reads_pseudonyms_on_every_page_and_may_not_search(site: Site) -> None:
    eid = _in_care(site, "MRN-PSEUDO-1")
    site.pathway.ok("--as", "cron", "jobs", "flag-overdue")
    with browser(site, "reviewer") as client:
        for path in ("/", f"/episodes/{eid}", f"/episodes/{eid}/events/2/correct", "/worklist.csv"):
            page = client.get(path)
            assert page.status_code in (200, 403) and "MRN-PSEUDO-1" not in page.text, path
        assert "P-" in client.get(f"/episodes/{eid}").text
        search = post(client, "/", "/search", {"q": "pseudo"})
        assert search.status_code == 403 and "MRN-PSEUDO-1" not in search.text and "pseudonyms only" in search.text
    with browser(site) as client:
        assert "MRN-PSEUDO-1" in client.get(f"/episodes/{eid}").text
    with site.as_("reviewer") as api:
        assert "MRN-PSEUDO-1" not in api.get(f"/api/episodes/{eid}").text
        assert "MRN-PSEUDO-1" not in api.get("/api/worklist").text
        assert api.get("/api/episodes", params={"patient": "MRN-PSEUDO-1"}).status_code == 403


def test_corrections_are_offered_only_to_those_who_may_make_them(site: Site) -> None:
    eid = _in_care(site, "MRN-EP-9")
    seqs = {e["trigger"]: e["seq"] for e in _history(site, eid)}
    confirm, inject = seqs["confirm_diagnosis"], seqs["inject"]
    before = _history(site, eid)
    with browser(site) as kim:  # a coordinator: not a clinician's step
        page = kim.get(f"/episodes/{eid}").text
        assert f"/events/{inject}/correct\"" in page and f"/events/{inject}/void\"" in page
        assert f"/events/{confirm}/correct\"" not in page and f"/events/{confirm}/void\"" not in page
        for change in ("correct", "void"):
            refused = kim.get(f"/episodes/{eid}/events/{confirm}/{change}")
            assert refused.status_code == 403 and "needs the clinician" in refused.text, change
    with browser(site, "reviewer") as rey:
        page = rey.get(f"/episodes/{eid}").text
        assert "/correct\"" not in page and "/void\"" not in page
        assert rey.get(f"/episodes/{eid}/events/{inject}/correct").status_code == 403
    assert _history(site, eid) == before
    with browser(site, "clinician") as cleo:
        assert f"/events/{confirm}/correct\"" in cleo.get(f"/episodes/{eid}").text
        assert cleo.get(f"/episodes/{eid}/events/{confirm}/correct").status_code == 200
        fixed = post(cleo, f"/episodes/{eid}/events/{inject}/correct", f"/episodes/{eid}/events/{inject}/correct",
                     {"reason": "the other side's syringe", "occurred_on": "2026-02-12"})  # fmt: skip
        assert fixed.status_code == 303, fixed.text[:400]
        correction = max(e["seq"] for e in _history(site, eid))
        page = cleo.get(f"/episodes/{eid}").text
        assert f'href="/episodes/{eid}/events/{correction}/void">Undo this correction' in page
        assert f"/events/{correction}/correct\"" not in page  # a correction is undone, not corrected
        form = cleo.get(f"/episodes/{eid}/events/{correction}/void")
        assert form.status_code == 200
        undone = post(cleo, f"/episodes/{eid}/events/{correction}/void", f"/episodes/{eid}/events/{correction}/void",
                      {"reason": "the first date was right"})  # fmt: skip
        assert undone.status_code == 303
    assert {e["seq"]: e["status"] for e in _history(site, eid)}[correction].startswith("entered in error by")
