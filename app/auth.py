"""Who is asking: the single local user on loopback with no accounts, otherwise the owner of a token."""

from __future__ import annotations

from app.services import Services, is_loopback
from persona.errors import SamanthaError


class AuthError(SamanthaError):
    """The request carries no valid token; the message says what to do."""


async def resolve_user(services: Services, token: str | None) -> str:
    """The user a connection acts for; AuthError when a token is needed and missing, unknown or revoked."""
    accounts = services.accounts
    # One person on their own machine who never made an account: no tokens. Once any account existed,
    # a token is always needed, even after every account was revoked (never "how many are active").
    if is_loopback(services.settings.host) and not await accounts.ever_existed():
        return services.settings.user
    if not token:
        raise AuthError("an access token is required (ask the owner to run `samantha user add NAME`)")
    user = await accounts.user_for_token(token)
    if user is None:
        raise AuthError("this access token is unknown or has been revoked")
    return user
