"""The coordinators' web pages, one module per area; ``ROUTES`` lists every page.

Pages call the same services as the API and the CLI; the only logic here is what a
browser needs: forms in, HTML out, sign-in by cookie, CSRF tokens as form fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathway.web.pages import audit, corrections, episode, opening, report, rules, signin, users, worklist
from pathway.web.pages.view import PageHandler


@dataclass(frozen=True)
class PageRoute:
    method: str
    path: str
    handler: PageHandler
    signed_in: bool = True


ROUTES: list[PageRoute] = [
    PageRoute("GET", "/login", signin.login_page, signed_in=False),
    PageRoute("POST", "/login", signin.login, signed_in=False),
    PageRoute("POST", "/logout", signin.logout, signed_in=False),
    PageRoute("GET", "/", worklist.home),
    PageRoute("POST", "/search", worklist.search),
    PageRoute("GET", "/worklist.csv", worklist.download),
    # Episodes: open one, its page and step forms, corrections and voids from its timeline
    PageRoute("GET", "/episodes/new", opening.form),  # before /episodes/{id}
    PageRoute("POST", "/episodes/new", opening.submit),
    PageRoute("GET", "/episodes/{id}", episode.show),
    PageRoute("POST", "/episodes/{id}/advance", episode.advance),
    PageRoute("GET", "/episodes/{id}/events/{seq}/correct", corrections.correct_form),
    PageRoute("POST", "/episodes/{id}/events/{seq}/correct", corrections.correct),
    PageRoute("GET", "/episodes/{id}/events/{seq}/void", corrections.void_form),
    PageRoute("POST", "/episodes/{id}/events/{seq}/void", corrections.void),
    # Rule sets, users and tokens, the quality report, the audit page (admins; reviewers for report and audit)
    PageRoute("GET", "/rules", rules.list_),
    PageRoute("GET", "/rules/diff", rules.diff),  # before /rules/{id}, which would take "diff" for an id
    PageRoute("GET", "/rules/{id}", rules.show),
    PageRoute("POST", "/rules/{id}/activate", rules.activate),
    PageRoute("GET", "/users", users.list_),
    PageRoute("POST", "/users", users.add),
    PageRoute("POST", "/users/{name}/disable", users.disable),
    PageRoute("POST", "/users/{name}/enable", users.enable),
    PageRoute("POST", "/users/{name}/roles", users.grant),
    PageRoute("POST", "/users/{name}/roles/{role}/revoke", users.revoke),
    PageRoute("GET", "/users/{name}/digest", users.digest),
    PageRoute("POST", "/users/{name}/digest", users.digest_set),
    PageRoute("GET", "/users/{name}/tokens", users.token_list),
    PageRoute("POST", "/users/{name}/tokens", users.token_create),
    PageRoute("POST", "/users/{name}/tokens/{id}/revoke", users.token_revoke),
    PageRoute("GET", "/report", report.quality),
    PageRoute("GET", "/audit", audit.page),
]
