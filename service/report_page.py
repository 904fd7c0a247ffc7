"""The conversation report as one self-contained HTML page with bar charts (inline SVG, no scripts)."""

from __future__ import annotations

import textwrap
from html import escape

from bot.core import SupportBot
from service.insights import Insights, describe

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: .8rem 1.2rem; min-width: 10rem; }
.card b { display: block; font-size: 1.6rem; }
table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #eee; }
.muted { color: #777; }
"""


LABEL_CHARACTERS = 60  # what fits left of the bars at 13 px
ANSWERED, HANDED_OFF, NOT_ANSWERED = "#4f9d69", "#c9733a", "#b8453b"  # green, orange, red: good, a person, a miss


def short_label(label: str, limit: int = LABEL_CHARACTERS) -> str:
    """The label cut at a word, with an ellipsis, when it is too long to fit."""
    return textwrap.shorten(label, width=limit, placeholder=" …")


def bar_chart(rows: list[tuple[str, int]], colour: str | list[str] = "#3a7ca5") -> str:
    """Horizontal bars, one per (label, value); `colour` is one for all bars, or one per bar. A long
    label is cut at a word, and shown in full on hover."""
    if not rows:
        return '<p class="muted">Nothing yet.</p>'
    peak = max(value for _, value in rows) or 1
    height = 26 * len(rows)
    bars = []
    for n, (label, value) in enumerate(rows):
        y = 26 * n
        width = 360 * value / peak
        fill = colour[n] if isinstance(colour, list) else colour
        bars.append(
            f'<text x="0" y="{y + 17}" font-size="13"><title>{escape(label)}</title>{escape(short_label(label))}</text>'
            f'<rect x="420" y="{y + 4}" width="{width:.1f}" height="18" fill="{fill}"></rect>'
            f'<text x="{426 + width:.1f}" y="{y + 17}" font-size="13">{value}</text>'
        )
    return f'<svg role="img" width="860" height="{height}" viewBox="0 0 860 {height}">{"".join(bars)}</svg>'


def html_report(found: Insights, bot: SupportBot) -> str:
    questions = bot.catalogue.by_id
    label = lambda intent_id: questions[intent_id].question if intent_id in questions else intent_id  # noqa: E731
    cards = [
        ("Questions", found.questions),
        ("Answered without a person", f"{found.answered_share:.0%}"),
        ("Handed off", found.handed_off),
        ("Not answered", found.unanswered),
        ("Helpful / not", f"{found.helpful_votes} / {found.unhelpful_votes}"),
    ]
    groups = "".join(
        f"<tr><td>{group.size}</td><td>{escape(group.example)}</td><td>{escape(describe(group, bot))}</td></tr>"
        for group in found.groups[:30]
    )
    unhelpful = "".join(
        f"<tr><td>{votes}</td><td>{escape(label(intent))}</td><td>{escape(' | '.join(asked))}</td></tr>" for intent, votes, asked in found.unhelpful
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>NeoGenesis support bot: conversation report</title><style>{STYLE}</style></head>
<body>
<h1>NeoGenesis support bot: conversation report</h1>
<p class="muted">{found.since:%Y-%m-%d %H:%M} to {found.until:%Y-%m-%d %H:%M} UTC</p>
<div class="cards">{"".join(f'<div class="card"><b>{escape(str(value))}</b>{escape(name)}</div>' for name, value in cards)}</div>
<h2>How questions were handled</h2>
{bar_chart([("Answered by the bot", found.answered), ("Handed off to a person", found.handed_off), ("Not answered", found.unanswered)], [ANSWERED, HANDED_OFF, NOT_ANSWERED])}
<h2>Top questions answered</h2>
{bar_chart([(label(i), n) for i, n in found.top_intents])}
<h2>Hand-offs by reason</h2>
{bar_chart([(bot.catalogue.reasons.get(r, r), n) for r, n in found.handoffs_by_reason], "#c9733a")}
<h2>Answers marked unhelpful</h2>
{f'<table><tr><th>Votes</th><th>Answer</th><th>What was asked</th></tr>{unhelpful}</table>' if unhelpful else '<p class="muted">None.</p>'}
<h2>Questions the bot could not answer</h2>
{f'<table><tr><th>Asked</th><th>Example</th><th>Most likely intent</th></tr>{groups}</table>' if groups else '<p class="muted">None.</p>'}
</body></html>
"""
