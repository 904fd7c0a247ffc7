"""What the bot says: a decision and a region in, a `Reply` out. Every word comes from the catalogue."""

from __future__ import annotations

import re
from dataclasses import replace

from bot.catalogue import Catalogue, Handoff, Intent
from bot.policy import Decision
from bot.records import Option, Reply


REGION_OPTION = "region:"  # an option whose "intent" is `region:AU` chooses a region


class ReplyWriter:
    """Writes replies from the catalogue's answers and messages for one region at a time."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def write(self, decision: Decision, region: str) -> Reply:
        """The reply for `decision` in `region`."""
        intent = decision.intent
        if decision.kind == "clarify":
            return self.clarify(decision.options, region, decision.score, intent.id if intent else None)
        if decision.kind == "fallback":
            return self.fallback(region, intent, decision.score)
        if decision.kind == "handoff":
            return self.handoff(intent, region, intent.reason, decision.score)
        return self.answer(intent, region, decision.score)

    def answer(self, intent: Intent, region: str, score: float = 1.0) -> Reply:
        """`intent`'s answer for `region`: its text, or a hand-off where a person answers there."""
        if intent.kind == "handoff":
            return self.handoff(intent, region, intent.reason, score)
        if intent.kind == "fallback":
            return self.fallback(region, intent, score)
        variant = intent.answer_for(region)
        if isinstance(variant, Handoff):
            return self.handoff(intent, region, variant.reason, score)
        text = self.catalogue.fill(variant or "", region)
        if intent.kind == "social":
            return Reply("social", text, region, intent.id, score)
        related = self._options(intent.related)
        return Reply("answer", self._with_options(text, "related", related), region, intent.id, score, related=related)

    def handoff(
        self,
        intent: Intent | None,
        region: str,
        reason: str | None,
        score: float = 1.0,
        message_key: str = "handoff",
        escalate_to: str | None = None,
        ticket: str | None = None,
        **values: str,
    ) -> Reply:
        """A hand-off to `region`'s support team, after the brand's own wording if it has one.

        Without a ticket system the reply tells the person where to write (`handoff`); the support
        desk words it with the ticket instead (`handoff_ticket`, `ask_contact`).
        """
        variant = intent.answer_for(region) if intent else None
        parts = [self.catalogue.fill(variant, region)] if isinstance(variant, str) else []
        address = escalate_to or self.catalogue.regions[region].email
        if parts and address.casefold() in parts[0].casefold():  # say the address once
            if message_key == "handoff":  # the brand's words name it: keep them whole, and point at them
                message_key = "handoff_named"
            else:  # a ticket is open: "Contact us at ..." is what the bot just did for the person
                parts = [part for part in (_without_address(parts[0], address),) if part]
        parts.append(self.catalogue.fill(self.catalogue.messages[message_key], region, reason, ticket=ticket or "", **values))
        return Reply(
            "escalate",
            "\n\n".join(parts),
            region,
            intent.id if intent else None,
            score,
            escalate_to=escalate_to or self.catalogue.regions[region].email,
            reason=reason,
            ticket=ticket,
        )

    def fallback(self, region: str, intent: Intent | None = None, score: float = 0.0) -> Reply:
        """An honest "not here", with what the bot can do and how to reach a person."""
        note = intent.answer_for(region) if intent else None
        parts = [self.catalogue.fill(note, region)] if isinstance(note, str) else []
        parts.append(self.catalogue.fill(self.catalogue.messages["fallback"], region))
        return Reply("fallback", "\n\n".join(parts), region, intent.id if intent else None, score)

    def notice(self, message_key: str, region: str, kind: str = "fallback") -> Reply:
        """A reply made of one of the bot's own messages (empty message, too long, region set, ...)."""
        return Reply(kind, self.catalogue.fill(self.catalogue.messages[message_key], region), region)  # type: ignore[arg-type]

    def ask_region(self, region: str) -> Reply:
        """ "Australia or the United States?", with a region per option (buttons, or numbers)."""
        options = tuple(
            Option(REGION_OPTION + code, where.name[:1].upper() + where.name[1:]) for code, where in self.catalogue.regions.items()
        )
        text = self._with_options(self.catalogue.fill(self.catalogue.messages["ask_region"], region), None, options)
        return Reply("clarify", text, region, options=options)

    def naming_every_region(self, reply: Reply) -> Reply:
        """`reply` with its region's way to reach a person replaced by every region's, for a person
        whose region is not known."""
        contact = self.catalogue.regions[reply.region].contact
        every = " or ".join(
            self.catalogue.fill(self.catalogue.messages["contact_every_region"], code) for code in self.catalogue.regions
        )
        return replace(reply, text=reply.text.replace(contact, every)) if contact in reply.text else reply

    def clarify(self, intents: tuple[Intent, ...], region: str, score: float, best_id: str | None) -> Reply:
        options = tuple(Option(i.id, i.question) for i in intents)
        text = self._with_options(self.catalogue.fill(self.catalogue.messages["clarify"], region), None, options)
        return Reply("clarify", text, region, best_id, score, options=options)

    def _options(self, intent_ids: tuple[str, ...]) -> tuple[Option, ...]:
        return tuple(Option(i, self.catalogue.by_id[i].question) for i in intent_ids if i in self.catalogue.by_id)

    def _with_options(self, text: str, heading_key: str | None, options: tuple[Option, ...]) -> str:
        if not options:
            return text
        heading = [self.catalogue.messages[heading_key]] if heading_key else []
        lines = [f"{number}. {option.label}" for number, option in enumerate(options, start=1)]
        return "\n".join([text, *([""] + heading if heading else []), *lines])


def _without_address(text: str, address: str) -> str:
    """The brand's own words before a hand-off, without the sentence that names the address the
    hand-off message names anyway ("... Contact us at info@neogenesis.com.")."""
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    return " ".join(s for s in sentences if address.casefold() not in s.casefold())
