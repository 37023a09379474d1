"""Routes of the core service: auth, users, points, gateways, audit.

The routes are thin: each opens a transaction (or a read connection) and calls one
library function from ``users``, ``tokens``, ``points``, ``gateways`` or ``audit``, which
the command line calls too.
"""

from __future__ import annotations

from fastapi import APIRouter

from central.core.routes_auth import router as auth_router
from central.core.routes_gateway_configs import fleet_router as gateway_fleet_router
from central.core.routes_gateway_configs import gateway_router as gateway_config_router
from central.core.routes_gateway_configs import router as gateway_configs_router
from central.core.routes_gateways import audit_router
from central.core.routes_gateways import router as gateways_router
from central.core.routes_points import router as points_router
from central.core.routes_users import router as users_router

routers: list[APIRouter] = [auth_router, users_router, points_router, gateways_router, gateway_configs_router,
                            gateway_config_router, gateway_fleet_router, audit_router]
