"""`pathway serve` refuses open mode; `user password` and `user token` from the command line."""

from __future__ import annotations

import json

import sqlalchemy as sa

from pathway.db.models import AccessLogRow, PasswordRow, TokenRow
from cli import cli
from tests.conftest import Pathway, dump

GOOD = "correct horse battery staple"


def test_serve_refuses_a_database_without_users_and_says_how_to_start(pathway: Pathway) -> None:
    result = pathway("serve", "--port", "1")
    assert result.exit_code == 2
    assert "db upgrade --admin NAME" in result.stderr and "user password" in result.stderr


def _admin(pathway: Pathway) -> None:
    pathway.ok("--as", "amira", "db", "upgrade", "--admin", "amira")
    pathway.ok("--as", "amira", "user", "add", "kim", "--role", "coordinator")


def test_a_password_is_stored_as_an_argon2id_hash(pathway: Pathway, engine: sa.Engine) -> None:
    _admin(pathway)
    result = pathway.runner.invoke(cli, ["--db", pathway.url, "--as", "kim", "user", "password",
                                                          "kim", "--stdin"], input=GOOD + "\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        stored = conn.execute(sa.select(PasswordRow.hash)).scalar_one()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and GOOD not in stored


def test_password_rules_each_refused_with_the_reason(pathway: Pathway, engine: sa.Engine) -> None:
    _admin(pathway)
    before = dump(engine)
    cases = {"short-one": "shorter than 12", "password1234": "common passwords"}
    for password, reason in cases.items():
        result = pathway.runner.invoke(cli, ["--db", pathway.url, "--as", "amira", "user",
                                       "password", "kim", "--stdin"], input=password + "\n")  # fmt: skip
        assert result.exit_code == 2 and reason in result.stderr, (password, result.output)
    pathway.ok("--as", "amira", "user", "add", "kimberley.jones", "--role", "coordinator")
    result = pathway.runner.invoke(cli, ["--db", pathway.url, "--as", "amira", "user", "password",
                                   "kimberley.jones", "--stdin"], input="Kimberley.Jones\n")  # fmt: skip
    assert result.exit_code == 2 and "is the user name" in result.stderr
    assert dump(engine)["user_passwords"] == before["user_passwords"] == []


def test_only_an_admin_sets_someone_elses_password(pathway: Pathway) -> None:
    _admin(pathway)
    pathway.ok("--as", "amira", "user", "add", "bo", "--role", "coordinator")
    result = pathway.runner.invoke(cli, ["--db", pathway.url, "--as", "kim", "user", "password",
                                   "bo", "--stdin"], input=GOOD + "\n")  # fmt: skip
    assert result.exit_code == 5 and "admin" in result.stderr


def test_a_token_is_printed_once_and_only_its_hash_kept(pathway: Pathway, engine: sa.Engine) -> None:
    _admin(pathway)
    token = pathway.json("--as", "kim", "user", "token", "create", "kim", "--expires", "30", "--note", "laptop")
    assert list(token) == ["token"] and token["token"].startswith("pw_")
    listed = pathway.json("--as", "amira", "user", "token", "list", "kim")
    assert [(t["id"], t["note"], t["revoked_at"]) for t in listed] == [(1, "laptop", None)]
    assert token["token"] not in json.dumps(listed)
    with engine.connect() as conn:
        assert token["token"] not in repr(conn.execute(sa.select(TokenRow)).all())
        assert token["token"] not in repr(conn.execute(sa.select(AccessLogRow)).all())
    revoked = pathway.json("--as", "amira", "user", "token", "revoke", "kim", "1")
    assert revoked["changed"] is True and revoked["revoked_at"]
    assert pathway("--as", "bo", "user", "token", "list", "kim").exit_code == 5
    assert pathway("--as", "amira", "user", "token", "revoke", "kim", "7").exit_code == 3
