"""How sure is sure enough: confidences and thresholds learned by cross-validation, not set by hand.

The procedure (`neogenesis-bot calibrate` runs it and writes `calibration.yaml` into the catalogue):
1. Split the catalogue's phrasings and its everyday negatives into FOLDS folds, stratified by label.
   For each fold, train the intent model on the rest (answer passages always train) and score the
   held-out texts. Every phrasing is then scored by a model that never saw it. This is done REPEATS
   times with different splits and the predictions pooled (repeated cross-validation), because the
   utility is flat near its best and one split's choice moved with a few edited examples.
2. Temperature: the softmax temperature that minimises the log-loss of the held-out texts' true
   labels (temperature scaling, Guo et al. 2017): probabilities mean what they say.
3. Thresholds, each the one that maximises the summed utility of the held-out predictions, with
   the `Costs` below (SUPPORT_DESK for the bot: a right reply +1, a wrong one minus its cost, a "did
   you mean" +click when its options hold the right question and minus its noise when not, a
   fallback 0; a benchmark scores with ACCURACY, its paper's way of counting):
   - answer, safety, handoff, social: one threshold per kind of predicted intent, each with its
     own cost of being wrong; predictions below it count as a "did you mean";
   - clarify: then, among the predictions below their threshold, where a "did you mean" is worth
     more than a fallback.
   A prediction only counts when its intent is more likely than "none of ours".
The constants below are the only choices made by hand; they state costs, not fitted numbers.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import yaml

from bot.model import NOT_OURS, IntentModel, probabilities
from bot.training import TrainingSet

CALIBRATION_FILE = "calibration.yaml"
FOLDS = 5
REPEATS = 3  # fold splits pooled by `calibrate`: one split's thresholds move with a handful of edited examples
@dataclass(frozen=True)
class Costs:
    """What each outcome is worth, relative to a right reply (+1); a fallback is worth 0."""

    wrong: Mapping[str, float]  # a wrong reply, by the kind of intent given: answer, safety, handoff, social
    answered_negative: float  # an answer or hand-off given to something that is none of ours
    click: float  # a "did you mean" whose options hold the right question: one click away
    clarify_noise: float  # ... whose options do not
    negative_clarify: float  # ... offered for something that is none of ours


SUPPORT_DESK = Costs(  # the brand's: never a confident wrong answer
    wrong={
        "answer": 3.0,  # a confident wrong answer undoes three right ones
        "safety": 20.0,  # pregnancy, oncology, contraindications: next to never
        "handoff": 1.0,  # a person reads every hand-off: a needless one costs a wait
        "social": 1.0,  # small talk given to a real request ("btc or eth?" -> "I am a bot") costs as much as a needless hand-off
    },
    answered_negative=3.0,
    click=0.5,
    clarify_noise=0.5,  # as much lost as a useful one gains
    negative_clarify=0.5,
)
ACCURACY = Costs(  # a benchmark's accuracy and out-of-scope recall, as CLINC150's paper counts them
    wrong={"answer": 0.0, "safety": 0.0, "handoff": 0.0, "social": 0.0},  # a wrong intent is just not right
    answered_negative=1.0,  # an out-of-scope query answered is one not recalled
    click=0.0,  # a "did you mean" is not an answer ...
    clarify_noise=0.0,
    negative_clarify=1.0,  # ... nor an out-of-scope prediction
)


@dataclass(frozen=True)
class Thresholds:
    """Confidence (a calibrated probability) needed for each decision."""

    answer: float = 0.5  # best probability needed to answer or hand off
    safety: float = 0.7  # ... to give a safety answer (pregnancy, oncology, contraindications)
    handoff: float = 0.5  # ... to hand off to a person
    margin: float = 0.0  # lead over the runner-up needed to answer rather than ask
    clarify: float = 0.2  # best probability needed to offer "did you mean" options at all
    social: float = 0.4  # best probability needed for small talk
    option_window: float = 0.3  # options are the intents at least this share of the best one
    max_options: int = 3


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    thresholds: Thresholds = Thresholds()
    figures: dict = field(default_factory=dict)  # what cross-validation measured, for people


@dataclass(frozen=True)
class HeldOut:
    """Every held-out text's true label and its scores from the model that did not see it."""

    labels: tuple[str, ...]  # the label order of each score row
    truth: tuple[str, ...]
    scores: np.ndarray
    texts: tuple[str, ...]


def cross_validate(training: TrainingSet, folds: int = FOLDS, seed: int = 0) -> HeldOut:
    """Scores for every phrasing and negative from a model trained without it."""
    from sklearn.model_selection import StratifiedKFold  # calibration only: a bot that answers never needs it

    held = list(training.phrasings + training.negatives)
    truth = [e.label for e in held]
    labels = tuple(sorted(set(truth) | {e.label for e in training.passages}))
    column = {label: i for i, label in enumerate(labels)}
    scores = np.full((len(held), len(labels)), -10.0)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_rows, test_rows in splitter.split(np.zeros(len(held)), truth):
        model = IntentModel([held[i] for i in train_rows] + list(training.passages), training.encoder)
        fold_scores = model.scores_many([held[i].text for i in test_rows])
        columns = [column[label] for label in model.labels]
        for row, values in zip(test_rows, fold_scores):
            scores[row, columns] = values
    return HeldOut(labels, tuple(truth), scores, tuple(e.said or e.text for e in held))


def repeated_cross_validation(training: TrainingSet, repeats: int = REPEATS, folds: int = FOLDS) -> HeldOut:
    """`cross_validate` with `repeats` different fold splits, pooled: every text scored `repeats`
    times, each by a model that never saw it, so the thresholds chosen on them depend less on which
    texts happened to share a fold."""
    runs = [cross_validate(training, folds, seed) for seed in range(repeats)]
    return HeldOut(
        runs[0].labels,
        tuple(t for run in runs for t in run.truth),
        np.vstack([run.scores for run in runs]),
        tuple(t for run in runs for t in run.texts),
    )


def calibrate(
    held: HeldOut,
    is_safety: Callable[[str], bool],
    is_social: Callable[[str], bool],
    is_handoff: Callable[[str], bool] = lambda label: False,
    option_window: float = Thresholds.option_window,
    max_options: int = Thresholds.max_options,
    costs: Costs = None,  # type: ignore[assignment]
) -> Calibration:
    """Temperature and thresholds from held-out predictions (the procedure in the module docstring)."""
    costs = costs or SUPPORT_DESK
    temperature = _temperature(held)
    p = probabilities(held.scores, temperature)
    ours = np.array([label != NOT_OURS for label in held.labels])
    intent_p = np.where(ours, p, -1.0)
    order = np.argsort(-intent_p, axis=1)[:, :max_options]
    best = order[:, 0]
    rows = np.arange(len(best))
    best_p = intent_p[rows, best]
    not_ours_p = p[:, held.labels.index(NOT_OURS)] if NOT_OURS in held.labels else np.zeros(len(best))
    predicted = [held.labels[i] for i in best]
    truth_column = np.array([held.labels.index(t) for t in held.truth])
    negatives = np.array([true == NOT_OURS for true in held.truth])
    offered = best_p > not_ours_p  # an intent is more likely than "none of ours"
    right = best == truth_column
    in_options = ((order == truth_column[:, None]) & (intent_p[rows[:, None], order] >= option_window * best_p[:, None])).any(axis=1)
    clarify_value = np.where(in_options, costs.click, np.where(negatives, -costs.negative_clarify, -costs.clarify_noise))
    group = np.array([
        "safety" if is_safety(label) else "handoff" if is_handoff(label) else "social" if is_social(label) else "answer"
        for label in predicted
    ])
    answer_value = np.where(
        right, 1.0, -np.array([costs.answered_negative if negative and g != "social" else costs.wrong[g] for negative, g in zip(negatives, group)])
    )

    # Under its threshold a prediction becomes a "did you mean" or a fallback, whichever is worth more
    # (the clarify threshold, chosen next, sorts them out).
    below = np.maximum(clarify_value, 0.0)
    chosen = {
        name: _best_threshold(best_p, offered & (group == name), answer_value, below if name != "social" else None)
        for name in costs.wrong
    }
    chosen["safety"] = max(chosen["safety"], chosen["answer"])
    needed = np.array([chosen[g] for g in group])
    undecided = offered & (best_p < needed) & (group != "social")
    clarify = _best_threshold(best_p, undecided, clarify_value, None)
    thresholds = Thresholds(
        answer=chosen["answer"], safety=chosen["safety"], handoff=chosen["handoff"], social=chosen["social"],
        clarify=min(clarify, chosen["answer"]), option_window=option_window, max_options=max_options,
    )
    phrasings = ~negatives
    answered = offered & (best_p >= needed) & (group != "social")
    figures = {
        "held_out_phrasings": int(phrasings.sum()),
        "held_out_negatives": int(negatives.sum()),
        "top1_right": round(float(right[phrasings].mean()), 4),
        "answered_right": round(float((answered & right & phrasings).sum() / max(1, phrasings.sum())), 4),
        "answered_wrong": round(float((answered & ~right & phrasings).sum() / max(1, phrasings.sum())), 4),
        "negatives_answered": round(float((answered & negatives).sum() / max(1, negatives.sum())), 4),
    }
    return Calibration(round(temperature, 4), Thresholds(**{k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(thresholds).items()}), figures)


def _best_threshold(confidence: np.ndarray, among: np.ndarray, above: np.ndarray, below: np.ndarray | None) -> float:
    """The threshold that maximises the summed utility of the predictions `among`: each counts its
    `above` value at or above the threshold, its `below` value (default 0) under it."""
    values = confidence[among]
    if not len(values):
        return 1.0
    order = np.argsort(-values)
    gains = above[among][order]
    under = below[among][order] if below is not None else np.zeros(len(values))
    # Utility with the threshold just below the k-th most confident prediction: the first k+1 above.
    totals = np.cumsum(gains) + (under.sum() - np.cumsum(under))
    if totals.max() <= under.sum():  # answering none of them is best
        return 1.0
    return float(values[order][int(totals.argmax())])


def _temperature(held: HeldOut) -> float:
    from scipy.optimize import minimize_scalar

    column = {label: i for i, label in enumerate(held.labels)}
    truth = np.array([column[t] for t in held.truth])

    def log_loss(t: float) -> float:
        p = probabilities(held.scores, t)
        return float(-np.log(np.clip(p[np.arange(len(truth)), truth], 1e-12, None)).mean())

    return float(minimize_scalar(log_loss, bounds=(0.05, 100.0), method="bounded").x)


# -- the file -------------------------------------------------------------------------------------

def read_calibration(folder: Path) -> Calibration | None:
    """The catalogue's calibration, or None when it has none yet."""
    path = Path(folder) / CALIBRATION_FILE
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    known = set(Thresholds.__dataclass_fields__)
    thresholds = Thresholds(**{k: v for k, v in (data.get("thresholds") or {}).items() if k in known})
    return Calibration(float(data.get("temperature", 1.0)), thresholds, dict(data.get("cross_validation") or {}))


def write_calibration(folder: Path, calibration: Calibration) -> Path:
    path = Path(folder) / CALIBRATION_FILE
    header = (
        f"# Written by `neogenesis-bot calibrate` on {_dt.date.today().isoformat()}: {FOLDS}-fold cross-validation over\n"
        "# the catalogue's phrasings and everyday negatives (bot/calibration.py says how). Do not edit by\n"
        "# hand; run `neogenesis-bot calibrate` again after large catalogue changes.\n"
    )
    body = {
        "temperature": calibration.temperature,
        "thresholds": asdict(calibration.thresholds),
        "cross_validation": calibration.figures,
    }
    path.write_text(header + yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path

