"""The bot's matching engine on CLINC150, a catalogue it was not written for, beside the paper's table.

    python benchmarks/clinc150.py [--data PATH] [--quick] [--split val]

CLINC150 (Larson et al., "An Evaluation Dataset for Intent Classification and Out-of-Scope
Prediction", EMNLP-IJCNLP 2019; github.com/clinc/oos-eval; CC BY 3.0) is 150 intents with 100
training texts each, plus out-of-scope queries. The data lives in benchmarks/data/clinc150/
(`data_full.json`, its LICENSE and README).

What the script does, in the paper's "oos-train" setting plus thresholds tuned on val:
1. Writes a catalogue folder in a temp dir: one intent per CLINC intent (its `train` texts as
   examples, a neutral answer) and `not-ours.yaml` with the 100 `oos_train` texts as negatives. It
   has no catalogue.yaml, so it loads with the bot's neutral default frame.
2. Loads it (`load_catalogue` + `SupportBot`: the intent model is trained here; the time is reported).
   The model cache is pointed at a private temp folder, so every run trains afresh and a CLINC model
   never evicts the real catalogue's models from the user's cache.
3. Tunes on val only: scores `val` (3,000) and `oos_val` (100) with the trained model and calls
   `bot.calibration.calibrate` on them (temperature, answer and clarify thresholds; nothing is
   safety or small talk here). The final bot is `SupportBot(catalogue, calibration=...)`.
4. Scores `test` (4,500) and `oos_test` (1,000) once, with `bot.reply(Message(text))`:
   - in-scope accuracy: share of in-scope queries answered (kind "answer") with the right intent;
     a "did you mean" (clarify) counts as not right, even when the right intent is an option;
   - out-of-scope recall: share of out-of-scope queries that got a fallback; a clarify counts as
     not recalled (it is reported separately), an answer is a wrong answer.
5. Prints the paper's Table 2 ("Full" columns) with this bot's row, then the bot's figures on the
   last 6 lines (accuracy, out-of-scope, val figures, speed, training time, thresholds).

`--split val` stops after step 3 and prints the val figures only (the test split is not scored): for
comparing settings (BOT_EMBEDDINGS) without spending the test split.

`--quick` is a smoke test: the first 20 train texts per intent, the first 300 test and 100 oos_test
queries; val still tunes on all of it, but only its first 300 in-scope queries are replied to for the
val figures. Its figures are not comparable with the paper's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.calibration import ACCURACY, Calibration, HeldOut, calibrate  # noqa: E402
from bot.core import SupportBot  # noqa: E402
from bot.loading import load_catalogue  # noqa: E402
from bot.model import NOT_OURS  # noqa: E402
from bot.model_cache import CACHE_SETTING  # noqa: E402
from bot.records import Message  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "clinc150" / "data_full.json"
CATEGORY = "clinc"  # the CLINC domains are not in data_full.json: one category for all
ANSWER = "(CLINC150 intent transfer)"  # under 4 words, so no answer passage trains the model
QUICK_TRAIN, QUICK_TEST, QUICK_OOS = 20, 300, 100
QUICK_VAL = 300  # --quick judges only the first 300 val queries with bot.reply (calibration uses all of val)

# The paper's Table 2, "Full" columns: (in-scope accuracy %, out-of-scope recall %).
PAPER = {
    "FastText": ((89.0, 9.7), (88.6, 28.3)),
    "SVM": ((91.0, 14.5), (88.2, 18.0)),
    "CNN": ((91.2, 18.9), (90.9, 30.9)),
    "DialogFlow": ((91.7, 14.0), (90.8, 26.7)),
    "Rasa": ((91.5, 45.3), (90.9, 31.2)),
    "MLP": ((93.5, 47.4), (93.4, 49.1)),
    "BERT": ((96.9, 40.3), (96.2, 52.3)),
}
BOT_ROW = "this bot (oos-train + val-calibrated thresholds)"
ARGMAX_ROW = "this bot's model alone (argmax, no thresholds)"


def intent_id(name: str) -> str:
    return name.replace("_", "-")


def write_catalogue(data: dict, folder: Path, per_intent: int | None = None) -> tuple[int, int]:
    """The CLINC train split as a catalogue folder; returns (intents, examples) written."""
    examples: dict[str, list[str]] = {}
    for text, name in data["train"]:
        examples.setdefault(name, [])
        if text.strip() and (per_intent is None or len(examples[name]) < per_intent):
            examples[name].append(text.strip())
    intents = [
        {
            "id": intent_id(name),
            "category": CATEGORY,
            "question": name.replace("_", " "),
            "examples": list(dict.fromkeys(texts)),  # the loader refuses an example listed twice
            "answer": ANSWER,
        }
        for name, texts in sorted(examples.items())
    ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "clinc150.yaml").write_text(
        yaml.safe_dump({"intents": intents}, sort_keys=False, allow_unicode=True, width=1000), encoding="utf-8"
    )
    negatives = list(dict.fromkeys(text.strip() for text, _ in data["oos_train"] if text.strip()))
    (folder / "not-ours.yaml").write_text(
        yaml.safe_dump({"phrasings": negatives}, sort_keys=False, allow_unicode=True, width=1000), encoding="utf-8"
    )
    return len(intents), sum(len(i["examples"]) for i in intents)


def val_calibration(bot: SupportBot, data: dict) -> Calibration:
    """Temperature and thresholds from the val split (in-scope and out-of-scope), scored by the trained model."""
    queries = [(text, intent_id(name)) for text, name in data["val"]] + [(text, NOT_OURS) for text, _ in data["oos_val"]]
    matcher = bot.matcher
    scores = matcher.model.scores_many([matcher.read(text) for text, _ in queries])
    held = HeldOut(
        labels=tuple(matcher.model.labels),
        truth=tuple(truth for _, truth in queries),
        scores=scores,
        texts=tuple(text for text, _ in queries),
    )
    # Thresholds that get the most queries right in the mix the test split has (4,500 in-scope, 1,000
    # out-of-scope; val has 3,000 and 100): each val out-of-scope query stands for that many of the test's.
    weight = (len(data["oos_test"]) / len(data["oos_val"])) / (len(data["test"]) / len(data["val"]))
    costs = replace(ACCURACY, answered_negative=weight * ACCURACY.answered_negative, negative_clarify=weight * ACCURACY.negative_clarify)
    return calibrate(held, is_safety=lambda label: False, is_social=lambda label: False, costs=costs)


def argmax_figures(bot: SupportBot, in_scope: list[tuple[str, str]], out_of_scope: list[str]) -> tuple[float, float]:
    """The model alone, as the paper's oos-train rows: the top label (an intent or NOT_OURS), no thresholds."""
    matcher = bot.matcher
    texts = [text for text, _ in in_scope] + out_of_scope
    truth = [label for _, label in in_scope] + [NOT_OURS] * len(out_of_scope)
    scores = matcher.model.scores_many([matcher.read(text) for text in texts])
    top = [matcher.model.labels[i] for i in scores.argmax(axis=1)]
    right = [predicted == label for predicted, label in zip(top, truth)]
    n = len(in_scope)
    return pct(sum(right[:n]), n), pct(sum(right[n:]), len(out_of_scope))


def judge(bot: SupportBot, in_scope: list[tuple[str, str]], out_of_scope: list[str]) -> dict:
    """Reply to every query once; count what happened to in-scope and out-of-scope queries."""
    ins: Counter = Counter()
    oos: Counter = Counter()
    started = time.perf_counter()
    for text, truth in in_scope:
        reply = bot.reply(Message(text))
        if reply.kind == "answer":
            ins["right" if reply.intent_id == truth else "wrong"] += 1
        elif reply.kind == "clarify":
            ins["clarify"] += 1
            ins["clarify_offers_right"] += any(option.intent_id == truth for option in reply.options)
        else:
            ins["fallback"] += 1
    for text in out_of_scope:
        reply = bot.reply(Message(text))
        oos["answered" if reply.kind == "answer" else "clarify" if reply.kind == "clarify" else "fallback"] += 1
    elapsed = time.perf_counter() - started
    return {"in": ins, "oos": oos, "n_in": len(in_scope), "n_oos": len(out_of_scope), "seconds": elapsed}


def pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def print_val_only(val: dict, calibration: Calibration, training_s: float, n_intents: int, n_examples: int, argmax: tuple[float, float]) -> None:
    """`--split val`: the tuning split's figures (thresholds were chosen on it, so they flatter)."""
    ins, oos = val["in"], val["oos"]
    print(f"CLINC150 val only (thresholds tuned on this split; test not scored): {n_intents} intents, {n_examples} train texts")
    print(f"argmax (no thresholds): in-scope {argmax[0]:.1f}% / out-of-scope {argmax[1]:.1f}%")
    print(
        f"val in-scope accuracy {pct(ins['right'], val['n_in']):.1f}%, wrong {pct(ins['wrong'], val['n_in']):.1f}%, clarify "
        f"{pct(ins['clarify'], val['n_in']):.1f}%; out-of-scope recall {pct(oos['fallback'], val['n_oos']):.1f}%, answered {pct(oos['answered'], val['n_oos']):.1f}%"
    )
    print(f"speed: {(val['n_in'] + val['n_oos']) / val['seconds']:.0f} msg/s over {val['n_in'] + val['n_oos']} val queries; training {training_s:.1f} s")
    print(f"calibrated on val: temperature {calibration.temperature}; {calibration.thresholds}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help=f"CLINC150 data_full.json (default: {DATA.relative_to(ROOT)})")
    parser.add_argument("--quick", action="store_true", help="smoke test: 20 train texts per intent, 300 test and 100 oos_test queries")
    parser.add_argument("--split", choices=("test", "val"), default="test", help="val: score the val split only, never test")
    args = parser.parse_args()

    data = json.loads(args.data.read_text(encoding="utf-8"))
    test = [(text, intent_id(name)) for text, name in data["test"]]
    oos_test = [text for text, _ in data["oos_test"]]
    if args.quick:
        test, oos_test = test[:QUICK_TEST], oos_test[:QUICK_OOS]

    with tempfile.TemporaryDirectory(prefix="clinc150-") as scratch:
        os.environ[CACHE_SETTING] = str(Path(scratch) / "models")  # private: see the module docstring
        folder = Path(scratch) / "catalogue"
        n_intents, n_examples = write_catalogue(data, folder, QUICK_TRAIN if args.quick else None)

        started = time.perf_counter()
        catalogue = load_catalogue(folder)
        trained = SupportBot(catalogue)  # trains the intent model (SupportBot.load(folder) does the same)
        training_s = time.perf_counter() - started

        calibration = val_calibration(trained, data)
        bot = SupportBot(catalogue, calibration=calibration)  # the model comes from the private cache

        val_in = [(t, intent_id(n)) for t, n in data["val"]]
        val = judge(bot, val_in[:QUICK_VAL] if args.quick else val_in, [t for t, _ in data["oos_val"]])
        if args.split == "val":
            print_val_only(val, calibration, training_s, n_intents, n_examples, argmax_figures(bot, val_in, [t for t, _ in data["oos_val"]]))
            return 0
        result = judge(bot, test, oos_test)
        argmax_accuracy, argmax_recall = argmax_figures(bot, test, oos_test)

    ins, oos, n_in, n_oos = result["in"], result["oos"], result["n_in"], result["n_oos"]
    accuracy = pct(ins["right"], n_in)
    recall = pct(oos["fallback"], n_oos)
    val_accuracy = pct(val["in"]["right"], val["n_in"])
    val_recall = pct(val["oos"]["fallback"], val["n_oos"])
    t = calibration.thresholds
    setting = "QUICK smoke test (not comparable)" if args.quick else "full"

    print(f"CLINC150 {setting}: {n_intents} intents, {n_examples} train texts, {len(data['oos_train'])} oos_train negatives;")
    print(f"test {n_in} in-scope + {n_oos} out-of-scope queries. Cells: in-scope accuracy % / out-of-scope recall %.")
    print()
    print(f"{'classifier':<50}  {'oos-train':>13}  {'oos-threshold':>13}")
    for name, (train_cell, threshold_cell) in PAPER.items():
        print(f"{name + ' (paper, Table 2)':<50}  {train_cell[0]:>6.1f} / {train_cell[1]:<4.1f}  {threshold_cell[0]:>6.1f} / {threshold_cell[1]:<4.1f}")
    print(f"{ARGMAX_ROW:<50}  {argmax_accuracy:>6.1f} / {argmax_recall:<4.1f}  {'-':>13}")
    print(f"{BOT_ROW:<50}  {accuracy:>6.1f} / {recall:<4.1f}  (one setting: oos-train negatives and thresholds)")
    print()
    print("Argmax: the trained model's top label (an intent, or the oos-train negatives' label), no thresholds, as")
    print("the paper's oos-train column. The bot replies through its policy: a clarify (\"did you mean\") is not a")
    print("right answer in-scope and not a recall out-of-scope.")
    # The last 6 lines: the bot's figures (a hook prints the tail).
    print(
        f"in-scope accuracy: {accuracy:.1f}% ({ins['right']}/{n_in} answered right; wrong {pct(ins['wrong'], n_in):.1f}%, "
        f"clarify {pct(ins['clarify'], n_in):.1f}% (right intent offered in {ins['clarify_offers_right']}), fallback {pct(ins['fallback'], n_in):.1f}%)"
    )
    print(
        f"out-of-scope recall: {recall:.1f}% ({oos['fallback']}/{n_oos} fallback; clarify {oos['clarify']} "
        f"= {pct(oos['clarify'], n_oos):.1f}% counted as not recalled; answered (wrong) {pct(oos['answered'], n_oos):.1f}%)"
    )
    print(
        f"val (tuning split, {val['n_in']} + {val['n_oos']}): in-scope accuracy {val_accuracy:.1f}%, wrong {pct(val['in']['wrong'], val['n_in']):.1f}%, "
        f"clarify {pct(val['in']['clarify'], val['n_in']):.1f}%; out-of-scope recall {val_recall:.1f}%, answered {pct(val['oos']['answered'], val['n_oos']):.1f}%"
    )
    print(f"speed: {(n_in + n_oos) / result['seconds']:.0f} msg/s over {n_in + n_oos} test queries (bot.reply, one at a time, {os.cpu_count()} cores)")
    print(f"training: {training_s:.1f} s (load + train on {n_examples} texts + {n_intents} questions + negatives)")
    print(
        f"calibrated on val: temperature {calibration.temperature}; thresholds answer {t.answer}, clarify {t.clarify}, "
        f"margin {t.margin}, option_window {t.option_window} ({', '.join(f'{k} {v}' for k, v in asdict(t).items() if k not in ('answer', 'clarify', 'margin', 'option_window'))})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
