"""Prometheus metrics of the bot: what it was asked, how it replied, how fast, what it handed off.

Counters live in this process; the delivery backlog is read from the database when scraped.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

MESSAGES = Counter("neogenesis_messages_total", "Messages handled, by channel and reply kind", ["channel", "kind"], registry=REGISTRY)
ESCALATIONS = Counter("neogenesis_escalations_total", "Hand-offs to a person, by reason and region", ["reason", "region"], registry=REGISTRY)
MATCH_SECONDS = Histogram(
    "neogenesis_matching_seconds",
    "Time to find and word the reply to one message",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
    registry=REGISTRY,
)
DELIVERIES = Gauge("neogenesis_deliveries", "Hand-off deliveries by status (read from the database)", ["status"], registry=REGISTRY)
FEEDBACK = Counter("neogenesis_feedback_total", "Helpful? votes under answers", ["helpful"], registry=REGISTRY)


def exposition(backlog: dict[str, int] | None = None) -> bytes:
    """The metrics in Prometheus' text format, with the delivery backlog refreshed from `backlog`."""
    for status, count in (backlog or {}).items():
        DELIVERIES.labels(status=status).set(count)
    return generate_latest(REGISTRY)
