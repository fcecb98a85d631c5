"""The HTTP API: ``create_app(hall)`` builds the Flask app with one blueprint per resource under /api/v1."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from ..errors import HallError
from .. import pages
from . import access, admin, counters, display, headers, ops, public
from .ids import IdConverter

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}


def create_app(hall, test_config: dict | None = None) -> Flask:
    """Create the app serving ``hall`` (a started :class:`kiosk.hall.Hall`)."""
    app = Flask(__name__, static_folder=None)  # the pages serve their own static files (kiosk/pages.py)
    # No automatic OPTIONS answers: Flask's would answer 200 on every route, those that need a token included,
    # without asking for one. OPTIONS is then a method like any other a route does not take: 405 with Allow.
    app.config.update(MAX_CONTENT_LENGTH=2 * 1024 * 1024, JSON_SORT_KEYS=False, PROVIDE_AUTOMATIC_OPTIONS=False)
    if test_config:
        app.config.update(test_config)
    app.json.ensure_ascii = False
    app.url_map.converters["int"] = IdConverter  # before any route: every <int:...> id is one SQLite holds
    app.extensions["hall"] = hall
    for module in (public, counters, display, admin, access):
        app.register_blueprint(module.bp, url_prefix=PREFIX)
    app.register_blueprint(pages.bp)
    ops.init_app(app, hall)
    headers.init_app(app)

    @app.errorhandler(HallError)
    def hall_error(exc: HallError):
        extra = {"WWW-Authenticate": 'Bearer realm="hall"'} if exc.status == 401 else {}
        return jsonify(exc.to_dict()), exc.status, extra

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = getattr(exc, "error_code", None) or HTTP_CODES.get(exc.code, "http_error")
        extra = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]  # e.g. Allow on 405
        return jsonify({"error": {"code": code, "message": exc.description}}), exc.code, extra

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unexpected error while answering a request")
        return jsonify({"error": {"code": "internal_error",
                                  "message": "Something went wrong inside the hall controller; it was logged."}}), 500

    return app
