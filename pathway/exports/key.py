"""The site's pseudonymisation key: kept outside the database, never printed.

Whoever holds the key can link a pseudonym back to a patient by hashing the site's
patient references, so it lives apart from the data: ``PATHWAY_PSEUDONYM_KEY`` (e.g.
from the site's secret store), else the file named by ``PATHWAY_PSEUDONYM_KEY_FILE``
(created once, owner-only, if it does not exist yet). With neither set, a pseudonymised
export is refused: a key made up per user would give each exporter different pseudonyms
for the same patients, silently.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from pathway.errors import InvalidInput
from pathway.inputs import KiB, read_input

ENV_KEY = "PATHWAY_PSEUDONYM_KEY"
ENV_KEY_FILE = "PATHWAY_PSEUDONYM_KEY_FILE"
MIN_LENGTH = 32


UNSET = (
    f"Pseudonymised exports need the site's pseudonymisation key, and none is set. Set {ENV_KEY_FILE} to a file "
    f"path that every exporter of this site uses (pathway creates the key there, owner-only, on first use), or "
    f"{ENV_KEY} to a secret of at least {MIN_LENGTH} characters; use --identified for an identified export."
)


def key_path() -> Path | None:
    """The key file named by ``PATHWAY_PSEUDONYM_KEY_FILE``, or None when it is not set."""
    named = os.environ.get(ENV_KEY_FILE, "").strip()
    return Path(named).expanduser() if named else None


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
    if path is None:
        raise InvalidInput(UNSET)
    if not path.exists():
        _create(path)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInput(
            f"The pseudonymisation key file {path} is readable by others; make it private with `chmod 600 {path}`."
        )
    try:
        return _checked(read_input(path, what="key files", limit=4 * KiB, streams=False).decode("ascii"), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"Cannot read the pseudonymisation key file {path}: {exc}.") from None


def _create(path: Path) -> None:
    """Write a new random key; a concurrent first use keeps whichever key landed first."""
    if not path.parent.is_dir():
        raise InvalidInput(f"{ENV_KEY_FILE} names {path}, whose folder does not exist.")
    try:
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
