"""Conversations: what the last answer was about, and reading a follow-up in its light.

People ask in threads of short messages: "how long does the 5ml Recovery last?" then "and the
30ml?". A follow-up like that says too little on its own, so it is read again against the context
of the conversation: the previous question with the product swapped for the new one ("and
Recovery?"), or the previous product with the new attribute ("how often?"), or the previous
question and the new words together ("and the 30ml?"). Each reading is ranked and decided by the
core exactly as a message would be, so a reading is answered only when the core is sure of it by its
own thresholds; otherwise the person gets a "did you mean" built from the readings, or the reply the
message alone would get. A complete new question starts a new topic.

Products decide some answers and not others. Where a question has one answer per product (bottle
life: Recovery's, Hair Serum's), a reading must land on an intent that answers that question, not on
anything else about the product ("and Eye Serum?" after bottle life is told there is no such answer),
and a question that leaves the product out ("how long does a bottle last?") means the conversation's
product. Where a question is about the conversation's product ("how often?" about Recovery), the
product's answer beats a general one. What the catalogue says it cannot answer ("is it vegan?") stays
unanswered whatever came before.

The core keeps no state: the caller (the support desk) stores the `Context` a turn returns and hands
it back with the conversation's next message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Sequence

from bot.catalogue import Catalogue, Intent
from bot.policy import Decision, decide
from bot.records import Reply

if TYPE_CHECKING:
    from bot.core import SupportBot
    from bot.matcher import Ranking
    from bot.records import Match

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
HEALTH_REASONS = frozenset({"reaction", "medical"})  # hand-offs that stay the topic: follow-ups go to the same person
LIKELIEST = 0.95  # share of the probability that holds the intents a question could be (top-p)
# Words that join product names without asking anything: "and vs Booster?", "what about the 30ml one?"
CONNECTIVES = frozenset({"the", "a", "vs", "versus", "v", "for", "with", "about", "of", "instead", "then", "please", "pls"})
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
    """Whether a decision for a follow-up answers about other products than the conversation's: for
    "and <product>?", an answer about the last product and not the new one; for a follow-up naming
    none ("how long does a bottle last?" about Eye Serum), an answer about other products only."""
    if decision.intent is None:
        return False
    if named:
        covers = products_covered(decision.intent, region, catalogue)
        return bool(covers & set(context.products)) and not covers & set(named)
    # only the question counts here: "safe in pregnancy?" answers name products as exceptions
    asks_about = set(products_in(decision.intent.question, catalogue))
    return bool(asks_about) and bool(context.products) and not asks_about & set(context.products)


def products_covered(intent: Intent, region: str, catalogue: Catalogue) -> set[str]:
    """The products an intent's question or answer names: what it is about (none: about all)."""
    answer = intent.answer_for(region)
    return set(products_in(intent.question + " " + (answer if isinstance(answer, str) else ""), catalogue))


def knows_it_cannot_answer(bot: SupportBot, ranking: Ranking) -> bool:
    """Whether the message's likeliest intent is a topic the catalogue says it cannot answer ("is
    it vegan?"), likely enough to be offered: context must not turn that into another answer."""
    if not ranking.matches:
        return False
    best = bot.catalogue.by_id.get(ranking.matches[0].intent_id)
    return best is not None and best.kind == "fallback" and ranking.matches[0].score >= bot.thresholds.clarify


def may_be_small_talk(bot: SupportBot, ranking: Ranking) -> bool:
    """Whether small talk is likely enough to be offered ("ok will email them, thanks"): then a
    message after a hand-off is no question for the same person."""
    social = sum(m.score for m in ranking.matches if (i := bot.catalogue.by_id.get(m.intent_id)) is not None and i.kind == "social")
    return social >= bot.thresholds.clarify


def unsaid_product(bot: SupportBot, text: str, decision: Decision, named: tuple[str, ...], context: Context) -> bool:
    """Whether `text` asks something whose answer differs by product without naming one, and
    alone would get another product's answer than the conversation's: "how long does a bottle
    last?" about Eye Serum is not Recovery's bottle life ("does it help with dark circles?" has
    one answer whatever the product, and keeps it)."""
    if named or not about_other_products(decision, named, context, context.region, bot.catalogue):
        return False
    return answered_per_product(bot, likeliest_without_products(bot, text))


def likeliest_without_products(bot: SupportBot, text: str) -> list[str]:
    """The likeliest intents for `text` with its product names taken out; none when what is left
    asks nothing of its own ("what's the difference between and"): then the products decide."""
    ranking = bot.matcher.rank(without_products(text, bot.catalogue), limit=10)
    return [] if ranking.not_ours >= 0.5 else top_p(ranking.matches)


def answered_per_product(bot: SupportBot, likeliest: list[str]) -> bool:
    """Whether the likeliest intents for a question are one per product (bottle life: Recovery's,
    Hair Serum's): then which product is asked about decides the answer."""
    per_product = {frozenset(products_in(bot.catalogue.by_id[i].question, bot.catalogue)) for i in likeliest if i in bot.catalogue.by_id}
    return len(per_product - {frozenset()}) >= 2


def top_p(matches: Sequence[Match]) -> list[str]:
    """The likeliest intents, best first, until they hold LIKELIEST of the probability."""
    found, held = [], 0.0
    for match in matches:
        found.append(match.intent_id)
        held += match.score
        if held >= LIKELIEST:
            break
    return found


def asks_what_it_answers(bot: SupportBot, reading: str, intent_id: str) -> bool:
    """Whether a reading's intent answers its question: where the question has an answer per
    product (bottle life), the intent must be among the likeliest (95% of the probability) for the
    reading with its product names taken out, so that a product name alone cannot pull in that
    product's answer to another question."""
    if not products_in(reading, bot.catalogue):
        return True
    likeliest = likeliest_without_products(bot, reading)
    return intent_id in likeliest or not answered_per_product(bot, likeliest)


def about_the_product(decision: Decision | None, text: str, context: Context, catalogue: Catalogue) -> bool:
    """Whether a follow-up naming no product ("how often should I put it on?") is read as a
    question about the conversation's product: the decided intent's question names it."""
    if decision is None or decision.intent is None or not context.products or products_in(text, catalogue):
        return False
    return bool(set(products_in(decision.intent.question, catalogue)) & set(context.products))


def names_only_products(text: str, catalogue: Catalogue) -> bool:
    """Whether a follow-up says nothing but which products ("and the eye serum?", "what about Booster"):
    it asks the last question again, about them."""
    said = " ".join(words(text))
    lead = next((lead for lead in sorted(LEAD_INS, key=len, reverse=True) if said.startswith(lead + " ")), "")
    rest = without_products(said[len(lead):], catalogue).split()
    return all(word in POINTERS or word in CONNECTIVES for word in rest)


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
    # The last one named is swapped: "Recovery or Skin Serum?" "and vs Booster?" compares Recovery
    for product in reversed(old):
        for alias in sorted(catalogue.vocabulary.products.get(product, ()), key=len, reverse=True):
            pattern = re.compile(rf"\b{re.escape(' '.join(words(alias)))}\b")
            spans = list(pattern.finditer(said))
            if spans:
                last = spans[-1]
                return said[: last.start()] + replacement + said[last.end():]
    return f"{said} {replacement}"


def without_products(question: str, catalogue: Catalogue) -> str:
    """`question` with the product names taken out: what it asks, about whichever product."""
    said = " " + " ".join(words(question)) + " "
    aliases = sorted({" ".join(words(alias)) for names in catalogue.vocabulary.products.values() for alias in names}, key=len, reverse=True)
    for alias in aliases:
        said = said.replace(f" {alias} ", " ")
    return " ".join(said.split())


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
    """How to take `text` in a conversation whose last answer was `context` (None: there is none).
    A message that does not lean on it (a new question) is read as it stands.

    Every reading the core is sure of is a candidate; the one that wins is the surest by its own
    score plus the score the message alone gives its intent, so the words the person just typed
    ("breastfeeding") outweigh the ones carried over from the previous question.
    """
    if context is None:
        return None
    named = products_in(text, bot.catalogue)
    ranking = bot.rank(text)
    alone = decide(ranking, bot.catalogue, bot.thresholds)
    unsaid = unsaid_product(bot, text, alone, named, context)
    if not (leans_on_context(text, bot.catalogue) or unsaid):
        return Reading(text, alone)  # a question of its own; unless it leaves out the product and would be answered about another
    pointing = points_back(text, bot.catalogue)
    last = bot.catalogue.by_id.get(context.intent_id)
    elsewhere = region_named_in(text, bot.catalogue)
    if elsewhere and elsewhere != (region or context.region) and last is not None and last.region_dependent and not named:
        # "are your products oncology safe?" "and in Australia?": the same answer, for there
        return Reading(context.question, Decision("answer", last, 1.0), follow_up=True, region=elsewhere)
    if alone.kind in ("social", "handoff") or (alone.kind == "fallback" and not named and not opens_with_lead_in(words(text)) and knows_it_cannot_answer(bot, ranking)):
        return Reading(text, alone)  # small talk, "talk to a person", a topic we know we can't answer
    if last is not None and last.kind == "handoff" and not named and pointing and not may_be_small_talk(bot, ranking):
        # after "I got a rash from Booster": "should I keep using it?" is for the same person to answer
        return Reading(text, Decision("handoff", last, 1.0), follow_up=True)
    everyday = not named and ranking.not_ours >= 0.5  # "umm i dunno", "let Carl know that he sucks"
    if everyday and not pointing:
        return Reading(text, alone)  # more likely no question at all than half of one
    own_score = {match.intent_id: match.score for match in ranking.matches}
    where = region or context.region
    swapped = bool(named) and set(named) != set(context.products)
    # "and Recovery?", "same for booster?" ask the last question again; "ok and how much is Recovery
    # in Canadian dollars?" asks its own
    length = len(words(text))
    only_products = names_only_products(text, bot.catalogue)
    re_asks = only_products or length <= HALF_A_QUESTION
    sure: list[tuple[float, Reading]] = []
    candidates = []
    for reading in readings(text, context, bot.catalogue):
        decision = bot.decide(reading)
        if about_other_products(decision, named, context, where, bot.catalogue):
            continue  # "how long does Recovery last?" "and Booster?": the Recovery answer is no answer
        if decision.intent is not None and not asks_what_it_answers(bot, reading, decision.intent.id):
            continue  # "and Eye Serum?" after bottle life: an Eye Serum answer about something else is none
        if decision.kind in CONFIDENT and decision.intent is not None:
            if not ((named and re_asks) or length <= SHORT or decision.intent.id in own_score or (not everyday and pointing and about_the_product(decision, text, context, bot.catalogue))):
                continue  # a whole question whose own words point nowhere near that answer: not this one
            sure.append((decision.score + own_score.get(decision.intent.id, 0.0), Reading(reading, decision, follow_up=True)))
        elif decision.kind == "clarify" and not everyday:
            candidates.extend(o for o in decision.options if o not in candidates)
    continues = pointing and length <= HALF_A_QUESTION
    specific = [pair for pair in sure if about_the_product(pair[1].decision, text, context, bot.catalogue)]
    if (
        alone.kind in CONFIDENT
        and alone.intent is not None
        and not (sure and continues)
        and not (swapped and only_products)  # "and Eye Serum?" asks the last question again
        and not (specific and not products_in(alone.intent.question, bot.catalogue))  # about Recovery, "how often?" is Recovery's
        and not unsaid
    ):
        # "what about the eye serum?", "is it scented?": short and pointing back, it continues; a
        # longer one ("also why does recovery smell so weird?") may be a question of its own
        sure.append((2 * alone.score, Reading(text, alone)))
    answer = last.answer_for(region or context.region) if last else None
    if named and last and last.kind == "answer" and isinstance(answer, str) and set(named) <= set(products_in(answer, bot.catalogue)):
        # "how much SRM is in Booster?" "and Recovery?": the last answer already covers the new product
        asked_again = swap_products(context.question, context.products, named, bot.catalogue)
        sure.append((1.0 + own_score.get(last.id, 0.0), Reading(asked_again, Decision("answer", last, 1.0), follow_up=True)))
    if sure:
        return max(sure, key=lambda pair: pair[0])[1]
    if not candidates and alone.kind == "fallback" and continues and last is not None:
        # "which has the most?": nothing sure, but it is about the last answer; offer it and its kin
        related = [bot.catalogue.by_id[i] for i in last.related if i in bot.catalogue.by_id]
        candidates = [i for i in (last, *related) if i.kind in ("answer", "handoff")]
    if candidates:
        options = tuple(candidates)[: bot.thresholds.max_options]
        return Reading(text, Decision("clarify", options[0], alone.score, options), follow_up=True)
    if swapped and only_products:
        # "and Eye Serum?" when no answer says that about Eye Serum: say so, not something else about it
        return Reading(text, Decision("fallback", None, 0.0, products=frozenset(named)), follow_up=True)
    return Reading(text, alone)


def carry_on(reading: Reading, reply: Reply, context: Context | None, region: str, now: datetime, catalogue: Catalogue) -> Context | None:
    """The context after `reply`: a new one when the bot answered or handed off, else the old one."""
    if reply.kind not in ("answer", "escalate") or reply.intent_id not in catalogue.by_id or reading.region:
        return context
    intent = catalogue.by_id[reply.intent_id]
    if intent.kind == "handoff" and intent.reason not in HEALTH_REASONS:  # "talk to a person" is no topic: the last one stays
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
