"""Browser security: CSRF and CORS for the API, and security headers on every response.

- **CSRF**: a state-changing request to ``/api/`` (POST, PUT, PATCH, DELETE) from a browser is
  refused (403 ``CSRF_REJECTED``) unless it comes from an allowed origin (``settings.origins``):
  ``Sec-Fetch-Site`` must be ``same-origin`` or ``none`` when sent, and ``Origin``, when sent,
  must be allowed. Non-browser clients send neither and cannot ride a victim's cookies anyway.
  SameSite=Lax on the session cookie is the second layer.
- **CORS**: ``/api/`` answers allowed origins only, with credentials. WHIP and WHEP are called
  cross-origin by design with bearer tokens (never cookies): they allow any origin, without
  credentials.
- **Headers**: ``Content-Security-Policy`` (the pages' policy: hls.js needs ``blob:`` for its
  worker and media source), ``X-Content-Type-Options``, ``Referrer-Policy``,
  ``X-Frame-Options`` / ``frame-ancestors``, and HSTS when served over TLS.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from api.hls_url import hls_base
from api.keys import SETTINGS
from teezu.errors import Forbidden, TeezuError
from teezu.settings import Settings

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_HEADERS = "Content-Type, X-Request-Id, Idempotency-Key"
MEDIA_PREFIXES = ("/whip/", "/whep/")


class CsrfRejected(Forbidden):
    code = "CSRF_REJECTED"


class CorsRejected(Forbidden):
    code = "CORS_ORIGIN_NOT_ALLOWED"


def content_security_policy(settings: Settings, hls_origin: str = "") -> str:
    """The pages' policy; ``hls_origin``: the LL-HLS edge's origin as the caller reaches it."""
    extra = f" {hls_origin}" if hls_origin else ""
    if settings.cdn_base_url:  # segments redirected to a CDN are fetched by hls.js from there
        parts = urlsplit(settings.cdn_base_url)
        extra += f" {parts.scheme}://{parts.netloc}"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            f"media-src 'self' blob:{extra}",
            "worker-src 'self' blob:",
            f"connect-src 'self'{extra}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
        ]
    )


def csrf_refusal(method: str, headers: Any, origins: frozenset[str]) -> str | None:
    """Why a request must be refused as cross-site, or None. Pure."""
    if method not in UNSAFE:
        return None
    site = headers.get("Sec-Fetch-Site")
    origin = headers.get("Origin")
    if origin is not None and origin.rstrip("/") not in origins:
        return f"origin {origin} is not allowed"
    if site is not None and site not in ("same-origin", "none") and origin is None:
        return f"cross-site request (Sec-Fetch-Site: {site})"
    return None


def _security_headers(response: Any, request: web.Request, settings: Settings, csp: str) -> None:
    h = response.headers
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Content-Security-Policy", csp)
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.secure or settings.base_url.startswith("https://"):
        h.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")


@web.middleware
async def security_headers_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Outermost: adds the security headers to every response, errors and redirects too."""
    settings = request.app[SETTINGS]
    csp = request.app[CSP]
    edge = hls_base(request)
    if edge:  # hls.js on the watch page plays from the edge, on another port
        csp = content_security_policy(settings, edge)
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # redirects (CDN) pass through here
        _security_headers(exc, request, settings, csp)
        raise
    if not response.prepared:
        _security_headers(response, request, settings, csp)
    return response


def _media_cors(response: Any) -> None:
    response.headers["Access-Control-Allow-Origin"] = "*"
    # ETag: a browser WHIP/WHEP client sends it back as If-Match on its trickle/restart PATCH.
    response.headers["Access-Control-Expose-Headers"] = "Location, Link, ETag"


def _api_cors(response: Any, origin: str) -> None:
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Credentials"] = "true"
    response.headers["Access-Control-Expose-Headers"] = (
        "X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, Retry-After, Idempotent-Replayed"
    )
    response.headers["Vary"] = "Origin"


@web.middleware
async def browser_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """CORS preflights and headers, and the CSRF check (inside the error envelope)."""
    path = request.path
    origin = request.headers.get("Origin")
    if path.startswith(MEDIA_PREFIXES):
        if request.method == "OPTIONS":
            response = web.Response(status=204)
            _media_cors(response)
            response.headers["Access-Control-Allow-Methods"] = "POST, DELETE, PATCH, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = (
                "Authorization, Content-Type, If-Match"
            )
            response.headers["Access-Control-Max-Age"] = "600"
            return response
        try:
            response = await handler(request)
        except (TeezuError, web.HTTPException) as exc:  # errors are readable cross-origin too
            _media_cors(exc)
            raise
        if not response.prepared:
            _media_cors(response)
        return response
    if not path.startswith("/api/"):
        return await handler(request)

    origins = request.app[SETTINGS].origins
    allowed = origin is not None and origin.rstrip("/") in origins
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        if not allowed:
            raise CorsRejected("this origin may not call the API", meta={"origin": origin})
        response = web.Response(status=204)
        response.headers.update(
            {
                "Access-Control-Allow-Origin": origin or "",
                "Access-Control-Allow-Credentials": "true",
                "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
                "Access-Control-Allow-Headers": API_HEADERS,
                "Access-Control-Max-Age": "600",
                "Vary": "Origin",
            }
        )
        return response
    why = csrf_refusal(request.method, request.headers, origins)
    if why is not None:
        raise CsrfRejected(f"refused: {why}", meta={"origin": origin})
    try:
        response = await handler(request)
    except (TeezuError, web.HTTPException) as exc:
        if allowed:
            _api_cors(exc, origin or "")
        raise
    if allowed and not response.prepared:
        _api_cors(response, origin or "")
    return response


CSP: web.AppKey[str] = web.AppKey("content_security_policy", str)
