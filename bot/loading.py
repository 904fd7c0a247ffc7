"""Reading the catalogue folder: YAML in, a checked `Catalogue` out, or every mistake named.

Like pre-commit's clientlib: YAML is parsed in one place with the safe loader, the expected shape is
checked field by field, and each error names the file and the intent so the content team can fix it.
A broken catalogue stops start-up; it never surfaces in a conversation.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator

import yaml

from bot.catalogue import (
    KINDS,
    PLACEHOLDERS,
    Catalogue,
    Category,
    Handoff,
    Intent,
    Region,
    Vocabulary,
    placeholders_in,
)

FRAME_FILE = "catalogue.yaml"
VOCABULARY_FILE = "vocabulary.yaml"
NEGATIVES_FILE = "not-ours.yaml"
CALIBRATION_FILE = "calibration.yaml"  # written by `neogenesis-bot calibrate` (bot/calibration.py)
NOT_INTENTS = (FRAME_FILE, VOCABULARY_FILE, NEGATIVES_FILE, CALIBRATION_FILE)
DEFAULT_FRAME = Path(__file__).resolve().parent / "default_frame.yaml"  # for a folder without catalogue.yaml
INTENT_FIELDS = {"id", "kind", "category", "source", "question", "examples", "answer", "related", "reason", "triggers"}
SOURCES = {"au-faq", "us-faq", "article", "bot"}
MESSAGE_KEYS = {
    "handoff", "fallback", "clarify", "related", "empty", "no_text", "too_long", "unknown_option",
    "slow_down", "region_set", "choose_region", "ask_region", "contact_every_region", "handoff_named",
    "handoff_ticket", "followup_relay", "followup_email", "outside_hours", "ask_contact", "contact_invalid",
    "contact_cancelled", "support_reply", "ticket_resolved", "apology", "feedback_yes", "feedback_no", "feedback_thanks",
    "telegram_welcome", "telegram_help", "telegram_pick_question", "telegram_all_topics",
}
ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DEAD_LINK = re.compile(r"click here", re.IGNORECASE)


class CatalogueError(Exception):
    """The catalogue cannot be used; `problems` lists every mistake found, each naming its file."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def default_intents_dir() -> Path:
    """`BOT_INTENTS_DIR` if set, else the catalogue shipped with the package."""
    if configured := os.environ.get("BOT_INTENTS_DIR"):
        return Path(configured)
    shipped = Path(__file__).resolve().parent / "_intents"  # inside an installed wheel
    return shipped if shipped.is_dir() else Path(__file__).resolve().parent.parent / "intents"


_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when PyYAML has it


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """The safe loader, refusing a key given twice (a second `answer:` silently wins otherwise)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as stream:
        return yaml.load(stream, Loader=_UniqueKeyLoader)


def load_catalogue(directory: Path | str | None = None) -> Catalogue:
    """Read and check every YAML file of the catalogue folder; raise CatalogueError if any is wrong.

    A folder of intents alone (no catalogue.yaml, no vocabulary.yaml) loads with a neutral frame:
    one region, the bot's own messages in plain words, and the intents' categories as they are.
    """
    folder = Path(directory) if directory is not None else default_intents_dir()
    problems: list[str] = []
    if not folder.is_dir():
        raise CatalogueError([f"{folder}: no such catalogue folder (set BOT_INTENTS_DIR to the intents/ folder)"])

    # A folder of intents alone is a foreign catalogue; one with a vocabulary is the brand's, frame and all.
    own_frame = (folder / FRAME_FILE).is_file() or (folder / VOCABULARY_FILE).is_file()
    frame = _read(folder / FRAME_FILE if own_frame else DEFAULT_FRAME, problems)
    categories, regions, reasons, messages = _frame(frame, FRAME_FILE, problems)
    vocabulary = _vocabulary(_read(folder / VOCABULARY_FILE, problems), VOCABULARY_FILE, problems) if own_frame else Vocabulary()

    intents: list[Intent] = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name in NOT_INTENTS:
            continue
        data = _read(path, problems)
        if data is None:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("intents"), list):
            problems.append(f"{path.name}: expected a top-level `intents:` list")
            continue
        for position, raw in enumerate(data["intents"], start=1):
            if not own_frame and isinstance(raw, dict) and _text(raw.get("category")) and raw["category"] not in {c.id for c in categories}:
                categories += (Category(raw["category"], raw["category"].replace("_", " ").replace("-", " ").capitalize()),)
            checker = _IntentChecker(path.name, position, raw, categories, regions, reasons)
            if (intent := checker.intent()) is not None:
                intents.append(intent)
            problems.extend(checker.problems)

    negatives = _negatives(folder / NEGATIVES_FILE, problems)
    problems.extend(_cross_checks(intents))
    if not intents and not problems:
        problems.append(f"{folder}: no intents found")
    if problems:
        raise CatalogueError(problems)
    return Catalogue(
        intents=tuple(intents),
        categories=categories,
        regions=regions,
        reasons=reasons,
        messages=messages,
        vocabulary=vocabulary,
        directory=str(folder),
        negatives=negatives,
    )


def _read(path: Path, problems: list[str]) -> Any:
    try:
        return read_yaml(path)
    except FileNotFoundError:
        problems.append(f"{path.name}: missing from the catalogue folder {path.parent}")
    except yaml.YAMLError as error:
        problems.append(f"{path.name}: not valid YAML: {error}".replace("\n", " "))
    except (OSError, UnicodeDecodeError) as error:
        problems.append(f"{path.name}: cannot be read: {error}")
    return None


def _negatives(path: Path, problems: list[str]) -> tuple[str, ...]:
    """The everyday requests of `not-ours.yaml` (optional): `phrasings:`, a list of texts."""
    if not path.is_file():
        return ()
    data = _read(path, problems)
    phrasings = data.get("phrasings") if isinstance(data, dict) else None
    if not isinstance(phrasings, list) or not all(_text(p) for p in phrasings):
        problems.append(f"{path.name}: expected `phrasings:`, a list of texts")
        return ()
    return tuple(p.strip() for p in phrasings)


def _frame(data: Any, name: str, problems: list[str]):
    categories: list[Category] = []
    regions: dict[str, Region] = {}
    reasons: dict[str, str] = {}
    messages: dict[str, str] = {}
    if not isinstance(data, dict):
        if data is not None:
            problems.append(f"{name}: expected a mapping with categories, regions, handoff_reasons and messages")
        return tuple(categories), regions, reasons, messages

    for entry in _list(data, "categories", name, problems):
        if not isinstance(entry, dict) or not _text(entry.get("id")) or not _text(entry.get("title")):
            problems.append(f"{name}: each category needs an `id` and a `title`, got {entry!r}")
            continue
        categories.append(Category(entry["id"], entry["title"].strip(), bool(entry.get("shown", True))))

    for code, entry in _mapping(data, "regions", name, problems).items():
        if not isinstance(entry, dict) or not all(_text(entry.get(k)) for k in ("name", "email", "contact")):
            problems.append(f"{name}: region {code!r} needs `name`, `email` and `contact`")
            continue
        regions[str(code)] = Region(str(code), entry["name"], entry["email"], entry["contact"], entry.get("phone"))

    for key, text in _mapping(data, "handoff_reasons", name, problems).items():
        if not _text(text):
            problems.append(f"{name}: handoff reason {key!r} needs a text")
        reasons[str(key)] = str(text).strip()

    found = _mapping(data, "messages", name, problems)
    for key in sorted(MESSAGE_KEYS - set(found)):
        problems.append(f"{name}: messages: `{key}` is missing")
    for key, text in found.items():
        if not _text(text):
            problems.append(f"{name}: messages: `{key}` needs a text")
            continue
        if unknown := placeholders_in(text) - PLACEHOLDERS:
            problems.append(f"{name}: messages: `{key}` uses unknown placeholder(s) {sorted(unknown)}")
        messages[str(key)] = text.strip()
    return tuple(categories), regions, reasons, messages


def _vocabulary(data: Any, name: str, problems: list[str]) -> Vocabulary:
    if not isinstance(data, dict):
        if data is not None:
            problems.append(f"{name}: expected a mapping with products, synonyms, shorthand and emoji")
        return Vocabulary()
    products: dict[str, tuple[str, ...]] = {}
    for product, aliases in _mapping(data, "products", name, problems).items():
        if not isinstance(aliases, list) or not aliases or not all(_text(a) for a in aliases):
            problems.append(f"{name}: product {product!r} needs a list of aliases")
            continue
        products[str(product)] = tuple(a.strip() for a in aliases)
    synonyms: list[tuple[str, tuple[str, ...]]] = []
    for entry in _list(data, "synonyms", name, problems):
        words = entry.get("words") if isinstance(entry, dict) else None
        if not _text(entry.get("means") if isinstance(entry, dict) else None) or not isinstance(words, list) or not words:
            problems.append(f"{name}: each synonym needs `means` and a list of `words`, got {entry!r}")
            continue
        synonyms.append((entry["means"].strip(), tuple(str(w).strip() for w in words)))
    shorthand = {str(k): str(v) for k, v in _mapping(data, "shorthand", name, problems).items()}
    emoji = {str(k): str(v) for k, v in _mapping(data, "emoji", name, problems).items()}
    return Vocabulary(products=products, synonyms=tuple(synonyms), shorthand=shorthand, emoji=emoji)


class _IntentChecker:
    """Checks one raw intent entry; `problems` names the file and intent of each mistake."""

    def __init__(self, file: str, position: int, raw: Any, categories, regions, reasons) -> None:
        self.file = file
        self.raw = raw if isinstance(raw, dict) else {}
        self.name = f"intent {self.raw['id']!r}" if _text(self.raw.get("id")) else f"intent #{position}"
        self.categories = {c.id for c in categories}
        self.regions = regions
        self.reasons = reasons
        self.problems: list[str] = []
        if not isinstance(raw, dict):
            self._problem(f"expected a mapping with id, category, question, examples and answer, got {raw!r}")

    def _problem(self, text: str) -> None:
        self.problems.append(f"{self.file}: {self.name}: {text}")

    def intent(self) -> Intent | None:
        raw = self.raw
        if not raw:
            return None
        for unknown in sorted(set(raw) - INTENT_FIELDS):
            self._problem(f"unknown field `{unknown}` (fields: {', '.join(sorted(INTENT_FIELDS))})")
        intent_id = raw.get("id")
        if not _text(intent_id) or not ID_PATTERN.match(intent_id):
            self._problem("`id` must be lowercase words joined by hyphens, like `recovery-bottle-life`")
        kind = raw.get("kind", "answer")
        if kind not in KINDS:
            self._problem(f"`kind` must be one of {', '.join(KINDS)}, not {kind!r}")
        if raw.get("category") not in self.categories:
            self._problem(f"`category` {raw.get('category')!r} is not one of the categories in {FRAME_FILE}")
        if raw.get("source", "bot") not in SOURCES:
            self._problem(f"`source` must be one of {', '.join(sorted(SOURCES))}")
        if not _text(raw.get("question")):
            self._problem("`question` needs the canonical question as text")
        examples = self._strings("examples")
        if len(examples) < 3:
            self._problem("`examples` needs at least 3 ways people ask this")
        for example in sorted({e for e in examples if examples.count(e) > 1}):
            self._problem(f"example {example!r} is listed twice")
        related = self._strings("related")
        triggers = self._strings("triggers")
        reason = raw.get("reason")
        if kind == "handoff":
            if reason not in self.reasons:
                self._problem(f"a hand-off needs `reason`, one of: {', '.join(self.reasons)}")
        else:
            if reason is not None:
                self._problem("`reason` belongs to hand-off intents only (kind: handoff)")
            if triggers and kind != "fallback":
                self._problem("`triggers` belong to hand-off and out-of-scope intents only (kind: handoff or fallback)")
        answers = self._answers(kind)
        if self.problems:
            return None
        return Intent(
            id=intent_id,
            kind=kind,
            category=raw["category"],
            question=raw["question"].strip(),
            examples=tuple(e.strip() for e in examples),
            answers=answers,
            related=tuple(related),
            reason=reason,
            triggers=tuple(triggers),
            source=raw.get("source", "bot"),
            file=self.file,
        )

    def _strings(self, key: str) -> list[str]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(_text(v) for v in value):
            self._problem(f"`{key}` must be a list of texts")
            return []
        return [str(v) for v in value]

    def _answers(self, kind: str) -> dict:
        raw = self.raw.get("answer")
        if raw is None:
            if kind in ("answer", "social"):
                self._problem("`answer` is missing")
            return {}
        if isinstance(raw, str):
            self._check_text(raw, "answer")
            return {None: raw.strip()}
        if not isinstance(raw, dict):
            self._problem("`answer` must be a text, or one variant per region (AU: ..., US: ...)")
            return {}
        answers: dict = {}
        for region, variant in raw.items():
            where = f"answer for {region}"
            if region not in self.regions:
                self._problem(f"`answer` has unknown region {region!r} (regions: {', '.join(self.regions)})")
            elif isinstance(variant, str):
                self._check_text(variant, where)
                answers[region] = variant.strip()
            elif isinstance(variant, dict) and set(variant) == {"handoff"}:
                if variant["handoff"] not in self.reasons:
                    self._problem(f"{where}: hand-off reason {variant['handoff']!r} is not one of: {', '.join(self.reasons)}")
                answers[region] = Handoff(variant["handoff"])
            else:
                self._problem(f"{where} must be a text or `handoff: <reason>`")
        if kind != "handoff":
            for region in sorted(set(self.regions) - set(answers) - set(raw)):
                self._problem(
                    f"`answer` has no variant for region {region}: add `{region}:` text, or "
                    f"`{region}:` with `handoff: <reason>` where a person should answer"
                )
        return answers

    def _check_text(self, text: str, where: str) -> None:
        if not text.strip():
            self._problem(f"{where} is empty")
        if DEAD_LINK.search(text):
            self._problem(f"{where} contains a dead link (\"Click here...\"); remove it")
        try:
            unknown = placeholders_in(text) - PLACEHOLDERS
        except ValueError as error:
            self._problem(f"{where}: stray brace in text ({error}); write {{{{ or }}}} for a literal brace")
            return
        if unknown:
            self._problem(f"{where} uses unknown placeholder(s) {sorted(unknown)} (known: {', '.join(sorted(PLACEHOLDERS))})")


def _cross_checks(intents: list[Intent]) -> Iterator[str]:
    first_seen: dict[str, Intent] = {}
    for intent in intents:
        if intent.id in first_seen:
            yield f"{intent.file}: intent {intent.id!r}: id already used in {first_seen[intent.id].file}"
        else:
            first_seen[intent.id] = intent
    for intent in intents:
        for other in intent.related:
            if other not in first_seen:
                yield f"{intent.file}: intent {intent.id!r}: related intent {other!r} does not exist"
            elif other == intent.id:
                yield f"{intent.file}: intent {intent.id!r}: lists itself as related"


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _list(data: dict, key: str, name: str, problems: list[str]) -> list:
    value = data.get(key, [])
    if not isinstance(value, list):
        problems.append(f"{name}: `{key}` must be a list")
        return []
    return value


def _mapping(data: dict, key: str, name: str, problems: list[str]) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        problems.append(f"{name}: `{key}` must be a mapping")
        return {}
    return value
