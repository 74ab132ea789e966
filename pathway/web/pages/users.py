"""The administrators' user pages: who may sign in, in which roles, and their API tokens.

The same services as ``pathway user ...``, so the same refusals (never the last active
administrator; a name as the CLI accepts it). A refusal is shown next to the form or
row it concerns and nothing is changed. User names appear in URLs (they are staff
names, not patient data), quoted. A new token is shown once, in the answer to the form
that created it, never in a URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from pathway.db.uow import UnitOfWork
from pathway.domain.access import ROLES
from pathway.errors import AccessDenied, InvalidInput, NotFound, PathwayError
from pathway.services import contacts, tokens, users
from pathway.web.errors import STATUS
from pathway.web.pages.view import View

NOTICES = {
    "added": "User {user} was added.",
    "granted": "{user} was given the role.",
    "revoked": "The role was taken from {user}.",
    "disabled": "{user} is disabled: they are refused from now on.",
    "enabled": "{user} is active again.",
    "unchanged": "Nothing to change for {user}.",
    "token-revoked": "The token is revoked: it is refused from now on.",
    "digest-saved": "Saved: `pathway jobs notify` uses it from its next run.",
}
NAME_HELP = "Letters, digits or . _ @ + - (no spaces), up to 128 characters, e.g. a.smith."


def _status(exc: PathwayError) -> int:
    return STATUS.get(exc.exit_code, 400)


def _notice(view: View, rows: list[dict[str, Any]]) -> str | None:
    """The note after a change (post/redirect/get), only about a user listed, so a link cannot make one up."""
    done, name = view.query("done") or "", view.query("user")
    template = NOTICES.get(done)
    user = next((u for u in rows if u["name"] == name), None)
    if template is None or user is None:
        return None
    if (done == "disabled" and user["active"]) or (done == "enabled" and not user["active"]):
        return None  # the list says otherwise
    return template.format(user=name)


def _list(
    view: View, *, status: int = 200, errors: dict[str, str] | None = None,
    row_errors: dict[tuple[str, str], str] | None = None, added: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    with view.uow() as uow:
        assert view.actor is not None
        rows = users.list_users(uow, actor=view.actor, now=view.now)
        digests = contacts.list_contacts(uow, actor=view.actor, now=view.now)
    names = {u["name"] for u in rows}
    row_errors = row_errors or {}
    problem = next((message for (name, _), message in row_errors.items() if name not in names), None)
    return view.page("users.html", users=rows, digests=digests, all_roles=ROLES, errors=errors or {}, row_errors=row_errors,
                     added=added or {"name": "", "role": ""}, notice=_notice(view, rows) if status == 200 else None,
                     problem=problem, name_help=NAME_HELP, nav="users", status=status)  # fmt: skip


def list_(view: View) -> Response:
    """Every user with their roles, whether active, and when and by whom they were added."""
    return _list(view)


def _done(view: View, change: str, name: str) -> Response:
    return view.redirect(f"/users?done={change}&user={quote(name, safe='')}")


def _fields(name: str, role: str) -> dict[str, str]:
    """What is wrong with a name and a role, by field (empty when both are fine)."""
    errors = {}
    for field, check, value in (("name", users.check_user_name, name), ("role", users.check_role, role)):
        try:
            check(value)
        except InvalidInput as exc:
            errors[field] = exc.message
    if not role:
        errors["role"] = "Choose the role to give."
    return errors


def add(view: View) -> Response:
    """A new user with one role; a bad name or role is refused next to its field."""
    name, role = view.form.get("name", "").strip(), view.form.get("role", "").strip()
    assert view.actor is not None
    status = 400
    with view.uow(write=True) as uow:
        view.authorize(uow, "user.add")  # the right first: a visitor without it learns nothing from the form
        errors = _fields(name, role)
        if not errors:
            try:
                users.add_user(uow, name=name, role=role, actor=view.actor, now=view.now, existing=False)
            except PathwayError as exc:
                errors["name"], status = exc.message, _status(exc)
    if errors:
        return _list(view, status=status, errors=errors, added={"name": name, "role": role})
    return _done(view, "added", name)


def _row_change(view: View, name: str, where: str, change: Callable[[UnitOfWork], dict[str, Any]], done: str
                ) -> Response:  # fmt: skip
    """Run one change to a user's row; a refusal is shown in that row (``where``: roles or active)."""
    try:
        with view.uow(write=True) as uow:
            data = change(uow)
    except (AccessDenied, NotFound):
        raise
    except PathwayError as exc:
        return _list(view, status=_status(exc), row_errors={(name, where): exc.message})
    return _done(view, done if data.get("changed", True) else "unchanged", name)


def _name(view: View) -> str:
    return str(view.request.path_params["name"])


def disable(view: View) -> Response:
    """Refuse the user from now on (never the last active administrator)."""
    name = _name(view)
    assert view.actor is not None
    actor = view.actor
    return _row_change(view, name, "active", lambda uow: users.set_enabled(
        uow, name=name, enabled=False, actor=actor, now=view.now), "disabled")  # fmt: skip


def enable(view: View) -> Response:
    name = _name(view)
    assert view.actor is not None
    actor = view.actor
    return _row_change(view, name, "active", lambda uow: users.set_enabled(
        uow, name=name, enabled=True, actor=actor, now=view.now), "enabled")  # fmt: skip


def grant(view: View) -> Response:
    """Give an existing user one more role."""
    name, role = _name(view), view.form.get("role", "").strip()
    assert view.actor is not None
    actor = view.actor

    def change(uow: UnitOfWork) -> dict[str, Any]:
        view.authorize(uow, "user.add")
        if not role:
            raise InvalidInput("Choose the role to give.")
        return users.add_user(uow, name=name, role=role, actor=actor, now=view.now, existing=True)

    return _row_change(view, name, "give", change, "granted")


def revoke(view: View) -> Response:
    """Take a role (kept in the users' history; never the last active administrator's admin role)."""
    name, role = _name(view), str(view.request.path_params["role"])
    assert view.actor is not None
    actor = view.actor
    return _row_change(view, name, "roles", lambda uow: users.revoke_role(
        uow, name=name, role=role, actor=actor, now=view.now), "revoked")  # fmt: skip


def _tokens(view: View, name: str, *, created: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
            form: dict[str, str] | None = None, status: int = 200) -> Response:  # fmt: skip
    assert view.actor is not None
    with view.uow() as uow:
        rows = tokens.list_tokens(uow, name=name, actor=view.actor, now=view.now)
    return view.page("user_tokens.html", name=name, tokens=rows, created=created, errors=errors or {},
                     form=form or {"note": "", "expires": ""}, max_days=tokens.MAX_DAYS,
                     notice=NOTICES["token-revoked"] if view.query("done") == "token-revoked" else None,
                     nav="users", status=status)  # fmt: skip


def token_list(view: View) -> Response:
    """The user's API tokens (never the secrets): admins, or the user themself."""
    return _tokens(view, _name(view))


def _days(text: str) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= tokens.MAX_DAYS):
        raise InvalidInput(f"Expires after is a whole number of days from 1 to {tokens.MAX_DAYS}, or empty for never.")
    return int(text)


def _token_fields(note: str, expires: str) -> dict[str, str]:
    errors = {}
    try:
        _days(expires)
    except InvalidInput as exc:
        errors["expires"] = exc.message
    if len(note) > 200 or not note.isprintable():
        errors["note"] = "The note is at most 200 characters on one line, without control characters."
    return errors


def token_create(view: View) -> Response:
    """A new token, shown once in this answer (only its hash is kept)."""
    name = _name(view)
    note, expires = view.form.get("note", "").strip(), view.form.get("expires", "").strip()
    assert view.actor is not None
    created, status = None, 400
    with view.uow(write=True) as uow:
        tokens.list_tokens(uow, name=name, actor=view.actor, now=view.now)  # the right (and the user) first
        errors = _token_fields(note, expires)
        if not errors:
            try:
                created = tokens.create_token(uow, name=name, expires_days=_days(expires), note=note,
                                              actor=view.actor, now=view.now)  # fmt: skip
            except PathwayError as exc:
                errors["form"], status = exc.message, _status(exc)
    if created is None:
        return _tokens(view, name, errors=errors, form={"note": note, "expires": expires}, status=status)
    return _tokens(view, name, created=created)


def token_revoke(view: View) -> Response:
    """Revoke one token: it is refused from now on."""
    name, token_id = _name(view), view.path_id()
    assert view.actor is not None
    with view.uow(write=True) as uow:
        tokens.revoke_token(uow, name=name, token_id=token_id, actor=view.actor, now=view.now)
    return view.redirect(f"/users/{quote(name, safe='')}/tokens?done=token-revoked")


DIGESTS = (("daily", "Daily: what is overdue and due today"), ("weekly", "Weekly: what falls due within seven days"),
           ("off", "Off: no email"))  # fmt: skip


def _digest_page(view: View, name: str, form: dict[str, str], *, errors: dict[str, str] | None = None,
                 status: int = 200, receives: bool = True) -> Response:  # fmt: skip
    notice = NOTICES["digest-saved"] if view.query("done") == "digest-saved" and status == 200 else None
    return view.page("user_digest.html", name=name, form=form, digests=DIGESTS, errors=errors or {}, notice=notice,
                     receives=receives,
                     nav="users" if view.actor and view.actor.name != name else None, status=status)  # fmt: skip


def digest(view: View) -> Response:
    """Where one's worklist digest goes and how often (oneself, or an admin for anyone)."""
    name = _name(view)
    assert view.actor is not None
    with view.uow() as uow:
        current = contacts.get_contact(uow, name=name, actor=view.actor, now=view.now)
    return _digest_page(view, name, {"email": current["email"] or "", "digest": current["digest"]},
                        receives=current["receives"])


def digest_set(view: View) -> Response:
    """Save the address and frequency; a bad address, or a digest without one, is shown next to the address."""
    name = _name(view)
    form = {"email": view.form.get("email", "").strip(), "digest": view.form.get("digest", "").strip() or "off"}
    assert view.actor is not None
    try:
        with view.uow(write=True) as uow:
            contacts.set_contact(uow, name=name, email=form["email"], digest=form["digest"], actor=view.actor,
                                 now=view.now)  # fmt: skip
    except (AccessDenied, NotFound):
        raise
    except PathwayError as exc:
        field = "digest" if "--digest is one of" in exc.message else "email"
        return _digest_page(view, name, form, errors={field: exc.message}, status=_status(exc))
    return view.redirect(f"/users/{quote(name, safe='')}/digest?done=digest-saved")
