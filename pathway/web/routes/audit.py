"""The audit trail (verify, export) and the quality report."""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from pathway.clock import site_timezone
from pathway.errors import InvalidInput
from pathway.exports.records import Period
from pathway.reports import quality, render, trend
from pathway.services import audit as service
from pathway.services.reports import quality_report
from pathway.web.call import Call
from pathway.web.routes import ApiRoute
from pathway.web.routes.convert import day, flag, whole

CHUNK = 64 * 1024
TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson", "fhir": "application/zip"}


def verify(call: Call) -> dict[str, Any]:
    """The CLI's JSON: ``intact`` false (exit 1 there) is still a 200 here, the body says which broke."""
    episode_id = whole(call.query("episode"), "episode", minimum=0)
    with call.uow() as uow:
        call.authorize(uow, "audit.verify", episode_id=episode_id)
        return service.verify(uow, episode_id=episode_id)


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    with file:
        file.seek(0)
        while chunk := file.read(CHUNK):
            yield chunk


def _choice(value: str | None, name: str, choices: tuple[str, ...], default: str | None = None) -> str:
    value = value or default
    if value not in choices:
        raise InvalidInput(f"{name} must be one of {', '.join(choices)}.")
    return value


def export(call: Call) -> Response:
    """Written whole to a temporary file first (as the CLI writes whole or not at all), then streamed."""
    fmt = _choice(call.query("format"), "format", service.FORMATS)
    identified = flag(call.query("identified"), "identified")
    period = Period(day(call.query("since"), "since"), day(call.query("until"), "until"))
    spool = tempfile.TemporaryFile()
    folder = Path(tempfile.mkdtemp(prefix="pathway-export-"))
    try:
        with call.uow() as uow:
            actor = call.authorize(uow, "audit.export.identified" if identified else "audit.export")
            out = folder / "fhir" if fmt == "fhir" else None
            summary = service.export(uow, fmt=fmt, period=period, out=out, identified=identified, actor=actor,
                                     now=call.now, stdout=spool if out is None else None)  # fmt: skip
        if fmt == "fhir":
            with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted((folder / "fhir").iterdir()):
                    archive.write(path, path.name)
    except BaseException:
        spool.close()
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    name = f"audit-{'identified' if identified else 'pseudonymised'}.{'zip' if fmt == 'fhir' else fmt}"
    return StreamingResponse(_chunks(spool), media_type=TYPES[fmt],
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "X-Pathway-Events": str(summary["events"])},
                             background=BackgroundTask(spool.close))  # fmt: skip


def quality_(call: Call) -> Response:
    fmt = _choice(call.query("format"), "format", ("json", "csv", "html"), "json")
    mcid_text = call.query("mhhs_mcid")
    try:
        mcid = float(mcid_text) if mcid_text is not None else quality.MHHS_MCID_POINTS
    except ValueError:
        raise InvalidInput("mhhs_mcid must be a number of points.") from None
    trend_by = _choice(call.query("trend"), "trend", trend.BY, "month")
    with call.uow() as uow:
        call.authorize(uow, "report.quality")
        data = quality_report(uow, since=day(call.query("since"), "since"), until=day(call.query("until"), "until"),
                              today=call.now.astimezone(site_timezone()).date(), mhhs_mcid=mcid,
                              charts=fmt == "html", trend_by=trend_by)  # fmt: skip
    if fmt == "html":
        from pathway.reports.html import as_html  # matplotlib loads only when needed

        return Response(as_html(data), media_type="text/html; charset=utf-8")
    if fmt == "csv":
        return Response(render.as_csv(data), media_type="text/csv; charset=utf-8")
    return Response(json.dumps(data, indent=2) + "\n", media_type="application/json")


ROUTES = [
    ApiRoute("GET", "/api/audit/verify", verify, "Recompute every hash chain.", query=("episode",)),
    ApiRoute("GET", "/api/audit/export", export, "The audit trail as csv, jsonl or FHIR (a zip of NDJSON).",
             query=("format", "since", "until", "identified")),
    ApiRoute("GET", "/api/report/quality", quality_, "The quality report as json, csv or html.",
             query=("format", "since", "until", "mhhs_mcid", "trend")),
]  # fmt: skip
