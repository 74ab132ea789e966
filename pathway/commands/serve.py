"""`pathway serve`: the HTTP API on uvicorn, for a clinic with more than one person."""

from __future__ import annotations

import click

from pathway.commands.common import Integer, app, global_options
from pathway.errors import InvalidInput


def check_ready(engine: object) -> None:
    """Refuse a database without users: open mode is for one person at a terminal."""
    import sqlalchemy as sa

    from pathway.db.uow import UnitOfWork
    from pathway.services.access import OPEN, access_mode

    assert isinstance(engine, sa.Engine)
    with UnitOfWork(engine) as uow:
        if access_mode(uow.session) == OPEN:
            raise InvalidInput(
                "This database has no users, so anyone could act as anyone: the server will not start. "
                "Create the first administrator with `pathway db upgrade --admin NAME`, give them a password "
                "with `pathway --as NAME user password NAME`, then run `pathway serve` again."
            )


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=Integer(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--workers", type=Integer(1, 64), default=1, show_default=True,
              help="Worker processes (they share sessions and lockouts in the database).")  # fmt: skip
@global_options
def serve(host: str, port: int, workers: int) -> None:
    """Serve the HTTP API, signing people in, on one database.

    \b
    Example:
      pathway --db postgresql://pathway@db/clinic serve --host 0.0.0.0
    """
    import os

    import uvicorn

    from pathway.db.engine import shown

    a = app()
    check_ready(a.engine())
    from pathway.web.settings import Settings

    Settings.from_environment()  # a wrong setting is exit 2 now, not in every worker
    url = a.engine().url
    os.environ["PATHWAY_SERVE_DATABASE_URL"] = url.render_as_string(hide_password=False)
    click.echo(f"Serving {shown(url)} on http://{host}:{port} with {workers} worker(s).", err=True)
    uvicorn.run("pathway.web.serve:application", factory=True, host=host, port=port, workers=workers,
                proxy_headers=True, server_header=False, log_level="info")  # fmt: skip
