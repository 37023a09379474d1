"""``/api/v1/users``: accounts (administrators), one's own profile and personal tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from central.core.auth.models import NewPersonalToken, PersonalToken, PersonalTokenCreate
from central.core.auth.service import create_personal_token, list_personal_tokens, revoke_personal_token
from central.core.points.service import set_user_points, user_point_codes
from central.core.routes import read, write
from central.core.users.models import ProfileUpdate, UserCreate, UserOut, UserPointsUpdate, UserUpdate
from central.core.users.service import create_user, deactivate_user, get_user, list_users, update_profile, update_user
from central.deps import AdminUser, Ctx, CurrentUser
from central.errors import error_responses
from central.pagination import Page, Paging

router = APIRouter(prefix="/api/v1/users", tags=["users"], responses=error_responses(401))


@router.get("/me", summary="Your own account")
def get_me(user: CurrentUser, ctx: Ctx) -> UserOut:
    return read(ctx, get_user, user.username)


@router.patch("/me", summary="Change your e-mail, phone, notification preferences or password")
def patch_me(body: ProfileUpdate, user: CurrentUser, ctx: Ctx) -> UserOut:
    return write(ctx, update_profile, user, body, ctx.clock.now())


@router.get("/me/tokens", summary="Your personal API tokens (the tokens themselves are never shown again)")
def get_my_tokens(user: CurrentUser, ctx: Ctx, paging: Paging) -> Page[PersonalToken]:
    return read(ctx, list_personal_tokens, user, paging, ctx.clock.now())


@router.post("/me/tokens", status_code=201, summary="Create a personal API token (shown only in this answer)")
def post_my_token(body: PersonalTokenCreate, user: CurrentUser, ctx: Ctx) -> NewPersonalToken:
    return write(ctx, create_personal_token, user, body, ctx.clock.now())


@router.delete(
    "/me/tokens/{token_id}",
    status_code=204,
    summary="Revoke one of your personal tokens",
    responses=error_responses(404),
)
def delete_my_token(token_id: int, user: CurrentUser, ctx: Ctx) -> None:
    write(ctx, revoke_personal_token, user, token_id, ctx.clock.now())


@router.get("", summary="List accounts (administrators)", responses=error_responses(403))
def get_users(
    admin: AdminUser,
    ctx: Ctx,
    paging: Paging,
    active: Annotated[bool | None, Query(description="Only active (true) or deactivated (false) accounts")] = None,
) -> Page[UserOut]:
    return read(ctx, list_users, paging, active=active)


@router.post("", status_code=201, summary="Create an account (administrators)", responses=error_responses(403, 409))
def post_user(body: UserCreate, admin: AdminUser, ctx: Ctx) -> UserOut:
    return write(ctx, create_user, body, admin.username, ctx.clock.now())


@router.get("/{username}", summary="One account (administrators)", responses=error_responses(403, 404))
def get_one_user(username: str, admin: AdminUser, ctx: Ctx) -> UserOut:
    return read(ctx, get_user, username)


@router.patch(
    "/{username}",
    summary="Change an account, reset its password, (de)activate it (administrators)",
    responses=error_responses(403, 404, 409),
)
def patch_user(username: str, body: UserUpdate, admin: AdminUser, ctx: Ctx) -> UserOut:
    """A password reset or a deactivation also revokes every token of the account."""
    return write(ctx, update_user, username, body, admin.username, ctx.clock.now())


@router.post(
    "/{username}/deactivate",
    summary="Deactivate an account and revoke its tokens (administrators)",
    responses=error_responses(403, 404, 409),
)
def post_deactivate(username: str, admin: AdminUser, ctx: Ctx) -> UserOut:
    return write(ctx, deactivate_user, username, admin.username, ctx.clock.now())


@router.get(
    "/{username}/points",
    summary="The points an account has been granted (administrators)",
    responses=error_responses(403, 404),
)
def get_user_points(username: str, admin: AdminUser, ctx: Ctx, paging: Paging) -> Page[str]:
    return read(ctx, user_point_codes, username, paging)


@router.put(
    "/{username}/points",
    status_code=204,
    summary="Replace the points an account may see (administrators)",
    responses=error_responses(403, 404),
)
def put_user_points(username: str, body: UserPointsUpdate, admin: AdminUser, ctx: Ctx) -> None:
    """Grants and revocations in one transaction, each in the audit trail; an unknown code changes nothing."""
    write(ctx, set_user_points, username, list(dict.fromkeys(body.points)), admin.username, ctx.clock.now())
