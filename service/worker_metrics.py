"""The worker's own /metrics: the messages it answers by long polling and the hand-offs they cause are
counted in the worker's process, which the web process's /metrics cannot see, so the worker serves
them itself on WORKER_METRICS_PORT (prometheus_client's small HTTP server, any path). The delivery
backlog is read from the database by the web process's /metrics."""

from __future__ import annotations

import logging
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from bot.settings import Settings
from support import metrics

log = logging.getLogger(__name__)


def serve_worker_metrics(settings: Settings) -> WSGIServer | None:
    """Start serving this process's metrics; None when turned off or the port is taken (logged: a
    second worker on the same machine runs without its own metrics rather than not at all)."""
    setting = (settings.get("WORKER_METRICS_PORT") or "off").lower()
    if setting == "off":
        return None
    try:
        server, _thread = start_http_server(int(setting), registry=metrics.REGISTRY)
    except OSError as error:
        log.warning("worker metrics are off: cannot listen on WORKER_METRICS_PORT %s (%s)", setting, error.strerror)
        return None
    log.info("worker metrics on 0.0.0.0:%s/metrics", setting)
    return server
