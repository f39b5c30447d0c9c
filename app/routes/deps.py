"""Dependencies shared by the routes: the loaded services and the current user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.services import Services


def get_services(conn: HTTPConnection) -> Services:
    """The services the lifespan loaded."""
    services: Services = conn.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def current_user(services: ServicesDep) -> str:
    """Who is asking: the single local user until accounts exist."""
    return services.settings.user


UserDep = Annotated[str, Depends(current_user)]
