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
@click.option("--demo", is_flag=True,
              help="Serve a throwaway SQLite database of synthetic patients, with a sign-in for each role.")  # fmt: skip
@global_options
def serve(host: str, port: int, workers: int, demo: bool) -> None:
    """Serve the web pages and the HTTP API, signing people in, on one database.

    \b
    Examples:
      pathway --db postgresql://pathway@db/clinic serve --host 0.0.0.0
      pathway serve --demo    # try the pages on synthetic patients
    """
    import os

    import uvicorn

    from pathway.db.engine import shown
    from pathway.web.settings import Settings

    Settings.from_environment()  # a wrong setting is exit 2 now, not in every worker
    a = app()
    if demo:
        _serve_demo(a, host, port, workers)
        return
    check_ready(a.engine())
    url = a.engine().url
    os.environ["PATHWAY_SERVE_DATABASE_URL"] = url.render_as_string(hide_password=False)
    click.echo(f"Serving {shown(url)} on http://{host}:{port} with {workers} worker(s).", err=True)
    uvicorn.run("pathway.web.serve:application", factory=True, host=host, port=port, workers=workers,
                proxy_headers=True, server_header=False, log_level="info")  # fmt: skip


def _serve_demo(a: object, host: str, port: int, workers: int) -> None:
    """Fill a database in a temporary folder, print the sign-ins, serve it; the folder goes at exit."""
    import os
    import tempfile
    from pathlib import Path

    import sqlalchemy as sa
    import uvicorn

    from pathway.commands.common import App
    from pathway.db import migrate
    from pathway.db.engine import create_engine
    from pathway.services.demo_site import USERS, populate

    assert isinstance(a, App)
    if a.db or os.environ.get("PATHWAY_DATABASE_URL"):
        raise InvalidInput("--demo serves a throwaway database of its own; leave out --db and PATHWAY_DATABASE_URL.")
    if workers != 1:
        raise InvalidInput("--demo runs one worker (its database is a file in a temporary folder); leave out --workers.")
    with tempfile.TemporaryDirectory(prefix="pathway-demo-") as folder:
        url = f"sqlite:///{Path(folder) / 'demo.sqlite3'}"
        engine = create_engine(sa.make_url(url), create=True)
        migrate.upgrade(engine)
        click.echo("Filling a throwaway database with synthetic patients…", err=True)
        site = populate(engine, now=a.now())
        engine.dispose()
        os.environ["PATHWAY_SERVE_DATABASE_URL"] = url
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        click.echo(f"\npathway demo: {site.episodes} synthetic patients on http://{shown_host}:{port}/")
        click.echo(f"Sign in as any of these, with the password {site.password}")
        for role, name in USERS.items():
            click.echo(f"  {name:<6} {role}")
        click.echo("The database is deleted when you stop the server (Ctrl+C).\n")
        uvicorn.run("pathway.web.serve:application", factory=True, host=host, port=port, workers=1,
                    proxy_headers=True, server_header=False, log_level="warning")  # fmt: skip
