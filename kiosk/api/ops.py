"""What a technician's tools and systemd's watchdog read, outside /api/v1: ``GET /health`` and ``GET /metrics``.

``init_app`` also times every request for the latency histogram. ``/api/v1/health`` answers the same as
``/health`` (:func:`health_response`).
"""
from __future__ import annotations

import time

from flask import Blueprint, Flask, current_app, g, jsonify, request

from ..health import Health
from ..metrics import CONTENT_TYPE, Metrics

bp = Blueprint("ops", __name__)


def init_app(app: Flask, hall) -> None:
    """Attach the health checks and the metrics of ``hall`` to ``app`` and time its requests."""
    app.extensions["health"] = Health(hall, probe_timeout=app.config.get("HEALTH_PROBE_TIMEOUT", 2.0),
                                      max_streams=app.config.get("MAX_STREAMS"))
    metrics = app.extensions["metrics"] = Metrics(hall, server=lambda: app.extensions.get("web"))
    app.register_blueprint(bp)

    @app.before_request
    def start_timer():
        g.started = time.perf_counter()

    @app.after_request
    def record_latency(response):
        started = g.pop("started", None)
        if started is not None:
            route = request.url_rule.rule if request.url_rule is not None else "unmatched"
            metrics.observe(request.method, route, started)
        return response


def health_response():
    """Run the health checks: 200 when the writer and the fan-out move (``ok`` or ``degraded``), else 503; the
    body names what fails."""
    body = current_app.extensions["health"].check()
    return jsonify(body), 503 if body["status"] == "unhealthy" else 200


@bp.get("/health")
def health():
    """The health checks (the watchdog's URL)."""
    return health_response()


@bp.get("/metrics")
def metrics():
    """Every metric in Prometheus text format."""
    return current_app.extensions["metrics"].render(), 200, {"Content-Type": CONTENT_TYPE}
