"""How sure is sure enough: confidences and thresholds learned by cross-validation, not set by hand.

The procedure (`neogenesis-bot calibrate` runs it and writes `calibration.yaml` into the catalogue):
1. Split the catalogue's phrasings and its everyday negatives into FOLDS folds, stratified by label.
   For each fold, train the intent model on the rest (answer passages always train) and score the
   held-out texts. Every phrasing is then scored by a model that never saw it.
2. Temperature: the softmax temperature that minimises the log-loss of the held-out texts' true
   labels (temperature scaling, Guo et al. 2017): probabilities mean what they say.
3. Thresholds, each read off the held-out predictions:
   - answer: the lowest confidence at which answered held-out phrasings are right at least
     ANSWER_PRECISION of the time;
   - safety: the same for predictions of a safety intent, at SAFETY_PRECISION (no wrong answer);
   - social: the same for small talk, at SOCIAL_PRECISION (a wrong "you're welcome" costs little);
   - clarify: the confidence that only NEGATIVES_ASKED of the held-out everyday requests reach, so
     "did you mean" is offered to real questions, not to small talk about the weather.
The constants below are the only choices made by hand; they state costs, not fitted numbers.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import yaml
from scipy.optimize import minimize_scalar
from sklearn.model_selection import StratifiedKFold

from bot.model import NOT_OURS, IntentModel, probabilities
from bot.training import TrainingSet

CALIBRATION_FILE = "calibration.yaml"
FOLDS = 5
ANSWER_PRECISION = 0.98  # a wrong answer costs far more than a "did you mean"
SAFETY_PRECISION = 1.0  # pregnancy, oncology, contraindications: no wrong answer at all
SOCIAL_PRECISION = 0.9
NEGATIVES_ASKED = 0.01


@dataclass(frozen=True)
class Thresholds:
    """Confidence (a calibrated probability) needed for each decision."""

    answer: float = 0.5  # best probability needed to answer or hand off
    safety: float = 0.7  # ... to give a safety answer (pregnancy, oncology, contraindications)
    margin: float = 0.0  # lead over the runner-up needed to answer rather than ask
    clarify: float = 0.2  # best probability needed to offer "did you mean" options at all
    social: float = 0.4  # best probability needed for small talk
    option_window: float = 0.5  # options are the intents at least this share of the best one
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
    held = list(training.phrasings + training.negatives)
    truth = [e.label for e in held]
    labels = tuple(sorted(set(truth) | {e.label for e in training.passages}))
    column = {label: i for i, label in enumerate(labels)}
    scores = np.full((len(held), len(labels)), -10.0)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_rows, test_rows in splitter.split(np.zeros(len(held)), truth):
        model = IntentModel([held[i] for i in train_rows] + list(training.passages))
        fold_scores = model.scores_many([held[i].text for i in test_rows])
        columns = [column[label] for label in model.labels]
        for row, values in zip(test_rows, fold_scores):
            scores[row, columns] = values
    return HeldOut(labels, tuple(truth), scores, tuple(e.said or e.text for e in held))


def calibrate(held: HeldOut, is_safety: Callable[[str], bool], is_social: Callable[[str], bool]) -> Calibration:
    """Temperature and thresholds from held-out predictions (the procedure in the module docstring)."""
    temperature = _temperature(held)
    p = probabilities(held.scores, temperature)
    ours = np.array([label != NOT_OURS for label in held.labels])
    intent_p = np.where(ours, p, -1.0)
    best = intent_p.argmax(axis=1)
    best_p = intent_p[np.arange(len(best)), best]
    not_ours_p = p[:, held.labels.index(NOT_OURS)] if NOT_OURS in held.labels else np.zeros(len(best))
    predicted = [held.labels[i] for i in best]
    # An intent is "answered" when it beats NOT_OURS; right when it is the true label.
    offered = best_p > not_ours_p
    right = np.array([pred == true for pred, true in zip(predicted, held.truth)])
    safety = np.array([is_safety(label) for label in predicted])
    social = np.array([is_social(label) for label in predicted])
    negatives = np.array([true == NOT_OURS for true in held.truth])

    answer = _lowest_precise(best_p, right, offered & ~social, ANSWER_PRECISION)
    thresholds = Thresholds(
        answer=answer,
        safety=max(answer, _lowest_precise(best_p, right, offered & safety, SAFETY_PRECISION)),
        social=_lowest_precise(best_p, right, offered & social, SOCIAL_PRECISION),
        clarify=min(answer, float(np.quantile(np.where(offered, best_p, 0.0)[negatives], 1 - NEGATIVES_ASKED)) if negatives.any() else 0.2),
    )
    phrasings = ~negatives
    answered = offered & (best_p >= thresholds.answer) & phrasings
    figures = {
        "held_out_phrasings": int(phrasings.sum()),
        "held_out_negatives": int(negatives.sum()),
        "top1_right": round(float(right[phrasings].mean()), 4),
        "answered_right": round(float((answered & right).sum() / phrasings.sum()), 4),
        "answered_wrong": round(float((answered & ~right).sum() / phrasings.sum()), 4),
        "negatives_answered": round(float((offered & (best_p >= thresholds.answer) & negatives & ~social).mean() if negatives.any() else 0.0), 4),
    }
    return Calibration(round(temperature, 4), Thresholds(**{k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(thresholds).items()}), figures)


def _temperature(held: HeldOut) -> float:
    column = {label: i for i, label in enumerate(held.labels)}
    truth = np.array([column[t] for t in held.truth])

    def log_loss(t: float) -> float:
        p = probabilities(held.scores, t)
        return float(-np.log(np.clip(p[np.arange(len(truth)), truth], 1e-12, None)).mean())

    return float(minimize_scalar(log_loss, bounds=(0.05, 100.0), method="bounded").x)


def _lowest_precise(confidence: np.ndarray, right: np.ndarray, among: np.ndarray, precision: float) -> float:
    """The lowest threshold at which the predictions `among` at or above it are right `precision` of the time."""
    values = confidence[among]
    if not len(values):
        return 1.0
    order = np.argsort(-values)
    hits = np.cumsum(right[among][order])
    shares = hits / np.arange(1, len(values) + 1)
    good = np.nonzero(shares >= precision - 1e-9)[0]
    if not len(good):
        return float(values[order[0]])
    return float(values[order[good[-1]]])


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

