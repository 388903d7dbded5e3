"""The admin console's static files, served by the app itself under /console.

No build step, nothing fetched at run time: the page, its script and style, and the chart
library (uPlot, committed under chalicelib/console/vendor) ship with the function. The page
only calls the public API; every header below keeps it from being framed or injected into.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from chalice import Blueprint, Response

from chalicelib.api.http import Call, route
from chalicelib.errors import NotFound

bp = Blueprint(__name__)

CONSOLE_DIR = Path(__file__).resolve().parents[1] / "console"

# name in the URL -> (file under CONSOLE_DIR, content type); nothing else is served.
ASSETS: dict[str, tuple[str, str]] = {
    "console.js": ("console.js", "text/javascript; charset=utf-8"),
    "console.css": ("console.css", "text/css; charset=utf-8"),
    "uPlot.iife.min.js": ("vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8"),
    "uPlot.min.css": ("vendor/uPlot.min.css", "text/css; charset=utf-8"),
}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ]
)

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@lru_cache(maxsize=8)
def _read(name: str) -> str:
    return (CONSOLE_DIR / name).read_text(encoding="utf-8")


def _serve(name: str, content_type: str) -> Response:
    headers: dict[str, str | list[str]] = {**SECURITY_HEADERS, "Content-Type": content_type}
    return Response(body=_read(name), status_code=200, headers=headers)


@route(bp, "/console", auth="none", tags=("console",), produces=("text/html",))
def console_page(call: Call) -> Response:
    """The admin console (HTML); sign in with an account of the `admins` group."""
    return _serve("index.html", "text/html; charset=utf-8")


@route(bp, "/console/{asset}", auth="none", tags=("console",), errors=(404,), produces=("text/javascript", "text/css"))
def console_asset(call: Call, asset: str) -> Response:
    """A static file of the console (script, style, the chart library)."""
    found = ASSETS.get(asset)
    if found is None:
        raise NotFound(f"no console file {asset!r}")
    return _serve(*found)
