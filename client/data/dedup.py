"""Exact and near-duplicate removal; the first occurrence of each record is kept.

Near-duplicates are found with datasketch's MinHash LSH over word 5-gram shingles, the usual recipe
for de-duplicating training text: candidates come from LSH buckets, so cost stays linear in records.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

from client.data.texts import Record, joined_text

_TOKEN = re.compile(r"\w+")
SHINGLE_WORDS = 5
NUM_PERM = 64


def normalized_words(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


@dataclass
class Deduplicator:
    """Stateful per record list: call ``verdict`` on each record in order."""

    threshold: float

    def __post_init__(self) -> None:
        self._seen: set[bytes] = set()
        self._lsh = MinHashLSH(threshold=self.threshold, num_perm=NUM_PERM)
        self._count = 0

    def verdict(self, record: Record) -> str | None:
        words = normalized_words(joined_text(record))
        digest = hashlib.blake2b(" ".join(words).encode(), digest_size=16).digest()
        if digest in self._seen:
            return "exact-duplicate"
        self._seen.add(digest)
        shingles = {" ".join(words[i:i + SHINGLE_WORDS]).encode()
                    for i in range(max(1, len(words) - SHINGLE_WORDS + 1))}
        signature = MinHash(num_perm=NUM_PERM, seed=1)
        signature.update_batch(list(shingles))
        if self._lsh.query(signature):
            return "near-duplicate"
        self._lsh.insert(str(self._count), signature)
        self._count += 1
        return None
