"""The intent model: a linear classifier learned from the catalogue each time it loads.

Features are TF-IDF weights of word 1-2 grams and of character 2-5 grams within words (each seen in at
least two training texts: one text's own word pair or letters say nothing about new messages), taken from the
normalised reading of a text (typos corrected, product aliases and synonyms made one term), so
"recovey vs booster??" and "difference between Recovery and Booster" share most of them. A linear
support-vector machine (liblinear's Crammer-Singer formulation: all intents learned jointly, so
their scores compare with one another) scores every intent; a softmax with a temperature learned by
cross-validation (`bot.calibration`) turns scores into probabilities. scikit-learn trains; a trained
model reads texts with `bot.tfidf` and scores with numpy alone, so a bot that answers from a built
model never imports scikit-learn (about a second of every start).

The model knows one label that is no intent: `NOT_OURS`, learned from everyday requests that are
none of the brand's questions (`Catalogue.negatives`). It tells "not a question we know" apart from
"a question we know, asked in new words", which a threshold on scores alone cannot.

Optionally (`BOT_EMBEDDINGS=on`, `bot.embeddings`), each text's sentence embedding, scaled by
EMBEDDING_SCALE, is appended to its TF-IDF features and the same classifier learns from both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from bot.memory import release_free_memory
from bot.tfidf import CHARACTERS_WITHIN_WORDS, TOKEN_PATTERN, WORDS, TfidfTerms

if TYPE_CHECKING:
    from bot.embeddings import SentenceEncoder

NOT_OURS = "__not_ours__"
REGULARISATION = 1.0  # LinearSVC's C; the library default, kept: it scored best on CLINC150's val split
# Crammer-Singer rather than one-against-the-rest: on CLINC150's val split (thresholds calibrated
# there) 90.5% in-scope / 85% out-of-scope against 89.8% / 86%, the better of the two by the
# benchmark's own count; on the shipped catalogue, once each is recalibrated, the fresh blind sets
# score the same with either. It trains about 2.5 times slower (the model cache keeps that off starts).
# Training's peak memory is two float64 copies of the weights (features x intents): words and word
# pairs seen in one text only were 26,000 of the 63,000 features, and dropping them (min_df=2, as the
# character n-grams had) took the peak from 315 MB to 252 MB; CLINC150 val 91.4% / 81% (the same count as
# before by the benchmark's own weighting), the shipped catalogue's cross-validation top-1 -0.5 points.
MULTI_CLASS = "crammer_singer"
# Weight of the unit-length sentence embedding beside the two unit-length TF-IDF vectors: chosen by
# 5-fold cross-validation over the shipped catalogue between 0.5 and 1 (docs/embeddings.md).
EMBEDDING_SCALE = 1.0
WORD_NGRAMS = (1, 2)
CHARACTER_NGRAMS = (2, 5)


@dataclass(frozen=True)
class Example:
    """One training text and the label it teaches (an intent id, or NOT_OURS)."""

    text: str
    label: str
    said: str = ""  # the text as written, before reading (for people: validation names it)


def tfidf_vectorizer(analyzer: str, ngram_range: tuple[int, int], vocabulary: dict | None = None):
    """scikit-learn's vectorizer as the model trains it: terms in at least two texts, sublinear tf."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # training only: a built model reads with bot.tfidf

    words = {"token_pattern": TOKEN_PATTERN} if analyzer == WORDS else {}
    return TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, lowercase=False, sublinear_tf=True, min_df=2, vocabulary=vocabulary, **words)


def _fitted_terms(analyzer: str, ngram_range: tuple[int, int], texts: Sequence[str]):
    """The vocabulary and idf scikit-learn fits on `texts`, and the texts' features."""
    vectorizer = tfidf_vectorizer(analyzer, ngram_range)
    features = vectorizer.fit_transform(texts)
    return TfidfTerms(analyzer, ngram_range, vectorizer.vocabulary_, vectorizer.idf_), features


class IntentModel:
    """Scores texts against labels. Trained once (`IntentModel(examples)`) or loaded from `save`'s
    file; `scores` is read-only and thread-safe."""

    def __init__(self, examples: Sequence[Example], encoder: SentenceEncoder | None = None, embedding_scale: float = EMBEDDING_SCALE) -> None:
        if len({e.label for e in examples}) < 2:
            raise ValueError("the intent model needs examples of at least two labels")
        release_free_memory()  # from here on, the big blocks counting makes and frees go back as freed
        texts = [e.text for e in examples]
        self._words, word_features = _fitted_terms(WORDS, WORD_NGRAMS, texts)
        self._chars, char_features = _fitted_terms(CHARACTERS_WITHIN_WORDS, CHARACTER_NGRAMS, texts)
        self._encoder = encoder
        self._embedding_scale = float(embedding_scale) if encoder is not None else 0.0
        # training only, like scikit-learn: a built model scores without them (start-up time)
        from scipy.sparse import csr_matrix, hstack
        from sklearn.svm import LinearSVC

        parts = [word_features, char_features]
        del word_features, char_features
        if encoder is not None:
            from bot.embeddings import training_embeddings

            parts.append(csr_matrix(self._embedding_scale * training_embeddings(encoder, texts)))
        features = hstack(parts).tocsr()
        del parts  # copied into `features`: training need not carry them too

        # Memory: liblinear's peak holds the float64 weights twice (its own, then numpy's copy) on
        # top of all that is resident. So it gets integer labels (numbered in the strings' sorted
        # order, as scikit-learn numbers them itself), and what reading and counting freed goes
        # back to the system first.
        names, codes = np.unique([e.label for e in examples], return_inverse=True)
        classifier = LinearSVC(C=REGULARISATION, multi_class=MULTI_CLASS, random_state=0)
        release_free_memory()
        classifier.fit(features, codes)
        del features
        self.labels: tuple[str, ...] = tuple(str(name) for name in names[classifier.classes_])
        # Kept as plain arrays: scoring adds up a few of their rows, no estimator call on the hot path.
        coef, bias = classifier.coef_, classifier.intercept_
        if len(self.labels) == 2:  # one score for the second label; the first gets its negative
            coef, bias = np.vstack([-coef, coef]), np.concatenate([-bias, bias])
        self._weights = np.ascontiguousarray(coef.T, dtype=np.float32)
        self._bias = bias.astype(np.float32)

    def save(self, path: Path) -> None:
        """Write the trained model as plain arrays (no pickle: loading it runs no code)."""
        np.savez(
            path,
            labels=np.array(self.labels),
            weights=self._weights,
            bias=self._bias,
            embedding_scale=np.array(self._embedding_scale),
            **_terms_arrays("words", self._words),
            **_terms_arrays("chars", self._chars),
        )

    @classmethod
    def load(cls, path: Path, encoder: SentenceEncoder | None = None) -> IntentModel:
        """`encoder` must be the one the model was trained with (the model cache files them apart)."""
        with np.load(path, allow_pickle=False) as saved:
            model = cls.__new__(cls)
            model._embedding_scale = float(saved["embedding_scale"]) if "embedding_scale" in saved.files else 0.0
            if (model._embedding_scale > 0) != (encoder is not None):
                raise ValueError("saved with embeddings on" if model._embedding_scale else "saved with embeddings off")
            model._encoder = encoder
            model.labels = tuple(str(label) for label in saved["labels"])
            model._weights = saved["weights"]
            model._bias = saved["bias"]
            model._words = _terms_from(saved, "words", WORDS, WORD_NGRAMS)
            model._chars = _terms_from(saved, "chars", CHARACTERS_WITHIN_WORDS, CHARACTER_NGRAMS)
        return model

    def scores(self, text: str) -> np.ndarray:
        """One score per label (in `labels` order): higher is more likely."""
        return self.scores_many([text])[0]

    def scores_many(self, texts: Sequence[str]) -> np.ndarray:
        # A text has a few hundred features of tens of thousands: its scores are the sum of those
        # features' weight rows, each scaled by its value (a sparse product, without scipy.sparse).
        scores = np.tile(self._bias, (len(texts), 1))
        for row, text in zip(scores, texts):
            words, word_values = self._words.weights(text)
            chars, char_values = self._chars.weights(text)
            features = np.concatenate([words, chars + len(self._words)])
            # float32 like the weights, as a float64 product would convert the rows it takes
            values = np.concatenate([word_values, char_values]).astype(np.float32)
            row += values @ self._weights[features]
        if self._encoder is not None:
            embeddings = (self._embedding_scale * self._encoder.encode(texts)).astype(np.float32)
            scores += embeddings @ self._weights[len(self._words) + len(self._chars) :]
        return scores


def _terms_arrays(name: str, terms: TfidfTerms) -> dict[str, np.ndarray]:
    in_order = sorted(terms.vocabulary, key=terms.vocabulary.__getitem__)
    return {f"{name}_terms": np.array(in_order), f"{name}_idf": terms.idf}


def _terms_from(saved, name: str, analyzer: str, ngram_range: tuple[int, int]) -> TfidfTerms:
    vocabulary = {str(term): index for index, term in enumerate(saved[f"{name}_terms"])}
    return TfidfTerms(analyzer, ngram_range, vocabulary, saved[f"{name}_idf"])


def probabilities(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax of `scores` sharpened by `temperature` (rows are texts, or one text)."""
    scaled = np.asarray(scores, dtype=float) * temperature
    scaled = scaled - scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=-1, keepdims=True)
