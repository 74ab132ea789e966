"""Opening the files pathway reads (rule files, imports, key files), with a size limit.

Every input file goes through ``open_input`` or ``read_input`` so that a path naming an
endless or huge source (``/dev/zero``, a FIFO fed forever, a sparse multi-gigabyte file)
is refused with a sentence instead of filling memory. A regular file is checked by its
size before reading; a stream (FIFO or character device), where the caller allows one,
by reading at most one byte past the limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from pathway.domain.fields import quoted
from pathway.errors import InvalidInput

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


def size_text(n: int) -> str:
    """A size as people read it: "2.0 GiB", "1.0 MiB", "64 KiB"."""
    if n >= GiB:
        return f"{n / GiB:.1f} GiB"
    if n >= MiB:
        return f"{n / MiB:.1f} MiB"
    return f"{n // KiB} KiB" if n >= KiB else f"{n} bytes"


def too_big(shown: str, what: str, limit: int, size: int | None = None, advice: str = "") -> InvalidInput:
    """The refusal of an input over its limit (``size``: its size, when known before reading)."""
    if size is None:
        text = f"{shown} is longer than {size_text(limit)} (or never ends); pathway reads {what} of up to that."
    else:
        text = f"{shown} is {size_text(size)}; pathway reads {what} of up to {size_text(limit)}."
    return InvalidInput(f"{text} {advice or 'Give a smaller file.'}")


def open_input(
    path: Path, *, what: str, limit: int, streams: bool = False, follow_links: bool = True, advice: str = ""
) -> BinaryIO:
    """``path`` opened for reading in binary: a regular file of at most ``limit`` bytes.

    ``streams`` also lets a FIFO or character device through (its size is unknown: the
    caller must stop at the limit, as ``read_input`` does); anything else (a folder, a
    socket, a block device) is refused. ``follow_links=False`` refuses a symbolic link.
    """
    shown = quoted(str(path))
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)  # non-blocking: opening a FIFO without a writer must not hang
    except FileNotFoundError:
        raise InvalidInput(f"There is no file {shown}.") from None
    except OSError as exc:
        raise InvalidInput(f"Cannot open {shown}: {exc.strerror or exc}.") from None
    try:
        info = os.fstat(fd)
        stream = stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode)
        if not (stat.S_ISREG(info.st_mode) or (streams and stream)):
            kind = "a regular file or a stream" if streams else "a regular file"
            raise InvalidInput(f"{shown} is not {kind}; give the file itself.")
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise too_big(shown, what, limit, info.st_size, advice)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_input(path: Path, *, what: str, limit: int, streams: bool = True, advice: str = "") -> bytes:
    """The whole content of ``path`` (see ``open_input``), refused if it exceeds ``limit`` bytes."""
    with open_input(path, what=what, limit=limit, streams=streams, advice=advice) as file:
        try:
            data = file.read(limit + 1)
        except OSError as exc:
            raise InvalidInput(f"Cannot read {quoted(str(path))}: {exc.strerror or exc}.") from None
    if len(data) > limit:
        raise too_big(quoted(str(path)), what, limit, advice=advice)
    return data
