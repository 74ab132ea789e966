"""The site's pseudonymisation key: kept outside the database, never printed.

Whoever holds the key can link a pseudonym back to a patient by hashing the site's
patient references, so it lives apart from the data: ``PATHWAY_PSEUDONYM_KEY`` (e.g.
from the site's secret store), else the file named by ``PATHWAY_PSEUDONYM_KEY_FILE``,
else ``pseudonym.key`` in the user configuration directory, created on first use with
owner-only permissions. Every exporter of a site must use the same key for pseudonyms
to be stable across the site's exports.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import platformdirs

from pathway.errors import InvalidInput
from pathway.inputs import KiB, read_input

ENV_KEY = "PATHWAY_PSEUDONYM_KEY"
ENV_KEY_FILE = "PATHWAY_PSEUDONYM_KEY_FILE"
MIN_LENGTH = 32


def default_key_path() -> Path:
    return Path(platformdirs.user_config_dir("pathway", appauthor=False)) / "pseudonym.key"


def key_path() -> Path:
    named = os.environ.get(ENV_KEY_FILE, "").strip()
    return Path(named).expanduser() if named else default_key_path()


def _checked(text: str, where: str) -> bytes:
    text = text.strip()
    if len(text) < MIN_LENGTH:
        raise InvalidInput(
            f"The pseudonymisation key in {where} is too short ({len(text)} characters; at least {MIN_LENGTH}). "
            "Use a long random value, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`."
        )
    return text.encode()


def load_key() -> bytes:
    """The key from the environment, else from its file, creating the file if need be."""
    value = os.environ.get(ENV_KEY)
    if value is not None and value.strip():
        return _checked(value, ENV_KEY)
    path = key_path()
    if not path.exists():
        _create(path, explicit=bool(os.environ.get(ENV_KEY_FILE, "").strip()))
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInput(
            f"The pseudonymisation key file {path} is readable by others; make it private with `chmod 600 {path}`."
        )
    try:
        return _checked(read_input(path, what="key files", limit=4 * KiB, streams=False).decode("ascii"), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"Cannot read the pseudonymisation key file {path}: {exc}.") from None


def _create(path: Path, *, explicit: bool) -> None:
    """Write a new random key; a concurrent first use keeps whichever key landed first."""
    if explicit and not path.parent.is_dir():
        raise InvalidInput(f"{ENV_KEY_FILE} names {path}, whose folder does not exist.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, (secrets.token_hex(32) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temporary, path)  # fails if another process created the key meanwhile
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    except OSError as exc:
        raise InvalidInput(f"Cannot create the pseudonymisation key file {path}: {exc.strerror}.") from None
