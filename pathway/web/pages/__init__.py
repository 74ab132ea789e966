"""The coordinators' web pages, one module per area; ``ROUTES`` lists every page.

Pages call the same services as the API and the CLI; the only logic here is what a
browser needs: forms in, HTML out, sign-in by cookie, CSRF tokens as form fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathway.web.pages import signin, worklist
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
]
