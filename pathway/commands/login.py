"""`pathway login URL` and `pathway logout`: the command line as a client of `pathway serve`."""

from __future__ import annotations

import click

from pathway.commands.common import Integer, app, emit, global_options
from pathway.errors import AccessDenied, InvalidInput


@click.command("login")
@click.argument("url")
@click.option("--name", metavar="USER", help="Your pathway user name (else asked).")
@click.option("--expires", "expires_days", type=Integer(1, 3650), default=30, show_default=True,
              metavar="DAYS", help="Days until the stored token expires.")  # fmt: skip
@global_options
def login(url: str, name: str | None, expires_days: int) -> None:
    """Sign in to the server at URL and keep a token for the commands that follow.

    Asks for your password, signs in, and stores a new API token for you in your
    configuration directory (owner-only). From then on the commands the API offers go
    through the server, which records that you acted (auth `token`); `--as` is refused.

    \b
    Example:
      pathway login https://pathway.clinic.example
    """
    import httpx

    from pathway import remote

    server = url.rstrip("/")
    if not server.startswith(("http://", "https://")):
        raise InvalidInput(f"{url!r} is not a server URL; give it as https://HOST[:PORT].")
    name = name or click.prompt("User name")
    password = click.prompt("Password", hide_input=True)
    try:
        with httpx.Client(base_url=server, timeout=remote.TIMEOUT) as client:
            signed = client.post("/api/session", json={"name": name, "password": password})
            if signed.status_code == 401:  # wrong name or password, or locked out: the server's sentence
                reason = (remote.json_or_none(signed) or {}).get("error", {}).get("message", "not signed in")
                raise AccessDenied(f"Signing in to {server} failed: {reason}")
            if signed.status_code != 201:
                raise remote.error_from(signed.status_code, remote.json_or_none(signed), server)
            csrf = {"X-CSRF-Token": signed.json()["csrf_token"]}
            made = client.post("/api/tokens", json={"expires_days": expires_days, "note": "pathway login"},
                               headers=csrf)  # fmt: skip
            if made.status_code != 201:
                raise remote.error_from(made.status_code, remote.json_or_none(made), server)
            client.delete("/api/session", headers=csrf)
    except httpx.HTTPError as exc:
        raise InvalidInput(f"Cannot reach the server at {server} ({type(exc).__name__}).") from None
    path = remote.save_login(server, made.json()["token"], name)
    emit({"server": server, "user": name, "config": str(path)},
         lambda d: click.echo(f"Signed in to {d['server']} as {d['user']}; the token is kept in {d['config']}."))


@click.command("logout")
@global_options
def logout() -> None:
    """Revoke the stored token on the server and forget it.

    \b
    Example:
      pathway logout
    """
    from pathway import remote

    path = remote.config_path()
    if not path.exists():
        raise InvalidInput("Not logged in: there is no stored token (PATHWAY_TOKEN, if set, is yours to unset).")
    login_ = remote.current_login()
    server = app().remote()
    if server is not None and login_ is not None and login_.source == str(path):
        try:
            server.call("DELETE", "/api/tokens/current")
        except Exception as error:  # noqa: BLE001 - forget the token even when the server cannot be told
            click.echo(f"The server could not revoke the token ({error}); it expires on its own.", err=True)
    path.unlink()
    emit({"logged_out": True}, lambda _d: click.echo("Logged out: the token is revoked and forgotten."))
