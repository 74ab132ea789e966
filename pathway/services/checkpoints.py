"""Signed checkpoints: the signing key, taking a checkpoint, and checking the database against one."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa

from pathway.db import access_log
from pathway.db import checkpoints as db
from pathway.db import stream
from pathway.db.uow import UnitOfWork
from pathway.domain.checkpoint import (
    Checkpoint,
    CheckpointError,
    Observed,
    digest,
    load_private_key,
    mismatches,
    new_key,
    parse,
    sign,
    statement,
)
from pathway.domain.fields import quoted
from pathway.domain.merkle import prefix_roots
from pathway.domain.user_history import fold, state_digest
from pathway.errors import InvalidInput
from pathway.files import AtomicFile
from pathway.inputs import read_input
from pathway.services import Actor
from pathway.services.access import authorize

KEY_ENV = "PATHWAY_SIGNING_KEY_FILE"
KEY_LIMIT = 64 * 1024
CHECKPOINT_LIMIT = 1024 * 1024


def _key_path(out: Path | None) -> Path:
    if out is not None:
        return out
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV])
    raise InvalidInput(f"Say where the signing key is kept: --out FILE, or set {KEY_ENV}.")


def make_key(*, out: Path | None) -> dict[str, Any]:
    """A new Ed25519 signing key in an owner-only file that did not exist; returns its public key."""
    path = _key_path(out).expanduser()
    pem, public = new_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        raise InvalidInput(f"{quoted(str(path))} already exists; pathway never replaces a signing key. "
                           "Choose another file, or remove the old key yourself.") from None  # fmt: skip
    except OSError as exc:
        raise InvalidInput(f"Cannot create {quoted(str(path))}: {exc.strerror or exc}.") from None
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    return {"key_file": str(path), "public_key": public}


def _signing_key(path_text: str | None) -> Any:
    if not path_text:
        raise InvalidInput(f"A checkpoint is signed with the key in {KEY_ENV}; set it to the file "
                           "`pathway audit keygen` made.")  # fmt: skip
    path = Path(path_text).expanduser()
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InvalidInput(
            f"Cannot use the signing key {quoted(str(path))} ({KEY_ENV}): {exc.strerror or exc}."
        ) from None
    if stat.S_ISREG(info.st_mode) and info.st_mode & 0o077:
        raise InvalidInput(f"The signing key {quoted(str(path))} can be read by others; make it owner-only "
                           f"(chmod 600 {path}) and check who has copied it.")  # fmt: skip
    data = read_input(path, what="signing key", limit=KEY_LIMIT, streams=False)
    try:
        return load_private_key(data)
    except CheckpointError as exc:
        raise InvalidInput(f"The signing key {quoted(str(path))} cannot be used: {exc}.") from None


def create(
    uow: UnitOfWork, *, actor: Actor, now: datetime, out: Path | None, stdout: BinaryIO | None
) -> dict[str, Any]:
    """Take, sign and keep a checkpoint of the whole database; write it to ``out`` or ``stdout``."""
    authorize(uow, actor, "audit.checkpoint", now=now)
    key = _signing_key(os.environ.get(KEY_ENV))
    target = AtomicFile(out) if out is not None else None
    uow.commit()  # end the authorising read: the checkpoint is read in a transaction of its own
    connection = stream.snapshot(uow.connection)
    with connection.begin():
        db.lock_appends(connection)
        size, root, _ = prefix_roots(db.event_leaves(connection), ())
        count, head, _ = db.user_heads(db.user_changes(connection), ())
        users = state_digest(fold(db.user_changes(connection)))
        log_size, log_head, _ = access_log.running_heads(connection, ())
        unsigned = statement(at=now, events=(size, root), rules=db.rule_digests(connection),
                             users=(count, head, digest(users)), access_log=(log_size, log_head))  # fmt: skip
        signed = sign(unsigned, key)
        text = json.dumps(signed, indent=2, sort_keys=True) + "\n"
        db.keep(connection, at=now, actor=actor.name, statement=text)
    if target is not None:
        with target as file:
            file.write(text.encode())
    elif stdout is not None:
        stdout.write(text.encode())
        stdout.flush()
    return {**signed, "out": str(target.target) if target is not None else "-"}


def read_checkpoints(paths: Sequence[Path], public_key: str | None) -> list[tuple[Checkpoint | None, str]]:
    """Each checkpoint file parsed and its signature checked: (checkpoint, "") or (None, what is wrong)."""
    key_text = None
    if public_key is not None:
        candidate = Path(public_key).expanduser()
        key_text = (read_input(candidate, what="public key", limit=KEY_LIMIT).decode(errors="replace")
                    if candidate.is_file() else public_key)  # fmt: skip
    found: list[tuple[Checkpoint | None, str]] = []
    for path in paths:
        data = read_input(path, what="checkpoint", limit=CHECKPOINT_LIMIT)
        try:
            found.append((parse(data, key_text), ""))
        except CheckpointError as exc:
            found.append((None, f"checkpoint {path}: {exc}."))
    return found


def observe(connection: sa.Connection, checkpoints: Sequence[Checkpoint]) -> Observed:
    """What the database holds at the sizes the checkpoints recorded (one pass over each table)."""
    size, _, roots = prefix_roots(db.event_leaves(connection), [c.events[0] for c in checkpoints])
    _, _, heads = db.user_heads(db.user_changes(connection), [c.users[0] for c in checkpoints])
    _, _, log = access_log.running_heads(connection, [c.access_log[0] for c in checkpoints])
    return Observed(events=size, event_roots=roots, rules=db.rule_digests(connection), user_heads=heads,
                    access_heads=log)  # fmt: skip


def problems(connection: sa.Connection, checkpoints: Sequence[Checkpoint]) -> list[str]:
    if not checkpoints:
        return []
    now = observe(connection, checkpoints)
    return [p for c in checkpoints for p in mismatches(c, now)]
