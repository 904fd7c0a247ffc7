"""Wiring for the delivery worker and the `tickets` command: which senders this configuration has."""

from __future__ import annotations

import importlib
import logging

from bot.settings import Settings
from support.desk import SupportDesk
from support.mail import EmailSender, SmtpServer
from support.outbox import Outbox, Sender
from support.printable import one_line

log = logging.getLogger(__name__)


def senders_for(settings: Settings, desk: SupportDesk) -> dict[str, Sender]:
    """A sender for every kind of delivery this configuration can send."""
    senders: dict[str, Sender] = {}
    if settings.get("SMTP_URL"):
        senders["email"] = EmailSender(SmtpServer.from_url(settings.get("SMTP_URL") or ""), settings.get("MAIL_FROM") or "")
    for setting, module in (("SLACK_BOT_TOKEN", "adapters.slack"), ("TELEGRAM_BOT_TOKEN", "adapters.telegram")):
        if settings.get(setting):
            try:
                adapter = importlib.import_module(module)
            except ModuleNotFoundError as error:
                log.warning("%s is set but its SDK is missing (%s): those deliveries wait", setting, error.name)
                continue
            senders.update(adapter.delivery_senders(settings, desk))
    return senders


def show_tickets(settings: Settings, code: str | None = None, status: str | None = None, retry: bool = False) -> str:
    """The `tickets` command's output."""
    desk = SupportDesk.from_settings(settings)
    tickets, outbox = desk.tickets, Outbox(desk.state.engine)
    assert tickets is not None
    lines = []
    if code:
        ticket = tickets.get(code)
        if ticket is None:
            raise LookupError(f"no ticket {code}")
        if retry:
            lines.append(f"re-queued {outbox.requeue_failed(ticket.id)} failed deliveries")
        lines += [
            f"{ticket.code}  {ticket.status}  {ticket.reason}  region {ticket.region}  via {ticket.channel}",
            f"  from: {ticket.user_name or ticket.user_id} (conversation {ticket.conversation})",
            f"  contact: {ticket.contact or '-'}   routed to: {ticket.routed_to}   claimed by: {ticket.claimed_by or '-'}",
            f"  opened {ticket.created_at:%Y-%m-%d %H:%M}, updated {ticket.updated_at:%Y-%m-%d %H:%M}",
            "  conversation:",
            *(row for line in tickets.lines(ticket) for row in _indented(f"    {line.author}: ", line.text)),
            "  deliveries:",
            *(
                f"    {d['kind']:<15} {d['status']:<8} attempts {d['attempts']}"
                + (f"  last error: {d['last_error']}" if d["last_error"] else "")
                for d in tickets.deliveries_of(ticket)
            ),
        ]
        return "\n".join(one_line(line) for line in lines)  # customers' text cannot drive the terminal
    if retry:
        lines.append(f"re-queued {outbox.requeue_failed()} failed deliveries")
    listing = tickets.listing(status=status)
    backlog = outbox.backlog()
    lines.append(f"{len(listing)} ticket(s); deliveries pending {backlog['pending']}, sending {backlog['sending']}, failed {backlog['failed']}")
    for ticket in listing:
        sent = ", ".join(f"{d['kind']} {d['status']}" for d in tickets.deliveries_of(ticket)) or "no deliveries"
        lines.append(f"{ticket.code:<8} {ticket.status:<16} {ticket.reason:<13} {ticket.region} {ticket.channel:<9} {ticket.created_at:%Y-%m-%d %H:%M}  {sent}")
    return "\n".join(one_line(line) for line in lines)


def _indented(first: str, text: str) -> list[str]:
    """`text` after `first`, as rows: its further lines lined up under its first (replies span lines)."""
    first_row, *rest = text.split("\n")
    return [first + first_row, *(" " * len(first) + row for row in rest)]
