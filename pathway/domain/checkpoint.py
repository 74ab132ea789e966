"""Signed checkpoints: a small statement of the whole database's state, and checking it.

A checkpoint records, at one instant, the size and RFC 6962 root of the tree over every
event hash in append order, a digest of each rule set that can no longer change, the
head of the user-change history and of the access log. It is signed with Ed25519 by a
key kept outside the database. A later database *extends* it when each of those
prefixes still gives the recorded value; what was appended since is not its concern.
Pure: the service feeds it what it read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pathway.domain.audit import canonical_json, utc_text

FORMAT = "pathway-checkpoint/1"
KEY_PREFIX = "ed25519:"


class CheckpointError(ValueError):
    """A checkpoint or key that cannot be used; the message is a sentence for the user."""


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def rule_set_digest(version: int, activated_at: datetime | None, rules: list[Mapping[str, Any]]) -> str:
    """What of a rule set cannot change once it left draft: its rules and when it was activated."""
    return digest({
        "version": version,
        "activated_at": utc_text(activated_at) if activated_at else None,
        "rules": sorted(([r["key"], r["value"], r["value_type"], r["unit"], r["basis"]] for r in rules),
                        key=lambda r: r[0]),
    })  # fmt: skip


def new_key() -> tuple[bytes, str]:
    """A fresh signing key: its PEM (PKCS #8, for the owner-only file) and its public text."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())  # fmt: skip
    return pem, public_text(key.public_key())


def public_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KEY_PREFIX + base64.b64encode(raw).decode()


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise CheckpointError(
            "it is not an unencrypted PEM private key (make one with `pathway audit keygen`)"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError("it is not an Ed25519 key (make one with `pathway audit keygen`)")
    return key


def load_public_key(text: str) -> Ed25519PublicKey:
    text = text.strip()
    try:
        if not text.startswith(KEY_PREFIX):
            raise ValueError
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text[len(KEY_PREFIX):], validate=True))
    except (ValueError, binascii.Error):
        raise CheckpointError(
            f"a public key is written {KEY_PREFIX}BASE64, as `pathway audit keygen` prints it"
        ) from None


def statement(
    *,
    at: datetime,
    events: tuple[int, str],
    rules: Mapping[int, str],
    users: tuple[int, str, str],
    access_log: tuple[int, str],
) -> dict[str, Any]:
    """The unsigned statement (sizes and roots or heads, as the service read them in one snapshot)."""
    return {
        "format": FORMAT,
        "at": utc_text(at),
        "events": {"size": events[0], "root": events[1]},
        "rules": {str(version): value for version, value in sorted(rules.items())},
        "users": {"changes": users[0], "head": users[1], "digest": users[2]},
        "access_log": {"size": access_log[0], "head": access_log[1]},
    }


def sign(unsigned: Mapping[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    body = {**unsigned, "public_key": public_text(key.public_key())}
    return {**body, "signature": base64.b64encode(key.sign(canonical_json(body).encode())).decode()}


@dataclass(frozen=True)
class Checkpoint:
    """A parsed, signature-checked checkpoint."""

    at: datetime
    events: tuple[int, str]
    rules: dict[int, str]
    users: tuple[int, str, str]
    access_log: tuple[int, str]

    @property
    def label(self) -> str:
        return self.at.strftime("%Y-%m-%dT%H:%MZ")


def parse(data: bytes, public_key: str | None = None) -> Checkpoint:
    """The checkpoint in ``data``, its signature checked against ``public_key`` (else the one it carries)."""
    try:
        signed = json.loads(data)
        if not isinstance(signed, dict) or signed.get("format") != FORMAT:
            raise ValueError
        signature = base64.b64decode(signed["signature"], validate=True)
        body = {k: v for k, v in signed.items() if k != "signature"}
        carried = body["public_key"]
        cp = Checkpoint(
            at=datetime.strptime(signed["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC),
            events=(int(signed["events"]["size"]), str(signed["events"]["root"])),
            rules={int(v): str(d) for v, d in signed["rules"].items()},
            users=(int(signed["users"]["changes"]), str(signed["users"]["head"]), str(signed["users"]["digest"])),
            access_log=(int(signed["access_log"]["size"]), str(signed["access_log"]["head"])),
        )
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        raise CheckpointError(
            "it is not a pathway checkpoint (a signed JSON statement from `pathway audit checkpoint`)"
        ) from None
    key = load_public_key(public_key if public_key is not None else str(carried))
    if public_key is not None and public_text(key) != carried:
        raise CheckpointError("it was signed with another key than the public key given")
    try:
        key.verify(signature, canonical_json(body).encode())
    except InvalidSignature:
        raise CheckpointError("its signature does not hold: the statement was changed after it was signed") from None
    return cp


@dataclass(frozen=True)
class Observed:
    """What the database holds now, at the prefix sizes the checkpoints ask about."""

    events: int
    event_roots: Mapping[int, str]  # size -> root of the first ``size`` event hashes
    rules: Mapping[int, str]  # version -> digest of each rule set no longer draft
    user_heads: Mapping[int, str]  # count -> running hash of the first ``count`` user changes
    access_heads: Mapping[int, str]  # size -> hash of access-log row ``size`` (GENESIS for 0)


def mismatches(cp: Checkpoint, now: Observed) -> list[str]:
    """Sentences naming what the database no longer agrees with in ``cp``; none when it extends it."""
    after = f"after checkpoint {cp.label}"
    found = []
    size, root = cp.events
    if now.event_roots.get(size) != root:
        what = "event 1" if size == 1 else f"events 1–{size}"
        found.append(f"{what} (in append order) were rewritten or removed {after}.")
    for version, value in sorted(cp.rules.items()):
        if version not in now.rules:
            found.append(f"rule set {version} was removed or put back to draft {after}.")
        elif now.rules[version] != value:
            found.append(f"rule set {version} was changed {after}.")
    count, head, _ = cp.users
    if now.user_heads.get(count) != head:
        found.append(f"user changes 1–{count} (the history of users and roles) were rewritten or removed {after}.")
    size, head = cp.access_log
    if now.access_heads.get(size) != head:
        found.append(f"access log rows 1–{size} were rewritten or removed {after}.")
    return found
