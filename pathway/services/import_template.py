"""Writing the import template: to a file (whole or not at all) or to standard output."""

from __future__ import annotations

import io
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from pathway.clock import site_timezone
from pathway.errors import InvalidInput
from pathway.files import AtomicFile
from pathway.imports import template


def write(*, fmt: str, out: Path | None, now: datetime, stdout: BinaryIO | None = None) -> dict[str, Any]:
    """Write the ``fmt`` ("csv" or "xlsx") template to ``out``, else to ``stdout``."""
    today = now.astimezone(site_timezone()).date()
    writer = template.write_csv if fmt == "csv" else template.write_xlsx
    if out is None:
        assert stdout is not None
        if fmt == "xlsx" and sys.stdout.isatty():
            raise InvalidInput("An xlsx workbook is binary: give --out PATH (or redirect standard output to a file).")
        buffer = io.BytesIO()
        writer(buffer, today)
        stdout.write(buffer.getvalue())
        stdout.flush()
        return {"format": fmt, "out": "-"}
    target = AtomicFile(out)
    try:
        with target as file:
            writer(file, today)
    except OSError as exc:
        raise InvalidInput(f"Writing {target.target} failed ({exc.strerror or exc}); nothing was written.") from None
    return {"format": fmt, "out": str(target.target)}
