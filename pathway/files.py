"""Writing output files (backups, exports) so that they appear whole or not at all.

The content goes to an unnamed file in the target folder (Linux ``O_TMPFILE``), readable
by its owner only, and is given its name only once it is complete and on disk. A crash,
even SIGKILL, before that leaves nothing behind: no partial file, no stray temporary.
Where unnamed files are not supported a hidden temporary name is used instead.
"""

from __future__ import annotations

import ctypes
import errno
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from pathway.domain.fields import quoted
from pathway.errors import InvalidInput
from pathway.faults import fault_point

_AT_FDCWD = -100
_AT_SYMLINK_FOLLOW = 0x400
TEMP_PREFIX = ".pathway-partial-"


def check_target(path: Path, *, overwrite: bool) -> Path:
    """The absolute output path, or InvalidInput when it cannot or may not be written."""
    try:
        path = Path(path).expanduser().absolute()
        if "\x00" in str(path):
            raise ValueError("it contains a NUL character")
        os.stat(path.parent)
        if len(os.fsencode(path.name)) > 255:
            raise OSError(errno.ENAMETOOLONG, "File name too long")
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{quoted(str(path))} cannot be used as an output file: {exc}.") from None
    if not path.parent.is_dir():
        raise InvalidInput(f"The folder {path.parent} does not exist; create it or choose another path.")
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder; give a file name.")
    if path.exists() and not overwrite:
        raise InvalidInput(f"{path} already exists; choose another name, or add --force to replace it.")
    return path


@contextmanager
def atomic_output(
    path: Path, *, overwrite: bool = False, fault: str | None = None, encoding: str | None = None
) -> Iterator[IO]:
    """Yield a file to write; on success it appears at ``path`` (mode 0600) in one step.

    ``fault`` names a `pathway.faults` point reached when the content is complete but not
    yet published. With ``encoding`` the file is a text stream.
    """
    path = check_target(path, overwrite=overwrite)
    fd, temp = _open_temporary(path.parent)
    raw = os.fdopen(fd, "w+b")
    try:
        stream: IO = io.TextIOWrapper(raw, encoding=encoding, newline="") if encoding else raw
        yield stream
        stream.flush()
        if encoding:
            stream.detach()  # type: ignore[attr-defined]
        os.fsync(raw.fileno())
        if fault:
            fault_point(fault)
        _publish(raw, temp, path, overwrite)
    finally:
        raw.close()
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
    _sync_folder(path.parent)


def _open_temporary(folder: Path) -> tuple[int, str | None]:
    flag = getattr(os, "O_TMPFILE", None)
    if flag is not None:
        try:
            return os.open(folder, flag | os.O_RDWR, 0o600), None
        except OSError:
            pass
    fd, name = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX)
    os.fchmod(fd, 0o600)
    return fd, name


def _publish(raw: IO[bytes], temp: str | None, path: Path, overwrite: bool) -> None:
    if temp is None:
        if not overwrite and _link_unnamed(raw, path):
            return
        temp = _name_unnamed(raw, path)
    try:
        if overwrite:
            os.replace(temp, path)
        else:
            os.link(temp, path)
    except FileExistsError:
        raise InvalidInput(
            f"{path} appeared while this command ran; nothing was written. Choose another name."
        ) from None
    finally:
        Path(temp).unlink(missing_ok=True)


def _link_unnamed(raw: IO[bytes], target: Path) -> bool:
    """Give the unnamed file its name in one step (linkat); False where that is impossible."""
    source = f"/proc/self/fd/{raw.fileno()}".encode()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.linkat(_AT_FDCWD, source, _AT_FDCWD, os.fsencode(target), _AT_SYMLINK_FOLLOW) == 0:
            return True
        code = ctypes.get_errno()
    except (OSError, AttributeError):
        return False
    if code == errno.EEXIST:
        raise InvalidInput(f"{target} appeared while this command ran; nothing was written. Choose another name.")
    return False


def _name_unnamed(raw: IO[bytes], path: Path) -> str:
    """A hidden temporary name beside ``path`` for the content (replacing a file needs one)."""
    temp = path.parent / f"{TEMP_PREFIX}{os.getpid()}-{path.name}"
    temp.unlink(missing_ok=True)
    try:
        if _link_unnamed(raw, temp):
            return str(temp)
    except InvalidInput:
        pass
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as copy:
        raw.seek(0)
        shutil.copyfileobj(raw, copy)
        copy.flush()
        os.fsync(copy.fileno())
    return name


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
