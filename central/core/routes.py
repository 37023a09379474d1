"""What the API's route functions share: most of them hand one service function a connection.

``return read(ctx, list_points, user, paging)`` says in one line what a route does with the
database: a read on a connection in autocommit, or (``write``) one transaction in which the
change and its audit row are stored together or not at all.

The error answers a route documents follow one rule across the API's routers: the router's
``responses=`` names the refusals all its routes share (401 where each needs a token, 403 where
each is for administrators), a route's own adds what is particular to it (404, 409, 429);
the 422 of any route with input is added by :func:`central.errors.document_errors`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from central.context import AppContext
from central.db import Connection

P = ParamSpec("P")
R = TypeVar("R")


def read(ctx: AppContext, query: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``query(conn, *args, **kwargs)`` on a connection in autocommit: no BEGIN and COMMIT round trips."""
    with ctx.db.connect() as conn:
        return query(conn, *args, **kwargs)


def write(ctx: AppContext, change: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``change(conn, *args, **kwargs)`` in one transaction, rolled back if it raises."""
    with ctx.db.transaction() as conn:
        return change(conn, *args, **kwargs)
