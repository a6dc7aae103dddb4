"""Who is calling the API: an app with an allauth session token, or a signed-in browser.

    from bookdesk.accounts.auth import user_auth

    @router.get("/cart", auth=user_auth, response={200: CartOut, 401: Problem})
    def cart_detail(request): ...  # request.auth and request.user are the caller

- `SessionTokenAuth`: the allauth headless "app" session token in `X-Session-Token` (from
  `POST /_allauth/app/v1/auth/login` or `/signup`, `meta.session_token`). A token that is sent but
  unknown or expired is a 401 `not_authenticated`, even if a session cookie also came along.
- `SessionCookieAuth`: Django's session cookie, as a browser sends it. Unsafe methods (POST, PUT,
  PATCH, DELETE) must carry the CSRF token (`X-CSRFToken` header or `csrfmiddlewaretoken`), else
  403 `csrf_failed`. Anonymous callers get a 401, never a CSRF error.
"""

from __future__ import annotations

from typing import Any

from allauth.headless.internal.sessionkit import authenticate_by_x_session_token
from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyCookie, APIKeyHeader
from ninja.utils import check_csrf

from bookdesk.errors import CsrfFailed, NotAuthenticated

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class InvalidSessionToken(NotAuthenticated):
    title = "The session token is not valid"


class SessionTokenAuth(APIKeyHeader):
    """The allauth headless app session token, in `X-Session-Token`."""

    param_name = "X-Session-Token"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not key:
            return None
        found = authenticate_by_x_session_token(key)
        if found is None:
            raise InvalidSessionToken("The session token is unknown or has expired; log in again.")
        user, _session = found
        # Code below the API reads request.user whichever way the caller signed in.
        request.user = user
        return user


class SessionCookieAuth(APIKeyCookie):
    """Django's session cookie, with CSRF enforced on unsafe methods."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            return None
        if (
            request.method not in SAFE_METHODS
            and not getattr(request, "_ninja_csrf_exempt", False)
            and check_csrf(request) is not None
        ):
            raise CsrfFailed("Send the CSRF token (X-CSRFToken header) with a cookie-authenticated request.")
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return request.user if request.user.is_authenticated else None


session_token_auth = SessionTokenAuth()
session_cookie_auth = SessionCookieAuth()

# Any signed-in caller, app or browser; pass as `auth=` on an operation or router.
user_auth = [session_token_auth, session_cookie_auth]
