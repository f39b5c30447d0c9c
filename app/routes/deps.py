"""Dependencies shared by the routes: the loaded services and the current user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.requests import HTTPConnection

from app.auth import AuthError, resolve_user
from app.services import Services


def get_services(conn: HTTPConnection) -> Services:
    """The services the lifespan loaded."""
    services: Services = conn.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer ...` header, if any."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def current_user(request: Request, services: ServicesDep) -> str:
    """Who is asking (401 when a token is needed and missing or wrong)."""
    try:
        return await resolve_user(services, bearer_token(request))
    except AuthError as exc:
        raise HTTPException(status_code=401, detail=str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc


UserDep = Annotated[str, Depends(current_user)]
