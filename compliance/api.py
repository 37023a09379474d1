"""Routes of this domain (filled in by its module)."""

from __future__ import annotations

from fastapi import APIRouter

routers: list[APIRouter] = []
