"""Trained intent models kept on disk: a restart with an unchanged catalogue skips training.

A model is filed under a digest of everything that shapes it (the catalogue's intents, vocabulary
and negatives, the training code, the library versions), so an edited catalogue or a new release
trains afresh and an old file is never used by mistake. The cache is only a shortcut: when its
folder cannot be written the bot trains and carries on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from bot.catalogue import Catalogue
from bot.model import IntentModel

if TYPE_CHECKING:
    from bot.embeddings import SentenceEncoder

log = logging.getLogger(__name__)

CACHE_SETTING = "BOT_MODEL_CACHE"  # a folder, or "off"
KEEP = 4  # models kept; older ones are removed
SHIPPED = ".model"  # beside the catalogue: the model `neogenesis-bot warm` trained for it
TRAINING_CODE = ("model.py", "tfidf.py", "training.py", "normalise.py", "english.py", "matcher.py")
LIBRARIES = ("scikit-learn", "numpy", "scipy", "pyspellchecker", "snowballstemmer", "rapidfuzz")


def cache_folder() -> Path | None:
    configured = os.environ.get(CACHE_SETTING, "")
    if configured.lower() == "off":
        return None
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("neogenesis-bot")) / "models"


def digest(catalogue: Catalogue, encoder: SentenceEncoder | None = None) -> str:
    """What the trained model depends on, as one hex digest."""
    sha = hashlib.sha256()
    if encoder is not None:  # a model trained with sentence embeddings is another model
        sha.update(f"embeddings={encoder.digest}".encode())
        sha.update((Path(__file__).parent / "embeddings.py").read_bytes())
    sha.update(repr((catalogue.intents, catalogue.vocabulary, catalogue.negatives, sorted(catalogue.regions))).encode())
    here = Path(__file__).parent
    for name in TRAINING_CODE:
        sha.update((here / name).read_bytes())
    for library in LIBRARIES:
        try:
            sha.update(f"{library}={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            sha.update(library.encode())
    return sha.hexdigest()[:32]


def shipped_folder(catalogue: Catalogue) -> Path | None:
    """Where `neogenesis-bot warm` puts the model beside the catalogue, so a deploy built with it
    (Heroku's bin/post_compile) starts without training."""
    return Path(catalogue.directory) / SHIPPED if catalogue.directory else None


def model_name(catalogue: Catalogue, encoder: SentenceEncoder | None = None) -> str:
    return f"intent-model-{digest(catalogue, encoder)}.npz"


def cached_model(catalogue: Catalogue, train: Callable[[], IntentModel], encoder: SentenceEncoder | None = None) -> IntentModel:
    """The catalogue's model: shipped beside it, from the cache, or trained by `train` (with
    `encoder`, if any) and filed there."""
    name = model_name(catalogue, encoder)
    folder = cache_folder()
    for candidate in (shipped_folder(catalogue), folder):
        path = candidate / name if candidate is not None else None
        if path is not None and path.is_file():
            try:
                model = IntentModel.load(path, encoder)
                log.info("intent model loaded from %s", path)
                return model
            except (OSError, ValueError, KeyError) as error:
                log.warning("cached intent model %s unreadable (%s); training again", path.name, error)
    # Training takes tens of seconds on the shipped catalogue: whoever waits at a terminal is told why.
    log.info("training the intent model for this catalogue (%s)", "once: later starts take it from the cache" if folder else "the model cache is off")
    started = time.perf_counter()
    model = train()
    log.info("intent model trained in %.1f s", time.perf_counter() - started)
    if folder is not None:
        file_model(model, folder, name)
    return model


def file_model(model: IntentModel, folder: Path, name: str) -> Path | None:
    """Write `model` into `folder` as `name` (atomically), keeping the newest KEEP; None if it cannot."""
    path = folder / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".npz", delete=False) as stream:
            model.save(stream)
        os.chmod(stream.name, 0o644)  # a temporary file is private; a shipped model is read by whoever runs the app
        os.replace(stream.name, path)
        for old in sorted(folder.glob("intent-model-*.npz"), key=lambda p: p.stat().st_mtime)[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError as error:
        log.info("intent model not cached (%s): the next start trains again", error)
        return None
    return path
