"""Security headers on every response: CSP, framing, sniffing, referrer, features, HSTS.

The policy allows no inline script anywhere (scripts are files of this origin); style
attributes remain allowed, since they cannot run code, but style elements must be files too.
"""

from __future__ import annotations

from functools import cache

from flask import Flask, Response, request

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# The camera only where photos are taken: the engineers' app.
CAMERA_PATHS = ("/app/",)
_OFF = "geolocation=(), microphone=(), payment=(), usb=(), interest-cohort=()"
HSTS = "max-age=31536000; includeSubDomains"


def headers_for(path: str, secure: bool) -> dict[str, str]:
    """The headers a response to this path gets (pure, so tests can name the expected ones)."""
    camera = "camera=(self)" if path.startswith(CAMERA_PATHS) else "camera=()"
    result = {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": f"{camera}, {_OFF}",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if secure:
        result["Strict-Transport-Security"] = HSTS
    return result


def init_app(app: Flask) -> None:
    """Add the headers to every response; a route that set its own (blobs) keeps them."""

    @app.after_request
    def _headers(response: Response) -> Response:
        # Every response pays for this: the headers are built once per kind of path, and the
        # response's own are looked at once (not once per header, as setdefault would).
        own = {name.lower() for name, _ in response.headers}
        wanted = _header_items(request.path.startswith(CAMERA_PATHS), request.is_secure)
        response.headers.extend([(k, v) for k, v in wanted if k.lower() not in own])
        return response


@cache
def _header_items(camera: bool, secure: bool) -> tuple[tuple[str, str], ...]:
    return tuple(headers_for(CAMERA_PATHS[0] if camera else "/", secure).items())
