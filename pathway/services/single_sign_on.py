"""Single sign-on with OpenID Connect (Authlib): the provider proves who, pathway decides what.

The authorization-code flow with PKCE and a nonce. The state, nonce and code verifier
of a login in progress are kept in the database (any worker may receive the callback),
used once. A provider's user signs in only when a pathway user of that name (the claim
``PATHWAY_OIDC_CLAIM``, default ``sub``) exists and is active: roles stay in pathway.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa

from pathway.db.models import OidcLoginRow, UserRow
from pathway.db.uow import UnitOfWork
from pathway.errors import InvalidInput, Unavailable
from pathway.services.access_records import record
from pathway.services.sign_in import NotSignedIn, Signed, start_session
from pathway.services.tokens import digest

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import OAuth2Client

LOGIN_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class Provider:
    issuer: str
    client_id: str
    client_secret: str
    claim: str = "sub"

    @classmethod
    def from_environment(cls) -> Provider | None:
        issuer = os.environ.get("PATHWAY_OIDC_ISSUER", "").strip().rstrip("/")
        if not issuer:
            return None
        client_id = os.environ.get("PATHWAY_OIDC_CLIENT_ID", "").strip()
        secret = os.environ.get("PATHWAY_OIDC_CLIENT_SECRET", "").strip()
        if not client_id or not secret:
            raise InvalidInput(
                "PATHWAY_OIDC_ISSUER is set: set PATHWAY_OIDC_CLIENT_ID and PATHWAY_OIDC_CLIENT_SECRET too."
            )
        return cls(issuer, client_id, secret, os.environ.get("PATHWAY_OIDC_CLAIM", "").strip() or "sub")


@cache
def _metadata(issuer: str) -> dict[str, Any]:
    """The provider's discovery document (cached per process: it describes the provider, not a login)."""
    try:
        response = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        _metadata.cache_clear()
        raise Unavailable(f"The sign-on provider at {issuer} does not answer ({type(exc).__name__}).") from None
    if data.get("issuer", "").rstrip("/") != issuer:
        raise Unavailable(f"The sign-on provider at {issuer} names another issuer; check PATHWAY_OIDC_ISSUER.")
    return dict(data)


def _client(provider: Provider, redirect_uri: str) -> OAuth2Client:
    from authlib.integrations.httpx_client import OAuth2Client  # loaded only where sign-on is used

    return OAuth2Client(provider.client_id, provider.client_secret, scope="openid profile email",
                        redirect_uri=redirect_uri, code_challenge_method="S256", timeout=10)  # fmt: skip


def begin(uow: UnitOfWork, provider: Provider, *, redirect_uri: str, now: datetime) -> tuple[str, str]:
    """The provider's authorization URL and the state to keep in the browser's cookie."""
    meta = _metadata(provider.issuer)
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    uow.session.execute(sa.delete(OidcLoginRow).where(OidcLoginRow.created_at < now - LOGIN_TTL))
    uow.session.add(OidcLoginRow(state_hash=digest(state), nonce=nonce, verifier=verifier, created_at=now))
    uow.commit()
    with _client(provider, redirect_uri) as client:
        url, _ = client.create_authorization_url(meta["authorization_endpoint"], state=state, nonce=nonce,
                                                 code_verifier=verifier)  # fmt: skip
    return str(url), state


def _refuse(uow: UnitOfWork, name: str, now: datetime, reason: str, message: str) -> NotSignedIn:
    """Log the refusal and commit it with the used login's deletion (so it cannot be replayed)."""
    record(uow.session, at=now, actor=name or "-", action="session.create", outcome="refused", auth="oidc",
           detail={"reason": reason})  # fmt: skip
    uow.commit()
    return NotSignedIn(message)


def finish(uow: UnitOfWork, provider: Provider, *, code: str, state: str, cookie_state: str, redirect_uri: str,
           now: datetime) -> Signed:  # fmt: skip
    """A new session for the provider's user, if the login is one we started and the user is pathway's."""
    from authlib.common.errors import AuthlibBaseError
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    session = uow.session
    login = session.get(OidcLoginRow, digest(state)) if state else None
    if login is None or not secrets.compare_digest(state.encode(), cookie_state.encode()):
        raise _refuse(uow, "", now, "state", "This sign-on was not started here, or was used already; start again.")
    nonce, verifier, started = login.nonce, login.verifier, login.created_at
    session.delete(login)
    session.flush()
    if now - started > LOGIN_TTL:
        raise _refuse(uow, "", now, "expired", "This sign-on took too long; start again.")
    meta = _metadata(provider.issuer)
    try:
        with _client(provider, redirect_uri) as client:
            token = client.fetch_token(meta["token_endpoint"], code=code, code_verifier=verifier)
        keys = KeySet.import_key_set(httpx.get(meta["jwks_uri"], timeout=10).json())
        decoded = jwt.decode(token["id_token"], keys)
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": provider.issuer}, aud={"essential": True, "value": provider.client_id},
            nonce={"essential": True, "value": nonce}, exp={"essential": True},
        ).validate(decoded.claims)  # against the real clock, as the provider's is  # fmt: skip
    except (httpx.HTTPError, AuthlibBaseError, JoseError, KeyError, ValueError, TypeError) as exc:
        raise _refuse(uow, "", now, "unverified", f"The sign-on provider's answer could not be verified "
                      f"({type(exc).__name__}); start again.") from None  # fmt: skip
    name = str(decoded.claims.get(provider.claim) or "")[:128]
    user = session.get(UserRow, name) if name else None
    if user is None or user.disabled_at is not None:
        raise _refuse(uow, name, now, "unknown user" if user is None else "disabled",
                      f"{name or 'This account'} is not an active pathway user; ask an administrator.")
    signed = start_session(uow, name=name, auth="oidc", now=now)
    uow.commit()
    return signed
