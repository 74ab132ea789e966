"""Output files (exports, reports, backups, diagrams) that appear whole or not at all.

Data is written to an anonymous file in the target's folder (Linux ``O_TMPFILE``),
readable by its owner only: it has no name until it is complete and on disk, so a crash
or even SIGKILL mid-write leaves nothing behind. Only then is it linked into place
(replacing an earlier file by rename, when allowed). Where anonymous files are not
available, a hidden ``.NAME.partial-*`` file beside the target takes its place and is
removed on any error; only SIGKILL can leave that one behind.

A FHIR export is several files: each is written anonymously, and at the end they are
linked into a hidden folder that is swapped with the earlier folder in one step (Linux
``renameat2`` with ``RENAME_EXCHANGE``), so the target path always holds a whole export.

Only the last moments of publishing (linking a finished file under a hidden name before
renaming it over an earlier one, building the hidden folder) can leave something behind
if the process is killed there; every hidden name carries the writer's process id, and
the next write to the same target removes what dead writers left.

Only a regular file (or nothing) is ever replaced. A character device or a pipe (FIFO)
given as the target is written through, as a shell redirection would, so ``--out
/dev/null`` discards and ``--out /dev/stdout`` prints; the standard stream names
(``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``, ``/proc/self/fd/N``) are written to the
already open descriptor, never looked up. A symbolic link, a socket, a block device or any
other kind of file is refused: nothing written by pathway follows a planted link.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import secrets
import shutil
import stat
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from pathway.domain.fields import quoted
from pathway.errors import InvalidInput
from pathway.faults import fault_point

_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000
_RENAME_EXCHANGE = 2
_BUFFER = 1 << 20
_TAGS = ("partial", "new", "copy", "old")
_LEFTOVER = re.compile(rf"(?:{'|'.join(_TAGS)})-(\d+)-[0-9a-f]{{8}}")


def _hidden(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, under another user
    return True


def remove_leftovers(target: Path) -> list[str]:
    """Remove the hidden files and folders that killed writers of ``target`` left beside it.

    Only names made by ``_hidden`` for this target whose writer is no longer running;
    returns the names removed.
    """
    prefix = f".{target.name}."
    try:
        entries = [e for e in os.scandir(target.parent) if e.name.startswith(prefix)]
    except OSError:
        return []
    removed = []
    for entry in entries:
        found = _LEFTOVER.fullmatch(entry.name[len(prefix) :])
        if found is None or _alive(int(found.group(1))):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
        removed.append(entry.name)
    return removed


def _exchange(new: Path, old: Path) -> bool:
    """Swap two paths in one step; False where the system or file system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(old), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOENT, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(old))


def _link_anonymous(fd: int, destination: Path) -> bool:
    """Give the anonymous file ``fd`` the name ``destination``; False if this system cannot."""
    try:
        os.link(f"/proc/self/fd/{fd}", destination, follow_symlinks=True)
        return True
    except FileExistsError:
        raise
    except OSError:
        pass
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.linkat(fd, b"", _AT_FDCWD, os.fsencode(destination), _AT_EMPTY_PATH) == 0:
            return True
        if ctypes.get_errno() == errno.EEXIST:
            raise FileExistsError(errno.EEXIST, "File exists", str(destination))
    except (OSError, AttributeError):
        pass
    return False


def _copy_out(fd: int, destination: Path) -> None:
    """Last resort: copy an anonymous file to a new hidden one (renamed into place by the caller)."""
    out = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        size, offset = os.fstat(fd).st_size, 0
        while offset < size:
            offset += os.copy_file_range(fd, out, size - offset, offset_src=offset)
        os.fsync(out)
    finally:
        os.close(out)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Staged:
    """One output file being written: anonymous if the system allows, else hidden."""

    def __init__(self, folder: Path, final_name: str) -> None:
        self.folder = folder
        self.final_name = final_name
        self.named: Path | None = None
        try:
            fd = os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600)
        except (AttributeError, OSError):
            self.named = _hidden(folder / final_name, "partial")
            fd = os.open(self.named, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.fd = fd
        self.file: BinaryIO = os.fdopen(fd, "wb", buffering=_BUFFER, closefd=False)

    def finish(self) -> None:
        self.file.flush()
        os.fsync(self.fd)

    def place(self, destination: Path) -> None:
        """Give the finished file the name ``destination`` (which must not exist)."""
        if self.named is not None:
            os.rename(self.named, destination)
            self.named = None
        elif not _link_anonymous(self.fd, destination):
            copy = _hidden(destination, "copy")
            try:
                _copy_out(self.fd, copy)
                os.rename(copy, destination)
            finally:
                copy.unlink(missing_ok=True)

    def close(self) -> None:
        self.file.close()
        os.close(self.fd)
        if self.named is not None:
            self.named.unlink(missing_ok=True)
            self.named = None


_STREAMS = re.compile(r"/dev/(stdout|stderr|fd/([0-9]{1,4}))|/proc/self/fd/([0-9]{1,4})")


def _stream_number(path: Path) -> int | None:
    """The descriptor a standard stream name stands for (``/dev/stdout`` is 1), else None."""
    found = _STREAMS.fullmatch(str(path))
    if found is None:
        return None
    name, number = found.group(1), found.group(2) or found.group(3)
    return int(number) if number else {"stdout": 1, "stderr": 2}[name]


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "symbolic link"), (stat.S_ISSOCK, "socket"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "special file"


def writes_through(path: Path) -> bool:
    """Whether output to ``path`` goes straight into a stream (character device, pipe, standard stream)."""
    if _stream_number(path) is not None:
        return True
    try:
        mode = os.lstat(path).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def _open_stream(path: Path) -> int:
    """A descriptor writing into the stream ``path`` names, checked to be one after opening."""
    number = _stream_number(path)
    if number is not None:
        try:
            return os.dup(number)
        except OSError:
            raise InvalidInput(f"{path} is not open in this process; choose another --out.") from None
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC)
    mode = os.fstat(fd).st_mode
    if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        os.close(fd)
        raise InvalidInput(f"{path} was replaced while this command ran; nothing was written. Run it again.")
    return fd


def _parent(target: Path) -> Path:
    parent = target.parent
    if not parent.is_dir():
        raise InvalidInput(f"The folder {parent} does not exist; create it or choose another --out.")
    if not os.access(parent, os.W_OK):
        raise InvalidInput(f"Cannot write in {parent}; choose another --out.")
    return parent


def check_target(path: Path, *, overwrite: bool) -> Path:
    """The absolute output path, or InvalidInput when it cannot or may not be written.

    A character device or pipe is accepted without ``overwrite`` (it is written through,
    nothing is replaced); a symbolic link or other non-regular file is refused.
    """
    try:
        path = Path(path).expanduser().absolute()
        if _stream_number(path) is not None:
            return path
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
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise InvalidInput(f"{quoted(str(path))} cannot be used as an output file: {exc.strerror or exc}.") from None
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return path
    if stat.S_ISDIR(mode):
        raise InvalidInput(f"{path} is a folder; give a file name.")
    if not stat.S_ISREG(mode):
        raise InvalidInput(
            f"{path} is a {_kind(mode)}, not a regular file; pathway never writes through links or replaces "
            "special files. Give the path of a regular file (or a new name)."
        )
    if not overwrite:
        raise InvalidInput(f"{path} already exists; choose another name, or add --force to replace it.")
    return path


class AtomicFile:
    """``with AtomicFile(path) as out:`` writes ``path`` whole on success, nothing on failure.

    ``overwrite=False`` refuses an existing file (up front, and if one appears meanwhile).
    ``fault`` names a `pathway.faults` point reached when the content is complete but not
    yet published, for crash tests. A character device or pipe is written through
    (``through`` is then true): what reaches a stream cannot be taken back.
    """

    def __init__(self, target: Path, *, overwrite: bool = True, fault: str | None = None) -> None:
        self.target = check_target(target, overwrite=overwrite)
        self.through = writes_through(self.target)
        if not self.through:
            self.parent = _parent(self.target)
        self.overwrite = overwrite
        self.fault = fault
        self.stream: BinaryIO | None = None

    def __enter__(self) -> BinaryIO:
        if self.through:
            self.stream = os.fdopen(_open_stream(self.target), "wb", buffering=_BUFFER)
            return self.stream
        remove_leftovers(self.target)
        self.staged = Staged(self.parent, self.target.name)
        return self.staged.file

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.stream is not None:
            stream, self.stream = self.stream, None
            try:
                if exc_type is None:
                    stream.flush()
            finally:
                with contextlib.suppress(OSError):
                    stream.close()
            return
        try:
            if exc_type is None:
                self.staged.finish()
                if self.fault:
                    fault_point(self.fault)
                try:
                    self.staged.place(self.target)
                except FileExistsError:
                    if not self.overwrite:
                        raise InvalidInput(
                            f"{self.target} appeared while this command ran; nothing was written. Choose another name."
                        ) from None
                    hidden = _hidden(self.target, "new")
                    self.staged.place(hidden)
                    os.replace(hidden, self.target)
                _fsync_dir(self.target.parent)
        finally:
            self.staged.close()


class AtomicDirectory:
    """A folder of files that replaces ``target`` whole on success, and nothing otherwise.

    An existing ``target`` is replaced only if it holds nothing but ``*.ndjson`` files (an
    earlier export): a mistyped --out never deletes anything else. ``fault`` names a
    `pathway.faults` point reached when every file is complete but none has a name;
    ``swap_fault`` one reached when the new folder is built under its hidden name, just
    before it takes the target's place.
    """

    def __init__(
        self, target: Path, suffix: str = ".ndjson", *, fault: str | None = None, swap_fault: str | None = None
    ) -> None:
        self.target = target.expanduser().absolute()
        if self.target.is_symlink():
            raise InvalidInput(
                f"{self.target} is a symbolic link; pathway never writes through links. Give the folder's own path."
            )
        self.suffix = suffix
        self.fault = fault
        self.swap_fault = swap_fault
        if self.target.exists():
            if not self.target.is_dir():
                raise InvalidInput(f"{self.target} is a file; a FHIR export needs a folder for --out.")
            strangers = [p.name for p in self.target.iterdir() if not (p.is_file() and p.name.endswith(suffix))]
            if strangers:
                raise InvalidInput(
                    f"{self.target} holds other things than an earlier export ({strangers[0]}…); "
                    "choose a new or empty folder for --out."
                )
        self.parent = _parent(self.target)
        self.files: dict[str, Staged] = {}

    def open(self, name: str) -> BinaryIO:
        staged = self.files[name] = Staged(self.parent, name)
        return staged.file

    def __enter__(self) -> AtomicDirectory:
        remove_leftovers(self.target)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                self._publish()
        finally:
            for staged in self.files.values():
                staged.close()

    def _publish(self) -> None:
        for staged in self.files.values():
            staged.finish()
        if self.fault:
            fault_point(self.fault)
        building = _hidden(self.target, "partial")
        os.mkdir(building, 0o700)
        try:
            for name, staged in self.files.items():
                staged.place(building / name)
            _fsync_dir(building)
            if self.swap_fault:
                fault_point(self.swap_fault)
            if self.target.exists() and _exchange(building, self.target):
                old: Path | None = building  # the earlier export, now under the hidden name
            else:
                old = None
                if self.target.exists():
                    old = _hidden(self.target, "old")
                    os.rename(self.target, old)
                try:
                    os.rename(building, self.target)
                except BaseException:
                    if old is not None:
                        os.rename(old, self.target)  # put the earlier export back
                    raise
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        _fsync_dir(self.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
