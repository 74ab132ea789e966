"""Writing a command's output to a file the user named."""

from __future__ import annotations

from pathlib import Path

from pathway.errors import InvalidInput


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``; a failure is the user's to fix (exit 2), not a traceback."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(f"Cannot write {path}: {exc.strerror or exc}. Choose another --out path.") from None
