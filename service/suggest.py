"""`neogenesis-bot suggest`: the unanswered questions as a reviewable YAML patch for the content
team: new example phrasings for the intent each group most likely belongs to, or a new intent."""

from __future__ import annotations

import re
from datetime import datetime

import yaml

from bot.core import SupportBot
from service.insights import LIKELY, Insights


def suggestions(found: Insights, bot: SupportBot) -> str:
    """The patch as YAML text with comments saying where each suggestion goes."""
    examples: dict[str, list[str]] = {}
    new_intents = []
    for group in found.groups:
        intent = bot.catalogue.by_id.get(group.intent or "")
        if intent is not None and intent.kind == "fallback" and group.score >= LIKELY:
            continue  # a topic we already say we can't answer
        if intent is not None and group.score >= LIKELY:
            known = {e.lower() for e in bot.catalogue.by_id[group.intent].examples}
            examples.setdefault(group.intent, []).extend(t for t in dict.fromkeys(group.texts) if t.lower() not in known)
        else:
            new_intents.append(
                {
                    "id": _slug(group.example),
                    "category": "TODO",
                    "question": group.example,
                    "examples": list(dict.fromkeys(group.texts))[:10],
                    "answer": "TODO: write the answer from the brand's own pages, or move these to out-of-scope.yaml",
                    "seen": group.size,
                }
            )
    header = (
        f"# Suggested by neogenesis-bot suggest on {datetime.now():%Y-%m-%d} from conversations since {found.since:%Y-%m-%d}.\n"
        "# Review before use: copy the examples you agree with into the intent's file (named beside it),\n"
        "# write answers for new intents only from the brand's pages, then run neogenesis-bot validate.\n"
    )
    body = {"add_examples": {intent: texts for intent, texts in examples.items() if texts}, "new_intents": new_intents}
    text = yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=100)
    for intent in body["add_examples"]:
        text = text.replace(f"\n  {intent}:\n", f"\n  {intent}:  # {bot.catalogue.by_id[intent].file}\n", 1)
    return header + text


def _slug(text: str) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())[:6]
    return "-".join(words) or "new-intent"
