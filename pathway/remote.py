"""The command line as a client of `pathway serve`: where the server is, and one call to it.

In client mode the server, not the person at the terminal, holds the database and knows
who is acting, so the commands that the API offers send their request there and print
its answer with the same code as in direct mode; errors come back as the same
``{"error": {...}}`` body and become the same message and exit code.

The server and token come from ``PATHWAY_SERVER`` and ``PATHWAY_TOKEN`` (scripts, cron)
or from the file `pathway login` writes in the user's configuration directory. An
explicit ``--db`` or ``PATHWAY_DATABASE_URL`` keeps direct database mode.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pathway.errors import AccessDenied, Conflict, InvalidInput, NotFound, PathwayError, Refused, Unavailable

REFUSED_SUFFIX = " To go ahead anyway, a clinician can repeat the call with an override_reason."
TIMEOUT = 120.0


def config_path() -> Path:
    """Where `pathway login` keeps the server and token (owner-only)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("pathway", appauthor=False)) / "server.json"


@dataclass(frozen=True)
class Login:
    server: str
    token: str
    source: str  # "environment" or the config file's path


def current_login() -> Login | None:
    """The server to act through, or None for direct database mode."""
    server = os.environ.get("PATHWAY_SERVER", "").strip()
    if server:
        token = os.environ.get("PATHWAY_TOKEN", "").strip()
        if not token:
            raise InvalidInput("PATHWAY_SERVER is set but PATHWAY_TOKEN is not; give the API token to use with it.")
        return Login(server.rstrip("/"), token, "environment")
    path = config_path()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInput(f"{path} is readable by others; it holds an API token: `chmod 600` it or log in again.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Login(str(data["server"]).rstrip("/"), str(data["token"]), str(path))
    except (ValueError, KeyError, TypeError, OSError):
        raise InvalidInput(f"{path} is not a pathway login file; `pathway logout` removes it.") from None


def save_login(server: str, token: str, user: str) -> Path:
    """Write the login file owner-only, whole or not at all."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump({"server": server, "token": token, "user": user}, file)
    os.replace(temporary, path)
    return path


_ERRORS: dict[int, type[PathwayError]] = {2: InvalidInput, 3: NotFound, 4: Conflict, 5: AccessDenied, 69: Unavailable}


class RemoteRefused(Refused):
    """A guard's refusal as the server reported it (reasons as sentences, no verdicts)."""

    def __init__(self, message: str, reasons: list[str], overridable: bool) -> None:
        super().__init__(message, overridable=overridable)
        self.details = reasons


class RemoteFailure(PathwayError):
    """Any other failure the server reported, with its exit code."""

    def __init__(self, message: str, exit_code: int, reasons: list[str]) -> None:
        super().__init__(message, details=reasons)
        self.exit_code = exit_code


def error_from(status: int, body: Any, server: str) -> PathwayError:
    """The server's error body as the error direct mode would have raised."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return InvalidInput(f"The server at {server} answered HTTP {status} without an error body; check the URL.")
    message, code = str(error.get("message", "")), error.get("exit_code")
    reasons = [str(r) for r in error.get("reasons") or []]
    if status == 401:
        return AccessDenied(f"The server at {server} did not accept the token ({message.rstrip('.')}); "
                            "`pathway login URL` signs in again.")  # fmt: skip
    if code == 1:
        overridable = message.endswith(REFUSED_SUFFIX)
        return RemoteRefused(message.removesuffix(REFUSED_SUFFIX), reasons, overridable)
    kind = _ERRORS.get(code) if isinstance(code, int) else None
    if kind is not None:
        return kind(message, details=reasons)
    return RemoteFailure(message or f"The server answered HTTP {status}.", code if isinstance(code, int) else 70,
                         reasons)  # fmt: skip


class Remote:
    """One server, one token: JSON calls, and streamed downloads for exports."""

    def __init__(self, login: Login) -> None:
        self.login = login

    def _client(self) -> Any:
        import httpx  # only in client mode

        return httpx.Client(base_url=self.login.server, timeout=TIMEOUT,
                            headers={"Authorization": f"Bearer {self.login.token}", "Accept": "application/json"})

    def _failed(self, exc: Exception) -> PathwayError:
        return InvalidInput(f"Cannot reach the server at {self.login.server} ({type(exc).__name__}); "
                            "check PATHWAY_SERVER or `pathway login`, and that `pathway serve` runs there.")

    def call(self, method: str, path: str, *, body: dict[str, Any] | None = None,
             query: dict[str, Any] | None = None) -> Any:  # fmt: skip
        """The decoded JSON answer, or the error direct mode would have raised."""
        import httpx

        params = {k: _param(v) for k, v in (query or {}).items() if v is not None and v is not False}
        try:
            with self._client() as client:
                response = client.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise self._failed(exc) from None
        if response.status_code == 204:
            return None
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 400:
            raise error_from(response.status_code, data, self.login.server)
        return data

    def text(self, path: str, *, query: dict[str, Any]) -> str:
        """A text answer (the HTML report)."""
        import io

        buffer = io.BytesIO()
        self.download(path, query=query, into=buffer)
        return buffer.getvalue().decode("utf-8")

    def download(self, path: str, *, query: dict[str, Any], into: IO[bytes]) -> dict[str, str]:
        """Stream a file answer (an export) into ``into``; returns the response's headers."""
        import httpx

        params = {k: _param(v) for k, v in query.items() if v is not None and v is not False}
        try:
            with self._client() as client, client.stream("GET", path, params=params) as response:
                if response.status_code >= 400:
                    response.read()
                    raise error_from(response.status_code, json_or_none(response), self.login.server)
                for chunk in response.iter_bytes():
                    into.write(chunk)
                return dict(response.headers)
        except httpx.HTTPError as exc:
            raise self._failed(exc) from None


    def upload(self, path: str, *, query: dict[str, Any], source: IO[bytes]) -> tuple[int, Any]:
        """Stream a file to an upload route; the status and JSON answer (an error without a body raises)."""
        import httpx

        params = {k: _param(v) for k, v in query.items() if v is not None and v is not False}
        try:
            with self._client() as client:
                response = client.post(path, params=params, content=iter(lambda: source.read(1 << 20), b""),
                                       headers={"Content-Type": "application/octet-stream"})  # fmt: skip
        except httpx.HTTPError as exc:
            raise self._failed(exc) from None
        data = json_or_none(response)
        if response.status_code >= 400 and not (isinstance(data, dict) and "rows" in data):
            raise error_from(response.status_code, data, self.login.server)
        return response.status_code, data


def _param(value: Any) -> str:
    if value is True:
        return "true"
    return str(value)


def json_or_none(response: Any) -> Any:
    """A response's JSON body, or None when it has none."""
    try:
        return response.json()
    except ValueError:
        return None
