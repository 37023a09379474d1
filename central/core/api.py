"""Routes of the core service: auth, users, points, gateways, their configurations, audit.

Each part of core is a package of the same shape: ``models`` (pydantic), ``store`` (the SQL),
``service`` (the rules, called by the routes and the command line alike) and ``api`` (the
routes). The routes are thin: each opens a transaction (or a read connection) and calls one
service function.
"""

from __future__ import annotations

from fastapi import APIRouter

from central.core.audit.api import router as audit_router
from central.core.auth.api import router as auth_router
from central.core.gateway_configs.api import fleet_router as gateway_fleet_router
from central.core.gateway_configs.api import gateway_router as gateway_config_router
from central.core.gateway_configs.api import router as gateway_configs_router
from central.core.gateways.api import router as gateways_router
from central.core.points.api import router as points_router
from central.core.users.api import router as users_router

routers: list[APIRouter] = [
    auth_router,
    users_router,
    points_router,
    gateways_router,
    gateway_configs_router,
    gateway_config_router,
    gateway_fleet_router,
    audit_router,
]
