"""`audit keygen` and `audit checkpoint`: the key is owner-only and never replaced; who may sign."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from pathway.db.models import CheckpointRow
from tests.conftest import Pathway


@pytest.fixture
def key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys" / "signing.pem"
    path.parent.mkdir()
    monkeypatch.setenv("PATHWAY_SIGNING_KEY_FILE", str(path))
    return path


def test_keygen_writes_an_owner_only_key_and_never_replaces_one(pathway: Pathway, key: Path) -> None:
    made = pathway("audit", "keygen")
    assert made.exit_code == 0 and made.stdout.startswith("ed25519:") and len(made.stdout.strip()) == 52
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600 and b"PRIVATE KEY" in key.read_bytes()
    before = key.read_bytes()
    again = pathway("audit", "keygen")
    assert again.exit_code == 2 and "never replaces a signing key" in again.stderr
    assert key.read_bytes() == before


def test_keygen_does_not_follow_a_planted_link(pathway: Pathway, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (tmp_path / "link.pem").symlink_to(victim)
    result = pathway("audit", "keygen", "--out", str(tmp_path / "link.pem"))
    assert result.exit_code == 2 and victim.read_text() == "keep me"


def test_keygen_needs_a_place_for_the_key(pathway: Pathway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PATHWAY_SIGNING_KEY_FILE", raising=False)
    result = pathway("audit", "keygen")
    assert result.exit_code == 2 and "PATHWAY_SIGNING_KEY_FILE" in result.stderr


def test_only_service_and_admin_sign_checkpoints(
    pathway: Pathway, engine: sa.Engine, key: Path, tmp_path: Path
) -> None:
    pathway.ok("audit", "keygen")
    pathway.ok("--as", "root", "db", "upgrade", "--admin", "adm")
    for name, role in (("cron", "service"), ("cora", "coordinator"), ("rev", "reviewer")):
        pathway.ok("--as", "adm", "user", "add", name, "--role", role)
    for user in ("cora", "rev"):
        result = pathway("--as", user, "audit", "checkpoint", "--out", str(tmp_path / "no.json"))
        assert result.exit_code == 5 and "service or admin role" in result.stderr
    assert not (tmp_path / "no.json").exists()
    printed = pathway("--as", "cron", "audit", "checkpoint")
    assert printed.exit_code == 0 and json.loads(printed.stdout)["format"] == "pathway-checkpoint/1"
    pathway.ok("--as", "adm", "audit", "checkpoint", "--out", str(tmp_path / "cp.json"))
    with engine.connect() as conn:
        kept = conn.execute(sa.select(CheckpointRow.actor, CheckpointRow.statement).order_by(CheckpointRow.id)).all()
    assert [actor for actor, _ in kept] == ["cron", "adm"]
    assert kept[1].statement == (tmp_path / "cp.json").read_text()


def test_a_key_others_can_read_is_refused(pathway: Pathway, key: Path) -> None:
    pathway.ok("audit", "keygen")
    os.chmod(key, 0o644)
    result = pathway("audit", "checkpoint")
    assert result.exit_code == 2 and "chmod 600" in result.stderr and result.stdout == ""


def test_no_key_no_checkpoint(pathway: Pathway, monkeypatch: pytest.MonkeyPatch, engine: sa.Engine) -> None:
    monkeypatch.delenv("PATHWAY_SIGNING_KEY_FILE", raising=False)
    result = pathway("audit", "checkpoint")
    assert result.exit_code == 2 and "PATHWAY_SIGNING_KEY_FILE" in result.stderr
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(CheckpointRow)) == 0


def test_verify_refuses_a_file_that_is_not_a_checkpoint_and_a_wrong_public_key(
    pathway: Pathway, key: Path, tmp_path: Path
) -> None:
    public = pathway.ok("audit", "keygen").stdout.strip()
    pathway.ok("audit", "checkpoint", "--out", str(tmp_path / "cp.json"))
    (tmp_path / "junk.json").write_text("{}")
    result = pathway("audit", "verify", "--checkpoint", str(tmp_path / "junk.json"))
    assert result.exit_code == 1 and "is not a pathway checkpoint" in result.stdout
    other = pathway.ok("audit", "keygen", "--out", str(tmp_path / "other.pem")).stdout.strip()
    wrong = pathway("audit", "verify", "--checkpoint", str(tmp_path / "cp.json"), "--public-key", other)
    assert wrong.exit_code == 1 and "signed with another key" in wrong.stdout
    right = pathway("audit", "verify", "--checkpoint", str(tmp_path / "cp.json"), "--public-key", public)
    assert right.exit_code == 0 and "extends 1 checkpoint" in right.stderr
    bad = pathway("audit", "verify", "--checkpoint", str(tmp_path / "cp.json"), "--public-key", "nonsense")
    assert bad.exit_code == 1 and "ed25519:BASE64" in bad.stdout
