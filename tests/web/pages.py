"""Driving the pages as a browser would, with httpx: sign in through the form, post forms with their CSRF token."""

from __future__ import annotations

import re

import httpx

from cli import cli
from tests.web.conftest import PASSWORD, USER_OF, Site

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def set_password(site: Site, name: str) -> None:
    result = site.pathway.runner.invoke(cli, ["--db", site.pathway.url, "--as", "amira", "user", "password", name,
                                              "--stdin"], input=PASSWORD + "\n")  # fmt: skip
    assert result.exit_code == 0, result.output


def browser(site: Site, role: str = "coordinator", *, password: bool = True) -> httpx.Client:
    """A client signed in through the sign-in page as the test user holding ``role``."""
    name = USER_OF[role]
    if password:
        set_password(site, name)
    with httpx.Client(base_url=site.url, timeout=60) as client:
        form = client.get("/login")
        assert form.status_code == 200
        answer = client.post("/login", data={"csrf_token": csrf_of(form.text), "name": name, "password": PASSWORD,
                                             "next": "/"})  # fmt: skip
        assert answer.status_code == 303, answer.text
        return httpx.Client(base_url=site.url, timeout=60, cookies=client.cookies)


def post(client: httpx.Client, page: str, path: str, data: dict[str, str]) -> httpx.Response:
    """Submit a form found on ``page`` to ``path`` (with that page's CSRF token)."""
    token = csrf_of(client.get(page).text)
    return client.post(path, data={"csrf_token": token, **data})
