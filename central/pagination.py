"""One shape for every list the API returns: ``?limit=&offset=`` in, ``Page[T]`` out.

Every domain pages the same way so that clients (and the web UI) write one pager:
``{"items": [...], "total": N, "limit": L, "offset": O, "next_cursor": null}``. ``total``
counts every row the filters match, not just this page; ``next_cursor`` is null. Pages hold
:data:`DEFAULT_LIMIT` items unless ``?limit=`` asks for more, up to :data:`MAX_LIMIT`.
Readings, a year of which is half a million rows per variable, keep the shape but page by
keyset instead (``central.telemetry.queries``): ``next_cursor`` leads to the next page,
``offset`` is 0, and ``total`` is null unless asked for (1,000 and 10,000 rows a page).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from central.db import Connection

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class PageQuery(BaseModel):
    """Which slice of a list to return."""

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    offset: int = Field(default=0, ge=0)


class Page(BaseModel, Generic[T]):
    """A slice of a list and how many items the whole list has."""

    items: list[T]
    total: int = Field(ge=0, description="Items matching the filters, over all pages")
    limit: int
    offset: int
    next_cursor: str | None = Field(
        default=None,
        description="Pass as ?cursor= for the next page; null where the list does not page by cursor, and at the end",
    )


async def page_query(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, description="Items to skip")] = 0,
) -> PageQuery:
    """``async``: no I/O, so no trip through the thread pool (as :func:`central.deps.get_ctx`)."""
    return PageQuery(limit=limit, offset=offset)


Paging = Annotated[PageQuery, Depends(page_query)]
"""Route parameter alias: ``paging: Paging`` reads ``?limit=&offset=``."""


def fetch_page(
    conn: Connection,
    sql: str,
    params: Mapping[str, Any] | None,
    paging: PageQuery,
    build: Callable[[dict[str, Any]], T],
) -> Page[T]:
    """Run ``sql`` (a SELECT with its ORDER BY) for one page, and count all its rows.

    ``sql`` must not use the parameter names ``page_limit`` / ``page_offset``.
    """
    params = dict(params or {})
    total = conn.fetchval(f"SELECT COUNT(*) AS n FROM ({sql}) AS counted", params)
    rows = conn.fetchall(
        f"{sql} LIMIT :page_limit OFFSET :page_offset",
        {**params, "page_limit": paging.limit, "page_offset": paging.offset},
    )
    return Page(items=[build(row) for row in rows], total=int(total), limit=paging.limit, offset=paging.offset)
