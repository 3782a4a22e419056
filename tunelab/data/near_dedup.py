"""Near-duplicate detection with MinHash LSH (`datasketch`): each text becomes the set of its
character `shingle`-grams after `normalize_text` (case, punctuation and spacing ignored); a text whose
estimated Jaccard similarity to an earlier kept text reaches `threshold` is a near duplicate of it.
The first of a group is kept, order is kept. LSH finds the candidates in about constant time a text,
so a large dataset costs a pass, not a comparison of every pair; it looks for them below `threshold`
(LSH misses some pairs just above its own threshold) and the MinHash estimate decides."""

from __future__ import annotations

from collections.abc import Sequence

from tunelab.data.dedup import normalize_text

CANDIDATE_MARGIN = 0.2  # LSH looks for candidates this far below the threshold


def shingles(text: str, size: int) -> set[bytes]:
    norm = normalize_text(text)
    if len(norm) <= size:
        return {norm.encode()}
    return {norm[i:i + size].encode() for i in range(len(norm) - size + 1)}


def near_duplicates(texts: Sequence[str], *, threshold: float = 0.8, num_perm: int = 128, shingle: int = 5,
                    seed: int = 1) -> dict[int, tuple[int, float]]:
    """{index: (index of the earlier kept text it nearly repeats, estimated Jaccard)} for the texts
    that are near duplicates; the others are absent."""
    from datasketch import MinHash, MinHashLSH  # lazy: datasketch imports scipy (seconds)

    if not 0 < threshold <= 1:
        raise ValueError(f"The near-duplicate threshold is a Jaccard similarity in (0, 1], got {threshold}.")
    lsh = MinHashLSH(threshold=max(0.05, threshold - CANDIDATE_MARGIN), num_perm=num_perm)
    kept: dict[int, MinHash] = {}
    found: dict[int, tuple[int, float]] = {}
    for i, text in enumerate(texts):
        mh = MinHash(num_perm=num_perm, seed=seed)
        mh.update_batch(list(shingles(text, shingle)))
        best: tuple[int, float] | None = None
        for key in lsh.query(mh):
            j = int(key)
            similarity = mh.jaccard(kept[j])
            if similarity >= threshold and (best is None or similarity > best[1] or
                                            (similarity == best[1] and j < best[0])):
                best = (j, similarity)
        if best is not None:
            found[i] = best
        else:
            lsh.insert(str(i), mh)
            kept[i] = mh
    return found
