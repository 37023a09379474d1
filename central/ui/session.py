"""The console's session: the API's own session token in a cookie, and CSRF tokens for forms.

The cookie holds the token ``POST /api/v1/auth/login`` issues, so the console and the API
share one login, one expiry and one revocation. Every form carries a CSRF token: once
logged in it is derived from the session token (an attacker's page can neither read the
cookie nor compute it); the login form uses a double-submit cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from central.ui.settings import ConsoleSettings

SESSION_COOKIE = "caudal_session"
LOGIN_CSRF_COOKIE = "caudal_login_csrf"
CSRF_FIELD = "csrf"


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def csrf_for(token: str) -> str:
    """The CSRF token of a session: a one-way function of its secret token."""
    return hashlib.sha256(b"caudal-console-csrf:" + token.encode()).hexdigest()


def csrf_ok(expected: str | None, presented: str | None) -> bool:
    """Constant-time comparison; a missing token on either side never matches."""
    if not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


def new_login_csrf() -> str:
    return secrets.token_urlsafe(32)


def _secure(request: Request, settings: ConsoleSettings) -> bool:
    if settings.cookie_secure == "auto":
        return request.url.scheme == "https"
    return settings.cookie_secure == "always"


def set_cookie(
    response: Response, request: Request, settings: ConsoleSettings, name: str, value: str, max_age: int | None = None
) -> None:
    """HttpOnly, SameSite=Strict, path ``/``; Secure over https (see :class:`ConsoleSettings`).

    A lifetime is given as Max-Age (seconds), not as a date: the browser's clock may differ
    from the server's, which decides when the session token expires."""
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="strict", secure=_secure(request, settings)
    )


def clear_cookie(response: Response, request: Request, settings: ConsoleSettings, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="strict", secure=_secure(request, settings))
