"""Who is using the console, and what every page and form of it must pass.

- A key typed into the console is kept only in a browser-session cookie that
  scripts cannot read (HttpOnly) and other sites cannot make the browser send
  (SameSite=Strict); each request checks it against the key ring as the API
  checks a Bearer key. With no keys configured, the API's keyless rule applies
  (loopback clients, a loopback ``Host``).
- Every form carries a token equal to a cookie of its own (double submit),
  and a request whose ``Origin`` or ``Sec-Fetch-Site`` says it came from
  another site is refused: a page elsewhere can neither read the token nor
  forge the cookie.
- HTML is sent with a Content-Security-Policy that runs only the service's
  own scripts and styles.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Request, Response, g

from service.web.auth import KeyRing, Role, keyless_refusal

KEY_COOKIE = "credence_key"
CSRF_COOKIE = "credence_csrf"
CSRF_FIELD = "csrf_token"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)


class Refusal(Exception):
    """The request may not be served: ``status`` (403) and why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def caller_role(ring: KeyRing, req: Request) -> Role | None:
    """The role of the console's user: every role without keys (where the keyless rule
    allows it), the cookie key's role with keys, None when no valid key was entered.

    Raises
    ------
    Refusal
        When no keys exist and the request breaks the keyless rule.
    """
    if not ring.keys:
        refused = keyless_refusal(req)
        if refused is not None:
            raise Refusal(403, refused)
        return "admin"
    key = req.cookies.get(KEY_COOKIE)
    return ring.role_of(key) if key else None


def csrf_token(req: Request) -> str:
    """This browser's form token (made on first use; ``remember_csrf`` sets its cookie)."""
    if "csrf_token" not in g:
        g.csrf_token = req.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    token: str = g.csrf_token
    return token


def check_same_origin(req: Request) -> None:
    """Refuse a form post that another site could have made.

    Raises
    ------
    Refusal
        403 naming what failed.
    """
    site = req.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        raise Refusal(403, f"A form posted from another site ({site}) is refused.")
    origin = req.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != req.host:
        raise Refusal(403, "A form posted from another origin is refused.")
    sent = req.form.get(CSRF_FIELD, "")
    expected = req.cookies.get(CSRF_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise Refusal(
            403, "The form's token is missing or stale: reload the page and submit again."
        )


def cookie_options(req: Request) -> dict[str, object]:
    return {"httponly": True, "samesite": "Strict", "secure": req.is_secure, "path": "/"}


def remember_csrf(req: Request, response: Response) -> None:
    """Set the form token's cookie when this response's page made a new one."""
    token = g.get("csrf_token")
    if token is not None and req.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, **cookie_options(req))  # type: ignore[arg-type]


def protect_html(response: Response) -> Response:
    """The security headers of every HTML page the service sends."""
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
    return response
