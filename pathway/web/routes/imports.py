"""Importing a caseload file: the body is the file itself; the answer is `pathway import --json`'s report."""

from __future__ import annotations

from starlette.responses import JSONResponse

from pathway.errors import InvalidInput
from pathway.imports.readers import FORMATS
from pathway.services import imports as service
from pathway.web.call import Call
from pathway.web.errors import STATUS
from pathway.web.routes import ApiRoute
from pathway.web.routes.convert import flag, whole

MEDIA = "text/csv application/vnd.openxmlformats-officedocument.spreadsheetml.sheet application/x-ndjson " \
        "application/octet-stream"  # fmt: skip


def import_file(call: Call) -> JSONResponse:
    """All or nothing, as on the command line; a refused import answers with its report and an error."""
    assert call.upload is not None
    fmt, name = call.query("format"), call.query("name")
    if fmt is not None and fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}.")
    if name is not None and (len(name) > 255 or not name.isprintable()):
        raise InvalidInput("name must be the file's name: at most 255 printable characters.")
    override = call.query("override_reason")
    with call.uow() as uow:
        call.authorize(uow, "import")  # refused users learn nothing about the file
    read = service.read_file(call.upload, fmt, name=name or "upload")
    try:
        with call.uow(write=True) as uow:
            actor = call.authorize(uow, *service.needed_actions(read, override))
            report = service.import_rows(
                uow, read, actor=actor, now=call.now, dry_run=flag(call.query("dry_run"), "dry_run"),
                override_reason=override, rules_version=whole(call.query("rules"), "rules"), progress=None,
            )  # fmt: skip
    finally:
        read.close()
    code = service.exit_code(report)
    if code:
        error = {"exit_code": code, "message": service.refused_summary(report), "reasons": []}
        return JSONResponse({**report, "error": error},
                            status_code=STATUS[code])  # fmt: skip
    return JSONResponse(report)


ROUTES = [
    ApiRoute("POST", "/api/import", import_file, "Import a caseload file (CSV, xlsx or JSON Lines): all or nothing.",
             query=("format", "name", "dry_run", "override_reason", "rules"), upload=MEDIA),
]  # fmt: skip
