"""Conversations: what the last answer was about, and reading a follow-up in its light.

People ask in threads of short messages: "how long does the 5ml Recovery last?" then "and the
30ml?". A follow-up like that says too little on its own, so it is read again against the context
of the conversation: the previous question with the product swapped for the new one ("and
Recovery?"), or the previous product with the new attribute ("how often?"), or the previous
question and the new words together ("and the 30ml?"). Each reading is ranked and decided by the
core exactly as a message would be, so a reading is answered only when the core is sure of it by its
own thresholds; otherwise the person gets a "did you mean" built from the readings, or the reply the
message alone would get. A complete new question starts a new topic.

The core keeps no state: the caller (the support desk) stores the `Context` a turn returns and hands
it back with the conversation's next message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.catalogue import Catalogue
from bot.policy import Decision
from bot.records import Message, Reply

if TYPE_CHECKING:
    from bot.core import SupportBot

# Openings that hang a message on what came before: "and the 30ml?", "what about breastfeeding?"
LEAD_INS = (
    "and", "what about", "how about", "what of", "what if", "also", "same for", "same with", "but", "or",
    "plus", "then", "ok and", "okay and", "so", "for the", "with the", "in the",
)
# Words that point back at the last thing talked about, when no product is named instead.
POINTERS = frozenset({"it", "its", "that", "this", "they", "them", "those", "these", "one", "ones", "too", "either", "same"})
SHORT = 3  # words: "30ml?", "breastfeeding?", "how often?" say too little to be a whole question
LONG = 12  # words: longer than this is a question of its own, whatever its first word
HALF_A_QUESTION = 6  # words: a follow-up this short that points back is read in its context first
MAX_QUESTION_CHARS = 300  # a context's question is re-read with each follow-up; keep it a question
CONFIDENT = ("answer", "handoff")
WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Context:
    """What a conversation's last answer was about: enough to read the next message against it."""

    intent_id: str
    question: str  # the question as the bot understood it (a follow-up: its rewritten reading)
    products: tuple[str, ...]  # product ids named in it, from the catalogue's vocabulary
    category: str
    region: str
    at: datetime


@dataclass(frozen=True)
class Turn:
    """A reply and the context the conversation carries on with (None: nothing to lean on)."""

    reply: Reply
    context: Context | None


@dataclass(frozen=True)
class Reading:
    """How a message was understood: the text decided on, and the decision."""

    text: str
    decision: Decision | None = None  # None: the message as it stands, decided as any message is
    follow_up: bool = False
    region: str | None = None  # "and in Australia?": the answer for another region than the conversation's


def words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    return WORD.findall(folded.replace("'", ""))


def products_in(text: str, catalogue: Catalogue) -> tuple[str, ...]:
    """The product ids `text` names by one of their aliases, in the order they appear (a one-letter
    slip in a one-word name, "recovey", counts; a real English word, "recover", does not)."""
    said = " " + " ".join(_spelt_right(words(text), catalogue)) + " "
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    aliases = sorted(
        ((" " + " ".join(words(alias)) + " ", product) for product, names in catalogue.vocabulary.products.items() for alias in names),
        key=lambda pair: -len(pair[0]),
    )
    for alias, product in aliases:  # longest first: "skin restore serum" is not "skin serum"
        start = said.find(alias)
        while start >= 0:
            end = start + len(alias)
            if not any(start < t_end and t_start < end for t_start, t_end in taken):
                taken.append((start, end))
                found.append((start, product))
                break
            start = said.find(alias, start + 1)
    ordered: list[str] = []
    for _, product in sorted(found):
        if product not in ordered:
            ordered.append(product)
    return tuple(ordered)


def _spelt_right(said: list[str], catalogue: Catalogue) -> list[str]:
    names = {alias for aliases in catalogue.vocabulary.products.values() for alias in aliases if " " not in alias and len(alias) >= 6}
    known = _english()
    return [
        word if word in names or len(word) < 6 or known(word) else next((name for name in names if _one_slip(word, name)), word)
        for word in said
    ]


def _english():
    """Whether a word is real English (then it is never read as a misspelt product name)."""
    try:
        from bot.english import english

        return english().knows
    except ImportError:  # no word list: only exact names count
        return lambda word: True


def _one_slip(word: str, name: str) -> bool:
    """One letter added, dropped, changed, or two swapped."""
    if abs(len(word) - len(name)) > 1 or word == name:
        return False
    if len(word) == len(name):
        differ = [i for i, (a, b) in enumerate(zip(word, name)) if a != b]
        return len(differ) == 1 or (len(differ) == 2 and differ[1] == differ[0] + 1 and word[differ[0]] == name[differ[1]] and word[differ[1]] == name[differ[0]])
    shorter, longer = sorted((word, name), key=len)
    return any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer)))


def leans_on_context(text: str, catalogue: Catalogue) -> bool:
    """Whether `text` reads as a follow-up: short, or opening with "and ..."/"what about ...", or
    pointing back ("is that ok for oily skin too?") without naming a product of its own."""
    return len(words(text)) <= SHORT and bool(words(text)) or points_back(text, catalogue)


def points_back(text: str, catalogue: Catalogue) -> bool:
    """Whether `text` says outright that it continues: "and ...", "what about ...", "is that ...?"."""
    said = words(text)
    if not said or len(said) > LONG:
        return False
    if opens_with_lead_in(said):
        return True
    return not products_in(text, catalogue) and any(word in POINTERS for word in said)


def opens_with_lead_in(said: list[str]) -> bool:
    """Whether the words open with "and ...", "what about ...": the person says it continues."""
    joined = " ".join(said)
    return any(joined == lead or joined.startswith(lead + " ") for lead in LEAD_INS)


def about_other_products(decision: Decision, named: tuple[str, ...], context: Context, region: str, catalogue: Catalogue) -> bool:
    """Whether a decision for "and <product>?" would answer about the last product instead: its
    question or answer names the products talked about before and none of the new ones."""
    if decision.intent is None or not named:
        return False
    answer = decision.intent.answer_for(region)
    covers = set(products_in(decision.intent.question + " " + (answer if isinstance(answer, str) else ""), catalogue))
    return bool(covers & set(context.products)) and not covers & set(named)


def region_named_in(text: str, catalogue: Catalogue) -> str | None:
    """The region a short follow-up names ("and in Australia?", "what about the US?"), by the
    catalogue's name for it or its code (in capitals: "us" is a word)."""
    said = " " + " ".join(words(text)) + " "
    for code, where in catalogue.regions.items():
        name = " ".join(words(where.name))
        bare = name.removeprefix("the ")
        if f" {name} " in said or f" {bare} " in said or re.search(rf"\b{re.escape(code)}\b", text):
            return code
    return None


def swap_products(question: str, old: tuple[str, ...], new: tuple[str, ...], catalogue: Catalogue) -> str:
    """`question` asked about the `new` products instead of the `old` ones."""
    replacement = " and ".join(name_of(product, catalogue) for product in new)
    said = " ".join(words(question))
    for product in old:
        for alias in sorted(catalogue.vocabulary.products.get(product, ()), key=len, reverse=True):
            pattern = re.compile(rf"\b{re.escape(' '.join(words(alias)))}\b")
            if pattern.search(said):
                return pattern.sub(replacement, said, count=1)
    return f"{said} {replacement}"


def name_of(product: str, catalogue: Catalogue) -> str:
    aliases = catalogue.vocabulary.products.get(product)
    return aliases[0] if aliases else product.replace("-", " ")


def readings(text: str, context: Context, catalogue: Catalogue) -> list[str]:
    """The ways `text` may continue `context`, most specific first."""
    named = products_in(text, catalogue)
    if named and set(named) != set(context.products):
        return [swap_products(context.question, context.products, named, catalogue)]
    found = []
    if context.products and not named:
        found.append(" ".join(name_of(p, catalogue) for p in context.products) + " " + text)
    found.append(f"{context.question} {text}")
    return found


def read(bot: SupportBot, text: str, context: Context | None, region: str | None = None) -> Reading | None:
    """How to take `text` in a conversation whose last answer was `context`; None when it does not
    lean on it (a new question stands alone).

    Every reading the core is sure of is a candidate; the one that wins is the surest by its own
    score plus the score the message alone gives its intent, so the words the person just typed
    ("breastfeeding") outweigh the ones carried over from the previous question.
    """
    if context is None or not leans_on_context(text, bot.catalogue):
        return None
    ranking = bot.rank(text)
    alone = bot.decide(text)
    named = products_in(text, bot.catalogue)
    last = bot.catalogue.by_id.get(context.intent_id)
    elsewhere = region_named_in(text, bot.catalogue)
    if elsewhere and elsewhere != (region or context.region) and last is not None and last.region_dependent and not named:
        # "are your products oncology safe?" "and in Australia?": the same answer, for there
        return Reading(context.question, Decision("answer", last, 1.0), follow_up=True, region=elsewhere)
    if alone.kind in ("social", "handoff") or (alone.kind == "fallback" and alone.intent is not None and not named):
        return Reading(text, alone)  # small talk, "talk to a person", a topic we know we can't answer
    if not named and not points_back(text, bot.catalogue) and ranking.not_ours >= 0.5:
        return Reading(text, alone)  # "umm i dunno": more likely no question at all than half of one
    own_score = {match.intent_id: match.score for match in ranking.matches}
    sure: list[tuple[float, Reading]] = []
    candidates = []
    for reading in readings(text, context, bot.catalogue):
        decision = bot.decide(reading)
        if about_other_products(decision, named, context, region or context.region, bot.catalogue):
            continue  # "how long does Recovery last?" "and Booster?": the Recovery answer is no answer
        if decision.kind in CONFIDENT and decision.intent is not None:
            if not (named or len(words(text)) <= SHORT or decision.intent.id in own_score):
                continue  # a whole question whose own words point nowhere near that answer: not this one
            sure.append((decision.score + own_score.get(decision.intent.id, 0.0), Reading(reading, decision, follow_up=True)))
        elif decision.kind == "clarify":
            candidates.extend(o for o in decision.options if o not in candidates)
    continues = points_back(text, bot.catalogue) and len(words(text)) <= HALF_A_QUESTION
    if alone.kind in CONFIDENT and alone.intent is not None and not (sure and continues):
        # "what about the eye serum?", "is it scented?": short and pointing back, it continues; a
        # longer one ("also why does recovery smell so weird?") may be a question of its own
        sure.append((2 * alone.score, Reading(text, alone)))
    answer = last.answer_for(region or context.region) if last else None
    if named and last and last.kind == "answer" and isinstance(answer, str) and set(named) <= set(products_in(answer, bot.catalogue)):
        # "how much SRM is in Booster?" "and Recovery?": the last answer already covers the new product
        swapped = swap_products(context.question, context.products, named, bot.catalogue)
        sure.append((1.0 + own_score.get(last.id, 0.0), Reading(swapped, Decision("answer", last, 1.0), follow_up=True)))
    if sure:
        return max(sure, key=lambda pair: pair[0])[1]
    if not candidates and alone.kind == "fallback" and points_back(text, bot.catalogue) and last is not None:
        # "which has the most?": nothing sure, but it is about the last answer; offer it and its kin
        related = [bot.catalogue.by_id[i] for i in last.related if i in bot.catalogue.by_id]
        candidates = [i for i in (last, *related) if i.kind in ("answer", "handoff")]
    if candidates:
        options = tuple(candidates)[: bot.thresholds.max_options]
        return Reading(text, Decision("clarify", options[0], alone.score, options), follow_up=True)
    return Reading(text, alone)


def carry_on(reading: Reading, reply: Reply, context: Context | None, region: str, now: datetime, catalogue: Catalogue) -> Context | None:
    """The context after `reply`: a new one when the bot answered or handed off, else the old one."""
    if reply.kind not in ("answer", "escalate") or reply.intent_id not in catalogue.by_id or reading.region:
        return context
    intent = catalogue.by_id[reply.intent_id]
    if intent.kind == "handoff":  # "talk to a person" is no topic to follow up on: the last one stays
        return context
    products = products_in(reading.text, catalogue) or (context.products if reading.follow_up and context else ())
    question = reading.text
    if reading.follow_up and context and question.startswith(context.question + " "):
        question = context.question  # "... and the 30ml?": the question itself is still the last one
    return Context(intent.id, question[-MAX_QUESTION_CHARS:], products, intent.category, region, now)


def chosen(intent_id: str, region: str, now: datetime, catalogue: Catalogue, context: Context | None = None) -> Context | None:
    """The context after a person picked a question (a button, a number)."""
    intent = catalogue.by_id.get(intent_id)
    if intent is None or intent.kind != "answer":  # as in `carry_on`: a hand-off is no topic
        return context
    return Context(intent.id, intent.question, products_in(intent.question, catalogue), intent.category, region, now)
