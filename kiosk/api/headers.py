"""What every answer of the hall carries: security headers, and a ``Location`` that is only a path.

- The pages load only the hall's own scripts, stylesheet and API (no inline script or style, no other host),
  and no page may be framed by another site (clickjacking the console or a counter): ``PAGE_CSP`` and
  ``X-Frame-Options: DENY`` on every answer, JSON included. A view may set its own policy
  (the ticket preview, whose page has its inline stylesheet: ``PREVIEW_CSP``).
- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` on every answer.
- A ``Location`` never names a host: the ``Host`` header is the client's to choose, so a redirect built from
  it (Werkzeug's own, e.g. ``/api/v1//services`` -> ``/api/v1/services``) could send a browser elsewhere.
  Every ``Location`` is made a path (with its query), and a redirect's body says only that path.
"""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, json

PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
PREVIEW_CSP = ("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
               "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def path_only(location: str) -> str:
    """``http://any.host/api/v1/services?x=1`` -> ``/api/v1/services?x=1``; never ``//host`` or ``/\\host``
    (which a browser reads as another host too). A relative path stays as it is."""
    parts = urlsplit(location)
    path = parts.path
    if parts.scheme or parts.netloc or path.startswith(("//", "/\\")):
        path = "/" + path.lstrip("/\\")
    return urlunsplit(("", "", path, parts.query, parts.fragment))


def secure(response: Response) -> Response:
    """Add the security headers (keeping a policy the view set) and make ``Location`` a path."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    location = response.headers.get("Location")
    if location is not None:
        path = path_only(location)
        response.headers["Location"] = path
        if response.status_code in (301, 302, 303, 307, 308):  # Werkzeug's page names the full URL
            response.set_data(json.dumps({"location": path}))
            response.mimetype = "application/json"
    return response


def init_app(app: Flask) -> None:
    """Make every answer of ``app`` go through :func:`secure`."""
    app.after_request(secure)
