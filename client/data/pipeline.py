"""A hospital's data, from export files to the train and held-out datasets of every stage.

Steps, in order, each switchable in ``[data]``/``[deid]`` config: load, de-identify, quality filter,
de-duplicate, contamination check, split. The data card counts records into and out of each step.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from client.data.cache import FORMAT_VERSION, DatasetCache, cache_folder, digest, inputs_digest
from client.data.card import DataCard
from client.data.contamination import ContaminationIndex
from client.data.dedup import Deduplicator
from client.data.errors import BadInputPolicy, DataError, Location
from client.data.loaders import load_hospital
from client.data.quality import QualityFilter
from client.data.texts import RECORD_LISTS, count, filter_stage, map_stage
from common.config import DataSection, DeidSection, RunConfig
from common.records import Note, StageData
from common.stage_kinds import record_kinds

TokenCounter = Callable[[str], int]


class Deidentifier(Protocol):
    """What the pipeline needs from ``privacy.deid.Deidentifier``."""

    fingerprint: str  # a hash of what decides its output; keys the cache

    def deidentify_batch(self, texts: list[str], patients: list[Any] | None = None) -> list[Any]: ...


@dataclass
class PreparedData:
    train: StageData
    heldout: StageData
    card: DataCard


def prepare_hospital_data(data_dir: Path, cfg: RunConfig, deidentifier: Deidentifier | None = None,
                          eval_sets: Sequence[str | Path] | None = None,
                          count_tokens: TokenCounter | None = None) -> PreparedData:
    """Load, clean and split one hospital's data folder.

    Args:
        data_dir: the hospital's folder of exports (see client/data/README.md for its layout).
        cfg: the run config; ``cfg.data`` and ``cfg.deid`` switch and tune the steps, ``cfg.run.seed`` the split.
        deidentifier: anything with ``deidentify_batch(texts, patients=None)``; required when ``cfg.deid.enabled``.
        eval_sets: evaluation texts, or paths of files holding them, that training records must not overlap.
        count_tokens: tokens in a text for the card (the model tokenizer); whitespace words when None.

    Raises:
        DataError: in ``strict`` mode, on the first bad file or record (the message names file, line and
            field, never the data); in either mode, when de-identification is on and no de-identifier is given.
    """
    if cfg.deid.enabled and deidentifier is None:
        raise DataError(Location(str(data_dir)), "no-deidentifier",
                        "deid.enabled is true but no de-identifier was given; refusing to use raw text")
    if not data_dir.is_dir():
        raise DataError(Location(str(data_dir)), "missing-folder", "the hospital data folder does not exist")
    cache = DatasetCache(cache_folder(data_dir, cfg.data))
    deid_key = digest(FORMAT_VERSION, inputs_digest(data_dir), cfg.data.bad_records, cfg.data.max_record_bytes,
                      dataclasses.asdict(cfg.deid), deidentifier.fingerprint if cfg.deid.enabled else None)
    index = ContaminationIndex.build(eval_sets, cfg.data.contamination_ngram) \
        if cfg.data.contamination_check and eval_sets else None
    final_key = digest(deid_key, dataclasses.asdict(cfg.data) | {"root": None, "cache": None, "cache_dir": None},
                       cfg.run.seed, sorted(index.grams) if index else None)
    if cfg.data.cache and (hit := cache.load_split(final_key)):
        train, heldout, card = hit
        card.cache_hit = True
    else:
        data, card = _cached_or(cache if cfg.data.cache else None, deid_key,
                                lambda: _load_and_deidentify(data_dir, cfg.data, cfg.deid, deidentifier))
        data = _clean(data, cfg.data, index, card)
        train, heldout = split(data, cfg.data.eval_fraction, cfg.run.seed)
        card.split = {kind: {"train": len(getattr(train, kind)), "heldout": len(getattr(heldout, kind))}
                      for kind in RECORD_LISTS}
        if cfg.data.cache:
            cache.save(final_key, card, train=train, heldout=heldout)
    card.tokens = token_counts(train, heldout, count_tokens)
    return PreparedData(train, heldout, card)


def _cached_or(cache: DatasetCache | None, key: str,
               compute: Callable[[], tuple[StageData, DataCard]]) -> tuple[StageData, DataCard]:
    if cache is not None and (hit := cache.load(key)):
        return hit
    data, card = compute()
    if cache is not None:
        cache.save(key, card, data=data)
    return data, card


def _load_and_deidentify(data_dir: Path, settings: DataSection, deid: DeidSection, deidentifier: Deidentifier | None
                         ) -> tuple[StageData, DataCard]:
    card = DataCard()
    policy = BadInputPolicy(settings.bad_records)
    loaded = load_hospital(data_dir, policy, settings.max_record_bytes)
    card.files = dict(loaded.files)
    card.bad_input = dict(policy.skipped)
    data = loaded.data
    _record(card, "load", data, data, {})
    if deid.enabled:
        data = deidentify(data, deidentifier, loaded.identities, card, deid.max_residual_rate)
    return data, card


def _clean(data: StageData, settings: DataSection, index: ContaminationIndex | None, card: DataCard) -> StageData:
    """Quality filter, de-duplication and contamination check, each when switched on in ``settings``."""
    if settings.quality_filter:
        quality = QualityFilter(settings.min_chars, settings.max_chars, settings.min_medical_density)
        cleaned = map_stage(data, quality.clean)
        kept, dropped = filter_stage(cleaned, lambda kind, r: quality.verdict(r))
        _record(card, "quality", data, kept, dropped)
        data = kept
    if settings.dedup:
        dedups = {kind: Deduplicator(settings.near_duplicate_threshold) for kind in RECORD_LISTS}
        kept, dropped = filter_stage(data, lambda kind, r: dedups[kind].verdict(r))
        _record(card, "dedup", data, kept, dropped)
        data = kept
    if index is not None:
        kept, dropped = filter_stage(data, lambda kind, r: index.verdict(r))
        _record(card, "contamination", data, kept, dropped)
        data = kept
    return data


def _record(card: DataCard, step: str, before: StageData, after: StageData,
            dropped: dict[str, Counter[str]]) -> None:
    n_in, n_out = count(before), count(after)
    for kind in RECORD_LISTS:
        card.record_step(step, kind, n_in[kind], n_out[kind], dropped.get(kind))


def deidentify(data: StageData, deidentifier: Deidentifier, identities: dict[str, dict[str, Any]],
               card: DataCard, max_residual_rate: float, batch_size: int = 256) -> StageData:
    """Every text of every record through ``deidentifier``, notes with their patient's deny list when known.

    Raises ``privacy.deid.ResidualRateExceeded`` (the hospital refuses to train) when the second pass
    still finds PHI-shaped text in more than ``max_residual_rate`` of the texts.
    """
    records = [(kind, r) for kind in RECORD_LISTS for r in getattr(data, kind)]
    texts, owners, patients = [], [], []
    contexts = _patient_contexts(identities)
    for i, (_, record) in enumerate(records):
        for text in record.texts():
            texts.append(text)
            owners.append(i)
            patients.append(contexts.get(record.patient_id) if isinstance(record, Note) else None)
    results = []
    for start in range(0, len(texts), batch_size):
        batch_patients = patients[start:start + batch_size]
        results.extend(deidentifier.deidentify_batch(
            texts[start:start + batch_size], batch_patients if any(batch_patients) else None))
    by_type: Counter[str] = Counter(card.identifiers)
    new_texts: list[list[str]] = [[] for _ in records]
    for owner, result in zip(owners, results):
        new_texts[owner].append(result.text)
        by_type.update(result.counts)
        card.residual_identifiers += result.residual
    card.identifiers = dict(by_type)
    card.residual_rate = sum(r.residual > 0 for r in results) / max(1, len(results))
    if card.residual_rate > max_residual_rate:
        from privacy.deid import check_residual_rate  # imported late: privacy.deid loads Presidio

        check_residual_rate(results, max_residual_rate)
    out = StageData()
    for (kind, record), record_texts in zip(records, new_texts):
        getattr(out, kind).append(record.with_texts(record_texts))
    _record(card, "deid", data, out, {})
    return out


def _patient_contexts(identities: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``privacy.deid.PatientContext`` per patient id of the EHR patients table (none without that table)."""
    if not identities:
        return {}
    # Imported late: privacy.deid loads Presidio. No fallback: without the deny lists the patients' names
    # and addresses from the EHR tables could stay in the text, so an import failure stops the hospital.
    from privacy.deid import PatientContext
    return {pid: PatientContext(patient_id=pid, **fields) for pid, fields in identities.items()}


def split(data: StageData, eval_fraction: float, seed: int) -> tuple[StageData, StageData]:
    """Deterministic train/held-out split; notes are split by patient so no patient straddles it.

    Records are grouped (notes by patient, other records by their text), the groups are ordered by a
    seeded hash, and the first ``round(eval_fraction * groups)`` go to held-out: the same data and seed
    give the same split on every machine and run.
    """
    train, heldout = StageData(), StageData()
    for kind in RECORD_LISTS:
        records = getattr(data, kind)
        groups: dict[str, list] = {}
        for record in records:
            key = (record.patient_id or record.note_id) if isinstance(record, Note) else "\n".join(record.texts())
            groups.setdefault(key, []).append(record)
        ranked = sorted(groups, key=lambda k: hashlib.sha256(f"{seed}\0{k}".encode()).digest())
        n_heldout = round(eval_fraction * len(ranked))
        held = set(ranked[:n_heldout])
        for key, members in groups.items():
            getattr(heldout if key in held else train, kind).extend(members)
    return train, heldout


def token_counts(train: StageData, heldout: StageData, count_tokens: TokenCounter | None) -> dict[str, dict[str, int]]:
    """Tokens of each record list per part, under the name of the first stage kind that trains on it."""
    counter = count_tokens or (lambda text: len(text.split()))
    return {stage: {part: sum(counter(t) for r in getattr(data, kind) for t in r.texts())
                    for part, data in (("train", train), ("heldout", heldout))}
            for kind, stage in record_kinds().items()}
